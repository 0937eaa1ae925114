//! A deterministic model that needs no network: the fallback of examples without a key.

use futures::StreamExt;

use crate::message::Role;
use crate::model::{FinishReason, Model, ModelEvent, ModelRequest, ModelStream, Usage};

/// A deterministic, offline model. Its answer depends only on the request: it says it is the
/// offline model and restates the last user message, streamed word by word. It never calls
/// tools and never touches the network.
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

impl Offline {
    /// An offline model; the id only labels it.
    pub fn new(id: impl Into<String>) -> Self {
        Offline { id: id.into() }
    }

    /// The whole answer to `request`.
    pub fn answer(&self, request: &ModelRequest) -> String {
        let prompt = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.trim())
            .unwrap_or("");
        let prompt: String = prompt.chars().take(200).collect();
        format!(
            "[offline model `{}`: no LLM was called] You asked: \"{prompt}\". Set OPENAI_API_KEY, ANTHROPIC_API_KEY or WEFT_MODEL for a real answer.",
            self.id
        )
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
        let answer = self.answer(&request);
        let input_tokens = request
            .messages
            .iter()
            .map(|m| m.content.split_whitespace().count() as u64)
            .sum();
        let mut events: Vec<ModelEvent> = answer
            .split_inclusive(' ')
            .map(|word| ModelEvent::Text(word.to_string()))
            .collect();
        let output_tokens = events.len() as u64;
        events.push(ModelEvent::Usage(Usage {
            input_tokens,
            output_tokens,
        }));
        events.push(ModelEvent::Finish(FinishReason::Stop));
        futures::stream::iter(events.into_iter().map(Ok)).boxed()
    }
}
