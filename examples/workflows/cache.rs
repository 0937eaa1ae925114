//! `CacheWorkflow`, run by `cargo run --example cache` and hosted by `cargo run --example serve`.

use weft::prelude::*;

/// A workflow that caches previous outputs.
#[workflow]
pub struct CacheWorkflow {
    #[agent(instructions = ["Answer briefly."])]
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
                yield chunk?;
            }
            let answer = self.agent.last_response().content_text();
            self.session_state.insert(&message, answer)?;
        }
    }
}
