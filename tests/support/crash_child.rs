//! A child process for the crash and lock tests (`tests/storage`):
//!
//! - `weft-crash-child run DB`: completes one run, starts a second, prints `IN_FLIGHT` once the
//!   second has yielded, then waits forever (the test kills it with SIGKILL);
//! - `weft-crash-child open DB`: tries to open the store and prints `OPENED` or the error;
//! - `weft-crash-child drop DB`: starts a run, drops its stream once the run has yielded (its
//!   state changed), prints `DROPPED` and exits normally.

use std::io::Write;

use futures::StreamExt;
use weft::prelude::*;

/// Counts runs in its state; the `hang` topic never finishes.
#[workflow]
pub struct Journal {}

#[workflow]
impl Journal {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            let runs: u32 = self.session_state.get("runs").unwrap_or(0);
            self.session_state.insert("runs", runs + 1)?;
            self.session_state.insert("last", &topic)?;
            yield RunResponse::text(format!("entry about {topic}"));
            if topic == "hang" {
                futures::future::pending::<()>().await;
            }
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> weft::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, db) = match args.as_slice() {
        [_, mode, db] => (mode.as_str(), db.as_str()),
        _ => {
            say("usage: weft-crash-child run|open|drop DB");
            std::process::exit(2);
        }
    };
    let storage = match SledStorage::open(db) {
        Ok(storage) => storage,
        Err(err) => {
            say(&format!("ERROR {err}"));
            std::process::exit(1);
        }
    };
    if mode == "open" {
        say("OPENED");
        return Ok(());
    }
    let mut journal = Journal::builder()
        .session_id("journal")
        .storage(storage)
        .build()?;
    if mode == "drop" {
        let mut events = journal.run_stream("dropped".to_string());
        while let Some(event) = events.next().await {
            if event?.event == RunEvent::RunContent {
                break;
            }
        }
        drop(events); // mid-run: the run's guard saves it
        say("DROPPED");
        return Ok(());
    }
    journal.run("completed".to_string()).await?;
    say("COMPLETED");
    let mut events = journal.run_stream("hang".to_string());
    while let Some(event) = events.next().await {
        if event?.event == RunEvent::RunContent {
            say("IN_FLIGHT");
        }
    }
    Ok(())
}
