//! ValidationWorkflow: typed input from JSON. A bad input gives a clear error event naming the
//! field; a good one gives an answer.
//!
//! ```text
//! cargo run --example validation
//! ```

use serde_json::json;
use weft::prelude::*;
use weft_examples::validation::ValidationWorkflow;

async fn submit(workflow: &mut ValidationWorkflow, input: serde_json::Value) {
    println!("input: {input}");
    let mut events = workflow.run_json(input);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) if event.event == RunEvent::RunError => {
                println!("  error event: {}", event.content.as_text())
            }
            Ok(event) => print!("{}", event.content_text()),
            Err(err) => println!("  run ended with: {err}"),
        }
    }
    println!();
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let mut workflow = ValidationWorkflow::builder().build()?;
    submit(
        &mut workflow,
        json!({ "name": "Ada", "query": "How do I reset my password?" }),
    )
    .await;
    submit(&mut workflow, json!({ "name": "Ada", "email": "ada.example.com", "query": "How do I reset my password?" })).await;
    submit(&mut workflow, json!({ "name": "Ada", "email": "ada@example.com", "query": "How do I reset my password?" })).await;
    Ok(())
}
