//! A panic in a workflow's `run` on sled: the run is stored `failed` with the panic's message
//! and its state is saved, as for any other failure.

use weft::prelude::*;
use weft::RunStatus;

use crate::drain::drain;
use crate::fixtures::*;

#[tokio::test]
async fn a_panic_in_run_is_stored_failed_with_its_message_and_the_state_saved() {
    let dir = TempDir::new("panic");
    {
        let store = SledStorage::open(dir.db()).unwrap();
        let mut notes = Notes::builder()
            .session_id("panicky")
            .storage(store.clone())
            .build()
            .unwrap();
        notes.run("colour=red".to_string()).await.unwrap();
        let (items, err) = drain(notes.run_stream("panic=now".to_string())).await;
        let err = err.expect("the stream ends with an error");
        assert!(
            matches!(&err, weft::Error::RunPanicked { message } if message == "the notes panicked on purpose"),
            "{err}"
        );
        assert_eq!(items.last().unwrap().event, RunEvent::RunError);
        let err = notes.run("panic=again".to_string()).await.unwrap_err();
        assert!(matches!(err, weft::Error::RunPanicked { .. }), "{err}");
    }
    // Reopened: what was saved reached the disk.
    let store = SledStorage::open(dir.db()).unwrap();
    let runs = store.read_runs("panicky").await.unwrap();
    let statuses: Vec<RunStatus> = runs.iter().map(|run| run.status).collect();
    assert_eq!(
        statuses,
        [RunStatus::Completed, RunStatus::Failed, RunStatus::Failed]
    );
    for run in &runs[1..] {
        assert!(
            run.error
                .as_deref()
                .unwrap()
                .contains("the notes panicked on purpose"),
            "{:?}",
            run.error
        );
        assert_eq!(run.content, "noted panic");
    }
    let session = store.read_session("panicky").await.unwrap().unwrap();
    assert_eq!(
        session.session_state,
        serde_json::json!({"colour": "red", "panic": "again"}),
        "each panicking run's changes were saved"
    );
}
