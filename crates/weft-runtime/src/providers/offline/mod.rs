//! A deterministic model that needs no network: the fallback of examples without a key.
//!
//! It answers from the request alone, by fixed rules, so an example can run end to end
//! offline, tool calls and typed answers included:
//! 1. **Tools** (`tools`): offered tools and none called since the last user message: it calls
//!    the first tool whose required arguments it can fill from the prompt (`calls`): a `url`
//!    parameter takes each URL of the prompt (one call per URL, up to five, run
//!    concurrently by the agent), other strings take what the prompt is about (the text after
//!    its last `": "`, else all of it), numbers their minimum.
//! 2. **Typed answers** (`fill`): asked for structured output, it fills the schema from the
//!    JSON the tools returned, matching fields by name (and a list by its item's shape).
//! 3. **Text** (`text`): an extract of the prompt: the first sentence of each Markdown
//!    section, citing the section's first URL; a prompt without sections is restated.
//!
//! Every text answer starts by saying it came from the offline model.

mod calls;
mod fill;
mod text;

use futures::StreamExt;

use crate::message::Role;
use crate::model::{
    FinishReason, Model, ModelEvent, ModelRequest, ModelStream, ToolCallDelta, ToolChoice, Usage,
};

/// A deterministic, offline model. Its answer depends only on the request (see the module
/// docs for the rules); it never touches the network.
///
/// ```
/// # futures::executor::block_on(async {
/// use weft_runtime::{Agent, Offline};
/// let mut agent = Agent::builder().model(Offline::default()).build().unwrap();
/// let first = agent.run("hello").await.unwrap();
/// let second = agent.run("hello").await.unwrap();
/// assert_eq!(first.content_text(), second.content_text());
/// assert!(first.content_text().contains("offline"));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Offline {
    id: String,
}

/// What the offline model does with one request.
#[derive(Debug, PartialEq)]
enum Reply {
    Text(String),
    Calls(Vec<calls::Call>),
}

impl Offline {
    /// An offline model; the id only labels it.
    pub fn new(id: impl Into<String>) -> Self {
        Offline { id: id.into() }
    }

    /// The whole text answer to `request` (what it streams, when it calls no tool).
    pub fn answer(&self, request: &ModelRequest) -> String {
        match self.reply(request) {
            Reply::Text(text) => text,
            Reply::Calls(calls) => calls
                .iter()
                .map(|call| format!("{}({})", call.name, call.arguments))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn reply(&self, request: &ModelRequest) -> Reply {
        let last_user = request
            .messages
            .iter()
            .rposition(|m| m.role == Role::User)
            .unwrap_or(0);
        let prompt = request
            .messages
            .get(last_user)
            .filter(|m| m.role == Role::User)
            .map_or("", |m| m.content.as_str());
        let since_prompt = request.messages.get(last_user + 1..).unwrap_or_default();
        let tools_called = since_prompt.iter().any(|m| m.role == Role::Tool);
        if request.tool_choice == ToolChoice::Auto && !tools_called {
            if let Some(calls) = calls::plan(&request.tools, prompt) {
                return Reply::Calls(calls);
            }
        }
        let evidence: Vec<serde_json::Value> = since_prompt
            .iter()
            .rev()
            .filter(|m| m.role == Role::Tool && !m.is_error)
            .filter_map(|m| serde_json::from_str(&m.content).ok())
            .collect();
        if let Some(output) = &request.output {
            return Reply::Text(fill::answer(&output.schema, &evidence, prompt).to_string());
        }
        Reply::Text(text::answer(&self.id, prompt))
    }
}

impl Default for Offline {
    fn default() -> Self {
        Offline::new("echo")
    }
}

impl Model for Offline {
    fn provider(&self) -> &'static str {
        "offline"
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn stream(&self, request: ModelRequest) -> ModelStream {
        let input_tokens = request
            .messages
            .iter()
            .map(|m| m.content.split_whitespace().count() as u64)
            .sum();
        let (mut events, finish) = match self.reply(&request) {
            Reply::Text(text) => (
                text.split_inclusive(' ')
                    .map(|word| ModelEvent::Text(word.to_string()))
                    .collect::<Vec<_>>(),
                FinishReason::Stop,
            ),
            Reply::Calls(calls) => (
                calls
                    .into_iter()
                    .enumerate()
                    .map(|(index, call)| {
                        ModelEvent::ToolCall(ToolCallDelta {
                            index,
                            id: Some(format!("offline_call_{index}")),
                            name: Some(call.name),
                            arguments: call.arguments.to_string(),
                        })
                    })
                    .collect(),
                FinishReason::ToolCalls,
            ),
        };
        let output_tokens = events.len() as u64;
        events.push(ModelEvent::Usage(Usage {
            input_tokens,
            output_tokens,
            cached_input_tokens: 0,
        }));
        events.push(ModelEvent::Finish(finish));
        futures::stream::iter(events.into_iter().map(Ok)).boxed()
    }
}
