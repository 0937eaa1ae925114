//! One case (a kill, or a chain of kills, then a restart that runs to the end), checked
//! against an uninterrupted run; the table of results.
//!
//! Work is told apart by name, on both sides: a model request by the needle the fake server
//! routes it with (`read B/tool`: the first turn of the read of B), a journaled model call by
//! the answer it recorded; a tool call or step by its effect line (`tool read B`), a journaled
//! one by its recorded result. So "no journaled call is requested again" is checked call by
//! call, not only counted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{json, Value};
use weft::durable::answer;
use weft::prelude::*;
use weft::{JournalEntry, JournalKind, LoggedEvent, RunRecord, RunStatus};
use weft_testkit::{CapturedRequest, FakeLlm, Reply};

use crate::child::{DiskEntry, Launch, Output, TempDir};
use crate::{Case, Client};

/// The session of every run (the child's).
const SESSION: &str = "crash";

/// The summary the writer streams, one word per delta.
pub const SUMMARY: &str =
    "In short: Alpha is small, Beta is fast and Gamma is safe, so pick the one that fits.";

/// The reads' answers.
const NOTES: [(&str, &str); 3] = [
    ("A", "Alpha is small."),
    ("B", "Beta is fast."),
    ("C", "Gamma is safe."),
];

/// The sled store's durability mode of a matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    EveryEvent,
    EveryStep,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::EveryEvent => "every-event",
            Mode::EveryStep => "every-step",
        }
    }
}

/// Scripts `server` for one run, every reply three times over (a call in flight at a kill is
/// asked again). Routes are tried in order and each is used once: the replies to a call's
/// second turn come first, since that turn's request also holds the first turn's needle.
fn script(server: &FakeLlm) {
    let sources = json!({"sources": [
        {"id": "A", "title": "Alpha"}, {"id": "B", "title": "Beta"},
        {"id": "C", "title": "Gamma"}, {"id": "D", "title": "Delta"},
    ]});
    for _ in 0..3 {
        server.route("RESULTS for", Reply::json(sources.clone()));
        for (id, note) in NOTES {
            server.route(&format!("ARTICLE {id}:"), Reply::text(note));
        }
        server.route("OUTLINE:", Reply::text(SUMMARY));
    }
    for _ in 0..3 {
        server.route(
            "Find sources about",
            Reply::tool_call("search", json!({"query": "embedded databases"})),
        );
        for (id, _) in NOTES {
            server.route(
                &format!("Read source {id} "),
                Reply::tool_call("read", json!({ "id": id })),
            );
        }
        server.route(
            "Summarise the notes",
            Reply::tool_call("outline", json!({"ids": ["A", "B", "C"]})),
        );
    }
}

/// The model call a request is, by the needle the server answers it by (`script`).
fn call_of_request(body: &Value) -> String {
    let text = body.to_string();
    if text.contains("RESULTS for") {
        return "search/answer".into();
    }
    for (id, _) in NOTES {
        if text.contains(&format!("ARTICLE {id}:")) {
            return format!("read {id}/answer");
        }
    }
    if text.contains("OUTLINE:") {
        return "summary/text".into();
    }
    if text.contains("Find sources about") {
        return "search/tool".into();
    }
    for (id, _) in NOTES {
        if text.contains(&format!("Read source {id} ")) {
            return format!("read {id}/tool");
        }
    }
    if text.contains("Summarise the notes") {
        return "summary/tool".into();
    }
    format!("unknown request {text}")
}

/// A tool call's effect line (as the child's tools write it), from its name and arguments.
fn effect_of_tool(name: &str, arguments: &Value) -> String {
    let arg = match name {
        "search" => arguments["query"].as_str().unwrap_or("?").to_string(),
        "read" => arguments["id"].as_str().unwrap_or("?").to_string(),
        _ => arguments["ids"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    };
    format!("tool {name} {arg}")
}

/// The work a journal entry records: a model call by the answer it recorded (named as
/// [`call_of_request`] names its request), a tool call or step by its effect line.
fn work_of_entry(kind: JournalKind, key: &str, output: &Value) -> String {
    let arguments = |raw: &Value| -> Value {
        raw.as_str()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or(Value::Null)
    };
    match kind {
        JournalKind::Step => format!("step {}", key.split(':').nth(1).unwrap_or("?")),
        JournalKind::Interrupt => format!("answer {}", key.split(':').nth(1).unwrap_or("?")),
        JournalKind::ToolCall => effect_of_tool(
            output["name"].as_str().unwrap_or("?"),
            &arguments(&output["arguments"]),
        ),
        JournalKind::ModelCall => {
            if let Some(call) = output["tool_calls"].as_array().and_then(|c| c.first()) {
                let args = arguments(&call["arguments"]);
                return match call["name"].as_str().unwrap_or("?") {
                    "search" => "search/tool".into(),
                    "read" => format!("read {}/tool", args["id"].as_str().unwrap_or("?")),
                    _ => "summary/tool".into(),
                };
            }
            let text: String = output["text"]
                .as_array()
                .map(|deltas| deltas.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if text == SUMMARY {
                return "summary/text".into();
            }
            if let Some((id, _)) = NOTES.iter().find(|(_, note)| *note == text) {
                return format!("read {id}/answer");
            }
            if text.contains("sources") {
                return "search/answer".into();
            }
            format!("unknown model call {output}")
        }
    }
}

/// What a journal holds, as names of work: (model calls, tool calls and steps).
fn journaled(entries: &[DiskEntry]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut calls = BTreeSet::new();
    let mut effects = BTreeSet::new();
    for entry in entries {
        let work = work_of_entry(entry.kind, &entry.key, &entry.output);
        match entry.kind {
            JournalKind::ModelCall => calls.insert(work),
            _ => effects.insert(work),
        };
    }
    (calls, effects)
}

/// The model calls the process with API key `sk-<tag>` requested, in order.
fn calls_of(requests: &[CapturedRequest], tag: &str) -> Vec<String> {
    let key = format!("Bearer sk-{tag}");
    requests
        .iter()
        .filter(|request| request.header("authorization") == Some(key.as_str()))
        .map(|request| call_of_request(&request.body))
        .collect()
}

/// Whether a log's seqs have the shape of `EveryStep` across kills: rising from 1, gapless
/// but for jumps across a crash that lost items a client may have seen, each landing on the
/// `ContentDiscarded` item a resumed run logs first, right above the store's seq reservation.
fn jumps_only_to_discards<'a>(log: impl IntoIterator<Item = (u64, &'a RunEvent)>) -> bool {
    let mut previous = 0;
    for (seq, event) in log {
        let next = previous + 1;
        let jump = seq > next && *event == RunEvent::ContentDiscarded;
        if seq != next && !jump {
            return false;
        }
        previous = seq;
    }
    true
}

/// What the store holds of a run once its last process exited.
struct Stored {
    record: Option<RunRecord>,
    state: Option<Value>,
    log: Vec<LoggedEvent>,
    journal: Vec<JournalEntry>,
}

fn stored(rt: &tokio::runtime::Runtime, dir: &TempDir) -> Stored {
    // The child has exited, so its lock on the store is gone.
    let store = SledStorage::builder(dir.db()).read_only().open().unwrap();
    rt.block_on(async {
        let mut runs = store.read_runs(SESSION).await.unwrap();
        assert!(runs.len() <= 1, "{runs:?}");
        let record = runs.pop();
        let state = store
            .read_session(SESSION)
            .await
            .unwrap()
            .map(|session| session.session_state);
        let (log, journal) = match &record {
            Some(record) => (
                store
                    .read_events(&record.run_id, 0, usize::MAX)
                    .await
                    .unwrap(),
                store.read_journal(&record.run_id).await.unwrap(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        Stored {
            record,
            state,
            log,
            journal,
        }
    })
}

/// The uninterrupted run every case is compared with.
pub struct Baseline {
    pub content: String,
    pub answer: String,
    pub state: Value,
    pub log: Vec<LoggedEvent>,
    pub journal: usize,
    /// Its model calls, by name.
    pub calls: BTreeSet<String>,
    /// Its tool calls' and step's effects.
    pub effects: BTreeSet<String>,
    /// Hits of each fault point.
    pub totals: BTreeMap<String, u64>,
}

impl Baseline {
    /// The seqs of the summary's text deltas.
    pub fn delta_seqs(&self) -> Vec<u64> {
        self.log
            .iter()
            .filter(|event| event.item.event == RunEvent::RunContent)
            .map(|event| event.seq)
            .collect()
    }
}

pub fn baseline(rt: &tokio::runtime::Runtime, mode: Mode) -> Baseline {
    let dir = TempDir::new("baseline");
    let server = rt.block_on(FakeLlm::start()).unwrap();
    script(&server);
    let llm = server.openai_base_url();
    let launch = Launch {
        dir: &dir,
        llm: &llm,
        durability: mode.arg(),
    };
    let run = launch.first("p0", None, Client::Stream);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert!(run.done && run.exit.unwrap().success(), "{run:?}");
    let record = run.record.clone().expect("the record");
    assert_eq!(record.status, RunStatus::Completed);
    let stored = stored(rt, &dir);
    assert_eq!(stored.record.as_ref(), Some(&record));
    let logged: Vec<RunResponse> = stored.log.iter().map(|e| e.item.clone()).collect();
    assert_eq!(logged, run.items, "the client saw the whole log");
    let answer = answer(&run.items);
    assert_eq!(answer, SUMMARY);
    assert_eq!(record.content, SUMMARY);

    // Ten model calls, five tool calls, one step; each done once, each journaled once.
    let calls = calls_of(&server.requests(), "p0");
    assert_eq!(server.request_count(), calls.len());
    let call_set: BTreeSet<String> = calls.iter().cloned().collect();
    assert_eq!((calls.len(), call_set.len()), (10, 10), "{calls:?}");
    let effects = dir.effects("p0");
    let effect_set: BTreeSet<String> = effects.iter().cloned().collect();
    assert_eq!((effects.len(), effect_set.len()), (6, 6), "{effects:?}");
    let entries: Vec<DiskEntry> = stored
        .journal
        .iter()
        .map(|entry| DiskEntry {
            key: entry.key.clone(),
            kind: entry.kind,
            seqs: entry.seqs.clone(),
            output: entry.output.clone(),
        })
        .collect();
    assert_eq!(
        journaled(&entries),
        (call_set.clone(), effect_set.clone()),
        "the journal names the same work"
    );
    assert!(
        entries
            .iter()
            .filter(|entry| !entry.seqs.is_empty())
            .count()
            >= 2,
        "entries point at logged items (the summary's tool call and text)"
    );

    // The run's shape, which the cases are placed with.
    let totals = run.totals();
    let expected: BTreeMap<String, u64> = [
        ("model.started", 10),
        ("model.finished", 10),
        ("tool.started", 5),
        ("tool.inside", 5),
        ("tool.finished", 5),
        ("step.started", 1),
        ("step.finished", 1),
        ("journal.written", 16),
        ("log.appended", stored.log.len() as u64),
        ("run.final_save", 1),
        ("run.final_record", 1),
    ]
    .into_iter()
    .map(|(name, n)| (name.to_string(), n))
    .collect();
    assert_eq!(totals, expected);
    assert_eq!(stored.journal.len(), 16);
    let events: Vec<RunEvent> = stored.log.iter().map(|e| e.item.event).collect();
    let mut shape = vec![
        RunEvent::WorkflowStarted,
        RunEvent::StepStarted,   // search
        RunEvent::StepCompleted, // 3
        RunEvent::StepStarted,   // read
        RunEvent::StepCompleted, // 5
        RunEvent::StepStarted,   // summary
        RunEvent::RunStarted,
        RunEvent::ToolCallStarted, // 8
        RunEvent::ToolCallCompleted,
    ];
    let deltas = SUMMARY.split_inclusive(' ').count();
    shape.extend(std::iter::repeat_n(RunEvent::RunContent, deltas));
    shape.extend([RunEvent::RunCompleted, RunEvent::WorkflowCompleted]);
    assert_eq!(events, shape);
    Baseline {
        content: record.content,
        answer,
        state: stored.state.expect("the session"),
        log: stored.log,
        journal: stored.journal.len(),
        calls: call_set,
        effects: effect_set,
        totals,
    }
}

/// One case's counts and the problems found.
pub struct Row {
    pub kills: String,
    pub at: String,
    pub client: Client,
    /// Model requests of the killed process(es), and of the one that finished the run.
    pub requests_before: usize,
    pub requests_after: usize,
    /// Model calls requested but not journaled at each kill (redone by design), summed.
    pub in_flight: usize,
    /// Requests a restarted process sent that an earlier one had sent, summed.
    pub repeated: usize,
    /// Tool calls and steps done more than once (done, but not journaled at a kill).
    pub effects_redone: usize,
    /// What was done more than once: model calls and effects.
    pub redone: Vec<String>,
    pub seen_before: usize,
    pub seen_after: usize,
    /// The `from_seq`s of the `ContentDiscarded` items in the final log.
    pub discarded_from: Vec<u64>,
    /// Items the client saw that a kill took from the store (only `EveryStep`).
    pub lost: u64,
    /// Whether the client's answer is the uninterrupted one (checked with `EveryEvent`).
    pub client_answer: bool,
    pub problems: Vec<String>,
}

/// Collects what does not hold.
struct Checks(Vec<String>);

impl Checks {
    fn that(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }
}

pub fn run_case(rt: &tokio::runtime::Runtime, mode: Mode, case: &Case, base: &Baseline) -> Row {
    let dir = TempDir::new(&format!("{}-{}", case.point, case.k));
    let server = rt.block_on(FakeLlm::start()).unwrap();
    script(&server);
    let llm = server.openai_base_url();
    let launch = Launch {
        dir: &dir,
        llm: &llm,
        durability: mode.arg(),
    };
    let kills: Vec<(&str, u64)> = std::iter::once((case.point, case.k))
        .chain(case.then)
        .collect();
    let mut checks = Checks(Vec::new());
    let mut row = Row {
        kills: kills
            .iter()
            .map(|(point, k)| format!("{point} {k}"))
            .collect::<Vec<_>>()
            .join(" > "),
        at: case.at.clone(),
        client: case.client,
        requests_before: 0,
        requests_after: 0,
        in_flight: 0,
        repeated: 0,
        effects_redone: 0,
        redone: Vec::new(),
        seen_before: 0,
        seen_after: 0,
        discarded_from: Vec::new(),
        lost: 0,
        client_answer: false,
        problems: Vec::new(),
    };

    // 1. Killed at each point in turn: the first process, then the resumed ones (a client
    //    reconnecting each time with the last seq it saw).
    let mut procs: Vec<(String, Output)> = Vec::new();
    let mut seen = 0;
    for (n, &(point, k)) in kills.iter().enumerate() {
        let tag = format!("p{n}");
        let out = if n == 0 {
            launch.first(&tag, Some((point, k)), case.client)
        } else {
            launch.resume(&tag, seen, Some((point, k)))
        };
        checks.that(out.errors.is_empty(), || format!("{tag}: {:?}", out.errors));
        let reached = out.fault == Some((point.to_string(), k));
        checks.that(reached, || {
            format!(
                "{tag} did not reach {point} {k}: {:?}, {:?}",
                out.fault, out.exit
            )
        });
        seen = seen.max(out.last_seq());
        row.seen_before += out.items.len();
        procs.push((tag, out));
        if !reached {
            row.problems = checks.0;
            return row;
        }
    }
    // 2. The last restart runs the run to its end.
    let tag = format!("p{}", kills.len());
    let last = launch.resume(&tag, seen, None);
    checks.that(last.errors.is_empty(), || {
        format!("{tag}: {:?}", last.errors)
    });
    checks.that(last.done && last.exit.is_some_and(|e| e.success()), || {
        format!("{tag} did not finish: {:?} {:?}", last.run_error, last.exit)
    });
    row.seen_after = last.items.len();
    procs.push((tag, last));
    let after = stored(rt, &dir);
    let requests = server.requests();

    if case.client == Client::Stream {
        // The first process consumed its run's stream: it saw every item logged but the one
        // being logged at the kill (or the run's last, yielded once the final record is
        // written).
        let first = &procs[0].1;
        let unseen = u64::from(matches!(case.point, "log.appended" | "run.final_record"));
        let appended = first.hits("log.appended");
        checks.that(first.last_seq() == appended - unseen, || {
            format!(
                "the client saw up to seq {}, {appended} items were logged",
                first.last_seq()
            )
        });
    }

    // 3. What each kill left on disk (as the next process found it), and what the next
    //    process did again.
    let mut on_disk = 0u64;
    let mut entries = 0usize;
    let mut client_seen = 0u64;
    let mut requested: BTreeSet<String> = BTreeSet::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (tag, out)) in procs.iter().enumerate() {
        let calls = calls_of(&requests, tag);
        let effects = dir.effects(tag);
        for work in calls.iter().chain(&effects) {
            *counts.entry(work.clone()).or_insert(0) += 1;
        }
        let call_set: BTreeSet<String> = calls.iter().cloned().collect();
        checks.that(call_set.len() == calls.len(), || {
            format!("{tag} requested a call twice: {calls:?}")
        });
        let is_last = i + 1 == procs.len();
        if is_last {
            row.requests_after = calls.len();
        } else {
            row.requests_before += calls.len();
        }
        if i > 0 {
            let (killed_tag, killed) = &procs[i - 1];
            checks.that(out.disk_run == Some(RunStatus::Interrupted), || {
                format!("{tag} found {:?}, not interrupted", out.disk_run)
            });
            let seqs: Vec<u64> = out.disk_log.iter().map(|e| e.seq).collect();
            // How many items are on disk (with `EveryStep`, seqs may jump across a crash).
            let now_on_disk = seqs.len() as u64;
            match mode {
                Mode::EveryEvent => {
                    checks.that(seqs.iter().copied().eq(1..=now_on_disk), || {
                        format!("the log on disk has gaps: {seqs:?}")
                    })
                }
                Mode::EveryStep => checks.that(
                    jumps_only_to_discards(out.disk_log.iter().map(|e| (e.seq, &e.event))),
                    || format!("the log on disk has gaps that are no jump to a ContentDiscarded: {seqs:?}"),
                ),
            }
            let on_disk_seqs: BTreeSet<u64> = seqs.iter().copied().collect();
            let appended = killed.hits("log.appended");
            let written = killed.hits("journal.written") as usize;
            checks.that(out.disk_journal.len() == entries + written, || {
                format!(
                    "{} journal entries on disk, {entries} + {written} written before {killed_tag} was killed",
                    out.disk_journal.len()
                )
            });
            for entry in &out.disk_journal {
                checks.that(
                    entry.seqs.iter().all(|seq| on_disk_seqs.contains(seq)),
                    || {
                        format!(
                        "journal entry {} points at seqs {:?} past the log on disk ({now_on_disk})",
                        entry.key, entry.seqs
                    )
                    },
                );
            }
            match mode {
                Mode::EveryEvent => checks.that(now_on_disk == on_disk + appended, || {
                    format!("{now_on_disk} items on disk, {on_disk} + {appended} logged")
                }),
                Mode::EveryStep => {
                    // Items logged before the last journal write were flushed with it.
                    let flushed = killed
                        .points
                        .iter()
                        .rposition(|(name, _)| name == "journal.written")
                        .map_or(0, |at| {
                            killed.points[..at]
                                .iter()
                                .filter(|(name, _)| name == "log.appended")
                                .count() as u64
                        });
                    checks.that(
                        now_on_disk <= on_disk + appended && now_on_disk >= on_disk + flushed,
                        || {
                            format!(
                                "{now_on_disk} items on disk: {on_disk} before, then {appended} logged, {flushed} before the last journal write"
                            )
                        },
                    );
                }
            }
            match mode {
                Mode::EveryEvent => {
                    client_seen = client_seen.max(killed.last_seq());
                    row.lost += client_seen.saturating_sub(now_on_disk);
                }
                Mode::EveryStep => {
                    // Seqs the killed process's client got that the kill took from the store
                    // (the resumed run never gives them to another item).
                    row.lost += killed
                        .items
                        .iter()
                        .filter_map(|item| item.seq)
                        .filter(|seq| !on_disk_seqs.contains(seq))
                        .count() as u64;
                }
            }
            on_disk = now_on_disk;
            entries = out.disk_journal.len();

            // Journaled work is not done again; work in flight at the kill may be, once.
            let (journaled_calls, journaled_effects) = journaled(&out.disk_journal);
            let again: Vec<&String> = call_set.intersection(&journaled_calls).collect();
            checks.that(again.is_empty(), || {
                format!("{tag} requested journaled model calls again: {again:?}")
            });
            let effect_set: BTreeSet<String> = effects.iter().cloned().collect();
            let again: Vec<&String> = effect_set.intersection(&journaled_effects).collect();
            checks.that(again.is_empty(), || {
                format!("{tag} ran journaled tool calls or steps again: {again:?}")
            });
            let in_flight: BTreeSet<&String> = requested.difference(&journaled_calls).collect();
            let repeated: BTreeSet<&String> = call_set.intersection(&requested).collect();
            row.in_flight += in_flight.len();
            row.repeated += repeated.len();
            // Only calls in flight are asked again; the process that finishes the run asks
            // every one of them.
            let expected = if is_last {
                repeated == in_flight
            } else {
                repeated.is_subset(&in_flight)
            };
            checks.that(expected, || {
                format!("{tag} repeated {repeated:?}; in flight were {in_flight:?}")
            });
            if is_last {
                let all: BTreeSet<String> = call_set.union(&journaled_calls).cloned().collect();
                checks.that(
                    all == base.calls && call_set.is_disjoint(&journaled_calls),
                    || format!("{tag} requested {calls:?}, {journaled_calls:?} were journaled"),
                );
                let all: BTreeSet<String> = effect_set.union(&journaled_effects).cloned().collect();
                checks.that(all == base.effects, || {
                    format!("{tag} did {effects:?}, {journaled_effects:?} were journaled")
                });
            }
        }
        requested.extend(call_set);
        done.extend(effects);
    }
    checks.that(requested == base.calls, || {
        format!("requested {requested:?}, uninterrupted {:?}", base.calls)
    });
    checks.that(done == base.effects, || {
        format!("effects {done:?}, uninterrupted {:?}", base.effects)
    });
    row.redone = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(work, n)| format!("{work} x{n}"))
        .collect();
    row.effects_redone = counts
        .iter()
        .filter(|(work, n)| **n > 1 && (work.starts_with("tool ") || work.starts_with("step ")))
        .map(|(_, n)| n - 1)
        .sum();

    // 4. The run ends as an uninterrupted one.
    let reported = procs.last().and_then(|(_, out)| out.record.as_ref());
    match (&after.record, reported) {
        (Some(record), Some(reported)) => {
            checks.that(record == reported, || {
                "the record on disk is not the one reported".into()
            });
            checks.that(record.status == RunStatus::Completed, || {
                format!("run {:?}: {:?}", record.status, record.error)
            });
            checks.that(record.content == base.content, || {
                format!("content {:?}", record.content)
            });
            let seqs: Vec<u64> = after.log.iter().map(|e| e.seq).collect();
            let shaped = match mode {
                Mode::EveryEvent => seqs.iter().copied().eq(1..=record.last_seq),
                Mode::EveryStep => {
                    jumps_only_to_discards(after.log.iter().map(|e| (e.seq, &e.item.event)))
                        && seqs.last().copied().unwrap_or(0) == record.last_seq
                }
            };
            checks.that(shaped, || {
                format!("the final log {seqs:?}, last_seq {}", record.last_seq)
            });
            let logged: Vec<RunResponse> = after.log.iter().map(|e| e.item.clone()).collect();
            checks.that(answer(&logged) == base.answer, || {
                format!("the log's answer {:?}", answer(&logged))
            });
            let keys: BTreeSet<&str> = after.journal.iter().map(|e| e.key.as_str()).collect();
            checks.that(
                keys.len() == after.journal.len() && after.journal.len() == base.journal,
                || format!("{} journal entries at the end", after.journal.len()),
            );
        }
        other => checks.that(false, || format!("no final record: {other:?}")),
    }
    checks.that(after.state.as_ref() == Some(&base.state), || {
        format!("state {:?}", after.state)
    });
    row.discarded_from = after
        .log
        .iter()
        .filter(|event| event.item.event == RunEvent::ContentDiscarded)
        .filter_map(|event| match &event.item.content {
            Content::Json(value) => value["from_seq"].as_u64(),
            _ => None,
        })
        .collect();

    // 5. What the client saw, across every process: each item once, none missed, each as
    //    logged, and the uninterrupted answer.
    let client: Vec<RunResponse> = procs
        .iter()
        .flat_map(|(_, out)| out.items.iter().cloned())
        .collect();
    row.client_answer = answer(&client) == base.answer;
    if mode == Mode::EveryEvent {
        let seqs: Vec<u64> = client.iter().filter_map(|item| item.seq).collect();
        let last_seq = after.record.as_ref().map_or(0, |record| record.last_seq);
        checks.that(seqs.iter().copied().eq(1..=last_seq), || {
            format!("the client saw seqs {seqs:?} of 1..={last_seq}")
        });
        let differ = client
            .iter()
            .filter(|item| {
                let logged = item
                    .seq
                    .and_then(|seq| after.log.get(usize::try_from(seq).ok()? - 1));
                logged.map(|event| &event.item) != Some(*item)
            })
            .count();
        checks.that(differ == 0, || {
            format!("{differ} items the client saw are not in the log as seen")
        });
        checks.that(row.client_answer, || {
            format!("the client's answer {:?}", answer(&client))
        });
    } else {
        // `EveryStep`: a kill may take items the client got from the store, but never their
        // seqs: the resumed run continues above the store's seq reservation and withdraws
        // the lost text. So the client sees each seq at most once, in rising order across
        // every process; misses nothing of the final log; what it got of the final log is
        // as logged; each seq it got that the log lost lies in a range a later
        // `ContentDiscarded` withdraws; and its answer is the uninterrupted one.
        let seqs: Vec<u64> = client.iter().filter_map(|item| item.seq).collect();
        checks.that(
            seqs.len() == client.len() && seqs.windows(2).all(|pair| pair[0] < pair[1]),
            || format!("the client saw seqs {seqs:?}, not each once in rising order"),
        );
        let logged: BTreeMap<u64, &RunResponse> = after
            .log
            .iter()
            .map(|event| (event.seq, &event.item))
            .collect();
        let seen: BTreeSet<u64> = seqs.iter().copied().collect();
        let missed: Vec<u64> = logged
            .keys()
            .copied()
            .filter(|seq| !seen.contains(seq))
            .collect();
        checks.that(missed.is_empty(), || {
            format!("the client missed seqs {missed:?} of the final log")
        });
        let differ = client
            .iter()
            .filter(|item| {
                item.seq
                    .and_then(|seq| logged.get(&seq))
                    .is_some_and(|logged| *logged != *item)
            })
            .count();
        checks.that(differ == 0, || {
            format!("{differ} items the client saw are not in the log as seen")
        });
        let discards: Vec<(u64, u64)> = after
            .log
            .iter()
            .filter_map(|event| match (&event.item.event, &event.item.content) {
                (RunEvent::ContentDiscarded, Content::Json(value)) => {
                    Some((event.seq, value["from_seq"].as_u64()?))
                }
                _ => None,
            })
            .collect();
        let unwithdrawn: Vec<u64> = seen
            .iter()
            .copied()
            .filter(|seq| !logged.contains_key(seq))
            .filter(|seq| !discards.iter().any(|(at, from)| from <= seq && seq < at))
            .collect();
        checks.that(unwithdrawn.is_empty(), || {
            format!("the client saw seqs {unwithdrawn:?} the log lost and no ContentDiscarded withdraws")
        });
        checks.that(row.client_answer, || {
            format!("the client's answer {:?}", answer(&client))
        });
    }
    row.problems = checks.0;
    row
}

/// The table of a matrix.
pub fn table(mode: Mode, base: &Baseline, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ncrash matrix, Durability::{mode:?}: the uninterrupted run = {} model calls, {} tool calls and steps, {} items, {} journal entries",
        base.calls.len(),
        base.effects.len(),
        base.log.len(),
        base.journal,
    );
    let line = |out: &mut String, cells: [&str; 15]| {
        let _ = writeln!(
            out,
            "{:<38} {:<44} {:<6} {:>4} {:>4} {:>6} {:>4} {:>6} {:>5} {:>5} {:>5} {:>4} {:>6} {:>6}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8],
            cells[9],
            cells[10],
            cells[11],
            cells[12],
            cells[13],
            cells[14]
        );
    };
    line(
        &mut out,
        [
            "kill at (point k)",
            "where",
            "client",
            "req<",
            "req>",
            "flight",
            "rep",
            "redone",
            "seen<",
            "seen>",
            "disc",
            "lost",
            "answer",
            "result",
            "done again",
        ],
    );
    for row in rows {
        let discarded = if row.discarded_from.is_empty() {
            "-".to_string()
        } else {
            row.discarded_from
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        line(
            &mut out,
            [
                &row.kills,
                &row.at,
                row.client.arg(),
                &row.requests_before.to_string(),
                &row.requests_after.to_string(),
                &row.in_flight.to_string(),
                &row.repeated.to_string(),
                &row.effects_redone.to_string(),
                &row.seen_before.to_string(),
                &row.seen_after.to_string(),
                &discarded,
                &row.lost.to_string(),
                if row.client_answer { "same" } else { "DIFF" },
                if row.problems.is_empty() {
                    "ok"
                } else {
                    "FAIL"
                },
                &row.redone.join(", "),
            ],
        );
    }
    let _ = writeln!(
        out,
        "req< / req>: model requests of the killed process(es) / of the one that finished; flight: calls requested \
         but not journaled at the kill; rep: requests sent again after a restart; redone: tool calls and steps run \
         again (done, not journaled at the kill); seen< / seen>: items the client got before the kill(s) / after \
         its last reconnect; disc: ContentDiscarded from_seq; lost: items the client saw that the kill took from \
         the store; answer: the client's answer across processes vs the uninterrupted one"
    );
    out
}
