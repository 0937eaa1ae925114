//! Draft → approve → send, with a person in the loop on the terminal.
//!
//! ```text
//! cargo run --example approval -- --to ana@example.com --topic "the launch on Friday"
//! cargo run --example approval -- --answer yes        # answer without asking (scripts, CI)
//! cargo run --example approval -- --continue RUN_ID   # a run left paused by an earlier try
//! ```
//! The writer drafts the email, then the run pauses (`ctx.interrupt`) and the question is asked
//! on stdin: `y` sends the draft, `n` does not, `e` lets you type the text to send instead. The
//! store is a sled database (`--db`, default `data/approval.db`): stop the program at the
//! question (Ctrl-C) and the run stays `paused`; `--continue RUN_ID` takes it up later, without
//! asking the model for the draft again. Offline by default, like every example (a model from
//! `WEFT_MODEL`, `OPENAI_API_KEY` or `ANTHROPIC_API_KEY` otherwise).

use std::io::{BufRead, Write};

use serde_json::json;
use weft::prelude::*;
use weft::Pause;
use weft_examples::approval::{ApprovalWorkflow, EmailRequest, SendQuestion};

/// The command line.
struct Args {
    to: String,
    topic: String,
    db: String,
    /// `yes`/`no`: answer without asking.
    answer: Option<String>,
    /// Continue this paused run instead of starting one.
    resume: Option<String>,
}

fn args() -> weft::Result<Args> {
    let mut parsed = Args {
        to: "team@example.com".into(),
        topic: "the release notes for version 2".into(),
        db: "data/approval.db".into(),
        answer: None,
        resume: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| weft::Error::Config(format!("`{name}` needs a value")))
        };
        match arg.as_str() {
            "--to" => parsed.to = value("--to")?,
            "--topic" => parsed.topic = value("--topic")?,
            "--db" => parsed.db = value("--db")?,
            "--answer" => parsed.answer = Some(value("--answer")?),
            "--continue" => parsed.resume = Some(value("--continue")?),
            other => {
                return Err(weft::Error::Config(format!(
                    "unknown argument `{other}`: use `--to ADDRESS`, `--topic TEXT`, `--db PATH`, `--answer yes|no`, `--continue RUN_ID`"
                )))
            }
        }
    }
    Ok(parsed)
}

/// Prints a run's items as they come; returns its pause, if it paused.
async fn follow(mut events: RunStream<'_>) -> weft::Result<Option<(String, Pause)>> {
    let mut stdout = std::io::stdout();
    let mut paused = None;
    while let Some(item) = events.next().await {
        let item = item?;
        match item.event {
            RunEvent::RunContent => {
                let _ = write!(stdout, "{}", item.content_text());
                let _ = stdout.flush();
            }
            RunEvent::StepStarted | RunEvent::StepCompleted => {
                println!(
                    "\n[{}] {}",
                    item.step.unwrap_or_default(),
                    item.content.as_text()
                );
            }
            RunEvent::RunPaused => paused = item.pause.map(|pause| (item.run_id, pause)),
            _ => {}
        }
    }
    Ok(paused)
}

/// The answer to `question`: from `--answer`, else asked on stdin.
fn decide(question: &SendQuestion, given: Option<&str>) -> weft::Result<serde_json::Value> {
    println!(
        "\nSend this email to {}?\n---\n{}\n---",
        question.to, question.draft
    );
    let reply = match given {
        Some(given) => given.to_string(),
        None => {
            print!("[y]es / [n]o / [e]dit: ");
            let _ = std::io::stdout().flush();
            read_line()?
        }
    };
    Ok(match reply.trim().to_lowercase().as_str() {
        "y" | "yes" => json!({"approve": true}),
        "e" | "edit" => {
            println!("Type the text to send (one line):");
            json!({"approve": true, "edited_draft": read_line()?.trim()})
        }
        _ => json!({"approve": false}),
    })
}

fn read_line() -> weft::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| weft::Error::Config(format!("could not read stdin: {err}")))?;
    Ok(line)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let args = args()?;
    let storage: weft::StorageRef = std::sync::Arc::new(SledStorage::open(&args.db)?);
    let mut workflow = ApprovalWorkflow::builder()
        .storage(storage.clone())
        .build()?;
    let mut paused = match &args.resume {
        Some(run_id) => {
            let run = storage.read_run(run_id).await?;
            let pause = run.and_then(|run| run.pause).ok_or_else(|| {
                weft::Error::Config(format!("run `{run_id}` is not paused in {}", args.db))
            })?;
            Some((run_id.clone(), pause))
        }
        None => {
            let request = EmailRequest {
                to: args.to.clone(),
                topic: args.topic.clone(),
            };
            follow(workflow.run_stream(request)).await?
        }
    };
    while let Some((run_id, pause)) = paused {
        println!(
            "\n(run {run_id} is paused: stop here and `--continue {run_id}` takes it up later)"
        );
        let question: SendQuestion = serde_json::from_value(pause.question)?;
        let answer = decide(&question, args.answer.as_deref())?;
        paused = follow(workflow.continue_run(&run_id, answer)).await?;
    }
    let sent = workflow.outbox.sent();
    println!(
        "\n{} email(s) sent by this process; the session has sent {} in all",
        sent.len(),
        workflow.session_state.get::<u32>("sent").unwrap_or(0)
    );
    Ok(())
}
