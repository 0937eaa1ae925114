//! The README's first example (the cache workflow), as written, end to end: an `openai:gpt-4o` agent (pointed at the fake
//! server through `OPENAI_BASE_URL`), the cache in session state, a session stored in sled.

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

async fn run_once(path: &std::path::Path) -> weft::Result<String> {
    let mut wf = CacheWorkflow::builder()
        .session_id("demo")
        .storage(SledStorage::open(path)?)
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

    let dir = std::env::temp_dir().join(format!("weft-design-{}", std::process::id()));
    // A leftover store from an earlier run with the same pid would answer from its state.
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("data").join("workflows.db");
    let answer = "Quantum computers use qubits.";
    assert_eq!(run_once(&path).await.unwrap(), answer);
    // A new instance on the reopened store: the answer comes from the saved session.
    assert_eq!(run_once(&path).await.unwrap(), answer);
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
    let storage = SledStorage::open(&path).unwrap();
    let runs = storage.read_runs("demo").await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs
        .iter()
        .all(|run| run.status == weft::RunStatus::Completed));
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
}
