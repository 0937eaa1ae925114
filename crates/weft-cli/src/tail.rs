//! `weft runs tail`: prints a run's event log and follows it while the run goes on.
//!
//! One loop ([`follow`]) reads the run's record, then the log items after the last one
//! printed (`WorkflowStorage::read_events`), and hands them to a [`Sink`]: plain lines, JSON
//! lines, or a progress line on a terminal. The record is read before the items, so once it
//! shows the run ended, the items read after it are the run's last ones (a run logs its last
//! item before it writes its final record). It keeps polling while another worker may still
//! write the run: a `running` run on a store with a lease (PostgreSQL), or an `interrupted`
//! one there, which another worker takes over. A sled store is held by one process at a
//! time, and `tail` holds it while it reads: a run found `running` in it was left so by a
//! process that died, so `tail` stops there.

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use weft_runtime::storage::LoggedEvent;
use weft_runtime::{Content, RunEvent, RunRecord, RunResponse, RunStatus, StorageRef};

use crate::cli::{block_on, not_found, CliError, PAGE};
use crate::output::preview;

/// How `tail` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One line per item but text, text as it comes, then the run's status (stdout is not a
    /// terminal, or `--plain`).
    Plain,
    /// One JSON object per line: each item, then the status (`--json`).
    Json,
    /// Text above a progress line showing what the run is doing (stdout is a terminal).
    Terminal,
}

/// What `tail` was asked.
#[derive(Debug)]
pub struct Options {
    /// Print the items after this `seq`.
    pub after: u64,
    /// How long to wait between two reads of a run that goes on.
    pub interval: Duration,
    /// How to print.
    pub mode: Mode,
}

/// Prints `run_id`'s items after `options.after`, follows the run while it may go on, and
/// ends with its status: `Ok` for a run that completed or paused, [`CliError::Run`] for one
/// that failed, was cancelled, or was left interrupted with no worker to take it over.
pub fn follow(storage: &StorageRef, run_id: &str, options: &Options) -> Result<(), CliError> {
    let stdout = io::stdout();
    let mut sink: Box<dyn Sink> = match options.mode {
        Mode::Plain => Box::new(Plain::new(stdout.lock())),
        Mode::Json => Box::new(Json(stdout.lock())),
        Mode::Terminal => Box::new(Terminal::new()),
    };
    match follow_into(storage, run_id, options, sink.as_mut()) {
        // A reader that stops early (`weft runs tail … | head`) is no error.
        Err(CliError::Io(err)) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}

fn follow_into(
    storage: &StorageRef,
    run_id: &str,
    options: &Options,
    sink: &mut dyn Sink,
) -> Result<(), CliError> {
    let shared = storage.lease().is_some();
    let mut after = options.after;
    let mut printed = 0usize;
    let mut shown = RunStatus::Running;
    loop {
        let run = block_on(storage.read_run(run_id))?
            .ok_or_else(|| not_found(format!("there is no run `{run_id}` in this store")))?;
        loop {
            let page = block_on(storage.read_events(run_id, after, PAGE))?;
            for logged in &page {
                sink.item(logged)?;
                after = logged.seq;
                printed += 1;
            }
            if page.len() < PAGE {
                break;
            }
        }
        let going_on = goes_on(run.status, shared);
        if going_on && run.status != shown {
            sink.status(&run, true)?;
        }
        shown = run.status;
        sink.flush()?;
        if !going_on {
            if printed == 0 && run.last_seq > after {
                sink.note(&format!(
                    "the store holds none of the run's items after seq {after} (its log was pruned: `event_log_retention`)"
                ))?;
            }
            sink.status(&run, false)?;
            sink.flush()?;
            return ended(&run, shared);
        }
        // Made inside the runtime (a `Sleep` needs its timer), which meanwhile serves the
        // store's connections.
        let interval = options.interval;
        block_on(async move { tokio::time::sleep(interval).await });
    }
}

/// Whether a run in `status` may still get new items. On a store shared by many processes
/// (one with a lease) a `running` run is in flight somewhere, and an `interrupted` one is
/// taken over by the next worker that looks; a store of one process (sled) is held by `tail`
/// itself, so nothing writes it meanwhile.
fn goes_on(status: RunStatus, shared: bool) -> bool {
    matches!(status, RunStatus::Running | RunStatus::Interrupted) && shared
}

/// How `tail` ends for a run that will get no more items (as far as it can tell).
fn ended(run: &RunRecord, shared: bool) -> Result<(), CliError> {
    let id = &run.run_id;
    let failure = match run.status {
        RunStatus::Completed | RunStatus::Paused => return Ok(()),
        RunStatus::Failed => format!(
            "run `{id}` failed: {}",
            run.error.as_deref().unwrap_or("no error recorded")
        ),
        RunStatus::Cancelled => format!("run `{id}` was cancelled before it finished"),
        RunStatus::Interrupted => format!(
            "run `{id}` was interrupted before it finished (its process died or shut down): resume it to finish it (`wf.resume(run_id)`)"
        ),
        RunStatus::Running if !shared => format!(
            "run `{id}` is recorded `running`, but no process holds this store (tail could open it): the process that ran it died; it shows `interrupted` once a program opens the store to write, and `wf.resume(run_id)` finishes it"
        ),
        // Only reached when the store stopped answering; `goes_on` follows it otherwise.
        RunStatus::Running => format!("run `{id}` is still running"),
    };
    Err(CliError::Run(failure))
}

/// Where the items go.
trait Sink {
    /// One logged item.
    fn item(&mut self, logged: &LoggedEvent) -> io::Result<()>;
    /// The run's status: one it changed to while `tail` follows it (`going_on`), or the one
    /// it ended with.
    fn status(&mut self, run: &RunRecord, going_on: bool) -> io::Result<()>;
    /// A remark about what was printed.
    fn note(&mut self, note: &str) -> io::Result<()>;
    /// Pushes out what was written (text without a newline yet too).
    fn flush(&mut self) -> io::Result<()>;
}

/// The line `tail` prints for an item, without its `[seq]`; `None` for answer text
/// (`RunContent`), which is printed as it is. Shared by the plain lines and the progress line.
pub fn describe(item: &RunResponse) -> Option<String> {
    let event = format!("{:?}", item.event);
    let text = content(&item.content);
    let agent = item.agent_name.as_deref().unwrap_or("agent");
    let detail = match item.event {
        RunEvent::RunContent => return None,
        RunEvent::WorkflowStarted | RunEvent::WorkflowCompleted => {
            item.workflow_id.clone().unwrap_or_default()
        }
        RunEvent::RunStarted => match &item.model {
            Some(model) => format!("{agent} ({model})"),
            None => agent.to_string(),
        },
        RunEvent::RunCompleted if !item.metrics.is_empty() => format!(
            "{agent} ({} in / {} out tokens)",
            item.metrics.input_tokens, item.metrics.output_tokens
        ),
        RunEvent::RunCompleted => agent.to_string(),
        RunEvent::StepStarted | RunEvent::StepCompleted => {
            let step = item.step.as_deref().unwrap_or("step");
            if text.is_empty() {
                step.to_string()
            } else {
                format!("{step}: {}", preview(&text, 100))
            }
        }
        RunEvent::ToolCallStarted => list(item.tools.iter().map(|tool| {
            format!("{} {}", tool.name, preview(&tool.arguments, 60))
        })),
        RunEvent::ToolCallCompleted => list(item.tools.iter().map(|tool| {
            let took = tool
                .duration
                .map_or_else(String::new, |d| format!(" ({} ms)", d.as_millis()));
            let result = preview(tool.result.as_deref().unwrap_or(""), 60);
            let failed = if tool.is_error { " failed" } else { "" };
            format!("{}{took}{failed}: {result}", tool.name)
        })),
        RunEvent::RunError => preview(&text, 200),
        RunEvent::ContentDiscarded => match discarded_from(item) {
            Some(from) => format!("the text from seq {from} on is withdrawn (a crash cut it short; the resumed run's text replaces it)"),
            None => format!("(unreadable: {text})"),
        },
        RunEvent::RunPaused => match &item.pause {
            Some(pause) => format!("{}: {}", pause.name, preview(&pause.question.to_string(), 100)),
            None => preview(&text, 100),
        },
        // An event of a later weft: its name, and its text if it has any.
        _ => preview(&text, 100),
    };
    Some(if detail.is_empty() {
        event
    } else {
        format!("{event} {detail}")
    })
}

/// Where a `ContentDiscarded` item's withdrawal starts (`{"from_seq": N}`).
fn discarded_from(item: &RunResponse) -> Option<u64> {
    match &item.content {
        Content::Json(value) => value.get("from_seq")?.as_u64(),
        Content::Text(text) => serde_json::from_str::<Value>(text)
            .ok()?
            .get("from_seq")?
            .as_u64(),
    }
}

fn content(content: &Content) -> String {
    match content {
        Content::Text(text) => text.clone(),
        Content::Json(value) => value.to_string(),
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// The lines that end the output: what a paused run waits for, a failed run's error, and the
/// status (always last: `status: completed`).
fn summary(run: &RunRecord) -> Vec<String> {
    let mut lines = Vec::new();
    if let (RunStatus::Paused, Some(pause)) = (run.status, &run.pause) {
        lines.push(format!(
            "paused at `{}`: the run waits for an answer (continue it with `continue_run`, or POST /v1/runs/{}/continue)",
            pause.name, run.run_id
        ));
        lines.push(format!("question: {}", pause.question));
        lines.push(format!("answer schema: {}", pause.answer_schema));
    }
    if let Some(error) = run
        .error
        .as_deref()
        .filter(|_| run.status == RunStatus::Failed)
    {
        lines.push(format!("error: {error}"));
    }
    lines.push(format!("status: {}", run.status));
    lines
}

/// The line for a status the run changed to while `tail` follows it.
fn status_change(run: &RunRecord) -> String {
    match run.status {
        RunStatus::Interrupted => {
            "status: interrupted (following: another worker takes the run over)".to_string()
        }
        status => format!("status: {status} (following)"),
    }
}

/// Plain lines: `[seq] Event detail` for every item but text, text as it comes.
struct Plain<W> {
    out: W,
    /// Whether text was written since the last newline.
    mid_line: bool,
}

impl<W: Write> Plain<W> {
    fn new(out: W) -> Self {
        Plain {
            out,
            mid_line: false,
        }
    }

    /// Writes `line` on a line of its own.
    fn line(&mut self, line: &str) -> io::Result<()> {
        if self.mid_line {
            writeln!(self.out)?;
            self.mid_line = false;
        }
        writeln!(self.out, "{line}")
    }
}

impl<W: Write> Sink for Plain<W> {
    fn item(&mut self, logged: &LoggedEvent) -> io::Result<()> {
        match describe(&logged.item) {
            Some(line) => self.line(&format!("[{}] {line}", logged.seq)),
            None => {
                let text = logged.item.content_text();
                if !text.is_empty() {
                    self.out.write_all(text.as_bytes())?;
                    self.mid_line = !text.ends_with('\n');
                }
                Ok(())
            }
        }
    }

    fn status(&mut self, run: &RunRecord, going_on: bool) -> io::Result<()> {
        if going_on {
            return self.line(&status_change(run));
        }
        for line in summary(run) {
            self.line(&line)?;
        }
        Ok(())
    }

    fn note(&mut self, note: &str) -> io::Result<()> {
        self.line(&format!("note: {note}"))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One JSON object per line: each item as the store logged it (with its `seq`), and the
/// run's status (`{"run_id", "status", "following", "error", "pause"}`, no `event` key).
struct Json<W>(W);

impl<W: Write> Sink for Json<W> {
    fn item(&mut self, logged: &LoggedEvent) -> io::Result<()> {
        let mut item = logged.item.clone();
        item.seq = Some(logged.seq);
        serde_json::to_writer(&mut self.0, &item)?;
        writeln!(self.0)
    }

    fn status(&mut self, run: &RunRecord, going_on: bool) -> io::Result<()> {
        let status = json!({
            "run_id": run.run_id, "status": run.status, "following": going_on,
            "error": run.error, "pause": run.pause,
        });
        serde_json::to_writer(&mut self.0, &status)?;
        writeln!(self.0)
    }

    fn note(&mut self, note: &str) -> io::Result<()> {
        eprintln!("note: {note}");
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A progress line (spinner, time, the last item's description) below the answer's text,
/// printed line by line above it as it arrives; the line being written shows just above the
/// progress line until it ends.
struct Terminal {
    bar: ProgressBar,
    /// Text of the line being written.
    pending: String,
}

/// A line being written longer than this is broken at a space, so the progress line below
/// it stays a line or three high.
const PENDING_MAX: usize = 240;

impl Terminal {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        // A literal template, checked by the `terminal_style_parses` test.
        if let Ok(style) =
            ProgressStyle::with_template("{prefix}{spinner:.cyan} {elapsed:>3} {wide_msg}")
        {
            bar.set_style(style);
        }
        bar.set_message("waiting for the run's items");
        bar.enable_steady_tick(Duration::from_millis(100));
        Terminal {
            bar,
            pending: String::new(),
        }
    }

    /// Prints the finished lines of `pending` above the bar, and shows the rest.
    fn show_pending(&mut self) {
        while let Some(end) = self.pending.find('\n') {
            self.bar.println(&self.pending[..end]);
            self.pending.drain(..=end);
        }
        if self.pending.chars().count() > PENDING_MAX {
            let cut = self.pending.rfind(' ').filter(|&at| at > 0);
            let at = cut.unwrap_or(self.pending.len());
            self.bar.println(&self.pending[..at]);
            let rest = self.pending[at..].trim_start().to_string();
            self.pending = rest;
        }
        self.bar.set_prefix(if self.pending.is_empty() {
            String::new()
        } else {
            format!("{}\n", self.pending)
        });
    }

    /// Prints the line being written, ended.
    fn end_pending(&mut self) {
        if !self.pending.is_empty() {
            self.bar.println(std::mem::take(&mut self.pending));
            self.bar.set_prefix("");
        }
    }
}

impl Sink for Terminal {
    fn item(&mut self, logged: &LoggedEvent) -> io::Result<()> {
        match describe(&logged.item) {
            Some(line) => {
                if logged.item.event == RunEvent::ContentDiscarded {
                    self.end_pending();
                    self.bar.println(format!("[{}] {line}", logged.seq));
                }
                self.bar.set_message(format!("[{}] {line}", logged.seq));
            }
            None => {
                self.pending.push_str(logged.item.content_text());
                self.show_pending();
            }
        }
        Ok(())
    }

    fn status(&mut self, run: &RunRecord, going_on: bool) -> io::Result<()> {
        if going_on {
            self.bar.set_message(status_change(run));
            return Ok(());
        }
        self.end_pending();
        self.bar.finish_and_clear();
        let mut out = io::stdout().lock();
        for line in summary(run) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    fn note(&mut self, note: &str) -> io::Result<()> {
        self.end_pending();
        self.bar.println(format!("note: {note}"));
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.end_pending();
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_style_parses() {
        assert!(
            ProgressStyle::with_template("{prefix}{spinner:.cyan} {elapsed:>3} {wide_msg}").is_ok()
        );
    }

    #[test]
    fn descriptions() {
        let step = RunResponse::step_started("research", "Searching the web for sled");
        assert_eq!(
            describe(&step).as_deref(),
            Some("StepStarted research: Searching the web for sled")
        );
        assert_eq!(describe(&RunResponse::text("An answer")), None);
        let discarded = RunResponse {
            content: Content::Json(json!({"from_seq": 7})),
            ..RunResponse::new(RunEvent::ContentDiscarded)
        };
        let line = describe(&discarded).unwrap_or_default();
        assert!(line.contains("from seq 7 on is withdrawn"), "{line}");
    }

    #[test]
    fn plain_text_ends_its_line_before_the_next_event() {
        let logged = |seq: u64, item: RunResponse| LoggedEvent {
            seq,
            identity: format!("item:{seq}"),
            item,
        };
        let mut out = Vec::new();
        let mut plain = Plain::new(&mut out);
        for item in [
            logged(1, RunResponse::text("An embedded ")),
            logged(2, RunResponse::text("database.")),
            logged(3, RunResponse::step_completed("write", "done")),
        ] {
            assert!(plain.item(&item).is_ok());
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            "An embedded database.\n[3] StepCompleted write: done\n"
        );
    }
}
