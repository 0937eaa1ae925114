//! The session and run contract of `WorkflowStorage`: compare-and-swap, listings, deletion,
//! run order; generic checks the `conformance!` macro runs against every store.

use serde_json::json;
use weft::{RunStatus, SessionFilter, StorageRef, WorkflowSession, WorkflowStorage};

use super::{entry, everything, items};
use crate::fixtures::*;

/// A session's writes are compare-and-swap on `version`: a new session (version 0) is stored
/// as 1, then 2, 3, …; a stale writer gets `Conflict` and writes nothing; `created_at` stays
/// the first write's; every field reads back as written.
pub async fn session_writes_are_compare_and_swap(store: &dyn WorkflowStorage) {
    let first = store
        .upsert_session(session("s", "wf", Some("ada"), 10))
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(store.read_session("s").await.unwrap().unwrap(), first);

    let conflict = |result: weft::Result<WorkflowSession>, case: &str| {
        assert!(
            matches!(&result, Err(weft::Error::Conflict { session_id, .. }) if session_id == "s" || session_id == "ghost"),
            "{case}: {result:?}"
        );
    };
    // Another writer that believes the session new.
    let mut stale = session("s", "wf", None, 20);
    stale.session_state = json!({"by": "stale"});
    conflict(store.upsert_session(stale).await, "a second new session");
    assert_eq!(
        store.read_session("s").await.unwrap().unwrap(),
        first,
        "nothing written"
    );

    let mut current = first.clone();
    for expected in 2..=4 {
        let mut next = current.clone();
        next.session_state = json!({"n": expected});
        next.updated_at += 1;
        next.created_at = 999;
        let stored = store.upsert_session(next).await.unwrap();
        assert_eq!(stored.version, expected);
        assert_eq!(stored.created_at, 10, "created_at is the first write's");
        assert_eq!(store.read_session("s").await.unwrap().unwrap(), stored);
        current = stored;
    }
    for behind in [current.version - 1, 1, current.version + 1] {
        let mut stale = current.clone();
        stale.version = behind;
        stale.session_state = json!({"by": "stale"});
        conflict(
            store.upsert_session(stale).await,
            &format!("version {behind}"),
        );
    }
    assert_eq!(store.read_session("s").await.unwrap().unwrap(), current);

    // A version for a session that does not exist: refused, nothing created.
    let mut ghost = session("ghost", "wf", None, 1);
    ghost.version = 3;
    conflict(store.upsert_session(ghost).await, "a missing session");
    assert!(store.read_session("ghost").await.unwrap().is_none());

    // Every field, odd JSON included, reads back as written.
    let mut named = session("named", "wf2", None, 5);
    named.session_name = Some("A name".into());
    named.workflow_name = "Workflow Two".into();
    named.session_state = json!({
        "nested": {"list": [1, 2.5, -3, "x", null, true], "empty": {}},
        "text": "é ✓ \u{0000} \"quoted\" \\",
        "big": u64::MAX,
    });
    let stored = store.upsert_session(named.clone()).await.unwrap();
    assert_eq!(
        stored,
        WorkflowSession {
            version: 1,
            ..named
        }
    );
    assert_eq!(store.read_session("named").await.unwrap().unwrap(), stored);
    assert!(store.read_session("unknown").await.unwrap().is_none());
}

/// Listings: newest `updated_at` first (ties by session id), filtered by workflow, user or
/// both, then `offset` and `limit`; a write moves a session to the front.
pub async fn sessions_list_by_workflow_and_user_newest_first_with_pagination(
    store: &dyn WorkflowStorage,
) {
    for (id, workflow, user, updated_at) in [
        ("a", "wf1", Some("ada"), 10),
        ("b", "wf1", Some("bob"), 30),
        ("c", "wf2", Some("ada"), 20),
        ("d", "wf1", None, 40),
        ("e", "wf2", Some("ada"), 20),
        ("f", "wf1", Some("ada"), 5),
    ] {
        store
            .upsert_session(session(id, workflow, user, updated_at))
            .await
            .unwrap();
    }
    let list = |workflow: Option<&str>, user: Option<&str>, offset: usize, limit: Option<usize>| {
        let filter = SessionFilter {
            workflow_id: workflow.map(str::to_string),
            user_id: user.map(str::to_string),
            offset,
            limit,
        };
        async move {
            let counted = store.list_sessions_counted(filter.clone()).await.unwrap();
            assert_eq!(counted.skipped, 0);
            let sessions = store.list_sessions(filter).await.unwrap();
            assert_eq!(sessions, counted.sessions);
            sessions
                .into_iter()
                .map(|s| s.session_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(None, None, 0, None).await,
        ["d", "b", "c", "e", "a", "f"]
    );
    assert_eq!(list(Some("wf1"), None, 0, None).await, ["d", "b", "a", "f"]);
    assert_eq!(list(None, Some("ada"), 0, None).await, ["c", "e", "a", "f"]);
    assert_eq!(list(Some("wf1"), Some("ada"), 0, None).await, ["a", "f"]);
    assert!(list(Some("wf2"), Some("bob"), 0, None).await.is_empty());
    assert!(list(Some("none"), None, 0, None).await.is_empty());
    assert!(list(None, Some("nobody"), 0, None).await.is_empty());
    assert_eq!(list(None, None, 1, Some(2)).await, ["b", "c"]);
    assert_eq!(list(None, None, 4, None).await, ["a", "f"]);
    assert_eq!(list(None, None, 4, Some(10)).await, ["a", "f"]);
    assert!(list(None, None, 10, None).await.is_empty());
    assert!(list(None, None, 0, Some(0)).await.is_empty());
    assert_eq!(list(Some("wf1"), None, 1, Some(2)).await, ["b", "a"]);
    assert_eq!(list(None, Some("ada"), 1, Some(1)).await, ["e"]);

    // A write moves the session to the front (and out of the old place).
    let mut f = store.read_session("f").await.unwrap().unwrap();
    f.updated_at = 50;
    store.upsert_session(f).await.unwrap();
    assert_eq!(
        list(None, None, 0, None).await,
        ["f", "d", "b", "c", "e", "a"]
    );
    assert_eq!(list(Some("wf1"), Some("ada"), 0, None).await, ["f", "a"]);
    // A deleted session leaves every listing.
    assert!(store.delete_session("b").await.unwrap());
    assert_eq!(list(Some("wf1"), None, 0, None).await, ["f", "d", "a"]);
}

/// Deleting a session deletes it with its runs, their logs and journals, and nothing of other
/// sessions; `false` for a session that does not exist (any more).
pub async fn deleting_a_session_deletes_everything_of_it(store: &dyn WorkflowStorage) {
    for id in ["gone", "kept"] {
        store
            .upsert_session(session(id, "wf", None, 1))
            .await
            .unwrap();
    }
    for (run_id, session_id) in [("g1", "gone"), ("g2", "gone"), ("k1", "kept")] {
        store
            .put_run(run(run_id, session_id, RunStatus::Completed))
            .await
            .unwrap();
        store
            .append_log(
                run_id,
                0,
                items(run_id, 1..=2),
                vec![entry("tool:a:1", vec![1])],
            )
            .await
            .unwrap();
    }
    assert!(store.delete_session("gone").await.unwrap());
    assert!(store.read_session("gone").await.unwrap().is_none());
    assert!(store.read_runs("gone").await.unwrap().is_empty());
    assert_eq!(store.count_runs("gone").await.unwrap(), 0);
    for run_id in ["g1", "g2"] {
        assert!(store.read_run(run_id).await.unwrap().is_none(), "{run_id}");
        assert_eq!(
            everything(store, run_id).await,
            (Vec::new(), Vec::new()),
            "{run_id}"
        );
        assert_eq!(store.log_head(run_id).await.unwrap().last_seq, 0);
    }
    assert!(store.read_session("kept").await.unwrap().is_some());
    assert_eq!(store.read_runs("kept").await.unwrap().len(), 1);
    let (events, journal) = everything(store, "k1").await;
    assert_eq!((events.len(), journal.len()), (2, 1));
    assert!(!store.delete_session("gone").await.unwrap(), "already gone");
    assert!(!store.delete_session("never").await.unwrap());
    // A deleted run's log starts again from seq 1.
    store
        .append_log("g1", 0, items("g1", 1..=1), Vec::new())
        .await
        .unwrap();
}

/// A session's runs list in the order they were first put; putting a run again replaces it
/// in place; `count_runs` counts them; `read_run` finds one by id.
pub async fn runs_list_in_first_put_order_and_are_replaced_in_place(store: &dyn WorkflowStorage) {
    for run_id in ["r-b", "r-a", "r-c"] {
        store
            .put_run(run(run_id, "s", RunStatus::Running))
            .await
            .unwrap();
    }
    store
        .put_run(run("x", "other", RunStatus::Running))
        .await
        .unwrap();
    let ids = |runs: Vec<weft::RunRecord>| runs.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.read_runs("s").await.unwrap()),
        ["r-b", "r-a", "r-c"]
    );

    let mut done = run("r-a", "s", RunStatus::Completed);
    done.content = "the answer".into();
    done.last_seq = 3;
    done.updated_at = 9;
    done.error = Some("none really".into());
    done.start_state = Some(json!({"n": 1}));
    done.input = json!({"question": "why?", "n": [1, 2]});
    store.put_run(done.clone()).await.unwrap();
    let runs = store.read_runs("s").await.unwrap();
    assert_eq!(
        ids(runs.clone()),
        ["r-b", "r-a", "r-c"],
        "replaced in place"
    );
    assert_eq!(runs[1], done);
    assert_eq!(store.read_run("r-a").await.unwrap().unwrap(), done);
    assert_eq!(store.count_runs("s").await.unwrap(), 3);
    assert_eq!(store.count_runs("other").await.unwrap(), 1);
    assert_eq!(store.count_runs("unknown").await.unwrap(), 0);
    assert!(store.read_runs("unknown").await.unwrap().is_empty());
    assert!(store.read_run("unknown").await.unwrap().is_none());
}

/// Two writers on one session lose nothing (Agno #7479: concurrent saves silently dropped
/// updates): 8 tasks each add 1 to a counter in `session_state` 10 times, by read, modify,
/// compare-and-swap, and a retry after a conflict. The counter ends at 80, the version too.
pub async fn two_writers_on_one_session_lose_nothing(store: StorageRef) {
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut conflicts = 0;
                for _ in 0..10 {
                    loop {
                        let next = match store.read_session("shared").await.unwrap() {
                            Some(mut current) => {
                                let n = current.session_state["counter"].as_u64().unwrap();
                                current.session_state = json!({"counter": n + 1});
                                current.updated_at += 1;
                                current
                            }
                            None => {
                                let mut new = session("shared", "wf", None, 1);
                                new.session_state = json!({"counter": 1});
                                new
                            }
                        };
                        match store.upsert_session(next).await {
                            Ok(_) => break,
                            Err(weft::Error::Conflict { .. }) => {
                                conflicts += 1;
                                tokio::task::yield_now().await;
                            }
                            Err(err) => panic!("{err}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let stored = store.read_session("shared").await.unwrap().unwrap();
    assert_eq!(stored.session_state, json!({"counter": 80}));
    assert_eq!(stored.version, 80);
}
