//! Run handles: `start` returns at once, any number of clients follow `events(after_seq)`
//! (stored items, then live ones), `cancel` ends the run `cancelled` with its state saved,
//! `wait` gives the record, and dropping the handle does not stop the run.

use std::sync::Arc;

use futures::StreamExt;
use weft::durable::answer;
use weft::prelude::*;
use weft::{RunHandle, RunStatus, StorageRef};
use weft_testkit::{FakeLlm, Reply};

use crate::durable::{agent_on, Teller};

/// Yields a line, then waits for `gate`, then yields another.
#[workflow]
pub struct Gated {
    pub gate: Arc<tokio::sync::Notify>,
}

#[workflow]
impl Gated {
    fn run(&mut self, name: String) -> RunStream<'_> {
        try_stream! {
            self.session_state.insert("started", &name)?;
            yield RunResponse::text(format!("Hello {name}. "));
            self.gate.notified().await;
            self.session_state.insert("finished", true)?;
            yield RunResponse::text("Bye.");
        }
    }
}

fn gated(storage: &StorageRef, gate: &Arc<tokio::sync::Notify>) -> Gated {
    Gated::builder()
        .session_id("gated")
        .storage(storage.clone())
        .gate(Arc::clone(gate))
        .build()
        .unwrap()
}

async fn collect(mut events: RunStream<'static>) -> Vec<RunResponse> {
    let mut items = Vec::new();
    while let Some(item) = events.next().await {
        items.push(item.unwrap());
    }
    items
}

#[tokio::test]
async fn a_handle_and_its_futures_can_go_to_other_tasks() {
    fn check<T: Send + Sync + 'static + Clone>() {}
    fn send<T: Send>(value: T) -> T {
        value
    }
    check::<RunHandle>();
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    gate.notify_one();
    let handle = gated(&storage, &gate).start("Di".to_string());
    let waiter = handle.clone();
    let waited = tokio::spawn(async move { send(waiter.wait()).await });
    let items = tokio::spawn(collect(handle.events(0))).await.unwrap();
    let record = waited.await.unwrap().unwrap();
    assert_eq!(answer(&items), record.content);
    let resumed = send(gated(&storage, &gate).start_resume("none"));
    assert!(matches!(
        resumed.await,
        Err(weft::Error::NotResumable { .. })
    ));
}

#[tokio::test]
async fn many_clients_follow_one_run_from_any_seq_and_wait_for_its_record() {
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    let handle = gated(&storage, &gate).start("Ada".to_string());
    let run_id = handle.run_id().to_string();

    // Two clients from the start, one picking up after the first item.
    let mut early = handle.events(0);
    let first = early.next().await.unwrap().unwrap();
    assert_eq!(
        (first.event, first.seq),
        (RunEvent::WorkflowStarted, Some(1))
    );
    assert_eq!(first.run_id, run_id);
    let hello = early.next().await.unwrap().unwrap();
    assert_eq!(hello.content_text(), "Hello Ada. ");
    // The run waits at the gate: a client arriving now gets the stored items, then live ones.
    let late = handle.events(0);
    let resumed = handle.events(1);
    gate.notify_one();
    let rest_early = collect(early).await;
    let late = collect(late).await;
    let resumed = collect(resumed).await;
    let record = handle.wait().await.unwrap();

    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.run_id, run_id);
    assert_eq!(record.content, "Hello Ada. Bye.");
    let mut all = vec![first, hello];
    all.extend(rest_early);
    assert_eq!(late, all, "every client sees the same items");
    assert_eq!(
        resumed,
        all[1..],
        "a client with a cursor sees what follows it"
    );
    assert_eq!(answer(&all), record.content);
    assert_eq!(all.last().unwrap().event, RunEvent::WorkflowCompleted);
    assert_eq!(record.last_seq, all.len() as u64);
    assert!(handle.is_finished());
    assert_eq!(handle.last_seq(), record.last_seq);
    // After the end: the whole log, and every waiter gets the record.
    assert_eq!(collect(handle.events(0)).await, all);
    assert_eq!(handle.clone().wait().await.unwrap(), record);
}

#[tokio::test]
async fn cancel_ends_the_run_cancelled_with_its_state_saved() {
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    let handle = gated(&storage, &gate).start("Bo".to_string());
    let mut events = handle.events(0);
    while let Some(item) = events.next().await {
        if item.unwrap().content_text() == "Hello Bo. " {
            break;
        }
    }
    handle.cancel();
    match handle.wait().await {
        Err(weft::Error::Cancelled) => {}
        other => panic!("expected Error::Cancelled, got {other:?}"),
    }
    assert!(
        matches!(handle.wait().await, Err(weft::Error::Cancelled)),
        "every waiter"
    );
    assert!(
        events.next().await.is_none(),
        "the stream ends after the last item"
    );
    let record = storage.read_run(handle.run_id()).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Cancelled);
    assert_eq!(record.content, "Hello Bo. ");
    let session = storage.read_session("gated").await.unwrap().unwrap();
    assert_eq!(session.session_state["started"], "Bo", "state saved");
    assert!(session.session_state.get("finished").is_none());
}

#[tokio::test]
async fn dropping_the_handle_does_not_stop_the_run() {
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    let handle = gated(&storage, &gate).start("Cy".to_string());
    let run_id = handle.run_id().to_string();
    let events = handle.events(0);
    drop(handle);
    gate.notify_one();
    let items = collect(events).await;
    assert_eq!(answer(&items), "Hello Cy. Bye.");
    let record = storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
}

#[tokio::test]
async fn start_resume_picks_an_interrupted_run_up_in_the_background() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("one two three").stall_after(1));
    server.push(Reply::text("one two three"));
    let memory = MemoryStorage::new();
    let teller = |server: &FakeLlm| {
        Teller::builder()
            .session_id("bg")
            .storage(memory.clone())
            .writer(agent_on(server, "writer", Vec::new()))
            .build()
            .unwrap()
    };
    // The client saw the intro and one word, then the process died.
    let mut first = teller(&server);
    let mut stream = first.run_stream("count".to_string());
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        let item = item.unwrap();
        let done = item.content_text() == "one ";
        seen.push(item);
        if done {
            break;
        }
    }
    std::mem::forget(stream);
    let run_id = seen[0].run_id.clone();
    memory.interrupt_running_runs();

    // Resuming something that cannot be: an error, no handle.
    match teller(&server).start_resume("nope").await {
        Err(weft::Error::NotResumable { run_id, .. }) => assert_eq!(run_id, "nope"),
        other => panic!("expected NotResumable, got {other:?}"),
    }
    let handle = teller(&server).start_resume(&run_id).await.unwrap();
    assert_eq!(handle.run_id(), run_id);
    // The client reconnects with the last seq it has.
    let rest = collect(handle.events(seen.last().unwrap().seq.unwrap())).await;
    let record = handle.wait().await.unwrap();
    assert_eq!(rest[0].event, RunEvent::ContentDiscarded);
    let all: Vec<RunResponse> = seen.into_iter().chain(rest).collect();
    assert_eq!(answer(&all), "Intro. one two three");
    assert_eq!(record.content, "Intro. one two three");
    assert_eq!(record.status, RunStatus::Completed);
}

#[tokio::test]
async fn a_run_that_fails_gives_its_error_to_every_waiter() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::status(400));
    let memory = MemoryStorage::new();
    let handle = Teller::builder()
        .storage(memory.clone())
        .writer(agent_on(&server, "writer", Vec::new()))
        .build()
        .unwrap()
        .start("x".to_string());
    for _ in 0..2 {
        match handle.wait().await {
            Err(weft::Error::Provider { status: 400, .. }) => {}
            other => panic!("expected the provider's error, got {other:?}"),
        }
    }
    let items = collect_lossy(handle.events(0)).await;
    assert_eq!(items.last().unwrap().event, RunEvent::RunError, "logged");
    let record = memory.read_run(handle.run_id()).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Failed);
}

async fn collect_lossy(mut events: RunStream<'static>) -> Vec<RunResponse> {
    let mut items = Vec::new();
    while let Some(Ok(item)) = events.next().await {
        items.push(item);
    }
    items
}
