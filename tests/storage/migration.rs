//! A store written by weft 0.1.0 (run records of envelope format 1, holding their items in
//! `events`) opens and reads: read-only as it is, its items served as an event log; writable,
//! migrated once into the event log.
//!
//! `fixtures/weft-0.1.0-store.json` is the raw content of such a store, every key and value
//! of every sled tree in hex, as weft 0.1.0's own `SledStorage` wrote it (commit 202e1ad; how
//! it was made is in `fixtures/README.md`). The test loads it into a fresh directory with sled
//! itself, then opens it with today's `SledStorage`.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use weft::prelude::*;
use weft::{RunStatus, SessionFilter};

use crate::fixtures::*;

/// A tree's entries, key and value.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

const FIXTURE: &str = include_str!("fixtures/weft-0.1.0-store.json");

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Writes the fixture's trees into a new store at `path`, with sled itself.
fn load_fixture(path: &Path) {
    let dump: Value = serde_json::from_str(FIXTURE).unwrap();
    let db = open_raw(path);
    for tree in dump["trees"].as_array().unwrap() {
        let name = tree["name"].as_str().unwrap();
        let opened = db.open_tree(name).unwrap();
        for pair in tree["entries"].as_array().unwrap() {
            let key = unhex(pair[0].as_str().unwrap());
            let value = unhex(pair[1].as_str().unwrap());
            opened.insert(key, value).unwrap();
        }
    }
    db.flush().unwrap();
}

/// Every entry of every tree (the store must be closed; it is free again on return).
fn raw_contents(path: &Path) -> Vec<(Vec<u8>, Entries)> {
    let db = open_raw(path);
    let mut names = db.tree_names();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let entries = db
                .open_tree(&name)
                .unwrap()
                .iter()
                .map(|entry| {
                    let (key, value) = entry.unwrap();
                    (key.to_vec(), value.to_vec())
                })
                .collect();
            (name.to_vec(), entries)
        })
        .collect()
}

fn builder(path: &Path) -> weft::storage::SledStorageBuilder {
    // sled frees a dropped handle's lock from a background thread: wait for it.
    SledStorage::builder(path).lock_wait(Duration::from_secs(60))
}

fn tree<'a>(contents: &'a [(Vec<u8>, Entries)], name: &str) -> &'a [(Vec<u8>, Vec<u8>)] {
    contents
        .iter()
        .find(|(tree, _)| tree == name.as_bytes())
        .map_or(&[], |(_, entries)| entries.as_slice())
}

#[tokio::test]
async fn a_store_of_weft_0_1_0_reads_as_it_is_and_migrates_at_a_writable_open() {
    let dir = TempDir::new("migration");
    load_fixture(&dir.db());
    let original = raw_contents(&dir.db());
    assert!(
        tree(&original, "weft_runs")
            .iter()
            .all(|(_, value)| value[..2] == [0xF7, 1]),
        "the fixture holds format-1 run records"
    );

    // Read-only: the items come from the records, numbered as the migration will log them.
    let legacy = {
        let reader = builder(&dir.db()).read_only().open().unwrap();
        let runs = reader.read_runs("s-legacy").await.unwrap();
        let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["r-done", "r-failed", "r-running"]);
        let done = &runs[0];
        assert_eq!(done.status, RunStatus::Completed);
        assert_eq!(done.content, "An embedded database.");
        assert_eq!(done.last_seq, 4, "one seq per stored item");
        assert_eq!(done.metrics.model_calls, 2);
        assert_eq!(done.start_state, None);
        assert_eq!(
            runs[2].status,
            RunStatus::Running,
            "not reconciled read-only"
        );

        let events = reader.read_events("r-done", 0, 100).await.unwrap();
        let shape: Vec<(u64, &str, Option<u64>, RunEvent)> = events
            .iter()
            .map(|e| (e.seq, e.identity.as_str(), e.item.seq, e.item.event))
            .collect();
        assert_eq!(
            shape,
            [
                (1, "legacy#1", Some(1), RunEvent::WorkflowStarted),
                (2, "legacy#2", Some(2), RunEvent::ToolCallStarted),
                (3, "legacy#3", Some(3), RunEvent::ToolCallCompleted),
                (4, "legacy#4", Some(4), RunEvent::WorkflowCompleted),
            ]
        );
        let tool = &events[2].item.tools[0];
        assert_eq!(
            (tool.name.as_str(), tool.result.as_deref(), tool.duration),
            (
                "search",
                Some("sled is an embedded database"),
                Some(Duration::from_millis(7))
            )
        );
        assert_eq!(events[3].item.content.as_text(), "An embedded database.");
        let page: Vec<u64> = reader
            .read_events("r-done", 1, 2)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(page, [2, 3]);
        assert!(reader.read_journal("r-done").await.unwrap().is_empty());
        assert!(reader.interrupted_runs(None).await.unwrap().is_empty());
        let session = reader.read_session("s-legacy").await.unwrap().unwrap();
        assert_eq!(session.session_state, json!({"topic": "sled", "runs": 3}));
        let listed = reader
            .list_sessions(SessionFilter {
                user_id: Some("ada".into()),
                ..SessionFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        events
    };
    assert_eq!(
        raw_contents(&dir.db()),
        original,
        "a read-only open wrote nothing"
    );

    // Writable: migrated, and the log reads exactly as the read-only view served it.
    {
        let store = builder(&dir.db()).open().unwrap();
        assert_eq!(store.read_events("r-done", 0, 100).await.unwrap(), legacy);
        let failed = store.read_events("r-failed", 0, 100).await.unwrap();
        assert_eq!(
            failed.iter().map(|e| e.item.event).collect::<Vec<_>>(),
            [RunEvent::WorkflowStarted, RunEvent::RunError]
        );
        let done = store.read_run("r-done").await.unwrap().unwrap();
        assert_eq!((done.last_seq, done.status), (4, RunStatus::Completed));
        let interrupted = store.interrupted_runs(Some("research")).await.unwrap();
        assert_eq!(interrupted.len(), 1);
        assert_eq!(
            (interrupted[0].run_id.as_str(), interrupted[0].last_seq),
            ("r-running", 1),
            "the run a dead process left is interrupted, its item logged"
        );
        // The migrated log continues after its last seq.
        let mut next = RunResponse::text("more");
        next.seq = Some(5);
        let next = weft::storage::LoggedEvent {
            seq: 5,
            identity: "item:x#1".into(),
            item: next,
        };
        let mut stale = next.clone();
        stale.seq = 4;
        stale.item.seq = Some(4);
        assert!(store
            .append_log("r-done", 0, vec![stale], Vec::new())
            .await
            .is_err());
        store
            .append_log("r-done", 0, vec![next], Vec::new())
            .await
            .unwrap();
    }
    let migrated = raw_contents(&dir.db());
    assert!(
        tree(&migrated, "weft_runs")
            .iter()
            .all(|(_, value)| value[..2] == [0xF7, 2]),
        "every run record rewritten in format 2"
    );
    assert_eq!(
        tree(&migrated, "weft_meta"),
        [(b"format".to_vec(), vec![2])]
    );
    assert_eq!(tree(&migrated, "weft_events").len(), 4 + 2 + 1 + 1);
    assert_eq!(tree(&migrated, "weft_interrupted").len(), 1);
    assert_eq!(
        tree(&migrated, "weft_ended").len(),
        2,
        "r-done and r-failed"
    );
    for name in [
        "weft_sessions",
        "weft_by_workflow",
        "weft_by_user",
        "weft_by_time",
    ] {
        assert_eq!(
            tree(&migrated, name),
            tree(&original, name),
            "{name} unchanged"
        );
    }

    // Migrated once: opening again changes nothing.
    drop(builder(&dir.db()).open().unwrap());
    assert_eq!(
        raw_contents(&dir.db()),
        migrated,
        "a second open migrates nothing"
    );

    // Deleting the session deletes the migrated logs.
    let store = builder(&dir.db()).open().unwrap();
    assert!(store.delete_session("s-legacy").await.unwrap());
    assert!(store.read_events("r-done", 0, 10).await.unwrap().is_empty());
    drop(store);
    let deleted = raw_contents(&dir.db());
    assert!(tree(&deleted, "weft_events").is_empty());
    assert!(tree(&deleted, "weft_log_heads").is_empty());
}
