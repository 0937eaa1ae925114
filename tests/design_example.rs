//! DESIGN §1's example, as written, end to end: an `openai:gpt-4o` agent (pointed at the fake
//! server through `OPENAI_BASE_URL`), the cache in session state, a stored session.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, missing_docs)]

use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

/// A workflow that caches previous outputs.
#[workflow]
pub struct CacheWorkflow {
    #[agent(model = "openai:gpt-4o", instructions = ["Answer briefly."])]
    agent: Agent,
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
                yield chunk?;                 // `yield from agent.run(.., stream=True)`
            }
            let answer = self.agent.last_response().content_text();
            self.session_state.insert(&message, answer)?;
        }
    }
}

async fn run_once(storage: &MemoryStorage) -> weft::Result<String> {
    let mut wf = CacheWorkflow::builder()
        .session_id("demo")
        .storage(storage.clone())
        .build()?;
    let mut events = wf.run_stream("Explain quantum computing".to_string());
    let mut printed = String::new();
    while let Some(ev) = events.next().await {
        printed.push_str(ev?.content_text());
    }
    Ok(printed)
}

#[tokio::test]
async fn the_design_example_runs_as_written() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Quantum computers use qubits."));
    // This binary holds this one test, so setting the process environment races nothing.
    std::env::set_var("OPENAI_BASE_URL", server.openai_base_url());
    std::env::set_var("OPENAI_API_KEY", "sk-test");

    let storage = MemoryStorage::new();
    assert_eq!(
        run_once(&storage).await.unwrap(),
        "Quantum computers use qubits."
    );
    assert_eq!(
        run_once(&storage).await.unwrap(),
        "Quantum computers use qubits."
    );
    assert_eq!(
        server.request_count(),
        1,
        "the second run was answered from session state"
    );
    let request = &server.requests()[0];
    assert_eq!(request.body["model"], "gpt-4o");
    assert!(request.messages()[0]["content"]
        .as_str()
        .unwrap()
        .contains("Answer briefly."));
    let runs = storage.read_runs("demo").await.unwrap();
    assert_eq!(runs.len(), 2);
}
