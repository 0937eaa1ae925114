//! Durable runs on `MemoryStorage`: every item logged with a gapless seq before anyone sees it,
//! model calls, tool calls and steps journaled, interrupted runs resumed without repeating
//! journaled work or yielding a logged item twice. `interrupt_running_runs()` stands for a
//! process restart; a run "dies" when its stream is forgotten (`std::mem::forget`: nothing
//! more runs, nothing is saved, its record stays `running`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use serde_json::{json, Value};
use weft::durable::answer;
use weft::prelude::*;
use weft::{JournalKind, LoggedEvent, RunRecord, RunStatus, StorageRef};
use weft_testkit::{FakeLlm, Reply};

use crate::drain::drain;
use crate::fixtures::Notes;

/// An agent named `name` on the fake server, without retries, with `tools`.
pub fn agent_on(server: &FakeLlm, name: &str, tools: Vec<FunctionTool>) -> Agent {
    Agent::builder()
        .name(name)
        .model(
            OpenAIChat::new("gpt-4o")
                .base_url(server.openai_base_url())
                .api_key("sk-test"),
        )
        .tools(tools)
        .retries(0)
        .build()
        .unwrap()
}

/// `lookup(id)`: answers `found <id>`, counting its calls.
pub fn lookup(calls: &Arc<AtomicUsize>) -> FunctionTool {
    let calls = Arc::clone(calls);
    FunctionTool::new(
        "lookup",
        "Looks a source up by id.",
        json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        move |args: Value| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ToolError>(format!("found {}", args["id"].as_str().unwrap_or("?")))
            }
        },
    )
}

/// A journaled step, three concurrent reads (the reader cloned into spawned tasks, each
/// calling a tool), then a streamed summary: the shape of the research workflow.
#[workflow]
pub struct Desk {
    #[agent(model = "openai:gpt-4o")]
    pub reader: Agent,
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
    /// How many times the `stamp` step really ran.
    pub step_runs: Arc<AtomicUsize>,
    /// Spawns the reads in the reverse order (as another scheduling would).
    pub reverse: bool,
}

#[workflow]
impl Desk {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            yield RunResponse::step_started("read", format!("Reading about {topic}"));
            let ctx = self.ctx();
            let runs = Arc::clone(&self.step_runs);
            let stamp: u64 = ctx
                .step("stamp", async move { 100 + runs.fetch_add(1, Ordering::SeqCst) as u64 })
                .await?;
            let mut ids = vec!["A", "B", "C"];
            if self.reverse {
                ids.reverse();
            }
            let mut reads = tokio::task::JoinSet::new();
            for id in ids {
                let mut reader = self.reader.clone();
                reads.spawn(async move {
                    reader.run(format!("read {id}")).await.map(|read| read.content_text().to_string())
                });
            }
            let mut notes = Vec::new();
            while let Some(joined) = reads.join_next().await {
                notes.push(joined.map_err(|err| weft::Error::Config(err.to_string()))??);
            }
            notes.sort();
            yield RunResponse::step_completed("read", format!("stamp {stamp}: {}", notes.join(" ")));
            self.session_state.insert("notes", &notes)?;
            for await chunk in self.writer.run_stream(format!("Summarise: {}", notes.join(" "))) {
                yield chunk?;
            }
        }
    }
}

/// Scripts the fake server for one uninterrupted `Desk` run.
fn script_desk(server: &FakeLlm) {
    for id in ["A", "B", "C"] {
        server.route(
            &format!("read {id}"),
            Reply::tool_call("lookup", json!({ "id": id })),
        );
        server.route(
            &format!("found {id}"),
            Reply::text(&format!("{id} is fine.")),
        );
    }
    server.push(Reply::text("All three are fine."));
}

struct Counters {
    tool_calls: Arc<AtomicUsize>,
    step_runs: Arc<AtomicUsize>,
}

fn desk(server: &FakeLlm, storage: &StorageRef, counters: &Counters, reverse: bool) -> Desk {
    Desk::builder()
        .session_id("desk")
        .storage(storage.clone())
        .reader(agent_on(
            server,
            "reader",
            vec![lookup(&counters.tool_calls)],
        ))
        .writer(agent_on(server, "writer", Vec::new()))
        .step_runs(Arc::clone(&counters.step_runs))
        .reverse(reverse)
        .build()
        .unwrap()
}

/// A run's whole log.
pub async fn log_of(storage: &StorageRef, run_id: &str) -> Vec<LoggedEvent> {
    storage.read_events(run_id, 0, usize::MAX).await.unwrap()
}

/// Every seq from 1 on, no gaps; every item's seq is its place.
fn assert_gapless(log: &[LoggedEvent]) {
    for (index, event) in log.iter().enumerate() {
        assert_eq!(event.seq, index as u64 + 1, "{:?}", event.item.event);
        assert_eq!(event.item.seq, Some(event.seq));
    }
}

/// Reads `stream` until `stop` says so, then "kills the process": the stream is forgotten.
async fn run_until(
    mut stream: RunStream<'_>,
    stop: impl Fn(&[RunResponse]) -> bool,
) -> Vec<RunResponse> {
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        seen.push(item.unwrap());
        if stop(&seen) {
            break;
        }
    }
    std::mem::forget(stream);
    seen
}

#[tokio::test]
async fn every_item_is_logged_with_a_gapless_seq_before_the_consumer_sees_it() {
    let server = FakeLlm::start().await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    server.push(Reply::tool_call("lookup", json!({"id": "A"})));
    server.push(Reply::text("A is found."));
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let mut teller = Teller::builder()
        .storage(storage.clone())
        .writer(agent_on(&server, "writer", vec![lookup(&calls)]))
        .build()
        .unwrap();
    let mut events = teller.run_stream("find A".to_string());
    let mut seen = Vec::new();
    while let Some(item) = events.next().await {
        let item = item.unwrap();
        let seq = item.seq.expect("every item of a workflow run has a seq");
        let stored = storage.read_events(&item.run_id, seq - 1, 1).await.unwrap();
        assert_eq!(
            stored.first().map(|event| &event.item),
            Some(&item),
            "item {seq} was in the log before the consumer saw it"
        );
        seen.push(item);
    }
    drop(events);
    let run_id = seen[0].run_id.clone();
    let log = log_of(&storage, &run_id).await;
    assert_gapless(&log);
    let logged: Vec<RunResponse> = log.iter().map(|event| event.item.clone()).collect();
    assert_eq!(logged, seen, "the log holds exactly what the consumer saw");
    let identities: HashSet<&str> = log.iter().map(|event| event.identity.as_str()).collect();
    assert_eq!(identities.len(), log.len(), "identities are unique");
    let events: Vec<RunEvent> = seen.iter().map(|item| item.event).collect();
    assert_eq!(
        events,
        [
            RunEvent::WorkflowStarted,
            RunEvent::RunContent, // "Intro. "
            RunEvent::RunStarted,
            RunEvent::ToolCallStarted,
            RunEvent::ToolCallCompleted,
            RunEvent::RunContent,
            RunEvent::RunContent,
            RunEvent::RunContent,
            RunEvent::RunCompleted,
            RunEvent::WorkflowCompleted,
        ]
    );

    let record = storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.last_seq, log.len() as u64);
    assert_eq!(record.content, "Intro. A is found.");
    assert_eq!(record.content, answer(&seen));
    assert_eq!(
        record.start_state,
        Some(json!({})),
        "the state the run started with"
    );

    // The journal: the two model calls and the tool call, each pointing at logged items.
    let journal = storage.read_journal(&run_id).await.unwrap();
    let kinds: Vec<JournalKind> = journal.iter().map(|entry| entry.kind).collect();
    assert_eq!(
        kinds,
        [
            JournalKind::ModelCall,
            JournalKind::ToolCall,
            JournalKind::ModelCall
        ]
    );
    assert!(
        journal[0].key.starts_with("model:writer:"),
        "{}",
        journal[0].key
    );
    assert!(
        journal[1].key.starts_with("tool:lookup:"),
        "{}",
        journal[1].key
    );
    assert_eq!(journal[1].seqs, [4], "the ToolCallStarted item");
    assert_eq!(journal[2].seqs, [6, 7, 8], "the answer's deltas");
    assert_eq!(journal[1].output["result"], "found A");
}

/// Streams an intro, then the writer's answer.
#[workflow]
pub struct Teller {
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
}

#[workflow]
impl Teller {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            yield RunResponse::text("Intro. ");
            for await chunk in self.writer.run_stream(&topic) {
                yield chunk?;
            }
            self.session_state.insert("told", &topic)?;
        }
    }
}

#[tokio::test]
async fn a_resumed_run_replays_journaled_work_and_runs_only_what_is_left() {
    let server = FakeLlm::start().await.unwrap();
    script_desk(&server);
    let memory = MemoryStorage::new();
    let storage: StorageRef = Arc::new(memory.clone());
    let counters = Counters {
        tool_calls: Arc::new(AtomicUsize::new(0)),
        step_runs: Arc::new(AtomicUsize::new(0)),
    };

    // The first try dies after the reads, before the summary.
    let mut first = desk(&server, &storage, &counters, false);
    let seen = run_until(first.run_stream("databases".to_string()), |seen| {
        seen.last()
            .is_some_and(|item| item.event == RunEvent::StepCompleted)
    })
    .await;
    assert_eq!(server.request_count(), 6, "three reads of two turns each");
    assert_eq!(counters.tool_calls.load(Ordering::SeqCst), 3);
    assert_eq!(counters.step_runs.load(Ordering::SeqCst), 1);
    let run_id = seen[0].run_id.clone();

    // "Restart": the run is interrupted; a new instance (new agents) resumes it, spawning
    // the reads in the other order.
    assert_eq!(
        storage.read_run(&run_id).await.unwrap().unwrap().status,
        RunStatus::Running
    );
    assert_eq!(memory.interrupt_running_runs(), 1);
    let mut second = desk(&server, &storage, &counters, true);
    let interrupted: Vec<String> = second
        .interrupted_runs()
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.run_id)
        .collect();
    assert_eq!(interrupted, std::slice::from_ref(&run_id));
    let (resumed, error) = drain(second.resume(&run_id)).await;
    assert!(error.is_none(), "{error:?}");

    assert_eq!(server.request_count(), 7, "only the summary was asked for");
    assert_eq!(
        counters.tool_calls.load(Ordering::SeqCst),
        3,
        "no tool ran again"
    );
    assert_eq!(
        counters.step_runs.load(Ordering::SeqCst),
        1,
        "the step ran once"
    );
    let bodies: Vec<String> = server
        .requests()
        .iter()
        .map(|request| serde_json::to_string(request.messages()).unwrap())
        .collect();
    let distinct: HashSet<&String> = bodies.iter().collect();
    assert_eq!(distinct.len(), bodies.len(), "no request was sent twice");

    // The resumed stream continues where the first one stopped: nothing seen comes again.
    let last_seen = seen.last().and_then(|item| item.seq).unwrap();
    assert_eq!(resumed[0].seq, Some(last_seen + 1));
    assert_eq!(resumed[0].event, RunEvent::RunStarted, "the writer's call");
    assert!(resumed.iter().all(|item| !matches!(
        item.event,
        RunEvent::WorkflowStarted | RunEvent::StepStarted | RunEvent::StepCompleted
    )));
    let all: Vec<RunResponse> = seen.iter().chain(&resumed).cloned().collect();
    let log = log_of(&storage, &run_id).await;
    assert_gapless(&log);
    let logged: Vec<RunResponse> = log.iter().map(|event| event.item.clone()).collect();
    assert_eq!(
        logged, all,
        "the log is the first try's items, then the resumed ones"
    );
    let identities: HashSet<&str> = log.iter().map(|event| event.identity.as_str()).collect();
    assert_eq!(identities.len(), log.len(), "nothing was logged twice");

    // The same result as an uninterrupted run.
    assert_eq!(answer(&all), "All three are fine.");
    assert_eq!(
        seen.last().unwrap().content_text(),
        "",
        "progress is not part of the answer"
    );
    assert_eq!(
        seen.last().unwrap().content.as_text(),
        "stamp 100: A is fine. B is fine. C is fine."
    );
    let record = storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.content, "All three are fine.");
    assert_eq!(record.last_seq, log.len() as u64);
    assert_eq!(record.input, json!("databases"));
    let notes = ["A is fine.", "B is fine.", "C is fine."];
    assert_eq!(
        second.session_state.get::<Vec<String>>("notes").unwrap(),
        notes
    );
    let stored = storage.read_session("desk").await.unwrap().unwrap();
    assert_eq!(stored.session_state["notes"], json!(notes));
    assert_eq!(
        record.metrics.model_calls, 7,
        "journaled calls count as the interrupted run made them"
    );
    assert!(second.interrupted_runs().await.unwrap().is_empty());

    // An uninterrupted run of the same script ends the same way.
    let fresh_server = FakeLlm::start().await.unwrap();
    script_desk(&fresh_server);
    let fresh_storage: StorageRef = Arc::new(MemoryStorage::new());
    let fresh_counters = Counters {
        tool_calls: Arc::new(AtomicUsize::new(0)),
        step_runs: Arc::new(AtomicUsize::new(0)),
    };
    let mut fresh = desk(&fresh_server, &fresh_storage, &fresh_counters, false);
    let (items, error) = drain(fresh.run_stream("databases".to_string())).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(answer(&items), answer(&all));
    let fresh_record = fresh_storage
        .read_runs("desk")
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(fresh_record.content, record.content);
    assert_eq!(fresh.session_state, second.session_state);
    assert_eq!(fresh_server.request_count(), 7);
}

#[tokio::test]
async fn text_of_a_call_the_crash_cut_short_is_withdrawn_and_the_answer_stays_whole() {
    let server = FakeLlm::start().await.unwrap();
    // The first try's call stalls after two words; the resumed run asks again.
    server.push(Reply::text("one two three four").stall_after(2));
    server.push(Reply::text("one two three four"));
    let memory = MemoryStorage::new();
    let teller = |server: &FakeLlm| {
        Teller::builder()
            .session_id("teller")
            .storage(memory.clone())
            .writer(agent_on(server, "writer", Vec::new()))
            .build()
            .unwrap()
    };
    let mut first = teller(&server);
    let seen = run_until(first.run_stream("count".to_string()), |seen| {
        agent_deltas(seen) == 2
    })
    .await;
    let text: String = seen.iter().map(RunResponse::content_text).collect();
    assert_eq!(
        text, "Intro. one two ",
        "what the client saw before the crash"
    );
    let run_id = seen[0].run_id.clone();
    let first_delta = seen
        .iter()
        .find(|item| item.content_text() == "one ")
        .and_then(|item| item.seq)
        .unwrap();

    assert_eq!(memory.interrupt_running_runs(), 1);
    let mut second = teller(&server);
    let (resumed, error) = drain(second.resume(&run_id)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(resumed[0].event, RunEvent::ContentDiscarded);
    assert_eq!(
        resumed[0].content,
        Content::Json(json!({ "from_seq": first_delta }))
    );
    assert_eq!(resumed[0].seq, Some(seen.last().unwrap().seq.unwrap() + 1));
    assert_eq!(
        resumed
            .iter()
            .filter(|item| item.event == RunEvent::RunStarted)
            .count(),
        0,
        "the agent call's start was logged by the first try"
    );
    let all: Vec<RunResponse> = seen.iter().chain(&resumed).cloned().collect();
    assert_eq!(answer(&all), "Intro. one two three four");
    assert_eq!(server.request_count(), 2);

    let record = memory.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.content, "Intro. one two three four");
    let completed = resumed.last().unwrap();
    assert_eq!(completed.event, RunEvent::WorkflowCompleted);
    assert_eq!(completed.content.as_text(), "Intro. one two three four");
    let log = memory.read_events(&run_id, 0, usize::MAX).await.unwrap();
    assert_gapless(&log);
    let logged: Vec<RunResponse> = log.iter().map(|event| event.item.clone()).collect();
    assert_eq!(logged, all);
    assert_eq!(answer(&logged), record.content);
    assert_eq!(
        second.session_state.get::<String>("told").as_deref(),
        Some("count")
    );

    // A client that reconnects with its last seq gets the rest, and the same answer.
    let stored: weft::StorageRef = Arc::new(memory.clone());
    let rest = stored
        .read_events(&run_id, seen.last().unwrap().seq.unwrap(), usize::MAX)
        .await
        .unwrap();
    let rest: Vec<RunResponse> = rest.into_iter().map(|event| event.item).collect();
    assert_eq!(rest, resumed);
}

#[tokio::test]
async fn only_an_interrupted_run_of_the_same_workflow_can_be_resumed() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Done."));
    let memory = MemoryStorage::new();
    let mut teller = Teller::builder()
        .session_id("s")
        .storage(memory.clone())
        .writer(agent_on(&server, "writer", Vec::new()))
        .build()
        .unwrap();
    let (items, _) = drain(teller.run_stream("x".to_string())).await;
    let completed = items[0].run_id.clone();

    let reason = |error: Option<weft::Error>| match error {
        Some(weft::Error::NotResumable { reason, .. }) => reason,
        other => panic!("expected NotResumable, got {other:?}"),
    };
    let (items, error) = drain(teller.resume(&completed)).await;
    assert!(reason(error).contains("it is completed"));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].event, RunEvent::RunError);
    assert_eq!(items[0].seq, None, "nothing is logged for a refused resume");
    let (_, error) = drain(teller.resume("no-such-run")).await;
    assert!(reason(error).contains("no run with this id"));

    let mut other = Notes::builder().storage(memory.clone()).build().unwrap();
    let (_, error) = drain(other.resume(&completed)).await;
    assert!(reason(error).contains("workflow `Teller`"));
    assert_eq!(
        memory
            .read_events(&completed, 0, usize::MAX)
            .await
            .unwrap()
            .len(),
        items_len_of_completed(&memory, &completed).await,
        "the refused resumes logged nothing"
    );
    let record = memory.read_run(&completed).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
}

/// A run that can never be resumed (no start state, an input that no longer fits) is
/// recorded `failed` with why, once, by the worker that claimed it: no worker tries it again.
#[tokio::test]
async fn a_run_that_can_never_be_resumed_is_recorded_failed() {
    let memory = MemoryStorage::new();
    memory
        .put_run(interrupted_run("old", json!("x"), None))
        .await
        .unwrap();
    memory
        .put_run(interrupted_run("mistyped", json!(42), Some(json!({}))))
        .await
        .unwrap();
    let mut teller = Teller::builder()
        .session_id("s")
        .storage(memory.clone())
        .build()
        .unwrap();
    for (run_id, why) in [
        ("old", "kept no start state"),
        ("mistyped", "input no longer fits"),
    ] {
        let (_, error) = drain(teller.resume(run_id)).await;
        match error {
            Some(weft::Error::NotResumable { reason, .. }) => {
                assert!(reason.contains(why), "{run_id}: {reason}")
            }
            other => panic!("{run_id}: expected NotResumable, got {other:?}"),
        }
        let record = memory.read_run(run_id).await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Failed, "{run_id}");
        assert!(
            record
                .error
                .as_deref()
                .is_some_and(|error| error.contains("cannot be resumed") && error.contains(why)),
            "{run_id}: {:?}",
            record.error
        );
    }
    assert!(
        memory.interrupted_runs(None).await.unwrap().is_empty(),
        "no worker tries them again"
    );
}

/// A resume that fails after it claimed the run (here: the stored session cannot be read
/// into the workflow's state) lets the claim go, so the run can be resumed once the cause is
/// fixed, in this process too (an in-process store's claims never lapse by themselves).
#[tokio::test]
async fn a_resume_that_fails_after_its_claim_lets_the_claim_go() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Done."));
    let memory = MemoryStorage::new();
    let broken = weft::WorkflowSession {
        session_id: "s".into(),
        workflow_id: "Teller".into(),
        workflow_name: "Teller".into(),
        session_name: None,
        user_id: None,
        session_state: json!("not a state"),
        version: 0,
        created_at: 1,
        updated_at: 1,
    };
    let stored = memory.upsert_session(broken).await.unwrap();
    memory
        .put_run(interrupted_run("r", json!("looms"), Some(json!({}))))
        .await
        .unwrap();
    let teller = || {
        Teller::builder()
            .session_id("s")
            .storage(memory.clone())
            .writer(agent_on(&server, "writer", Vec::new()))
            .build()
            .unwrap()
    };
    let (_, error) = drain(teller().resume("r")).await;
    assert!(error.is_some(), "the broken session stops the resume");
    assert_eq!(
        memory.read_run("r").await.unwrap().unwrap().status,
        RunStatus::Interrupted,
        "left to be resumed"
    );

    let mut fixed = stored;
    fixed.session_state = json!({});
    memory.upsert_session(fixed).await.unwrap();
    let (items, error) = drain(teller().resume("r")).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(answer(&items), "Intro. Done.");
    assert_eq!(
        memory.read_run("r").await.unwrap().unwrap().status,
        RunStatus::Completed
    );
}

/// A `Teller` run of session `s` left `interrupted`, with this input and start state.
fn interrupted_run(run_id: &str, input: Value, start_state: Option<Value>) -> RunRecord {
    RunRecord {
        run_id: run_id.into(),
        session_id: "s".into(),
        workflow_id: "Teller".into(),
        input,
        status: RunStatus::Interrupted,
        content: String::new(),
        last_seq: 0,
        start_state,
        metrics: Default::default(),
        error: None,
        created_at: 1,
        updated_at: 1,
        fence: 0,
        pause: None,
    }
}

async fn items_len_of_completed(memory: &MemoryStorage, run_id: &str) -> usize {
    let record = memory.read_run(run_id).await.unwrap().unwrap();
    usize::try_from(record.last_seq).unwrap()
}

/// Steps, some failing, and a state change.
#[workflow]
pub struct Steps {
    /// How many times each step's work really ran.
    pub runs: Arc<AtomicUsize>,
}

#[workflow]
impl Steps {
    fn run(&mut self, to: String) -> RunStream<'_> {
        try_stream! {
            let ctx = self.ctx();
            assert_eq!(ctx.run_id(), self.run_id.as_deref());
            let runs = Arc::clone(&self.runs);
            let failed: Result<u32, weft::Error> = ctx
                .try_step("flaky", async { Err(weft::Error::Config("not yet".into())) })
                .await;
            assert!(failed.is_err());
            let id: u32 = ctx
                .try_step("flaky", async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, weft::Error>(7)
                })
                .await?;
            // Steps work from spawned tasks too: the context is owned.
            let task_ctx = ctx.clone();
            let runs = Arc::clone(&self.runs);
            let receipt = tokio::spawn(async move {
                task_ctx
                    .step("send", async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        format!("receipt {id}")
                    })
                    .await
            })
            .await
            .map_err(|err| weft::Error::Config(err.to_string()))??;
            yield RunResponse::text(format!("{receipt} to {to}"));
        }
    }
}

#[tokio::test]
async fn steps_are_journaled_and_a_resumed_run_gets_their_output_back() {
    let memory = MemoryStorage::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let steps = || {
        Steps::builder()
            .session_id("steps")
            .storage(memory.clone())
            .runs(Arc::clone(&runs))
            .build()
            .unwrap()
    };
    let mut first = steps();
    // Outside a run, a step just runs.
    let outside = first.ctx();
    assert_eq!(outside.run_id(), None);
    assert_eq!(outside.step("free", async { 3 }).await.unwrap(), 3);

    let seen = run_until(first.run_stream("ada".to_string()), |seen| {
        seen.last()
            .is_some_and(|item| item.event == RunEvent::RunContent)
    })
    .await;
    assert_eq!(seen.last().unwrap().content_text(), "receipt 7 to ada");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let run_id = seen[0].run_id.clone();
    let journal = memory.read_journal(&run_id).await.unwrap();
    let keys: Vec<&str> = journal.iter().map(|entry| entry.key.as_str()).collect();
    assert_eq!(
        keys,
        ["step:flaky:1", "step:send:0"],
        "a failed step is not journaled"
    );
    assert!(journal.iter().all(|entry| entry.kind == JournalKind::Step));
    assert_eq!(journal[1].output, json!("receipt 7"));

    memory.interrupt_running_runs();
    let mut second = steps();
    let (resumed, error) = drain(second.resume(&run_id)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 2, "no step ran again");
    let events: Vec<RunEvent> = resumed.iter().map(|item| item.event).collect();
    assert_eq!(
        events,
        [RunEvent::WorkflowCompleted],
        "the text was logged by the first try"
    );
    let record = memory.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.content.as_str()),
        (RunStatus::Completed, "receipt 7 to ada")
    );
}

/// The research example (search, three concurrent reads in spawned tasks, streamed summary)
/// against the fake LLM and the fixture web, interrupted in the middle of its summary.
#[tokio::test]
async fn the_research_workflow_resumes_mid_summary_without_searching_or_reading_again() {
    use weft_examples::research::ResearchWorkflow;
    use weft_testkit::fixtures;

    let web = FakeLlm::start().await.unwrap();
    fixtures::serve_research_web(&web);
    let llm = FakeLlm::start().await.unwrap();
    fixtures::route_research_llm(&llm);
    let summary = "Embedded databases run in-process [Article 0](x).";
    // Asked twice: the first try dies before the summary's call completes.
    llm.route("Notes on 3 sources", Reply::text(summary));
    llm.route("Notes on 3 sources", Reply::text(summary));

    let memory = MemoryStorage::new();
    let (search, articles) = weft_examples::research::fixture_web_tools(&web);
    let research = || {
        let model: weft::ModelRef = Arc::new(
            OpenAIChat::new("gpt-4o")
                .base_url(llm.openai_base_url())
                .api_key("sk-test"),
        );
        ResearchWorkflow::builder()
            .session_id("research")
            .storage(memory.clone())
            .model(Some(model))
            .search(search.clone())
            .articles(articles.clone())
            .build()
            .unwrap()
    };
    let mut first = research();
    let seen = run_until(first.run_stream("embedded databases".to_string()), |seen| {
        seen.last()
            .is_some_and(|item| item.event == RunEvent::RunContent)
    })
    .await;
    assert_eq!(llm.request_count(), 9, "search, three reads, the summary");
    assert_eq!(web.page_requests().len(), 4);
    let run_id = seen[0].run_id.clone();

    memory.interrupt_running_runs();
    let mut second = research();
    let (resumed, error) = drain(second.resume(&run_id)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        llm.request_count(),
        10,
        "only the summary, which never completed, is asked again"
    );
    assert_eq!(web.page_requests().len(), 4, "no page fetched again");
    assert_eq!(resumed[0].event, RunEvent::ContentDiscarded);
    let all: Vec<RunResponse> = seen.iter().chain(&resumed).cloned().collect();
    assert_eq!(answer(&all), summary);
    let record = memory.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.content.as_str()),
        (RunStatus::Completed, summary)
    );
    assert_eq!(second.session_state.articles.len(), 3);
    assert_eq!(second.session_state.searches["embedded databases"].len(), 3);
    let log = memory.read_events(&run_id, 0, usize::MAX).await.unwrap();
    assert_gapless(&log);
}

#[tokio::test]
async fn a_run_resumed_on_sled_continues_above_the_seq_reservation() {
    // sled's default `EveryStep` keeps streamed items only as far as its flushes, so what a
    // client was shown is covered by a durable seq reservation: a resumed run continues
    // above it, so no seq a client saw ever names another item, even if a crash lost it.
    let dir = std::env::temp_dir().join(format!(
        "weft-reservation-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let sled = weft::SledStorage::open(dir.join("db")).unwrap();
    let storage: StorageRef = Arc::new(sled);
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("one two three four").stall_after(2));
    server.push(Reply::text("one two three four"));
    let teller = |server: &FakeLlm| {
        Teller::builder()
            .session_id("teller")
            .storage(Arc::clone(&storage))
            .writer(agent_on(server, "writer", Vec::new()))
            .build()
            .unwrap()
    };
    let mut first = teller(&server);
    let seen = run_until(first.run_stream("count".to_string()), |seen| {
        agent_deltas(seen) == 2
    })
    .await;
    let run_id = seen[0].run_id.clone();
    let last_seen = seen.last().unwrap().seq.unwrap();
    let first_delta = seen
        .iter()
        .find(|item| item.content_text() == "one ")
        .and_then(|item| item.seq)
        .unwrap();
    let head = storage.log_head(&run_id).await.unwrap();
    assert_eq!(
        head,
        weft::LogHead {
            last_seq: last_seen,
            reserved_seq: 64
        },
        "the first item reserved a block of 64 seqs"
    );

    // The process "dies" (this one keeps its sled handle: the run is marked by hand).
    let mut record = storage.read_run(&run_id).await.unwrap().unwrap();
    record.status = RunStatus::Interrupted;
    storage.put_run(record).await.unwrap();
    let second = teller(&server);
    let handle = second.start_resume(&run_id).await.unwrap();
    let rest: Vec<RunResponse> = handle
        .events(last_seen)
        .map(|item| item.unwrap())
        .collect()
        .await;
    let record = handle.wait().await.unwrap();
    assert_eq!(rest[0].event, RunEvent::ContentDiscarded);
    assert_eq!(rest[0].seq, Some(65), "right above the reservation");
    assert_eq!(
        rest[0].content,
        Content::Json(json!({ "from_seq": first_delta })),
        "the text of the call the crash cut short"
    );
    let all: Vec<RunResponse> = seen.iter().chain(&rest).cloned().collect();
    assert_eq!(answer(&all), "Intro. one two three four");
    assert_eq!(record.content, "Intro. one two three four");
    assert_eq!(record.status, RunStatus::Completed);
    let log = log_of(&storage, &run_id).await;
    let seqs: Vec<u64> = log.iter().map(|event| event.seq).collect();
    let expected: Vec<u64> = (1..=last_seen).chain(65..=record.last_seq).collect();
    assert_eq!(seqs, expected, "one jump, across the crash");
    let logged: Vec<RunResponse> = log.iter().map(|event| event.item.clone()).collect();
    assert_eq!(logged, all);
    assert_eq!(server.request_count(), 2);
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
}

/// How many of `seen` are an agent's text deltas (not the workflow's own text).
fn agent_deltas(seen: &[RunResponse]) -> usize {
    seen.iter()
        .filter(|item| item.event == RunEvent::RunContent && item.agent_name.is_some())
        .count()
}
