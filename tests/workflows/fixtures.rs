//! Workflows used by the tests, and agents pointed at the fake server.

use serde::{Deserialize, Serialize};
use weft::prelude::*;
use weft_testkit::FakeLlm;

/// An agent that talks to the fake server with fast retries.
pub fn fake_agent(server: &FakeLlm) -> Agent {
    Agent::builder()
        .name("writer")
        .model(
            OpenAIChat::new("gpt-4o")
                .base_url(server.openai_base_url())
                .api_key("sk-test"),
        )
        .retry_policy(weft::RetryPolicy {
            retries: 0,
            ..weft::RetryPolicy::default()
        })
        .build()
        .unwrap()
}

/// The seed's CacheWorkflow: answers from session state when it can.
#[workflow]
pub struct CacheWorkflow {
    #[agent(model = "openai:gpt-4o", instructions = ["Answer briefly."])]
    pub agent: Agent,
}

#[workflow]
impl CacheWorkflow {
    fn run(&mut self, message: String) -> RunStream<'_> {
        try_stream! {
            if let Some(hit) = self.session_state.get::<String>(&message) {
                yield RunResponse::text(hit);
                return;
            }
            for await chunk in self.agent.run_stream(&message) {
                yield chunk?;
            }
            let answer = self.agent.last_response().content_text().to_string();
            self.session_state.insert(&message, answer)?;
        }
    }
}

/// Records progress in state between yields, to see what a dropped or failed run keeps.
#[workflow]
pub struct StepWorkflow {
    #[agent(model = "openai:gpt-4o")]
    pub agent: Agent,
}

#[workflow]
impl StepWorkflow {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            self.session_state.insert("step", 1)?;
            yield RunResponse::text(format!("Researching {topic}. "));
            self.session_state.insert("step", 2)?;
            for await chunk in self.agent.run_stream(&topic) {
                yield chunk?;
            }
            self.session_state.insert("step", 3)?;
        }
    }
}

/// Typed session state.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub runs: u32,
    pub last_topic: Option<String>,
    #[serde(default)]
    pub label: String,
}

/// A workflow with typed state and a plain field.
#[workflow(name = "counting", state = Counter)]
pub struct CountingWorkflow {
    pub greeting: String,
}

#[workflow]
impl CountingWorkflow {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            self.session_state.runs += 1;
            self.session_state.last_topic = Some(topic.clone());
            yield RunResponse::text(format!("{} #{} on {topic}", self.greeting, self.session_state.runs));
        }
    }
}

/// The seed's validation input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserInput {
    pub name: String,
    pub email: String,
    pub query: String,
}

/// Takes typed input; answers with the agent.
#[workflow]
pub struct ValidationWorkflow {
    #[agent(model = "openai:gpt-4o")]
    pub agent: Agent,
}

#[workflow]
impl ValidationWorkflow {
    fn run(&mut self, input: UserInput) -> RunStream<'_> {
        try_stream! {
            if !input.email.contains('@') {
                Err(weft::Error::InvalidInput { path: "email".into(), message: "not an email address".into() })?;
            }
            for await chunk in self.agent.run_stream(format!("{} asks: {}", input.name, input.query)) {
                yield chunk?;
            }
        }
    }
}

/// A plain field whose type has no `Default`: the builder must be given it.
pub struct Endpoint(pub String);

/// Needs its endpoint.
#[workflow]
pub struct NeedsEndpoint {
    pub endpoint: Endpoint,
}

#[workflow]
impl NeedsEndpoint {
    fn run(&mut self, path: String) -> RunStream<'_> {
        try_stream! {
            yield RunResponse::text(format!("{}/{path}", self.endpoint.0));
        }
    }
}

/// Changes its state, yields, then panics with a message naming the topic.
#[workflow]
pub struct PanickyWorkflow {}

#[workflow]
impl PanickyWorkflow {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            self.session_state.insert("before_the_panic", &topic)?;
            yield RunResponse::text(format!("about {topic}. "));
            if !topic.is_empty() {
                panic!("the workflow panicked on purpose about {topic}");
            }
            self.session_state.insert("after_the_panic", true)?;
        }
    }
}

/// Sets one key of dynamic state per run: `key=value`.
#[workflow]
pub struct Notes {}

#[workflow]
impl Notes {
    fn run(&mut self, note: String) -> RunStream<'_> {
        try_stream! {
            let (key, value) = note.split_once('=').unwrap_or((note.as_str(), ""));
            self.session_state.insert(key, value)?;
            yield RunResponse::text(format!("noted {key}"));
        }
    }
}
