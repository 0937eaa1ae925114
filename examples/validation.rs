//! ValidationWorkflow: typed input from JSON. A bad input gives a clear error event naming the
//! field; a good one gives an answer.
//!
//! ```text
//! cargo run --example validation
//! ```

use serde::{Deserialize, Serialize};
use serde_json::json;
use weft::prelude::*;

/// What a user sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserInput {
    /// Who is asking.
    pub name: String,
    /// Where to answer.
    pub email: String,
    /// The question.
    pub query: String,
}

/// Answers validated support questions.
#[workflow]
pub struct ValidationWorkflow {
    #[agent(instructions = ["You are a helpful support agent.", "Address the user by name."])]
    support: Agent,
}

#[workflow]
impl ValidationWorkflow {
    fn run(&mut self, input: UserInput) -> RunStream<'_> {
        try_stream! {
            if !input.email.contains('@') {
                Err(weft::Error::InvalidInput {
                    path: "email".into(),
                    message: format!("`{}` is not an email address", input.email),
                })?;
            }
            let prompt = format!("{} ({}) asks: {}", input.name, input.email, input.query);
            for await chunk in self.support.run_stream(prompt) {
                yield chunk?;
            }
        }
    }
}

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
