//! A panic is never a cancellation: the run ends `failed` with the panic's message, its state
//! saved as for any failure, and the consumer gets an error.

use std::panic::AssertUnwindSafe;

use futures::StreamExt;
use weft::prelude::*;
use weft::RunStatus;

use crate::drain::drain;
use crate::fixtures::*;

#[tokio::test]
async fn a_panic_in_run_fails_the_run_with_its_message_and_keeps_the_state() {
    let storage = MemoryStorage::new();
    let mut wf = PanickyWorkflow::builder()
        .session_id("panicky")
        .storage(storage.clone())
        .build()
        .unwrap();
    let (items, err) = drain(wf.run_stream("sled".to_string())).await;
    let err = err.expect("the stream ends with an error");
    assert!(
        matches!(&err, weft::Error::RunPanicked { message } if message == "the workflow panicked on purpose about sled"),
        "{err}"
    );
    let events: Vec<RunEvent> = items.iter().map(|item| item.event).collect();
    assert_eq!(
        events,
        [
            RunEvent::WorkflowStarted,
            RunEvent::RunContent,
            RunEvent::RunError
        ]
    );
    assert!(
        items[2]
            .content
            .as_text()
            .contains("panicked on purpose about sled"),
        "{:?}",
        items[2]
    );
    assert_eq!(
        items[2].run_id, items[0].run_id,
        "the error item is the run's"
    );

    let runs = storage.read_runs("panicky").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed, "failed, never cancelled");
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("the workflow panicked on purpose about sled"),
        "{:?}",
        runs[0].error
    );
    assert_eq!(runs[0].content, "about sled. ");
    let session = storage.read_session("panicky").await.unwrap().unwrap();
    assert_eq!(
        session.session_state,
        serde_json::json!({"before_the_panic": "sled"}),
        "what the run did before it panicked is saved, as for any failure"
    );

    // `run` (collecting) reports the same error, and the instance goes on afterwards.
    let err = wf.run("tokio".to_string()).await.unwrap_err();
    assert!(matches!(err, weft::Error::RunPanicked { .. }), "{err}");
    let runs = storage.read_runs("panicky").await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].status, RunStatus::Failed);
    assert_eq!(
        storage
            .read_session("panicky")
            .await
            .unwrap()
            .unwrap()
            .session_state["before_the_panic"],
        "tokio"
    );
}

/// A panic that unwinds through a run from outside it (here: in the code consuming the
/// stream) drops the run mid-way; it is recorded `failed`, not `cancelled`.
#[test]
fn a_panic_that_unwinds_through_a_dropped_run_marks_it_failed() {
    let storage = MemoryStorage::new();
    let mut wf = Notes::builder()
        .session_id("consumer-panics")
        .storage(storage.clone())
        .build()
        .unwrap();
    let unwound = std::panic::catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(async {
            let mut events = wf.run_stream("colour=red".to_string());
            assert_eq!(
                events.next().await.unwrap().unwrap().event,
                RunEvent::WorkflowStarted
            );
            assert_eq!(
                events.next().await.unwrap().unwrap().content_text(),
                "noted colour"
            );
            panic!("the consumer panicked on purpose");
        })
    }));
    assert!(unwound.is_err(), "the consumer's panic went on unwinding");

    let runs = futures::executor::block_on(storage.read_runs("consumer-panics")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed, "not `cancelled`");
    assert!(
        runs[0].error.as_deref().unwrap().contains("panic"),
        "{:?}",
        runs[0].error
    );
    let session = futures::executor::block_on(storage.read_session("consumer-panics"))
        .unwrap()
        .unwrap();
    assert_eq!(session.session_state, serde_json::json!({"colour": "red"}));
}
