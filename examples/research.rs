//! Research assistant: searches the web, reads the top three sources at once, and streams a
//! cited summary; every search and article is kept in the session, on disk.
//!
//! ```text
//! cargo run --example research -- "embedded databases in Rust"
//! ```
//!
//! Runs survive a crash. `--crash-after-reads` makes the process `kill -9` itself when the
//! summary starts, `--crash-mid-summary` after a few words of it; the next start finds the
//! interrupted run and resumes it: the search, the reads and every completed model call come
//! from the run's journal (no model call, no fetch is made again), and only the rest is done
//! live.
//!
//! ```text
//! cargo run --example research -- --crash-after-reads "embedded databases in Rust"
//! cargo run --example research      # resumes it
//! ```
//! With `OPENAI_API_KEY`, `ANTHROPIC_API_KEY` or `WEFT_MODEL` set it uses that model, the real
//! DuckDuckGo and the real pages. Without, it runs offline end to end as a demo: the
//! deterministic offline model drives the same tool calls and typed hand-offs, but the search
//! results are fixed sample pages (about embedded databases), the same whatever the topic,
//! served with their articles by a local weft-testkit server on 127.0.0.1; it says so on
//! stderr. The web tools refuse local addresses by default, so the offline run allows that
//! one host name explicitly (`allow_private_host`).

use std::io::Write;

use weft::prelude::*;

use weft_examples::research::ResearchWorkflow;

/// Where `--crash-…` makes the process kill itself.
#[derive(Clone, Copy, PartialEq)]
enum Crash {
    Never,
    AfterReads,
    MidSummary,
}

/// The topic and the crash flag from the command line.
fn args() -> (String, Crash) {
    let mut crash = Crash::Never;
    let mut words = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--crash-after-reads" => crash = Crash::AfterReads,
            "--crash-mid-summary" => crash = Crash::MidSummary,
            _ => words.push(arg),
        }
    }
    let topic = words.join(" ");
    let topic = if topic.trim().is_empty() {
        "embedded databases in Rust".to_string()
    } else {
        topic
    };
    (topic, crash)
}

/// Ends this process the way a crash does: `kill -9`, no destructor, no flush.
fn kill_9(reason: &str) -> ! {
    eprintln!("\nweft: --crash-…: killing this process with SIGKILL {reason}; run the example again to resume");
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status();
    std::process::abort()
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let (topic, crash) = args();

    let model = weft::model_from_env()?;
    let (search, articles, _local_web) = weft_examples::research::web_tools(&model).await?;

    let storage = SledStorage::open("data/workflows.db")?;
    let mut research = ResearchWorkflow::builder()
        .session_id("research-demo")
        .storage(storage)
        .model(Some(model))
        .search(search)
        .articles(articles)
        .build()?;

    // A run of this session that a crash interrupted is resumed rather than started again.
    let interrupted = research
        .interrupted_runs()
        .await?
        .into_iter()
        .rfind(|run| run.session_id == research.session_id);
    let mut stdout = std::io::stdout();
    let mut events = match &interrupted {
        Some(run) => {
            eprintln!(
                "weft: resuming run {} ({}), interrupted by a crash: what it had done comes from its journal",
                run.run_id, run.input
            );
            research.resume(&run.run_id)
        }
        None => research.run_stream(topic),
    };
    let mut words = 0;
    while let Some(event) = events.next().await {
        let event = event?;
        match event.event {
            RunEvent::StepStarted
                if crash == Crash::AfterReads && event.step.as_deref() == Some("summary") =>
            {
                kill_9("as the summary starts (the search and the reads are journaled)");
            }
            RunEvent::StepStarted | RunEvent::StepCompleted => {
                eprintln!("  > {}", event.content.as_text());
            }
            RunEvent::ContentDiscarded => {
                eprintln!("\n[weft: the crash cut the summary short; it is written again]");
            }
            RunEvent::RunContent if crash == Crash::MidSummary && words == 5 => {
                kill_9("in the middle of the summary (its model call never completed)");
            }
            RunEvent::WorkflowCompleted => {
                let metrics = &event.metrics;
                eprintln!(
                    "\n[{} model calls | {} in / {} out tokens | {:?}]",
                    metrics.model_calls,
                    metrics.input_tokens,
                    metrics.output_tokens,
                    metrics.duration.unwrap_or_default()
                );
            }
            _ => {
                if event.event == RunEvent::RunContent {
                    words += 1;
                }
                // A closed pipe (`| head`) ends the output, not the program with a panic.
                if write!(stdout, "{}", event.content_text())
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return Ok(());
                }
            }
        }
    }
    drop(events);
    let _ = writeln!(stdout);
    eprintln!(
        "session `{}` in data/workflows.db: {} searches, {} articles (run it again to reuse them)",
        research.session_id,
        research.session_state.searches.len(),
        research.session_state.articles.len()
    );
    Ok(())
}
