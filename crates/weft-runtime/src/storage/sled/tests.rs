//! The sled store's durability modes and the atomicity of its log appends, checked from the
//! inside: which writes flush (counted), and that a refused append leaves every tree as it was.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde_json::json;

use super::*;
use crate::response::RunResponse;
use crate::storage::{JournalKind, RunStatus};

struct Dir(PathBuf);

impl Dir {
    fn new(label: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("weft-unit-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn session(id: &str) -> WorkflowSession {
    WorkflowSession {
        session_id: id.into(),
        workflow_id: "wf".into(),
        workflow_name: "wf".into(),
        session_name: None,
        user_id: None,
        session_state: json!({}),
        version: 0,
        created_at: 1,
        updated_at: 1,
    }
}

fn run(run_id: &str, status: RunStatus) -> RunRecord {
    RunRecord {
        run_id: run_id.into(),
        session_id: "s".into(),
        workflow_id: "wf".into(),
        input: json!("hi"),
        status,
        content: String::new(),
        last_seq: 0,
        start_state: Some(json!({})),
        metrics: Default::default(),
        error: None,
        created_at: 1,
        updated_at: 1,
        fence: 0,
        pause: None,
    }
}

fn event(run_id: &str, seq: u64) -> LoggedEvent {
    let mut item = RunResponse::text(format!("delta {seq}"));
    item.run_id = run_id.into();
    item.seq = Some(seq);
    item.created_at = seq;
    LoggedEvent {
        seq,
        identity: format!("item:x#{seq}"),
        item,
    }
}

fn entry(key: &str, seqs: Vec<u64>) -> JournalEntry {
    JournalEntry {
        key: key.into(),
        kind: JournalKind::ModelCall,
        output: json!({"text": "answer"}),
        seqs,
        created_at: 1,
    }
}

fn flushes(store: &SledStorage) -> usize {
    store.flushes.load(Ordering::SeqCst)
}

/// Each mode flushes after exactly the writes its documentation names (the table on
/// `Durability`): a session write, a run start, an append without a journal entry, one with
/// one, a run end, a deletion.
#[test]
fn each_durability_mode_flushes_after_the_writes_it_names() {
    let steps = [
        "session write",
        "run start",
        "append, no journal",
        "append with a journal entry",
        "run end",
        "deletion",
    ];
    for (mode, expected) in [
        (Durability::EveryEvent, [true, true, true, true, true, true]),
        (
            Durability::EveryStep,
            [false, true, false, true, true, true],
        ),
        (Durability::RunEnd, [false, false, false, false, true, true]),
        (Durability::Os, [false, false, false, false, false, false]),
    ] {
        let dir = Dir::new(&format!("durability-{mode:?}"));
        let store = SledStorage::builder(&dir.0)
            .durability(mode)
            .open()
            .unwrap();
        let mut flushed = Vec::new();
        let mut step = |write: &dyn Fn(&SledStorage)| {
            let before = flushes(&store);
            write(&store);
            flushed.push(flushes(&store) - before);
        };
        step(&|s| drop(s.upsert_now(session("s")).unwrap()));
        step(&|s| s.put_run_now(run("r", RunStatus::Running)).unwrap());
        step(&|s| s.append_log_now("r", &[event("r", 1)], &[]).unwrap());
        step(&|s| {
            s.append_log_now("r", &[event("r", 2)], &[entry("model:a:h:1", vec![1, 2])])
                .unwrap()
        });
        step(&|s| s.put_run_now(run("r", RunStatus::Completed)).unwrap());
        step(&|s| assert!(s.delete_session_now("s").unwrap()));
        let expected: Vec<usize> = expected.iter().map(|&f| usize::from(f)).collect();
        assert_eq!(flushed, expected, "{mode:?}: flushes after {steps:?}");
    }
}

#[test]
#[allow(deprecated)]
fn every_write_is_the_old_name_of_every_event() {
    assert_eq!(Durability::EveryWrite, Durability::EveryEvent);
    assert_eq!(Durability::default(), Durability::EveryStep);
}

/// A tree's entries, key and value.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every entry of every tree of the store's prefix.
fn contents(store: &SledStorage) -> Vec<(String, Entries)> {
    let mut names = store.db.db.tree_names();
    names.sort();
    names
        .into_iter()
        .filter(|name| name.starts_with(DEFAULT_PREFIX.as_bytes()))
        .map(|name| {
            let tree = store.db.db.open_tree(&name).unwrap();
            let entries = tree
                .iter()
                .map(|entry| {
                    let (key, value) = entry.unwrap();
                    (key.to_vec(), value.to_vec())
                })
                .collect();
            (String::from_utf8_lossy(&name).into_owned(), entries)
        })
        .collect()
}

/// A refused append (a gap, an overlap, a journal entry naming an item the log will not hold,
/// an item over the size limit) writes nothing, whatever else its batch held; so a journal
/// entry is never stored without its items, in any durability mode.
#[test]
fn a_refused_append_leaves_every_tree_as_it_was() {
    let dir = Dir::new("refused");
    let store = SledStorage::builder(&dir.0)
        .log_limits(LogLimits {
            max_event_bytes: 400,
            max_journal_entry_bytes: 400,
        })
        .open()
        .unwrap();
    store.put_run_now(run("r", RunStatus::Running)).unwrap();
    store
        .append_log_now(
            "r",
            &[event("r", 1), event("r", 2)],
            &[entry("k1", vec![1])],
        )
        .unwrap();
    let before = contents(&store);
    let mut huge = event("r", 4);
    huge.item.content = crate::response::Content::Text("x".repeat(500));
    let mut huge_entry = entry("k-huge", vec![3]);
    huge_entry.output = json!("y".repeat(500));
    let refused: Vec<(&str, Vec<LoggedEvent>, Vec<JournalEntry>)> = vec![
        ("gap", vec![event("r", 3), event("r", 5)], vec![]),
        ("overlap", vec![event("r", 2), event("r", 3)], vec![]),
        (
            "item.seq differs",
            vec![{
                let mut e = event("r", 3);
                e.item.seq = Some(9);
                e
            }],
            vec![],
        ),
        (
            "journal names an item not logged",
            vec![event("r", 3)],
            vec![entry("k2", vec![3, 4])],
        ),
        (
            "journal alone, naming the future",
            vec![],
            vec![entry("k2", vec![3])],
        ),
        ("journal names seq 0", vec![], vec![entry("k2", vec![0])]),
        ("an item over the limit", vec![event("r", 3), huge], vec![]),
        (
            "a journal entry over the limit",
            vec![event("r", 3)],
            vec![entry("k2", vec![3]), huge_entry],
        ),
    ];
    for (case, events, journal) in refused {
        let err = store.append_log_now("r", &events, &journal).unwrap_err();
        assert!(
            matches!(err, Error::Storage { .. } | Error::LogRecordTooLarge { .. }),
            "{case}: {err}"
        );
        assert_eq!(contents(&store), before, "{case}: nothing written");
    }
    // The log continues where it was.
    store
        .append_log_now("r", &[event("r", 3)], &[entry("k2", vec![3])])
        .unwrap();
    assert_eq!(store.read_events_now("r", 0, 10).unwrap().len(), 3);
    assert_eq!(store.read_journal_now("r").unwrap().len(), 2);
}

/// Retention prunes the logs and journals of runs that ended before the cutoff, at a writable
/// open; their records stay, and runs in flight or interrupted keep their logs.
#[test]
fn retention_prunes_old_ended_logs_and_keeps_the_records() {
    let dir = Dir::new("retention");
    let store = SledStorage::open(&dir.0).unwrap();
    let day = 24 * 60 * 60 * 1000;
    let now = crate::time::now_millis();
    let at = |mut record: RunRecord, updated_at: u64| {
        record.updated_at = updated_at;
        record
    };
    for (record, when) in [
        (run("old-done", RunStatus::Completed), now - 3 * day),
        (run("old-failed", RunStatus::Failed), now - 3 * day),
        (
            run("old-interrupted", RunStatus::Interrupted),
            now - 3 * day,
        ),
        (run("new-done", RunStatus::Completed), now),
        // Ended long ago, then rewritten recently: its newer entry decides.
        (run("rewritten", RunStatus::Completed), now - 3 * day),
        (run("rewritten", RunStatus::Cancelled), now),
    ] {
        let id = record.run_id.clone();
        store.put_run_now(at(record, when)).unwrap();
        if store.read_events_now(&id, 0, 1).unwrap().is_empty() {
            store
                .append_log_now(&id, &[event(&id, 1)], &[entry("k", vec![1])])
                .unwrap();
        }
    }
    let pruning = SledStorage::builder(&dir.0)
        .event_log_retention(Duration::from_millis(2 * day))
        .open()
        .unwrap();
    for (id, kept) in [
        ("old-done", false),
        ("old-failed", false),
        ("old-interrupted", true),
        ("new-done", true),
        ("rewritten", true),
    ] {
        assert_eq!(
            pruning.read_events_now(id, 0, 10).unwrap().len(),
            usize::from(kept),
            "{id}"
        );
        assert_eq!(
            pruning.read_journal_now(id).unwrap().len(),
            usize::from(kept),
            "{id}"
        );
        assert!(
            pruning.read_run_now(id).unwrap().is_some(),
            "{id}: the record stays"
        );
    }
    let log = pruning.trees.log.as_ref().unwrap();
    assert_eq!(log.log_heads.len(), 3, "the pruned runs' heads are gone");
    assert_eq!(
        log.ended.len(),
        2,
        "only the kept ended runs' entries remain"
    );
    // A store at rest prunes nothing more.
    let before = contents(&pruning);
    drop(
        SledStorage::builder(&dir.0)
            .event_log_retention(Duration::from_millis(2 * day))
            .open()
            .unwrap(),
    );
    assert_eq!(contents(&pruning), before);
}

#[test]
fn a_seq_reservation_is_flushed_once_per_block_unless_every_append_is() {
    // (mode, reserve(1) flushes, its result)
    for (mode, flushed, reserved) in [
        (Durability::EveryEvent, 0, 1),
        (Durability::EveryStep, 1, 64),
        (Durability::RunEnd, 1, 64),
        (Durability::Os, 0, 64),
    ] {
        let dir = Dir::new(&format!("reservation-{mode:?}"));
        let store = SledStorage::builder(&dir.0)
            .durability(mode)
            .open()
            .unwrap();
        store.append_log_now("r", &[event("r", 1)], &[]).unwrap();
        let before = flushes(&store);
        assert_eq!(store.reserve_now("r", 1).unwrap(), reserved, "{mode:?}");
        assert_eq!(flushes(&store) - before, flushed, "{mode:?}");
        // Within the block (or, with `EveryEvent`, already logged): nothing written.
        let before = flushes(&store);
        assert_eq!(store.reserve_now("r", 1).unwrap(), reserved, "{mode:?}");
        assert_eq!(flushes(&store), before, "{mode:?}");
        assert_eq!(
            store.log_head_now("r").unwrap().reserved_seq,
            if mode == Durability::EveryEvent {
                0
            } else {
                64
            },
            "{mode:?}"
        );
    }
}

#[test]
fn plain_appends_skip_the_head_and_a_reopen_rebuilds_it_from_the_log() {
    let dir = Dir::new("plain-appends");
    {
        let store = SledStorage::open(&dir.0).unwrap();
        store.upsert_now(session("s")).unwrap();
        store
            .append_log_now("r", &[event("r", 1), event("r", 2)], &[])
            .unwrap();
        let log = store.trees.log.as_ref().unwrap();
        assert!(log.log_heads.is_empty(), "items alone write no head");
        store
            .append_log_now("r", &[event("r", 3)], &[entry("k", vec![3])])
            .unwrap();
        store
            .append_log_now("r", &[event("r", 4), event("r", 5)], &[])
            .unwrap();
        // The cached head refuses a seq already logged.
        assert!(store.append_log_now("r", &[event("r", 5)], &[]).is_err());
        let head = keys::parse_head(&log.log_heads.get("r").unwrap().unwrap()).unwrap();
        assert_eq!(
            (head.last, head.count),
            (3, 1),
            "written with the journal entry"
        );
        store.flush().unwrap();
    }
    // Every handle dropped: a new open (a new process, as far as the cache goes).
    let store = SledStorage::open(&dir.0).unwrap();
    assert_eq!(store.log_head_now("r").unwrap().last_seq, 5);
    assert!(store.append_log_now("r", &[event("r", 5)], &[]).is_err());
    store.append_log_now("r", &[event("r", 6)], &[]).unwrap();
    assert_eq!(store.read_events_now("r", 0, 10).unwrap().len(), 6);
    // A deletion removes items the head does not count yet.
    store.put_run_now(run("r", RunStatus::Running)).unwrap();
    assert!(store.delete_session_now("s").unwrap());
    assert!(store.read_events_now("r", 0, 10).unwrap().is_empty());
    assert!(store.read_journal_now("r").unwrap().is_empty());
    assert_eq!(store.log_head_now("r").unwrap(), LogHead::default());
    store.append_log_now("r", &[event("r", 1)], &[]).unwrap();
}
