//! PersistentWorkflow: state that survives the process. Run it twice: the second run sees
//! what the first stored.
//!
//! ```text
//! cargo run --example persistent -- "sled"
//! cargo run --example persistent -- "tokio"
//! cargo run -p weft-cli -- sessions list --db data/workflows.db
//! ```

use serde::{Deserialize, Serialize};
use weft::prelude::*;

/// What the workflow remembers between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Memory {
    /// Topics asked about, oldest first.
    pub topics: Vec<String>,
}

/// Researches a topic and remembers every topic it was asked about.
#[workflow(state = Memory)]
pub struct PersistentWorkflow {
    #[agent(instructions = ["Give a two-sentence overview."])]
    researcher: Agent,
}

#[workflow]
impl PersistentWorkflow {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            if let Some(previous) = self.session_state.topics.last() {
                yield RunResponse::text(format!("(last time you asked about {previous})\n"));
            }
            self.session_state.topics.push(topic.clone());
            for await chunk in self.researcher.run_stream(format!("Overview of {topic}")) {
                yield chunk?;
            }
        }
    }
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let topic = weft_examples::prompt_from_args("sled");

    let storage = SledStorage::open("data/workflows.db")?;
    println!("store: {}", storage.path().display());
    let mut workflow = PersistentWorkflow::builder()
        .session_id("persistent-demo")
        .storage(storage)
        .build()?;

    let mut events = workflow.run_stream(topic);
    while let Some(event) = events.next().await {
        print!("{}", event?.content_text());
    }
    drop(events);
    println!();
    println!(
        "session {} has seen {} topic(s): {}",
        workflow.session_id,
        workflow.session_state.topics.len(),
        workflow.session_state.topics.join(", ")
    );
    Ok(())
}
