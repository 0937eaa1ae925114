//! [`AgentBuilder`]: how an [`Agent`] is configured.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::retry::RetryPolicy;
use super::usage::UsageMeter;
use super::{prompt, Agent, AgentConfig};
use crate::model::ModelRef;
use crate::providers::IntoModel;
use crate::response::RunResponse;
use crate::tool::{IntoTools, Tool, Toolset};
use crate::{Error, Result};

/// Configures an [`Agent`]; see [`Agent::builder`].
#[derive(Default)]
#[must_use = "call `.build()` to get the agent"]
pub struct AgentBuilder {
    name: Option<String>,
    model: Option<Result<ModelRef>>,
    description: Option<String>,
    instructions: Vec<String>,
    expected_output: Option<String>,
    markdown: bool,
    tools: Vec<Arc<dyn Tool>>,
    toolsets: Vec<Arc<dyn Toolset>>,
    tool_call_limit: Option<usize>,
    max_turns: Option<usize>,
    tool_timeout: Option<Duration>,
    retry: RetryPolicy,
    add_history: bool,
    num_history_runs: Option<usize>,
}

/// How many past runs `add_history_to_messages(true)` sends when `num_history_runs` is not set.
pub const DEFAULT_HISTORY_RUNS: usize = 3;

/// The most model turns of one run when [`AgentBuilder::max_turns`] is not set: nine turns
/// that may call tools, then one that must answer in text.
pub const DEFAULT_MAX_TURNS: usize = 10;

/// How long one tool call may take when neither [`AgentBuilder::tool_timeout`] nor the tool
/// ([`Tool::timeout`]) sets it.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);

impl AgentBuilder {
    /// The agent's name, shown on its events.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The model: a provider value (`OpenAIChat::new("gpt-4o")`, `Claude`, `Ollama`,
    /// `Offline`), a shared `ModelRef`, or a spec string (`"openai:gpt-4o"`). A bad spec is
    /// reported by [`build`](Self::build).
    pub fn model(mut self, model: impl IntoModel) -> Self {
        self.model = Some(model.into_model());
        self
    }

    /// What the agent is, first in the system message.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Instructions, listed in the system message (replaces earlier ones).
    pub fn instructions<I, S>(mut self, instructions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.instructions = instructions.into_iter().map(Into::into).collect();
        self
    }

    /// What the answer should look like, in the system message.
    pub fn expected_output(mut self, expected_output: impl Into<String>) -> Self {
        self.expected_output = Some(expected_output.into());
        self
    }

    /// Asks the model to format its answers in markdown.
    pub fn markdown(mut self, markdown: bool) -> Self {
        self.markdown = markdown;
        self
    }

    /// Adds tools: each item a [`Tool`] (an `Arc<dyn Tool>` is one too) or a toolkit.
    pub fn tools<I>(mut self, tools: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoTools,
    {
        for tool in tools {
            self.tools.extend(tool.into_tools());
        }
        self
    }

    /// Adds one tool, or every tool of a toolkit.
    pub fn tool(mut self, tool: impl IntoTools) -> Self {
        self.tools.extend(tool.into_tools());
        self
    }

    /// Adds a [`Toolset`]: tools the agent lists when its first run needs them (an MCP
    /// server's, say: `weft::mcp::McpTools`). Building the agent does not touch it; a toolset
    /// that cannot list its tools fails that run with [`Error::ToolsetUnavailable`], and a
    /// name shared with another tool fails it with [`Error::Config`] (see [`Toolset`]).
    pub fn toolset(mut self, toolset: impl Toolset + 'static) -> Self {
        self.toolsets.push(Arc::new(toolset));
        self
    }

    /// The most tool calls one run may make (no limit by default; [`max_turns`](Self::max_turns)
    /// bounds a run anyway). Calls beyond it are not run: the model is told the limit was
    /// reached and asked to answer without tools; if it calls tools again, the run ends with
    /// [`Error::ToolCallLimit`].
    pub fn tool_call_limit(mut self, limit: usize) -> Self {
        self.tool_call_limit = Some(limit);
        self
    }

    /// The most model turns of one run (default [`DEFAULT_MAX_TURNS`]; at least 1). The last
    /// turn is sent without tools (tool choice `none`), so the model answers with what it
    /// has; if it calls tools anyway, the run ends with [`Error::ToolCallLimit`] naming
    /// `max_turns`. A typed answer that does not fit may take one repair turn beyond it.
    pub fn max_turns(mut self, turns: usize) -> Self {
        self.max_turns = Some(turns);
        self
    }

    /// How long one tool call may take (default [`DEFAULT_TOOL_TIMEOUT`]); a tool's own
    /// [`Tool::timeout`] wins. A call past it is stopped (its future dropped) and the model
    /// gets an error result saying the tool did not finish in time. The timer is Tokio's:
    /// outside a Tokio runtime calls are not timed.
    pub fn tool_timeout(mut self, timeout: Duration) -> Self {
        self.tool_timeout = Some(timeout);
        self
    }

    /// How many times a failed model call is retried before any output (default 2).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retry.retries = retries;
        self
    }

    /// The whole retry policy (backoff, caps).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends the agent's previous runs (prompt and answer) before the new prompt.
    pub fn add_history_to_messages(mut self, add: bool) -> Self {
        self.add_history = add;
        self
    }

    /// How many previous runs to send (default [`DEFAULT_HISTORY_RUNS`]); implies
    /// `add_history_to_messages(true)`.
    pub fn num_history_runs(mut self, runs: usize) -> Self {
        self.add_history = true;
        self.num_history_runs = Some(runs);
        self
    }

    /// Builds the agent. Fails if no model was set, the model spec is bad, two tools share a
    /// name, or `max_turns` is 0. (Toolsets' tools are checked when they are listed, on the
    /// first run.)
    pub fn build(self) -> Result<Agent> {
        let model = match self.model {
            Some(model) => model?,
            None => {
                return Err(Error::Config(
                    "the agent has no model: call `.model(..)` with e.g. `OpenAIChat::new(\"gpt-4o\")` or `\"openai:gpt-4o\"`".into(),
                ))
            }
        };
        let max_turns = self.max_turns.unwrap_or(DEFAULT_MAX_TURNS);
        if max_turns == 0 {
            return Err(Error::Config(
                "`max_turns` is 0, so the agent could never call its model; use at least 1".into(),
            ));
        }
        // A linear scan: agents have a handful of tools, and a set would cost an allocation
        // on every build.
        for (i, tool) in self.tools.iter().enumerate() {
            if self.tools[..i].iter().any(|t| t.name() == tool.name()) {
                return Err(Error::Config(format!(
                    "two tools are named `{}`; tool names must be unique",
                    tool.name()
                )));
            }
        }
        // The system message and the tools' schemas are made on first use: an agent built
        // per workflow instance pays for them only if it runs.
        let config = AgentConfig {
            name: self.name,
            model,
            prompt: prompt::PromptParts {
                description: self.description,
                instructions: self.instructions,
                expected_output: self.expected_output,
                markdown: self.markdown,
            },
            system: OnceLock::new(),
            tools: self.tools,
            toolsets: self.toolsets,
            resolved: tokio::sync::OnceCell::new(),
            tool_call_limit: self.tool_call_limit,
            max_turns,
            tool_timeout: self.tool_timeout.unwrap_or(DEFAULT_TOOL_TIMEOUT),
            retry: self.retry,
            usage: UsageMeter::default(),
            scope: std::sync::Mutex::new(None),
            history_runs: if self.add_history {
                self.num_history_runs.unwrap_or(DEFAULT_HISTORY_RUNS)
            } else {
                0
            },
        };
        Ok(Agent {
            config: Arc::new(config),
            history: VecDeque::new(),
            last: RunResponse::default(),
        })
    }
}
