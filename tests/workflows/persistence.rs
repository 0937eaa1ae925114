//! Session state: shared by instances on one store, typed, merged with initial state, and kept
//! when a run fails or its stream is dropped.

use futures::StreamExt;
use weft::prelude::*;
use weft::{RunStatus, SessionState};
use weft_testkit::{FakeLlm, Reply};

use crate::fixtures::*;

#[tokio::test]
async fn state_persists_across_two_instances_on_one_storage() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Entanglement."));
    let storage = MemoryStorage::new();
    let mut first = CacheWorkflow::builder()
        .session_id("shared")
        .storage(storage.clone())
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    first.run("Explain".to_string()).await.unwrap();

    let mut second = CacheWorkflow::builder()
        .session_id("shared")
        .storage(storage.clone())
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let answer = second.run("Explain".to_string()).await.unwrap();
    assert_eq!(answer.content_text(), "Entanglement.");
    assert_eq!(
        server.request_count(),
        1,
        "the second instance answered from the stored state"
    );

    let session = storage.read_session("shared").await.unwrap().unwrap();
    assert_eq!(session.workflow_id, "CacheWorkflow");
    assert_eq!(session.version, 2, "each run saved once");
    assert_eq!(storage.read_runs("shared").await.unwrap().len(), 2);

    // The first instance sees the second's write on its next run (no stale overwrite).
    first.run("Explain".to_string()).await.unwrap();
    assert_eq!(
        storage
            .read_session("shared")
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );
}

#[tokio::test]
async fn typed_state_is_saved_and_loaded() {
    let storage = MemoryStorage::new();
    let mut wf = CountingWorkflow::builder()
        .session_id("typed")
        .storage(storage.clone())
        .greeting("Hello".to_string())
        .build()
        .unwrap();
    assert_eq!(
        wf.run("rust".to_string()).await.unwrap().content_text(),
        "Hello #1 on rust"
    );
    assert_eq!(
        wf.run("sled".to_string()).await.unwrap().content_text(),
        "Hello #2 on sled"
    );

    let mut again = CountingWorkflow::builder()
        .session_id("typed")
        .storage(storage.clone())
        .build()
        .unwrap();
    again.run("tokio".to_string()).await.unwrap();
    assert_eq!(again.session_state.runs, 3);
    assert_eq!(again.session_state.last_topic.as_deref(), Some("tokio"));
    let stored = storage.read_session("typed").await.unwrap().unwrap();
    assert_eq!(stored.session_state["runs"], 3);
}

/// The decided merge rule: stored values win; the builder's initial state fills in what the
/// stored state lacks.
#[tokio::test]
async fn stored_state_wins_over_the_initial_state_which_fills_gaps() {
    let storage = MemoryStorage::new();
    let mut wf = CountingWorkflow::builder()
        .session_id("merge")
        .storage(storage.clone())
        .build()
        .unwrap();
    wf.run("first".to_string()).await.unwrap();

    let initial = Counter {
        runs: 100,
        last_topic: None,
        label: "from the builder".into(),
    };
    let mut wf = CountingWorkflow::builder()
        .session_id("merge")
        .storage(storage.clone())
        .session_state(initial)
        .build()
        .unwrap();
    wf.run("second".to_string()).await.unwrap();
    assert_eq!(
        wf.session_state.runs, 2,
        "the stored count wins over the initial 100"
    );
    assert_eq!(
        wf.session_state.label, "",
        "a stored field, even empty, wins"
    );

    // Dynamic state: keys missing from storage come from the initial state.
    let server = FakeLlm::start().await.unwrap();
    let mut initial = SessionState::new();
    initial.insert("theme", "dark").unwrap();
    initial.insert("Explain", "initial answer").unwrap();
    let mut seeded = CacheWorkflow::builder()
        .session_id("merge-dyn")
        .storage(storage.clone())
        .session_state(initial.clone())
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    assert_eq!(
        seeded
            .run("Explain".to_string())
            .await
            .unwrap()
            .content_text(),
        "initial answer",
        "a new session starts from the initial state"
    );
    seeded
        .session_state
        .insert("Explain", "stored answer")
        .unwrap();
    seeded.session_state.remove("theme");
    seeded.run("Explain".to_string()).await.unwrap();

    let mut initial = SessionState::new();
    initial.insert("theme", "light").unwrap();
    initial.insert("font", "mono").unwrap();
    initial.insert("Explain", "initial answer").unwrap();
    let mut later = CacheWorkflow::builder()
        .session_id("merge-dyn")
        .storage(storage.clone())
        .session_state(initial)
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    assert_eq!(
        later
            .run("Explain".to_string())
            .await
            .unwrap()
            .content_text(),
        "stored answer"
    );
    assert_eq!(
        later.session_state.get::<String>("font").as_deref(),
        Some("mono"),
        "gaps are filled"
    );
    assert_eq!(
        later.session_state.get::<String>("theme").as_deref(),
        Some("light"),
        "a key the stored state lacks is filled too"
    );
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn state_is_kept_when_the_consumer_drops_the_stream_midway() {
    let server = FakeLlm::start().await.unwrap();
    let storage = MemoryStorage::new();
    let mut wf = StepWorkflow::builder()
        .session_id("dropped")
        .storage(storage.clone())
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    {
        let mut events = wf.run_stream("sled".to_string());
        let started = events.next().await.unwrap().unwrap();
        assert_eq!(started.event, RunEvent::WorkflowStarted);
        let first = events.next().await.unwrap().unwrap();
        assert_eq!(first.content_text(), "Researching sled. ");
        // Dropped here, mid-run.
    }
    let session = storage
        .read_session("dropped")
        .await
        .unwrap()
        .expect("saved on drop");
    assert_eq!(
        session.session_state["step"], 1,
        "what the run did before its last yield is kept"
    );
    let runs = storage.read_runs("dropped").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Cancelled);
    assert_eq!(runs[0].content, "Researching sled. ");
    assert_eq!(wf.session_state.get::<u32>("step"), Some(1));
    assert_eq!(
        server.request_count(),
        0,
        "the run stopped before its model call"
    );

    // The instance goes on from the saved version without a conflict.
    server.push(Reply::text("Done."));
    let answer = wf.run("sled".to_string()).await.unwrap();
    assert_eq!(answer.content_text(), "Researching sled. Done.");
    assert_eq!(
        storage
            .read_session("dropped")
            .await
            .unwrap()
            .unwrap()
            .session_state["step"],
        3
    );
}

#[tokio::test]
async fn state_is_kept_when_a_provider_error_ends_the_run() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::status(500));
    let storage = MemoryStorage::new();
    let mut wf = StepWorkflow::builder()
        .session_id("failed")
        .storage(storage.clone())
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let err = wf.run("sled".to_string()).await.unwrap_err();
    assert!(
        matches!(err, weft::Error::Provider { status: 500, .. }),
        "{err}"
    );
    let session = storage
        .read_session("failed")
        .await
        .unwrap()
        .expect("saved on failure");
    assert_eq!(session.session_state["step"], 2);
    let runs = storage.read_runs("failed").await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(runs[0].content, "Researching sled. ");
    assert!(runs[0].error.as_deref().unwrap().contains("500"));
}
