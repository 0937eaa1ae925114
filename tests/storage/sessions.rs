//! Session operations on a workflow: load, new, rename, delete, list, runs; state across
//! instances on a real store.

use weft::prelude::*;
use weft::{RunStatus, SessionFilter};

use crate::fixtures::*;

#[tokio::test]
async fn session_operations_on_the_workflow() {
    let dir = TempDir::new("ops");
    let store = SledStorage::open(dir.db()).unwrap();
    let mut notes = Notes::builder()
        .session_id("first")
        .user_id("ada")
        .storage(store.clone())
        .build()
        .unwrap();
    assert!(
        notes.load_session().await.unwrap().is_none(),
        "nothing saved yet"
    );
    notes.run("a=1".to_string()).await.unwrap();
    notes.rename_session("Ada's notes").await.unwrap();

    let second = notes.new_session();
    assert_ne!(second, "first");
    assert_eq!(notes.session_id, second);
    assert!(notes.session_state.is_empty(), "a new session starts empty");
    notes.run("b=2".to_string()).await.unwrap();

    let sessions = notes.sessions(SessionFilter::default()).await.unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(
        ids,
        [second.as_str(), "first"],
        "this workflow's sessions, newest first"
    );
    let named = sessions.iter().find(|s| s.session_id == "first").unwrap();
    assert_eq!(named.session_name.as_deref(), Some("Ada's notes"));
    assert_eq!(named.user_id.as_deref(), Some("ada"));
    assert_eq!(named.session_state["a"], "1");

    let runs = notes.runs("first").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Completed);
    assert_eq!(runs[0].content, "noted a");

    // Another instance loads the first session and sees its state and name.
    let mut other = Notes::builder()
        .session_id("first")
        .storage(store.clone())
        .build()
        .unwrap();
    let loaded = other.load_session().await.unwrap().unwrap();
    assert_eq!(loaded.session_name.as_deref(), Some("Ada's notes"));
    assert_eq!(other.session_state.get::<String>("a").as_deref(), Some("1"));
    assert_eq!(
        other.user_id.as_deref(),
        Some("ada"),
        "the stored user is taken in"
    );
    other.run("c=3".to_string()).await.unwrap();
    let stored = store.read_session("first").await.unwrap().unwrap();
    assert_eq!(
        stored.session_name.as_deref(),
        Some("Ada's notes"),
        "a run keeps the name"
    );
    assert_eq!(stored.session_state["c"], "3");

    assert!(notes.delete_session("first").await.unwrap());
    assert!(store.read_session("first").await.unwrap().is_none());
    assert!(notes.runs("first").await.unwrap().is_empty());
    assert!(
        !notes.delete_session("first").await.unwrap(),
        "already gone"
    );

    // Deleting the current session starts it afresh: no old state comes back.
    assert!(other.delete_session("first").await.is_ok());
    assert!(other.session_state.is_empty());
    other.run("d=4".to_string()).await.unwrap();
    let recreated = store.read_session("first").await.unwrap().unwrap();
    assert_eq!(recreated.session_state, serde_json::json!({"d": "4"}));
    assert_eq!(recreated.session_name, None);
}

#[tokio::test]
async fn state_survives_reopening_the_store() {
    let dir = TempDir::new("reopen");
    {
        let mut notes = Notes::builder()
            .session_id("s")
            .storage(SledStorage::open(dir.db()).unwrap())
            .build()
            .unwrap();
        notes.run("topic=sled".to_string()).await.unwrap();
    }
    let mut notes = Notes::builder()
        .session_id("s")
        .storage(SledStorage::open(dir.db()).unwrap())
        .build()
        .unwrap();
    notes.run("more=yes".to_string()).await.unwrap();
    assert_eq!(
        notes.session_state.get::<String>("topic").as_deref(),
        Some("sled")
    );
    assert_eq!(notes.runs("s").await.unwrap().len(), 2);
}
