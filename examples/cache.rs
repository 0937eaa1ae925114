//! CacheWorkflow: the second time a question is asked, the answer comes from session state,
//! without a model call.
//!
//! ```text
//! cargo run --example cache -- "Explain quantum computing"
//! ```

use weft::prelude::*;
use weft_examples::cache::CacheWorkflow;

#[tokio::main]
async fn main() -> weft::Result<()> {
    let question = weft_examples::prompt_from_args("Explain quantum computing");

    let mut workflow = CacheWorkflow::builder().session_id("cache-demo").build()?;
    for attempt in 1..=2 {
        let mut events = workflow.run_stream(question.clone());
        let mut model_calls = 0;
        print!("ask #{attempt}: ");
        while let Some(event) = events.next().await {
            let event = event?;
            print!("{}", event.content_text());
            if event.event == RunEvent::WorkflowCompleted {
                model_calls = event.metrics.model_calls;
            }
        }
        drop(events);
        if model_calls == 0 {
            println!("\n  -> answered from session state, no model call");
        } else {
            println!(
                "\n  -> answered by the model ({model_calls} call), now cached in session state"
            );
        }
    }
    Ok(())
}
