//! Two writers never silently lose an update.

use std::sync::Arc;

use futures::StreamExt;
use weft::prelude::*;
use weft::StorageRef;

use crate::drain::drain;
use crate::fixtures::*;

#[tokio::test]
async fn two_concurrent_writers_at_the_store_one_gets_a_conflict() {
    let dir = TempDir::new("cas");
    let store = SledStorage::open(dir.db()).unwrap();
    let first = store
        .upsert_session(session("s", "wf", None, 1))
        .await
        .unwrap();
    let (a, b) = (store.clone(), store.clone());
    let (mut mine, mut theirs) = (first.clone(), first.clone());
    mine.session_state = serde_json::json!({"by": "a"});
    theirs.session_state = serde_json::json!({"by": "b"});
    let results = std::thread::scope(|scope| {
        let one = scope.spawn(|| futures::executor::block_on(a.upsert_session(mine)));
        let two = scope.spawn(|| futures::executor::block_on(b.upsert_session(theirs)));
        [one.join().unwrap(), two.join().unwrap()]
    });
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(weft::Error::Conflict { .. })))
        .count();
    assert_eq!((wins, conflicts), (1, 1), "{results:?}");
    let stored = store.read_session("s").await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    let winner = results.iter().find_map(|r| r.as_ref().ok()).unwrap();
    assert_eq!(
        stored.session_state, winner.session_state,
        "the loser overwrote nothing"
    );
}

/// Two workflow instances on one session, their runs interleaved: changes to different keys
/// are merged; changes to the same key are reported, not lost.
#[tokio::test]
async fn interleaved_workflow_runs_merge_disjoint_changes_and_report_real_conflicts() {
    let dir = TempDir::new("merge");
    let storage: StorageRef = Arc::new(SledStorage::open(dir.db()).unwrap());
    let build = || {
        Notes::builder()
            .session_id("shared")
            .storage(storage.clone())
            .build()
            .unwrap()
    };
    let (mut a, mut b) = (build(), build());
    {
        let mut run_a = a.run_stream("colour=red".to_string());
        let mut run_b = b.run_stream("size=large".to_string());
        // Both read the session before either saves.
        assert_eq!(
            run_a.next().await.unwrap().unwrap().event,
            RunEvent::WorkflowStarted
        );
        assert_eq!(
            run_b.next().await.unwrap().unwrap().event,
            RunEvent::WorkflowStarted
        );
        while let Some(item) = run_a.next().await {
            item.unwrap();
        }
        while let Some(item) = run_b.next().await {
            item.unwrap();
        }
    }
    let stored = storage.read_session("shared").await.unwrap().unwrap();
    assert_eq!(
        stored.session_state,
        serde_json::json!({"colour": "red", "size": "large"})
    );
    assert_eq!(
        b.session_state.get::<String>("colour").as_deref(),
        Some("red"),
        "the merge is taken in"
    );

    {
        let mut run_a = a.run_stream("colour=blue".to_string());
        let mut run_b = b.run_stream("colour=green".to_string());
        run_a.next().await.unwrap().unwrap();
        run_b.next().await.unwrap().unwrap();
        while let Some(item) = run_a.next().await {
            item.unwrap();
        }
        let mut last = None;
        while let Some(item) = run_b.next().await {
            last = Some(item);
        }
        assert!(
            matches!(last, Some(Err(weft::Error::Conflict { .. }))),
            "{last:?}"
        );
    }
    let stored = storage.read_session("shared").await.unwrap().unwrap();
    assert_eq!(
        stored.session_state["colour"], "blue",
        "the first writer's value was not overwritten"
    );
    let runs = storage.read_runs("shared").await.unwrap();
    assert_eq!(runs.last().unwrap().status, weft::RunStatus::Failed);
}

/// A rename by another instance while a run is in flight survives the run's save.
#[tokio::test]
async fn a_rename_during_a_run_is_not_overwritten_by_its_save() {
    let dir = TempDir::new("rename-race");
    let storage: StorageRef = Arc::new(SledStorage::open(dir.db()).unwrap());
    let build = || {
        Notes::builder()
            .session_id("shared")
            .user_id("ada")
            .storage(storage.clone())
            .build()
            .unwrap()
    };
    let (mut a, mut b) = (build(), build());
    a.run("colour=red".to_string()).await.unwrap();
    {
        let mut run = a.run_stream("size=large".to_string());
        assert_eq!(
            run.next().await.unwrap().unwrap().event,
            RunEvent::WorkflowStarted,
            "the run has read the session"
        );
        b.rename_session("Renamed meanwhile").await.unwrap();
        while let Some(item) = run.next().await {
            item.unwrap();
        }
    }
    let stored = storage.read_session("shared").await.unwrap().unwrap();
    assert_eq!(stored.session_name.as_deref(), Some("Renamed meanwhile"));
    assert_eq!(
        stored.session_state,
        serde_json::json!({"colour": "red", "size": "large"})
    );
    assert_eq!(stored.user_id.as_deref(), Some("ada"));
}

/// Edits made to `session_state` between runs, while another writer saved the session: merged
/// like a run's own changes when the keys differ, reported by name when both changed the same
/// key. Nothing stored is lost either way.
async fn edits_between_runs_are_merged_or_reported(storage: StorageRef) {
    let build = || {
        Notes::builder()
            .session_id("between")
            .storage(storage.clone())
            .build()
            .unwrap()
    };
    let (mut a, mut b) = (build(), build());
    a.run("colour=red".to_string()).await.unwrap();
    b.run("size=large".to_string()).await.unwrap();

    // `a` holds version 1; `b` saved version 2. `a` edits, then runs.
    a.session_state.insert("theme", "dark").unwrap();
    a.session_state.remove("colour");
    a.run("mood=calm".to_string()).await.unwrap();
    let stored = storage.read_session("between").await.unwrap().unwrap();
    assert_eq!(
        stored.session_state,
        serde_json::json!({"size": "large", "theme": "dark", "mood": "calm"}),
        "the edits (a key set, a key removed) merged with the other writer's run"
    );
    let version = stored.version;

    // `b` holds version 2 and changes the key `a` changed since: a conflict naming it.
    b.session_state.insert("theme", "light").unwrap();
    b.session_state.insert("font", "mono").unwrap();
    let (items, err) = drain(b.run_stream("shape=round".to_string())).await;
    let err = err.expect("a conflict");
    assert!(
        matches!(&err, weft::Error::Conflict { session_id, keys } if session_id == "between" && keys == &["theme"]),
        "{err:?}"
    );
    assert!(err.to_string().contains("`theme`"), "{err}");
    assert_eq!(items.last().unwrap().event, RunEvent::RunError);
    let after = storage.read_session("between").await.unwrap().unwrap();
    assert_eq!(after.version, version, "nothing was written");
    assert_eq!(
        after.session_state, stored.session_state,
        "nothing stored is lost"
    );
    assert_eq!(
        b.session_state.get::<String>("theme").as_deref(),
        Some("dark"),
        "after a conflict the instance holds the stored version"
    );

    // So the change can be applied again and saved.
    b.session_state.insert("theme", "light").unwrap();
    b.run("shape=round".to_string()).await.unwrap();
    let stored = storage.read_session("between").await.unwrap().unwrap();
    assert_eq!(
        stored.session_state,
        serde_json::json!({"size": "large", "theme": "light", "mood": "calm", "shape": "round"})
    );

    // An edit made before a run that starts on the current version, while another writer
    // saves during the run: kept too (the run's merge measures it against the stored state).
    a.load_session().await.unwrap();
    a.session_state.insert("draft", "kept").unwrap();
    {
        let mut run = a.run_stream("step=1".to_string());
        assert_eq!(
            run.next().await.unwrap().unwrap().event,
            RunEvent::WorkflowStarted
        );
        b.run("other=2".to_string()).await.unwrap();
        let (_, err) = drain(run).await;
        assert!(err.is_none(), "{err:?}");
    }
    let stored = storage.read_session("between").await.unwrap().unwrap();
    for (key, value) in [
        ("draft", "kept"),
        ("step", "1"),
        ("other", "2"),
        ("theme", "light"),
    ] {
        assert_eq!(stored.session_state[key], value, "{key} in {stored:?}");
    }
}

#[tokio::test]
async fn edits_between_runs_are_merged_or_reported_on_memory() {
    edits_between_runs_are_merged_or_reported(Arc::new(MemoryStorage::new())).await;
}

#[tokio::test]
async fn edits_between_runs_are_merged_or_reported_on_sled() {
    let dir = TempDir::new("between");
    edits_between_runs_are_merged_or_reported(Arc::new(SledStorage::open(dir.db()).unwrap())).await;
}

#[tokio::test]
async fn edits_between_runs_are_merged_or_reported_on_postgres() {
    let Some((store, _schema)) = crate::postgres::store(Default::default()).await else {
        return;
    };
    edits_between_runs_are_merged_or_reported(Arc::new(store)).await;
}
