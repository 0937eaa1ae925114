//! What a run yields: [`RunResponse`] items tagged with a [`RunEvent`].
//!
//! The rule that makes streams easy to consume: [`RunResponse::content_text`] is non-empty only
//! for [`RunEvent::RunContent`] items, so concatenating it over a stream gives the whole answer
//! exactly once. The closing [`RunEvent::RunCompleted`] item repeats the whole answer in its
//! `content` field for consumers that only want the end result.
//!
//! A *collected* response (the result of `Agent::run`, or `Agent::last_response`) is a single
//! `RunContent` item holding the whole answer, with the run's tools and metrics. It can be
//! yielded into a workflow stream and is still counted exactly once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A boxed stream of run items, as `Agent::run_stream` and workflows return it. It is `Unpin`,
/// so `.next().await` works on it directly, and `Send`, so it can move across tasks.
pub type RunStream<'a> = futures::stream::BoxStream<'a, crate::Result<RunResponse>>;

/// What kind of item a [`RunResponse`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RunEvent {
    /// A workflow run started.
    WorkflowStarted,
    /// An agent run started.
    RunStarted,
    /// Text: a delta while streaming, or a whole collected answer.
    #[default]
    RunContent,
    /// The model asked for a tool call; `tools` holds the call about to run.
    ToolCallStarted,
    /// A tool call finished; `tools` holds the call with its result and duration.
    ToolCallCompleted,
    /// An agent run finished; `content` holds the whole answer.
    RunCompleted,
    /// A run failed; `content` holds the error message.
    RunError,
    /// A workflow step started.
    StepStarted,
    /// A workflow step finished.
    StepCompleted,
    /// A workflow run finished.
    WorkflowCompleted,
    /// A resumed run withdraws text it had streamed before the process died, from a model
    /// call that never completed: `content` is `{"from_seq": N}`, and a client drops every
    /// `RunContent` delta with `seq >= N` it already has. The answer is the concatenation of
    /// `RunContent` deltas in `seq` order with discarded ranges removed.
    ContentDiscarded,
    /// The run paused for a person (`ctx.interrupt`, or a tool call waiting for approval):
    /// `pause` holds the question and the schema of the answer, `content` the question. The
    /// run's stream ends after it; `continue_run` with an answer takes the run up again.
    RunPaused,
}

/// The payload of a response: text, or structured JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text (possibly empty).
    Text(String),
    /// Structured output.
    Json(serde_json::Value),
}

impl Default for Content {
    fn default() -> Self {
        Content::Text(String::new())
    }
}

impl Content {
    /// The text, or `""` for JSON content.
    pub fn as_text(&self) -> &str {
        match self {
            Content::Text(text) => text,
            Content::Json(_) => "",
        }
    }
}

/// One tool call made during a run: what was asked, what came back, how long it took.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolExecution {
    /// The provider's id for the call.
    pub id: String,
    /// The tool's name as the model wrote it.
    pub name: String,
    /// The arguments as the model wrote them (raw JSON text, possibly invalid).
    pub arguments: String,
    /// What was sent back to the model; `None` until the call completes.
    pub result: Option<String>,
    /// Whether the result reports an error (tool failure, unknown tool, bad arguments).
    pub is_error: bool,
    /// How long the call took; `None` until it completes.
    pub duration: Option<Duration>,
}

/// Token usage and timing of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Prompt tokens over every model call of the run, as the provider reported them (those
    /// served from or written to a prompt cache included).
    pub input_tokens: u64,
    /// The part of `input_tokens` served from the provider's prompt cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Completion tokens over every model call of the run.
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`.
    pub total_tokens: u64,
    /// Number of model calls the run made (more than one when tools were called).
    pub model_calls: u32,
    /// From the start of the run to the first text delta.
    pub time_to_first_token: Option<Duration>,
    /// From the start of the run to its end.
    pub duration: Option<Duration>,
}

impl Metrics {
    /// Whether nothing was counted (every field zero or unset): such metrics are left out of
    /// an item's JSON.
    pub fn is_empty(&self) -> bool {
        *self == Metrics::default()
    }

    /// Adds one model call's token usage.
    pub fn add_usage(&mut self, usage: crate::model::Usage) {
        // Saturating: the counts come from outside.
        self.input_tokens = self.input_tokens.saturating_add(usage.input_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(usage.cached_input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(usage.output_tokens);
        self.total_tokens = self.input_tokens.saturating_add(self.output_tokens);
    }
}

/// One item of a run: an event tag plus its data. A plain struct with public fields.
///
/// ```
/// use weft_runtime::{RunEvent, RunResponse};
/// let item = RunResponse::text("cached answer");
/// assert_eq!(item.event, RunEvent::RunContent);
/// assert_eq!(item.content_text(), "cached answer");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResponse {
    /// The run this item belongs to.
    pub run_id: String,
    /// The item's place in its workflow run's event log: 1, 2, 3… with no gaps, set when the
    /// item is logged (`None` for items of an agent run outside a workflow, and before the
    /// workflow logs them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The session, when the run belongs to a workflow session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The workflow, when the run belongs to a workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// The agent that produced the item, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// The workflow step the item belongs to (`StepStarted`/`StepCompleted` items), when the
    /// workflow names its steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The model that produced the item (`provider:id`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What kind of item this is.
    pub event: RunEvent,
    /// The payload; see the module docs for what it holds per event.
    pub content: Content,
    /// Tool calls: the one in flight for tool events, all of the run's for completed ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolExecution>,
    /// Usage and timing; filled on completed and collected responses.
    #[serde(default, skip_serializing_if = "Metrics::is_empty")]
    pub metrics: Metrics,
    /// Why the model stopped, on completed and collected responses: `Length` means the answer
    /// was cut off at the token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<crate::model::FinishReason>,
    /// What the run waits for: on a `RunPaused` item, and on the collected response of a run
    /// that paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<crate::durable::Pause>,
    /// Milliseconds since the Unix epoch when the item was made.
    pub created_at: u64,
    /// Where the item came from within its workflow run, for the run's event log: set by weft
    /// on the items of agent calls made inside a workflow run (the call's journal key and the
    /// item's place in it), so that a resumed run recognises the items it logged before.
    /// Cleared once the item is logged; never serialised.
    #[serde(skip)]
    pub origin: Option<String>,
}

impl RunResponse {
    /// A new item of the given kind, stamped with the current time.
    pub fn new(event: RunEvent) -> Self {
        RunResponse {
            event,
            created_at: now_millis(),
            ..RunResponse::default()
        }
    }

    /// A `RunContent` item holding `text`: what a workflow yields for text it made itself.
    pub fn text(text: impl Into<String>) -> Self {
        RunResponse {
            content: Content::Text(text.into()),
            ..RunResponse::new(RunEvent::RunContent)
        }
    }

    /// A `StepStarted` item: the workflow step `step` begins; `detail` says what it does.
    ///
    /// ```
    /// use weft_runtime::{RunEvent, RunResponse};
    /// let item = RunResponse::step_started("search", "Searching the web for sled");
    /// assert_eq!((item.event, item.step.as_deref()), (RunEvent::StepStarted, Some("search")));
    /// assert_eq!(item.content_text(), "", "progress is not part of the answer");
    /// ```
    pub fn step_started(step: impl Into<String>, detail: impl Into<String>) -> Self {
        RunResponse {
            step: Some(step.into()),
            content: Content::Text(detail.into()),
            ..RunResponse::new(RunEvent::StepStarted)
        }
    }

    /// A `StepCompleted` item: the step `step` (or one unit of it, such as one source read)
    /// is done; `detail` says what came of it.
    pub fn step_completed(step: impl Into<String>, detail: impl Into<String>) -> Self {
        RunResponse {
            step: Some(step.into()),
            content: Content::Text(detail.into()),
            ..RunResponse::new(RunEvent::StepCompleted)
        }
    }

    /// The text this item contributes to the answer: the text of a `RunContent` item, `""` for
    /// every other event. Concatenating it over a stream gives the whole answer exactly once.
    pub fn content_text(&self) -> &str {
        match self.event {
            RunEvent::RunContent => self.content.as_text(),
            _ => "",
        }
    }
}

pub use crate::time::now_millis;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_items_contribute_text() {
        let mut completed = RunResponse::text("whole answer");
        completed.event = RunEvent::RunCompleted;
        assert_eq!(completed.content_text(), "");
        assert_eq!(completed.content.as_text(), "whole answer");
        assert_eq!(RunResponse::text("delta").content_text(), "delta");
    }
}
