//! SledStorage records: layout, ordering, indexes, envelopes, corruption, sharing.

use weft::prelude::*;
use weft::{Durability, RunStatus, SessionFilter};

use crate::fixtures::*;

#[tokio::test]
async fn open_creates_directories_and_clones_share_one_database() {
    let dir = TempDir::new("open");
    let store = SledStorage::open(dir.db()).unwrap();
    assert!(dir.db().exists(), "parent directories are created");
    let clone = store.clone();
    clone
        .upsert_session(session("s", "wf", None, 1))
        .await
        .unwrap();
    assert!(store.read_session("s").await.unwrap().is_some());
    // Opening the same path again in this process shares the open database.
    let again = SledStorage::open(dir.db()).unwrap();
    assert!(again.read_session("s").await.unwrap().is_some());
    assert_eq!(again.path(), store.path());
}

#[tokio::test]
async fn prefixes_keep_stores_apart_in_one_file() {
    let dir = TempDir::new("prefix");
    let a = SledStorage::builder(dir.db())
        .prefix("team_a_")
        .open()
        .unwrap();
    let b = SledStorage::builder(dir.db())
        .prefix("team_b_")
        .durability(Durability::EveryEvent)
        .open()
        .unwrap();
    a.upsert_session(session("s", "wf", None, 1)).await.unwrap();
    assert!(b.read_session("s").await.unwrap().is_none());
}

#[tokio::test]
async fn runs_list_in_start_order_and_are_updated_in_place() {
    let dir = TempDir::new("runs");
    let store = SledStorage::open(dir.db()).unwrap();
    for i in 0..12 {
        store
            .put_run(run(&format!("r{i}"), "s", RunStatus::Running))
            .await
            .unwrap();
    }
    store
        .put_run(run("other", "s2", RunStatus::Completed))
        .await
        .unwrap();
    store
        .put_run(run("r3", "s", RunStatus::Completed))
        .await
        .unwrap();
    let runs = store.read_runs("s").await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    let expected: Vec<String> = (0..12).map(|i| format!("r{i}")).collect();
    assert_eq!(
        ids, expected,
        "start order, and an update does not move or duplicate a run"
    );
    assert_eq!(runs[3].status, RunStatus::Completed);
    assert_eq!(
        store.read_run("other").await.unwrap().unwrap().session_id,
        "s2"
    );
    assert!(store.read_run("missing").await.unwrap().is_none());
}

#[tokio::test]
async fn sessions_list_by_workflow_and_user_newest_first_with_pagination() {
    let dir = TempDir::new("list");
    let store = SledStorage::open(dir.db()).unwrap();
    store
        .upsert_session(session("old", "research", Some("ada"), 100))
        .await
        .unwrap();
    store
        .upsert_session(session("mid", "research", Some("bob"), 200))
        .await
        .unwrap();
    store
        .upsert_session(session("new", "research", Some("ada"), 300))
        .await
        .unwrap();
    store
        .upsert_session(session("other", "support", Some("ada"), 250))
        .await
        .unwrap();
    let ids = |sessions: Vec<weft::WorkflowSession>| {
        sessions
            .into_iter()
            .map(|s| s.session_id)
            .collect::<Vec<_>>()
    };

    let by_workflow = SessionFilter {
        workflow_id: Some("research".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_sessions(by_workflow.clone()).await.unwrap()),
        ["new", "mid", "old"]
    );
    let page = SessionFilter {
        offset: 1,
        limit: Some(1),
        ..by_workflow
    };
    assert_eq!(ids(store.list_sessions(page).await.unwrap()), ["mid"]);
    let by_user = SessionFilter {
        user_id: Some("ada".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_sessions(by_user).await.unwrap()),
        ["new", "other", "old"]
    );
    let both = SessionFilter {
        workflow_id: Some("research".into()),
        user_id: Some("ada".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_sessions(both).await.unwrap()),
        ["new", "old"]
    );
    assert_eq!(
        ids(store.list_sessions(SessionFilter::default()).await.unwrap()),
        ["new", "other", "mid", "old"]
    );

    // An update moves the session to the front of its indexes; no stale entry is left.
    let mut old = store.read_session("old").await.unwrap().unwrap();
    old.updated_at = 400;
    store.upsert_session(old).await.unwrap();
    let by_workflow = SessionFilter {
        workflow_id: Some("research".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_sessions(by_workflow.clone()).await.unwrap()),
        ["old", "new", "mid"]
    );

    assert!(store.delete_session("old").await.unwrap());
    assert!(!store.delete_session("old").await.unwrap());
    assert_eq!(
        ids(store.list_sessions(by_workflow).await.unwrap()),
        ["new", "mid"]
    );
}

#[tokio::test]
async fn deleting_a_session_deletes_its_runs() {
    let dir = TempDir::new("delete");
    let store = SledStorage::open(dir.db()).unwrap();
    store
        .upsert_session(session("s", "wf", None, 1))
        .await
        .unwrap();
    store
        .put_run(run("r1", "s", RunStatus::Completed))
        .await
        .unwrap();
    store
        .put_run(run("keep", "s-other", RunStatus::Completed))
        .await
        .unwrap();
    store.delete_session("s").await.unwrap();
    assert!(store.read_runs("s").await.unwrap().is_empty());
    assert!(store.read_run("r1").await.unwrap().is_none());
    assert!(store.read_run("keep").await.unwrap().is_some());
}

/// Garbage bytes under a real key are a typed error naming the key; the store still opens and
/// every other record still reads.
#[tokio::test]
async fn corrupt_records_are_typed_errors_naming_the_key() {
    let dir = TempDir::new("corrupt");
    {
        let store = SledStorage::open(dir.db()).unwrap();
        store
            .upsert_session(session("good", "wf", None, 1))
            .await
            .unwrap();
        store
            .upsert_session(session("bad", "wf", None, 2))
            .await
            .unwrap();
        store
            .put_run(run("r1", "bad", RunStatus::Running))
            .await
            .unwrap();
        store.flush().unwrap();
    }
    {
        // Write behind weft's back with sled itself.
        let db = open_raw(&dir.db());
        db.open_tree("weft_sessions")
            .unwrap()
            .insert("bad", &b"\x00garbage\xff"[..])
            .unwrap();
        let runs = db.open_tree("weft_runs").unwrap();
        let (key, _) = runs.iter().next().unwrap().unwrap();
        runs.insert(key, &b"\xF7\x09{}"[..]).unwrap();
        db.flush().unwrap();
    }
    let store =
        SledStorage::open(dir.db()).expect("a corrupt record must not keep the store from opening");
    let err = store.read_session("bad").await.unwrap_err();
    assert!(
        matches!(&err, weft::Error::Corrupt { key, .. } if key == "sessions/bad"),
        "{err}"
    );
    assert!(store.read_session("good").await.unwrap().is_some());
    let err = store.read_runs("bad").await.unwrap_err();
    assert!(
        matches!(&err, weft::Error::Corrupt { key, reason } if key.starts_with("runs/bad/") && reason.contains("version 9")),
        "{err}"
    );
    // One bad record does not hide the rest: listings skip it, and say so when asked.
    let listed = store.list_sessions(SessionFilter::default()).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, ["good"]);
    let counted = store
        .list_sessions_counted(SessionFilter {
            workflow_id: Some("wf".into()),
            ..SessionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(counted.skipped, 1);
    assert_eq!(counted.sessions.len(), 1);
    assert_eq!(counted.sessions[0].session_id, "good");

    // A workflow on the corrupt session reports it, as a `RunError` item then the error, and
    // writes nothing over it.
    let mut notes = Notes::builder()
        .session_id("bad")
        .storage(store.clone())
        .build()
        .unwrap();
    let err = notes.run("a=1".to_string()).await.unwrap_err();
    assert!(matches!(err, weft::Error::Corrupt { .. }), "{err}");
    let items: Vec<_> = notes.run_stream("a=1".to_string()).collect().await;
    assert_eq!(items.len(), 2, "{items:?}");
    let first = items[0].as_ref().unwrap();
    assert_eq!(first.event, RunEvent::RunError);
    assert!(
        first.content.as_text().contains("sessions/bad"),
        "{first:?}"
    );
    assert_eq!(first.session_id.as_deref(), Some("bad"));
    assert!(matches!(items[1], Err(weft::Error::Corrupt { .. })));
    assert!(
        store.read_session("bad").await.is_err(),
        "the bad record is left for inspection"
    );

    // Deleting it is the way out: the record, its index entries and its runs go.
    assert!(store.delete_session("bad").await.unwrap());
    assert!(store.read_session("bad").await.unwrap().is_none());
    let listed = store.list_sessions(SessionFilter::default()).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, ["good"]);
    assert!(store.read_runs("bad").await.unwrap().is_empty());
}

/// A read-only open never writes: a store that lacks one of weft's trees is refused with an
/// error naming the tree, and the tree is not created.
#[tokio::test]
async fn a_read_only_open_of_a_store_missing_a_tree_creates_nothing() {
    let dir = TempDir::new("read-only-missing-tree");
    let before = {
        let db = open_raw(&dir.db());
        db.open_tree("weft_sessions").unwrap();
        db.open_tree("weft_runs").unwrap();
        db.flush().unwrap();
        let mut names = db.tree_names();
        names.sort();
        names
    };
    let err = SledStorage::builder(dir.db())
        .read_only()
        // sled frees the raw handle's lock from a background thread: wait for it.
        .lock_wait(std::time::Duration::from_secs(60))
        .open()
        .unwrap_err();
    assert!(
        matches!(&err, weft::Error::Storage { message, .. }
            if message.contains("lacks its tree `weft_run_ids`") && message.contains("read-only")),
        "{err}"
    );
    let db = open_raw(&dir.db());
    let mut after = db.tree_names();
    after.sort();
    assert_eq!(after, before, "the read-only open created no tree");
}
