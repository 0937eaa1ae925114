//! SimpleWorkflow: one agent, one streamed answer, events shown as they arrive.
//!
//! ```text
//! cargo run --example simple -- "the history of the loom"
//! ```
//! Runs offline unless `WEFT_MODEL`, `OPENAI_API_KEY` or `ANTHROPIC_API_KEY` is set.

use std::io::Write;

use weft::prelude::*;
use weft_examples::simple::SimpleWorkflow;

#[tokio::main]
async fn main() -> weft::Result<()> {
    let topic = weft_examples::prompt_from_args("the history of the loom");

    let mut workflow = SimpleWorkflow::builder().build()?;
    let mut events = workflow.run_stream(topic);
    while let Some(event) = events.next().await {
        let event = event?;
        match event.event {
            RunEvent::RunContent => {
                print!("{}", event.content_text());
                let _ = std::io::stdout().flush();
            }
            RunEvent::WorkflowCompleted => println!(
                "\n[workflow completed: run {} in session {}, {} tokens]",
                event.run_id,
                event.session_id.unwrap_or_default(),
                event.metrics.total_tokens
            ),
            other => eprintln!("[{other:?}]"),
        }
    }
    Ok(())
}
