//! Shared helpers: providers pointed at the fake server, agents with fast retries.

use std::time::Duration;

use weft::prelude::*;
use weft::{AgentBuilder, RetryPolicy};
use weft_testkit::FakeLlm;

pub use crate::drain::drain;

pub const TEST_KEY: &str = "sk-test-4f9a1c";

/// Which provider a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Provider {
    OpenAI,
    Anthropic,
}

pub const BOTH: [Provider; 2] = [Provider::OpenAI, Provider::Anthropic];

pub fn model(provider: Provider, server: &FakeLlm) -> weft::ModelRef {
    match provider {
        Provider::OpenAI => std::sync::Arc::new(
            OpenAIChat::new("gpt-4o")
                .base_url(server.openai_base_url())
                .api_key(TEST_KEY),
        ),
        Provider::Anthropic => std::sync::Arc::new(
            Claude::new("claude-sonnet-4-5")
                .base_url(server.anthropic_base_url())
                .api_key(TEST_KEY),
        ),
    }
}

/// [`model`] with its timeout (connect, each read, and a stall between model events).
pub fn model_with_timeout(
    provider: Provider,
    server: &FakeLlm,
    timeout: Duration,
) -> weft::ModelRef {
    match provider {
        Provider::OpenAI => std::sync::Arc::new(
            OpenAIChat::new("gpt-4o")
                .base_url(server.openai_base_url())
                .api_key(TEST_KEY)
                .timeout(timeout),
        ),
        Provider::Anthropic => std::sync::Arc::new(
            Claude::new("claude-sonnet-4-5")
                .base_url(server.anthropic_base_url())
                .api_key(TEST_KEY)
                .timeout(timeout),
        ),
    }
}

/// Retries without real waiting (a `Retry-After` is still honoured).
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

pub fn agent_builder(provider: Provider, server: &FakeLlm) -> AgentBuilder {
    Agent::builder()
        .name("Tester")
        .model(model(provider, server))
        .retry_policy(fast_retries())
}

pub fn agent(provider: Provider, server: &FakeLlm) -> Agent {
    agent_builder(provider, server).build().unwrap()
}

/// Concatenated `content_text()` of the items.
pub fn text_of(items: &[RunResponse]) -> String {
    items.iter().map(|item| item.content_text()).collect()
}

pub fn events_of(items: &[RunResponse]) -> Vec<RunEvent> {
    items.iter().map(|item| item.event).collect()
}
