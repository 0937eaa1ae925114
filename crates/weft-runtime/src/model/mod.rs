//! The [`Model`] trait every provider implements, and the events a model call streams.
//!
//! A model call is one request/response exchange with a provider. The agent loop
//! (`crate::agent`) drives calls, retries and tools; a `Model` only speaks its wire format.
//!
//! Invariants every implementation keeps:
//! - `stream` yields [`ModelEvent`]s in the order the provider sent them; `Usage` events are
//!   additive (a call's usage is their sum);
//! - tool-call deltas carry the provider's index, so interleaved calls assemble correctly;
//! - errors are typed ([`crate::Error`]) and never contain key material.

mod assemble;
mod output;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};

use crate::message::{Message, ToolCall};
use crate::Result;

pub(crate) use assemble::CallBudget;
pub use assemble::ToolCallAssembler;
#[cfg(test)]
pub(crate) use assemble::TOOL_CALL_PIECE_COST;
#[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
pub(crate) use assemble::{CallLimits, DEFAULT_MAX_ANSWER, DEFAULT_MAX_TOOL_CALLS};
pub use output::OutputSchema;

/// A shared, cheaply clonable handle to a model.
pub type ModelRef = Arc<dyn Model>;

/// The stream of one model call.
pub type ModelStream = BoxStream<'static, Result<ModelEvent>>;

/// A language model behind a provider's API.
pub trait Model: Send + Sync + fmt::Debug {
    /// The provider's short name: `openai`, `anthropic`, `ollama` or `offline`.
    fn provider(&self) -> &'static str;

    /// The model id sent to the provider, e.g. `gpt-4o`.
    fn id(&self) -> &str;

    /// One streaming call.
    fn stream(&self, request: ModelRequest) -> ModelStream;

    /// One non-streaming call. The default collects [`Model::stream`].
    fn complete(&self, request: ModelRequest) -> BoxFuture<'static, Result<ModelResponse>> {
        collect_from(self.provider(), self.stream(request)).boxed()
    }
}

/// A tool as the model sees it: a name, what it does, and a JSON schema of its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Everything a model call sends.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRequest {
    /// The conversation, system message first.
    pub messages: Vec<Message>,
    /// Tools the model may call; empty for none.
    pub tools: Vec<ToolSpec>,
    /// Whether the model may call `tools` now. Once a conversation holds tool calls, the tools
    /// stay in the request (Anthropic requires it) and `ToolChoice::None` forbids new calls.
    pub tool_choice: ToolChoice,
    /// The schema the answer must follow (structured output), if any. Providers stream the
    /// answer as text holding the JSON value, whatever their wire mechanism.
    pub output: Option<OutputSchema>,
}

/// Whether the model may call the request's tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The model must answer in text (`tool_choice: "none"`); used once `tool_call_limit` is
    /// reached, and on the last turn `max_turns` allows.
    None,
}

/// Token usage reported by one model call (or part of one: usage events add up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, all of them: those served from the provider's prompt cache and those
    /// written to it included (Anthropic reports these apart; they are added here).
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// The part of `input_tokens` served from the provider's prompt cache (OpenAI's
    /// `cached_tokens`, Anthropic's `cache_read_input_tokens`).
    #[serde(default)]
    pub cached_input_tokens: u64,
}

/// Adds another report, per field (saturating: the counts come from outside).
impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
    }
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    /// A natural end of the answer.
    Stop,
    /// The token limit was reached.
    Length,
    /// The model wants tool results before it goes on.
    ToolCalls,
    /// The provider filtered the content.
    ContentFilter,
    /// Anything else, as the provider wrote it.
    Other(String),
}

impl FinishReason {
    /// The reason as the GenAI conventions write it (`gen_ai.response.finish_reasons`):
    /// `stop`, `length`, `tool_calls`, `content_filter`, or the provider's own word.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(raw) => raw,
        }
    }

    /// Maps a provider's finish or stop reason; `None` for an empty one (some
    /// OpenAI-compatible servers send `""`).
    pub fn parse(raw: &str) -> Option<FinishReason> {
        Some(match raw {
            "" => return None,
            "stop" | "end_turn" | "stop_sequence" => FinishReason::Stop,
            "length" | "max_tokens" => FinishReason::Length,
            "tool_calls" | "tool_use" | "function_call" => FinishReason::ToolCalls,
            "content_filter" | "refusal" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        })
    }
}

/// A piece of a streamed tool call, keyed by the provider's index for that call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolCallDelta {
    /// Which call of the turn this piece belongs to.
    pub index: usize,
    /// The call id, usually on the first piece only.
    pub id: Option<String>,
    /// The tool name, usually on the first piece only.
    pub name: Option<String>,
    /// A fragment of the arguments' JSON text.
    pub arguments: String,
}

/// One event of a model call.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelEvent {
    /// A text delta.
    Text(String),
    /// A fragment of a tool call.
    ToolCall(ToolCallDelta),
    /// Token usage (additive).
    Usage(Usage),
    /// The model finished, and why.
    Finish(FinishReason),
}

/// The whole result of a non-streaming call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelResponse {
    /// The answer's text.
    pub text: String,
    /// Tool calls, in the provider's order.
    pub tool_calls: Vec<ToolCall>,
    /// Token usage.
    pub usage: Usage,
    /// Why the model stopped, if it said.
    pub finish_reason: Option<FinishReason>,
}

impl ModelResponse {
    /// The same response as the events a stream would have carried, so one loop serves both
    /// streaming and non-streaming calls.
    pub fn into_events(self) -> Vec<ModelEvent> {
        let mut events = Vec::with_capacity(self.tool_calls.len() + 3);
        if !self.text.is_empty() {
            events.push(ModelEvent::Text(self.text));
        }
        for (index, call) in self.tool_calls.into_iter().enumerate() {
            events.push(ModelEvent::ToolCall(ToolCallDelta {
                index,
                id: Some(call.id),
                name: Some(call.name),
                arguments: call.arguments,
            }));
        }
        events.push(ModelEvent::Usage(self.usage));
        if let Some(reason) = self.finish_reason {
            events.push(ModelEvent::Finish(reason));
        }
        events
    }
}

/// Collects a model stream into one [`ModelResponse`]. What it holds is capped like any model
/// call's (the process's `ResponseLimits::answer` and `tool_calls`): past a cap, it ends with
/// [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge), naming the provider as
/// `model`.
pub async fn collect(stream: ModelStream) -> Result<ModelResponse> {
    collect_from("model", stream).await
}

/// [`collect`], naming `provider` in its errors.
pub(crate) async fn collect_from(
    provider: &'static str,
    mut stream: ModelStream,
) -> Result<ModelResponse> {
    let mut response = ModelResponse::default();
    let mut calls = ToolCallAssembler::new(provider);
    let mut budget = CallBudget::new(provider);
    while let Some(event) = stream.next().await {
        match event? {
            ModelEvent::Text(text) => {
                budget.text(&text)?;
                response.text.push_str(&text);
            }
            ModelEvent::ToolCall(delta) => calls.push(delta)?,
            ModelEvent::Usage(usage) => response.usage += usage,
            ModelEvent::Finish(reason) => response.finish_reason = Some(reason),
        }
    }
    response.tool_calls = calls.finish();
    Ok(response)
}
