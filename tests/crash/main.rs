//! Crash tests of durable runs: a child process (`weft-durable-child`) runs a multi-step
//! workflow (a typed search with a tool, a journaled step, three concurrent reads in spawned
//! tasks with a tool each, a streamed summary whose agent calls a tool) on a sled store,
//! against a fake LLM server that lives in this process, so its request counters outlive the
//! child. The child is killed with SIGKILL at a fault point (it prints `FAULT` there and stops
//! for good: no timing involved), started again, resumes the run, and its client reconnects
//! with the last seq it saw. For every point the test checks the outcome against an
//! uninterrupted run and prints a table of the points and counts (`--nocapture` shows it).
//!
//! - `Durability::EveryEvent`, the whole matrix: same answer for the client (across every
//!   process), each seq seen once and none missed, each as logged; no journaled model call,
//!   tool call or step done again (only the work in flight at the kill is, and all of it);
//!   nothing logged or journaled lost; same session state; run `completed`.
//! - `Durability::EveryStep` (the default), a subset, checking what it promises: no completed
//!   model call, tool call or step lost or done again (every journal entry written before the
//!   kill is on disk), the log a prefix (gapless but for jumps across a crash, each landing on
//!   the resumed run's `ContentDiscarded`) that keeps every item logged before the last
//!   journal write and holds the items every journal entry points at, and the final answer,
//!   state and status of an uninterrupted run. Items logged after the last flush may be lost
//!   (counted: `lost`), even ones the client saw, but never their seqs (the seq reservation):
//!   the client still sees each seq at most once, in rising order, misses nothing of the final
//!   log, each lost seq it saw is withdrawn by a later `ContentDiscarded`, and its answer is
//!   the uninterrupted one.
//!
//! The killed process's client consumes `run_stream` (it has seen every item but the one
//! being logged at the kill) or, in a few cases, follows a `RunHandle` (and lags); a few
//! cases kill the resuming process too, and a third one finishes the run.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod check;
mod child;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

use check::{Baseline, Mode, Row};

/// One kill: the `k`-th hit of `point`, what that is in the run, and the killed process's
/// client.
pub struct Case {
    pub point: &'static str,
    pub k: u64,
    pub at: String,
    pub client: Client,
    /// A second kill, of the process that resumes the run (`k` counts that process's hits).
    pub then: Option<(&'static str, u64)>,
}

/// How the killed process follows its run (the resumed one always reconnects through
/// `RunHandle::events(last_seq)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// Consumes `run_stream`: gets every item the moment it is logged, so it has seen all
    /// but the item being logged at the kill.
    Stream,
    /// Follows `RunHandle::events(0)`: reads the log when it gets a turn, and may lag behind.
    Handle,
}

impl Client {
    pub fn arg(self) -> &'static str {
        match self {
            Client::Stream => "stream",
            Client::Handle => "handle",
        }
    }
}

fn case(point: &'static str, k: u64, at: impl Into<String>) -> Case {
    Case {
        point,
        k,
        at: at.into(),
        client: Client::Stream,
        then: None,
    }
}

/// A case whose killed process follows its run through a `RunHandle`.
fn lagging(point: &'static str, k: u64, at: impl Into<String>) -> Case {
    Case {
        client: Client::Handle,
        ..case(point, k, at)
    }
}

/// A case killed twice: at `point` `k`, then the resumed process at `then`.
fn twice(point: &'static str, k: u64, then: (&'static str, u64), at: impl Into<String>) -> Case {
    Case {
        then: Some(then),
        ..case(point, k, at)
    }
}

/// The model call `k` of a run: 1-2 the search, 3-8 the reads (interleaved), 9-10 the summary.
fn call(k: u64) -> &'static str {
    match k {
        1 => "search: tool turn",
        2 => "search: typed answer",
        3..=8 => "a read",
        9 => "summary: tool turn",
        _ => "summary: text",
    }
}

/// Every point of the matrix, placed with the uninterrupted run's log and point counts.
fn all_cases(baseline: &Baseline) -> Vec<Case> {
    let deltas = baseline.delta_seqs();
    let (first, last) = (deltas[0], deltas[deltas.len() - 1]);
    let model_calls = baseline.totals["model.started"];
    let journal = baseline.totals["journal.written"];
    let mut cases = Vec::new();
    for k in 1..=model_calls {
        cases.push(case(
            "model.started",
            k,
            format!("before call {k} ({})", call(k)),
        ));
    }
    for k in 1..=model_calls {
        cases.push(case(
            "model.finished",
            k,
            format!("call {k} ({}) answered, unjournaled", call(k)),
        ));
    }
    cases.extend([
        case("journal.written", 1, "search's 1st call journaled"),
        case("tool.started", 1, "before the search tool"),
        case("tool.inside", 1, "mid search tool (its effect done)"),
        case("tool.finished", 1, "search tool returned, not journaled"),
        case("log.appended", 3, "search step item logged, unseen"),
        case("step.started", 1, "before the step"),
        case("step.finished", 1, "step done, not journaled"),
        case("journal.written", 4, "step journaled"),
        case("tool.started", 2, "before a read's tool"),
        case("tool.inside", 3, "mid a read's tool"),
        case("journal.written", 9, "mid reads: 9th entry journaled"),
        case("log.appended", 5, "reads' step item logged"),
        case("log.appended", 8, "summary's ToolCallStarted logged"),
        case("tool.inside", 5, "mid the summary's tool"),
        case("tool.finished", 5, "summary's tool returned, not journaled"),
        case("log.appended", first, "mid-stream: 1st delta logged"),
        case("log.appended", first + 2, "mid-stream: 3rd delta"),
        case(
            "log.appended",
            (first + last) / 2,
            "mid-stream: middle delta",
        ),
        case("log.appended", last - 1, "mid-stream: next-to-last delta"),
        case(
            "log.appended",
            last,
            "last delta logged, before the call is journaled",
        ),
        case(
            "journal.written",
            journal,
            "summary journaled, RunCompleted not logged",
        ),
        case("log.appended", last + 1, "RunCompleted logged"),
        case("run.final_save", 1, "before the final state save"),
        case("log.appended", last + 2, "WorkflowCompleted logged"),
        case(
            "run.final_record",
            1,
            "state saved, before the final record",
        ),
        // The same kills, the killed process's client following a run handle.
        lagging("tool.inside", 3, "mid a read's tool"),
        lagging("log.appended", first + 2, "mid-stream: 3rd delta"),
        lagging("log.appended", last, "last delta logged"),
        lagging(
            "model.finished",
            model_calls,
            "summary answered, not journaled",
        ),
        lagging(
            "run.final_record",
            1,
            "state saved, before the final record",
        ),
        // Killed again while resuming.
        twice(
            "log.appended",
            first + 4,
            ("log.appended", 5),
            "mid-stream, then mid-stream of the redo",
        ),
        twice(
            "log.appended",
            first + 2,
            ("log.appended", 1),
            "mid-stream, then right after ContentDiscarded",
        ),
        twice(
            "model.finished",
            4,
            ("model.finished", 2),
            "reads in flight, then again mid reads",
        ),
        twice(
            "tool.inside",
            5,
            ("journal.written", 1),
            "mid summary tool, then after it is journaled",
        ),
        twice(
            "run.final_save",
            1,
            ("run.final_record", 1),
            "final save, then final record",
        ),
    ]);
    cases
}

/// The `EveryStep` subset: kills that lose unflushed items, and kills around journal writes.
fn step_cases(baseline: &Baseline) -> Vec<Case> {
    let deltas = baseline.delta_seqs();
    let (first, last) = (deltas[0], deltas[deltas.len() - 1]);
    let model_calls = baseline.totals["model.started"];
    let journal = baseline.totals["journal.written"];
    vec![
        case("log.appended", 3, "search step item logged (unflushed)"),
        case("step.finished", 1, "step done, not journaled"),
        case("model.finished", 4, "a read answered, not journaled"),
        case("tool.inside", 5, "mid the summary's tool"),
        case(
            "log.appended",
            first + 2,
            "mid-stream: 3rd delta (unflushed)",
        ),
        case("log.appended", last, "last delta logged (unflushed)"),
        case(
            "model.finished",
            model_calls,
            "summary answered, not journaled",
        ),
        case("journal.written", journal, "summary journaled (flushed)"),
        case("log.appended", last + 1, "RunCompleted logged (unflushed)"),
        case("run.final_save", 1, "before the final state save"),
        case(
            "run.final_record",
            1,
            "state saved, before the final record",
        ),
        lagging(
            "log.appended",
            first + 2,
            "mid-stream: 3rd delta (unflushed)",
        ),
        lagging(
            "model.finished",
            model_calls,
            "summary answered, not journaled",
        ),
        twice(
            "model.finished",
            model_calls,
            ("log.appended", 1),
            "summary answered, then ContentDiscarded logged (unflushed)",
        ),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs every case of `mode`, prints the table, and fails with every problem found.
fn matrix(mode: Mode, cases: fn(&Baseline) -> Vec<Case>) {
    let started = Instant::now();
    let rt = runtime();
    let baseline = check::baseline(&rt, mode);
    let cases = cases(&baseline);
    let rows: Vec<Row> = cases
        .iter()
        .map(|case| check::run_case(&rt, mode, case, &baseline))
        .collect();
    let distinct: BTreeSet<(&str, u64)> = cases.iter().map(|case| (case.point, case.k)).collect();
    let kills: usize = cases
        .iter()
        .map(|case| 1 + usize::from(case.then.is_some()))
        .sum();
    let mut table = check::table(mode, &baseline, &rows);
    let _ = writeln!(
        table,
        "{} cases, {kills} kills, {} distinct first kills (point, k), {:.1?}",
        rows.len(),
        distinct.len(),
        started.elapsed()
    );
    println!("{table}");
    let problems: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            row.problems
                .iter()
                .map(move |problem| format!("{}: {problem}", row.kills))
        })
        .collect();
    assert!(distinct.len() >= 20 || mode == Mode::EveryStep);
    assert!(
        problems.is_empty(),
        "{table}\n{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn sigkill_at_every_point_with_every_event_durability_changes_nothing_a_client_sees() {
    matrix(Mode::EveryEvent, all_cases);
}

#[test]
fn sigkill_with_the_default_every_step_durability_keeps_what_it_promises() {
    matrix(Mode::EveryStep, step_cases);
}
