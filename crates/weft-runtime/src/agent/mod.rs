//! [`Agent`]: a model with instructions and tools, run on a prompt.
//!
//! An agent owns its conversation history and last response; its configuration is shared
//! behind an `Arc`, so cloning or building one per workflow instance is cheap, and two
//! instances never share mutable state.
//!
//! A run streams [`RunResponse`] items: `RunStarted`, `RunContent` deltas, `ToolCallStarted` /
//! `ToolCallCompleted` around every tool call, and `RunCompleted` with the whole answer. The
//! tool loop goes on until the model answers without calling tools, and is bounded by default:
//! at most [`DEFAULT_MAX_TURNS`] model turns (the last one must answer in text), every tool
//! call stopped after [`DEFAULT_TOOL_TIMEOUT`] (see [`AgentBuilder::max_turns`] and
//! [`AgentBuilder::tool_timeout`]).
//!
//! Inside a workflow run, a workflow's `#[agent]` fields and their clones (in spawned tasks
//! too) journal every model call and tool call when it completes, and a resumed run replays
//! journaled calls instead of making them again: same loop, same items (see
//! [`durable`](crate::durable)). Outside a workflow run nothing is journaled.

mod builder;
mod prompt;
mod retry;
mod tools;
mod typed;
mod usage;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tracing_futures::Instrument;

use crate::durable::faults::fault_point;
use crate::durable::identity;
use crate::durable::journal::{self, TurnRecorder};
use crate::durable::scope::RunScope;
use crate::message::Message;
use crate::model::{
    CallBudget, FinishReason, ModelEvent, ModelRef, ModelRequest, ToolCallAssembler, ToolChoice,
};
use crate::response::{Content, RunEvent, RunResponse, RunStream, ToolExecution};
use crate::storage::JournalKind;
use crate::telemetry::{self, spans};
use crate::tool::toolset::{self, ResolvedTools};
use crate::tool::{Tool, Toolset};
use crate::{Error, Result};

pub use builder::{AgentBuilder, DEFAULT_HISTORY_RUNS, DEFAULT_MAX_TURNS, DEFAULT_TOOL_TIMEOUT};
use prompt::PastRun;
use retry::CallMode;
pub use retry::RetryPolicy;
use typed::Expected;
pub use usage::AgentUsage;
use usage::UsageMeter;

/// What every clone of an agent shares: fixed at `build()`.
struct AgentConfig {
    name: Option<String>,
    model: ModelRef,
    prompt: prompt::PromptParts,
    /// The system message, made from `prompt` on first use.
    system: OnceLock<Option<String>>,
    /// The agent's own tools.
    tools: Vec<Arc<dyn Tool>>,
    /// Tools listed when the first run needs them (MCP servers, say).
    toolsets: Vec<Arc<dyn Toolset>>,
    /// Every tool (own, then toolsets') and its spec, made when a run first needs them; a
    /// toolset that failed leaves it unset, for the next run to try again.
    resolved: tokio::sync::OnceCell<ResolvedTools>,
    tool_call_limit: Option<usize>,
    /// The most model turns of one run (at least 1); the last one is told to answer in text.
    max_turns: usize,
    /// How long a tool call may take unless its tool says otherwise.
    tool_timeout: Duration,
    retry: RetryPolicy,
    history_runs: usize,
    /// Usage of every run of this agent and its clones.
    usage: UsageMeter,
    /// The workflow run this agent (and every clone) works for, while one is in progress:
    /// its calls are journaled there and its items carry their identity (`RunResponse::origin`).
    scope: Mutex<Option<Arc<RunScope>>>,
}

impl AgentConfig {
    fn system(&self) -> &Option<String> {
        self.system.get_or_init(|| self.prompt.system_message())
    }

    /// Every tool of the agent and the specs the model gets, listing its toolsets on first
    /// use (see [`Toolset`]).
    async fn tool_list(&self) -> Result<&ResolvedTools> {
        self.resolved
            .get_or_try_init(|| toolset::resolve(&self.tools, &self.toolsets))
            .await
    }

    /// `provider:id`, as events and logs show the model.
    fn model_label(&self) -> String {
        format!("{}:{}", self.model.provider(), self.model.id())
    }

    fn scope_slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<RunScope>>> {
        // The slot is only ever replaced whole: a poisoned lock holds a whole value.
        self.scope
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The identity of an agent call's next item other than a text delta, inside a workflow run.
fn next_origin(call_key: &Option<String>, count: &mut usize) -> Option<String> {
    let key = call_key.as_ref()?;
    let origin = identity::call_item(key, *count);
    *count += 1;
    Some(origin)
}

/// Records what a model call came to on its `chat` span: usage, finish reason, the model
/// that answered (the requested one: providers' reported model is not read), and with
/// content capture on, the answer.
fn record_chat(
    span: &tracing::Span,
    model: &str,
    usage: &crate::model::Usage,
    finish: Option<&FinishReason>,
    text: &str,
    capture: bool,
) {
    if span.is_disabled() {
        return;
    }
    span.record("gen_ai.response.model", model);
    span.record("gen_ai.usage.input_tokens", usage.input_tokens);
    span.record("gen_ai.usage.output_tokens", usage.output_tokens);
    if let Some(finish) = finish {
        span.record("gen_ai.response.finish_reasons", finish.as_str());
    }
    if capture {
        let output = serde_json::json!([{"role": "assistant", "content": text}]);
        span.record("gen_ai.output.messages", output.to_string().as_str());
    }
}

/// One model call in the GenAI client metrics (calls replayed from the journal are not
/// calls: they are not counted).
fn record_chat_metrics(
    model: &ModelRef,
    duration: std::time::Duration,
    usage: Option<&crate::model::Usage>,
    error_type: Option<&str>,
) {
    telemetry::metrics::record_operation(&telemetry::metrics::Operation {
        operation: "chat",
        provider: model.provider(),
        request_model: model.id(),
        response_model: usage.map(|_| model.id()),
        duration,
        input_tokens: usage.map(|usage| usage.input_tokens),
        output_tokens: usage.map(|usage| usage.output_tokens),
        error_type,
    });
}

/// Chat messages as the `gen_ai.input.messages` attribute's JSON.
fn messages_json(messages: &[Message]) -> String {
    serde_json::to_string(messages).unwrap_or_default()
}

/// A model with instructions and tools.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::StreamExt;
/// use weft_runtime::{Agent, Offline};
///
/// let mut agent = Agent::builder()
///     .name("Writer")
///     .model(Offline::default())
///     .instructions(["Answer briefly."])
///     .build()?;
/// let whole = agent.run("What is weft?").await?;
///
/// let mut streamed = String::new();
/// let mut events = agent.run_stream("What is weft?");
/// while let Some(event) = events.next().await {
///     streamed.push_str(event?.content_text());
/// }
/// drop(events);
/// assert_eq!(streamed, whole.content_text());
/// assert_eq!(agent.last_response().content_text(), streamed);
/// # Ok::<(), weft_runtime::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Agent {
    config: Arc<AgentConfig>,
    history: VecDeque<PastRun>,
    last: RunResponse,
}

impl Agent {
    /// Starts configuring an agent.
    pub fn builder() -> AgentBuilder {
        AgentBuilder::default()
    }

    /// The agent's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    /// The agent's model.
    pub fn model(&self) -> &ModelRef {
        &self.config.model
    }

    /// The tokens and model calls of every run of this agent and of its clones so far (a
    /// workflow reports the difference over one run as the run's usage). Calls a resumed
    /// workflow run replays from its journal count as the interrupted run made them.
    pub fn usage(&self) -> AgentUsage {
        self.config.usage.total()
    }

    /// The system message the agent sends, if any.
    pub fn system_message(&self) -> Option<&str> {
        self.config.system().as_deref()
    }

    /// The last run as one collected response (a `RunContent` item with the whole answer, its
    /// tools and metrics). While a run streams, or after it failed or was dropped, it holds
    /// what had arrived so far.
    pub fn last_response(&self) -> &RunResponse {
        &self.last
    }

    /// Makes this agent and its clones work for the workflow run `scope` (journaled calls).
    pub(crate) fn enter_scope(&self, scope: &Arc<RunScope>) {
        let mut slot = self.config.scope_slot();
        if let Some(other) = slot.as_ref().filter(|other| !Arc::ptr_eq(other, scope)) {
            tracing::warn!(
                agent = self.config.name.as_deref().unwrap_or(""),
                run_id = other.run_id(),
                "the agent (or a clone) already works for another workflow run; it now works for the new one"
            );
        }
        *slot = Some(Arc::clone(scope));
    }

    /// Ends the agent's work for the run `scope` (if it still works for it).
    pub(crate) fn leave_scope(&self, scope: &Arc<RunScope>) {
        let mut slot = self.config.scope_slot();
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, scope))
        {
            *slot = None;
        }
    }

    /// Forgets the runs kept for `add_history_to_messages`.
    pub fn clear_history(&mut self) {
        self.history.clear();
    }

    /// Runs the agent on `prompt` with non-streaming model calls and returns the collected
    /// response; the same answer [`run_stream`](Self::run_stream) would stream.
    pub async fn run(&mut self, prompt: impl Into<String>) -> Result<RunResponse> {
        {
            let mut events = std::pin::pin!(self.run_with(prompt.into(), CallMode::Complete, None));
            while let Some(event) = events.next().await {
                event?;
            }
        }
        Ok(self.last.clone())
    }

    /// Runs the agent on `prompt`, streaming events as they happen. The stream borrows the
    /// agent; when it ends, [`last_response`](Self::last_response) holds the whole run.
    pub fn run_stream(&mut self, prompt: impl Into<String>) -> RunStream<'_> {
        self.run_with(prompt.into(), CallMode::Stream, None).boxed()
    }

    /// Runs the agent on `prompt` and returns its answer as a `T` (structured output).
    ///
    /// The model is asked for JSON following `T`'s schema: OpenAI through `response_format`
    /// (`json_schema`, strict when every field can be required), Anthropic through a tool it
    /// must call with the answer as input. The agent's own tools stay usable first. The
    /// answer is checked by deserialising it; if it does not fit, the error goes back to the
    /// model for one repair turn, and a second misfit is [`Error::InvalidOutput`] with the raw
    /// answer. [`last_response`](Self::last_response) then holds the answer as
    /// [`Content::Json`].
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use weft_runtime::{Agent, Offline};
    ///
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Verdict { topic: String, relevant: bool }
    ///
    /// // The offline model fills the schema deterministically; a real one answers it.
    /// let mut agent = Agent::builder().model(Offline::default()).build()?;
    /// let verdict: Verdict = agent.run_typed("Is sled an embedded database?").await?;
    /// assert!(!verdict.topic.is_empty());
    /// # Ok::<(), weft_runtime::Error>(()) }).unwrap();
    /// ```
    pub async fn run_typed<T>(&mut self, prompt: impl Into<String>) -> Result<T>
    where
        T: schemars::JsonSchema + serde::de::DeserializeOwned,
    {
        let expected = Expected::of::<T>();
        {
            let mut events = std::pin::pin!(self.run_with(
                prompt.into(),
                CallMode::Complete,
                Some(expected.clone())
            ));
            while let Some(event) = events.next().await {
                event?;
            }
        }
        expected.typed_value(&self.last.content)
    }

    /// The one path of `run`, `run_typed` and `run_stream`. Inside a workflow run (a scope is
    /// set), every model call and tool call is looked up in the run's journal first and
    /// journaled when it completes, and every item carries its identity in `origin`; the loop
    /// is the same either way, so a replayed call yields the same items as the live one did.
    fn run_with(
        &mut self,
        prompt: String,
        mode: CallMode,
        expected: Option<Expected>,
    ) -> impl Stream<Item = Result<RunResponse>> + Send + '_ {
        let config = Arc::clone(&self.config);
        let scope = config.scope_slot().clone();
        let model_label = config.model_label();
        let run_id = uuid::Uuid::new_v4().to_string();
        let span = spans::agent(&spans::AgentRun {
            agent: config.name.as_deref(),
            provider: config.model.provider(),
            model: config.model.id(),
            workflow: scope
                .as_ref()
                .map(|scope| (scope.span(), scope.session_id(), scope.run_id())),
        });
        let agent_span = span.clone();
        let messages = prompt::messages(config.system().as_deref(), &self.history, &prompt);
        self.last = RunResponse {
            run_id,
            agent_name: config.name.clone(),
            model: Some(model_label),
            ..RunResponse::new(RunEvent::RunContent)
        };
        let stream = async_stream::try_stream! {
            let started = Instant::now();
            let mut messages = messages;
            let mut calls_made = 0usize;
            let mut turns = 0usize;
            let mut repairs_left = typed::REPAIR_TURNS;
            // Inside a workflow run: the key of the call's first model call, and how many of
            // the call's other items were yielded (their identities).
            let mut call_key: Option<String> = None;
            let mut call_items = 0usize;
            let tool_list = config.tool_list().await?;
            loop {
                turns += 1;
                let calls_left = config.tool_call_limit.is_none_or(|limit| calls_made < limit);
                let last_turn = turns >= config.max_turns;
                let tools_allowed = calls_left && !last_turn;
                let request = ModelRequest {
                    messages: messages.clone(),
                    tools: tool_list.specs.clone(),
                    tool_choice: if tools_allowed { ToolChoice::Auto } else { ToolChoice::None },
                    output: expected.as_ref().map(|e| e.schema.clone()),
                };
                // Taken when the call starts: identical calls are interchangeable, so the
                // order concurrent calls start in does not matter.
                let model_key = scope.as_ref().map(|scope| {
                    scope.next_key(&identity::model_prefix(config.name.as_deref(), &request, mode.as_str()))
                });
                if turns == 1 {
                    call_key.clone_from(&model_key);
                    let mut item = self.item(RunEvent::RunStarted, Content::default(), Vec::new());
                    item.origin = next_origin(&call_key, &mut call_items);
                    yield item;
                }
                let journaled = match (&scope, &model_key) {
                    (Some(scope), Some(key)) => scope
                        .journaled(key)
                        .map(|entry| journal::read_turn(scope.run_id(), &entry))
                        .transpose()?,
                    _ => None,
                };
                self.last.metrics.model_calls += 1;
                config.usage.add_call();
                let mut recorder = None;
                let recorded_call = journaled.is_some();
                let (events, input_messages): (BoxStream<'static, Result<ModelEvent>>, Option<Vec<Message>>) = match journaled {
                    Some(turn) => (futures::stream::iter(turn.into_events().into_iter().map(Ok)).boxed(), None),
                    None => {
                        if scope.is_some() {
                            recorder = Some(TurnRecorder::new());
                            fault_point("model.started");
                        }
                        let input = telemetry::capturing_content().then(|| request.messages.clone());
                        let live = retry::call(config.retry.clone(), Arc::clone(&config.model), request, mode);
                        (live.boxed(), input)
                    }
                };
                let chat_span = spans::chat(config.model.provider(), config.model.id(), recorded_call);
                if let Some(messages) = &input_messages {
                    chat_span.record("gen_ai.input.messages", messages_json(messages).as_str());
                }
                let mut events = events.instrument(chat_span.clone());
                let call_started = Instant::now();
                // This call's own finish reason (the run's is its last call's).
                self.last.finish_reason = None;
                let mut call_usage = crate::model::Usage::default();
                // What the call adds up to is capped (`ResponseLimits::answer`, `tool_calls`),
                // whatever the model: an endless stream of small deltas ends the run.
                let provider = config.model.provider();
                let mut turn_text = String::new();
                let mut text_budget = CallBudget::new(provider);
                let mut calls = ToolCallAssembler::new(provider);
                let mut deltas: Vec<String> = Vec::new();
                while let Some(event) = events.next().await {
                    let event = match event {
                        Ok(event) => event,
                        Err(err) => {
                            spans::failed(&chat_span, err.kind());
                            if !recorded_call {
                                record_chat_metrics(&config.model, call_started.elapsed(), None, Some(err.kind()));
                            }
                            Err(err)?
                        }
                    };
                    if let Some(recorder) = &mut recorder {
                        recorder.push(&event)?;
                    }
                    match event {
                        ModelEvent::Text(delta) => {
                            text_budget.text(&delta)?;
                            if self.last.metrics.time_to_first_token.is_none() {
                                self.last.metrics.time_to_first_token = Some(started.elapsed());
                            }
                            turn_text.push_str(&delta);
                            if let Content::Text(answer) = &mut self.last.content {
                                answer.push_str(&delta);
                            }
                            let mut item = self.item(RunEvent::RunContent, Content::Text(delta), Vec::new());
                            if let Some(key) = &model_key {
                                let origin = identity::turn_item(key, deltas.len());
                                deltas.push(origin.clone());
                                item.origin = Some(origin);
                            }
                            yield item;
                        }
                        ModelEvent::ToolCall(delta) => calls.push(delta)?,
                        ModelEvent::Usage(usage) => {
                            config.usage.add(usage);
                            self.last.metrics.add_usage(usage);
                            call_usage += usage;
                        }
                        ModelEvent::Finish(reason) => self.last.finish_reason = Some(reason),
                    }
                }
                drop(events);
                record_chat(&chat_span, config.model.id(), &call_usage, self.last.finish_reason.as_ref(), &turn_text, input_messages.is_some());
                if !recorded_call {
                    record_chat_metrics(&config.model, call_started.elapsed(), Some(&call_usage), None);
                }
                drop(chat_span);
                if let (Some(scope), Some(key), Some(recorder)) = (&scope, &model_key, recorder) {
                    // The call completed: journaled before anything later is yielded, with the
                    // seqs of those of its deltas the run has logged.
                    fault_point("model.finished");
                    let seqs = scope.seqs_of(deltas.iter().map(String::as_str));
                    let output = journal::output_of(&recorder.finish())?;
                    scope.write_journal(key.clone(), JournalKind::ModelCall, output, seqs).await?;
                }
                // A typed run ends at the first answer that fits, even one given next to tool
                // calls (Anthropic may call its answer tool together with others).
                let answered = expected
                    .as_ref()
                    .filter(|_| calls.is_empty() || !turn_text.trim().is_empty())
                    .map(|expected| (expected, expected.read(&turn_text)));
                match answered {
                    Some((_, Ok(value))) => {
                        self.last.content = Content::Json(value);
                        break;
                    }
                    Some((expected, Err(error))) if calls.is_empty() => {
                        if repairs_left == 0 {
                            Err(Error::InvalidOutput {
                                type_name: expected.type_name,
                                raw: turn_text.clone(),
                                error: error.clone(),
                            })?;
                        }
                        repairs_left -= 1;
                        tracing::debug!(%error, "the structured answer does not fit; asking the model to repair it");
                        messages.push(Message::assistant(turn_text));
                        messages.push(Message::user(typed::repair_prompt(&error)));
                        continue;
                    }
                    _ => {}
                }
                if calls.is_empty() {
                    break;
                }
                let calls = calls.finish();
                if !tools_allowed {
                    // The model was told to answer in text and called tools anyway: stop
                    // rather than loop.
                    Err(match config.tool_call_limit {
                        Some(limit) if !calls_left => Error::ToolCallLimit { limit, setting: "tool_call_limit" },
                        _ => Error::ToolCallLimit { limit: config.max_turns, setting: "max_turns" },
                    })?;
                }
                messages.push(Message::assistant_with_tools(turn_text, calls.clone()));
                let budget = config.tool_call_limit.map_or(calls.len(), |limit| limit.saturating_sub(calls_made));
                let (to_run, refused) = calls.split_at(budget.min(calls.len()));
                let mut started_items = Vec::with_capacity(to_run.len());
                for call in to_run {
                    let pending = ToolExecution {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        arguments: call.arguments.clone(),
                        ..ToolExecution::default()
                    };
                    let mut item = self.item(RunEvent::ToolCallStarted, Content::default(), vec![pending]);
                    item.origin = next_origin(&call_key, &mut call_items);
                    started_items.push(item.origin.clone());
                    yield item;
                }
                let executions = tools::run_all(&tool_list.tools, to_run, config.tool_timeout, scope.as_ref(), &started_items).await?;
                calls_made += executions.len();
                let refused = refused.iter().map(|call| {
                    let limit = config.tool_call_limit.unwrap_or_default();
                    tracing::debug!(tool = %call.name, limit, "tool call refused: limit reached");
                    tools::refused(call, limit)
                });
                for execution in executions.into_iter().chain(refused.collect::<Vec<_>>()) {
                    let result = execution.result.clone().unwrap_or_default();
                    messages.push(Message::tool_result(execution.id.clone(), result, execution.is_error));
                    self.last.tools.push(execution.clone());
                    let mut item = self.item(RunEvent::ToolCallCompleted, Content::default(), vec![execution]);
                    item.origin = next_origin(&call_key, &mut call_items);
                    yield item;
                }
            }
            if self.last.finish_reason == Some(FinishReason::Length) {
                tracing::warn!("the answer was cut off at the model's token limit (finish reason `length`); raise `max_tokens`");
            }
            self.last.metrics.duration = Some(started.elapsed());
            self.last.created_at = crate::response::now_millis();
            if config.history_runs > 0 {
                let answer = match &self.last.content {
                    Content::Text(text) => text.clone(),
                    Content::Json(value) => value.to_string(),
                };
                self.history.push_back(PastRun { prompt, answer });
                while self.history.len() > config.history_runs {
                    self.history.pop_front();
                }
            }
            agent_span.record("gen_ai.usage.input_tokens", self.last.metrics.input_tokens);
            agent_span.record("gen_ai.usage.output_tokens", self.last.metrics.output_tokens);
            let mut completed = self.last.clone();
            completed.event = RunEvent::RunCompleted;
            completed.origin = next_origin(&call_key, &mut call_items);
            yield completed;
        };
        let failed_span = span.clone();
        stream
            .inspect(move |item: &Result<RunResponse>| {
                if let Err(err) = item {
                    spans::failed(&failed_span, err.kind());
                }
            })
            .instrument(span)
    }

    /// An item of the current run, stamped with its ids.
    fn item(&self, event: RunEvent, content: Content, tools: Vec<ToolExecution>) -> RunResponse {
        RunResponse {
            run_id: self.last.run_id.clone(),
            agent_name: self.last.agent_name.clone(),
            model: self.last.model.clone(),
            content,
            tools,
            ..RunResponse::new(event)
        }
    }
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.config.name)
            .field("model", &self.config.model)
            .field("tools", &self.config.tools)
            .field(
                "toolsets",
                &self
                    .config
                    .toolsets
                    .iter()
                    .map(|t| t.label())
                    .collect::<Vec<_>>(),
            )
            .field("tool_call_limit", &self.config.tool_call_limit)
            .field("max_turns", &self.config.max_turns)
            .field("tool_timeout", &self.config.tool_timeout)
            .field("history_runs", &self.config.history_runs)
            .finish_non_exhaustive()
    }
}
