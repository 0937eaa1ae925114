//! Streams one agent's answer to a question.
//!
//! ```text
//! cargo run --example agent -- "What is a workflow engine?"
//! ```
//! The model comes from `weft::model_from_env()`: `WEFT_MODEL` (e.g. `anthropic:claude-sonnet-4-5`),
//! else OpenAI with `OPENAI_API_KEY`, else Anthropic with `ANTHROPIC_API_KEY`, else the offline
//! model, which needs no network and says so.

use std::io::Write;

use weft::prelude::*;

#[tokio::main]
async fn main() -> weft::Result<()> {
    let question = weft_examples::prompt_from_args("What is weft, in one sentence?");

    let mut agent = Agent::builder()
        .name("Assistant")
        .model(weft::model_from_env()?)
        .description("You are a concise, accurate assistant.")
        .instructions(["Answer in at most one short paragraph."])
        .markdown(true)
        .build()?;

    let mut stdout = std::io::stdout();
    let mut events = agent.run_stream(question);
    while let Some(event) = events.next().await {
        let delta = event?;
        // A closed pipe (`| head`) ends the output, not the program with a panic.
        if write!(stdout, "{}", delta.content_text())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
    }
    drop(events);
    let _ = writeln!(stdout);

    let metrics = &agent.last_response().metrics;
    eprintln!(
        "[{} | {} in / {} out tokens | first token {:?} | total {:?}]",
        agent.model().id(),
        metrics.input_tokens,
        metrics.output_tokens,
        metrics.time_to_first_token.unwrap_or_default(),
        metrics.duration.unwrap_or_default(),
    );
    Ok(())
}
