//! Pauses for a person: `ctx.interrupt` records a pause (status `paused`, a `RunPaused` item
//! with the question and the answer's schema) and ends the live run; `continue_run` checks
//! the answer, journals it and resumes the run through the journal: no model call, tool call
//! or step done before the pause is done again, and the session keeps every change (Agno
//! #8901 lost state on continue). Tool calls that need approval pause the same way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use weft::durable::answer;
use weft::prelude::*;
use weft::{JournalKind, Pause, RunStatus, StorageRef};
use weft_testkit::{FakeLlm, Reply};

use crate::drain::drain;
use crate::durable::{agent_on, log_of};

/// The answer the `approve` and `round` interrupts take.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Go on?
    pub ok: bool,
    /// A note.
    #[serde(default)]
    pub note: String,
}

/// A draft (a model call), a journaled step, the interrupt `approve` (asked from a spawned
/// task when `spawned`), `rounds` interrupts `round` in a loop, then another step.
#[workflow]
pub struct Gate {
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
    /// How many times each step really ran.
    pub step_runs: Arc<AtomicUsize>,
    /// How many `round` interrupts follow `approve`.
    pub rounds: u32,
    /// Ask `approve` from a spawned task.
    pub spawned: bool,
}

#[workflow]
impl Gate {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            for await item in self.writer.run_stream(format!("Draft {topic}")) {
                yield item?;
            }
            let draft = self.writer.last_response().content_text().to_string();
            let ctx = self.ctx();
            let runs = Arc::clone(&self.step_runs);
            ctx.step("before", async move { runs.fetch_add(1, Ordering::SeqCst) }).await?;
            self.session_state.insert("before", true)?;
            let question = json!({ "draft": draft });
            let verdict: Verdict = if self.spawned {
                let asker = ctx.clone();
                tokio::spawn(async move { asker.interrupt::<_, Verdict>("approve", question).await })
                    .await
                    .map_err(|err| weft::Error::Config(err.to_string()))??
            } else {
                ctx.interrupt("approve", question).await?
            };
            yield RunResponse::text(format!(" approved={}", verdict.ok));
            for round in 0..self.rounds {
                let next: Verdict = ctx.interrupt("round", json!({ "round": round })).await?;
                yield RunResponse::text(format!(" round{round}={}", next.note));
            }
            let runs = Arc::clone(&self.step_runs);
            ctx.step("after", async move { runs.fetch_add(1, Ordering::SeqCst) }).await?;
            self.session_state.insert("after", verdict.ok)?;
        }
    }
}

struct Setup {
    llm: FakeLlm,
    storage: StorageRef,
    step_runs: Arc<AtomicUsize>,
}

impl Setup {
    async fn new() -> Setup {
        let llm = FakeLlm::start().await.unwrap();
        llm.push(Reply::text("The draft."));
        Setup {
            llm,
            storage: Arc::new(MemoryStorage::new()),
            step_runs: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn gate(&self, rounds: u32, spawned: bool) -> Gate {
        Gate::builder()
            .session_id("gate")
            .storage(self.storage.clone())
            .writer(agent_on(&self.llm, "writer", Vec::new()))
            .step_runs(Arc::clone(&self.step_runs))
            .rounds(rounds)
            .spawned(spawned)
            .build()
            .unwrap()
    }
}

/// The pause a run's items ended with: the last item is `RunPaused` and nothing failed.
fn paused_at(items: &[RunResponse], error: Option<weft::Error>) -> Pause {
    assert!(error.is_none(), "a pause is not an error: {error:?}");
    let last = items.last().expect("the run yielded items");
    assert_eq!(last.event, RunEvent::RunPaused, "{items:#?}");
    last.pause
        .clone()
        .expect("a RunPaused item carries its pause")
}

/// Runs `gate` on `topic` to its first pause: the run's id and the pause.
async fn pause_run(gate: &mut Gate, topic: &str) -> (String, Pause) {
    let (items, error) = drain(gate.run_stream(topic.to_string())).await;
    let pause = paused_at(&items, error);
    (items[0].run_id.clone(), pause)
}

async fn status_of(storage: &StorageRef, run_id: &str) -> RunStatus {
    storage.read_run(run_id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_run_pauses_at_an_interrupt_and_continues_without_redoing_anything() {
    let setup = Setup::new().await;
    let mut gate = setup.gate(0, false);
    let (items, error) = drain(gate.run_stream("sled".into())).await;
    let pause = paused_at(&items, error);
    let run_id = items[0].run_id.clone();
    assert_eq!(pause.name, "approve");
    assert_eq!(pause.key, "interrupt:approve:0");
    assert_eq!(pause.question, json!({"draft": "The draft."}));
    assert_eq!(
        pause.answer_schema["properties"]["ok"]["type"],
        json!("boolean"),
        "the answer's schema is Verdict's: {}",
        pause.answer_schema
    );
    assert_eq!(
        items.last().unwrap().content,
        Content::Json(pause.question.clone())
    );

    let record = setup.storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Paused);
    assert_eq!(record.pause.as_ref(), Some(&pause));
    let stored = setup.storage.read_session("gate").await.unwrap().unwrap();
    assert_eq!(
        (stored.session_state, stored.version),
        (json!({}), 1),
        "a new session is stored as the run found it: none of the paused run's changes"
    );
    assert!(
        gate.session_state.get::<bool>("before").is_none(),
        "the instance's state is back to the run's start"
    );
    assert_eq!(
        (
            setup.llm.request_count(),
            setup.step_runs.load(Ordering::SeqCst)
        ),
        (1, 1)
    );

    let (more, error) = drain(gate.continue_run(&run_id, json!({"ok": true}))).await;
    assert!(error.is_none(), "{error:?}");
    let events: Vec<RunEvent> = more.iter().map(|item| item.event).collect();
    assert_eq!(
        events,
        [RunEvent::RunContent, RunEvent::WorkflowCompleted],
        "only what the run did after the pause: {more:#?}"
    );
    assert!(more.iter().all(|item| item.run_id == run_id));
    assert_eq!(
        (
            setup.llm.request_count(),
            setup.step_runs.load(Ordering::SeqCst)
        ),
        (1, 2),
        "the draft is not asked again, the step before the pause does not run again"
    );
    let session = setup.storage.read_session("gate").await.unwrap().unwrap();
    assert_eq!(
        session.session_state,
        json!({"before": true, "after": true}),
        "the changes before and after the pause are both saved"
    );
    let record = setup.storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!((record.status, record.pause), (RunStatus::Completed, None));
    assert_eq!(record.content, "The draft. approved=true");

    let log = log_of(&setup.storage, &run_id).await;
    let seqs: Vec<u64> = log.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>(), "gapless");
    let all: Vec<RunResponse> = log.into_iter().map(|event| event.item).collect();
    assert_eq!(
        all.iter()
            .filter(|item| item.event == RunEvent::RunPaused)
            .count(),
        1
    );
    assert_eq!(answer(&all), "The draft. approved=true");
    let journal = setup.storage.read_journal(&run_id).await.unwrap();
    let answered = journal
        .iter()
        .find(|entry| entry.key == "interrupt:approve:0")
        .expect("the answer is journaled");
    assert_eq!(answered.kind, JournalKind::Interrupt);
    assert_eq!(answered.output, json!({"ok": true}));
}

#[tokio::test]
async fn a_wrong_answer_or_a_run_that_is_not_paused_is_refused_and_changes_nothing() {
    let setup = Setup::new().await;
    let mut gate = setup.gate(0, false);
    let (run_id, _) = pause_run(&mut gate, "sled").await;
    let journal = setup.storage.read_journal(&run_id).await.unwrap();

    let (_, error) = drain(gate.continue_run(&run_id, json!({"ok": "yes"}))).await;
    let error = error.expect("an answer that does not fit is refused");
    assert!(
        matches!(&error, weft::Error::InvalidAnswer { interrupt, .. } if interrupt == "approve"),
        "{error}"
    );
    assert!(
        error.to_string().contains("/ok"),
        "names the field: {error}"
    );
    let (_, error) = drain(gate.continue_run(&run_id, json!({"note": "no ok"}))).await;
    assert!(matches!(error, Some(weft::Error::InvalidAnswer { .. })));
    assert_eq!(status_of(&setup.storage, &run_id).await, RunStatus::Paused);
    assert_eq!(
        setup.storage.read_journal(&run_id).await.unwrap(),
        journal,
        "nothing written"
    );

    let (_, error) = drain(gate.resume(&run_id)).await;
    assert!(
        matches!(&error, Some(weft::Error::NotResumable { reason, .. }) if reason.contains("continue_run")),
        "a paused run is continued, not resumed: {error:?}"
    );
    let (_, error) = drain(gate.continue_run("no-such-run", json!({"ok": true}))).await;
    assert!(
        matches!(error, Some(weft::Error::NotPaused { .. })),
        "{error:?}"
    );

    let (_, error) = drain(gate.continue_run(&run_id, json!({"ok": false}))).await;
    assert!(error.is_none(), "{error:?}");
    let (_, error) = drain(gate.continue_run(&run_id, json!({"ok": true}))).await;
    assert!(
        matches!(&error, Some(weft::Error::NotPaused { status, .. }) if status == "completed"),
        "{error:?}"
    );
    let session = setup.storage.read_session("gate").await.unwrap().unwrap();
    assert_eq!(session.session_state["after"], json!(false));
}

#[tokio::test]
async fn several_interrupts_and_an_interrupt_in_a_loop_each_pause_once() {
    let setup = Setup::new().await;
    let mut gate = setup.gate(3, false);
    let (run_id, mut pause) = pause_run(&mut gate, "loops").await;
    let mut asked = Vec::new();
    let mut notes = vec!["a", "b", "c"].into_iter();
    loop {
        asked.push((pause.key.clone(), pause.question.clone()));
        let reply = if pause.name == "approve" {
            json!({"ok": true})
        } else {
            json!({"ok": true, "note": notes.next().unwrap()})
        };
        let (more, error) = drain(gate.continue_run(&run_id, reply)).await;
        assert!(error.is_none(), "{error:?}");
        if more.last().map(|item| item.event) == Some(RunEvent::WorkflowCompleted) {
            break;
        }
        pause = paused_at(&more, None);
        assert_eq!(status_of(&setup.storage, &run_id).await, RunStatus::Paused);
    }
    assert_eq!(
        asked,
        [
            (
                "interrupt:approve:0".to_string(),
                json!({"draft": "The draft."})
            ),
            ("interrupt:round:0".to_string(), json!({"round": 0})),
            ("interrupt:round:1".to_string(), json!({"round": 1})),
            ("interrupt:round:2".to_string(), json!({"round": 2})),
        ],
        "each interrupt asked once, in order"
    );
    assert_eq!(
        (
            setup.llm.request_count(),
            setup.step_runs.load(Ordering::SeqCst)
        ),
        (1, 2),
        "four continues, one model call, each step once"
    );
    let record = setup.storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(
        record.content,
        "The draft. approved=true round0=a round1=b round2=c"
    );
    let log = log_of(&setup.storage, &run_id).await;
    let items: Vec<RunResponse> = log.into_iter().map(|event| event.item).collect();
    assert_eq!(
        items
            .iter()
            .filter(|item| item.event == RunEvent::RunPaused)
            .count(),
        4
    );
    assert_eq!(answer(&items), record.content);
}

#[tokio::test]
async fn an_interrupt_in_a_spawned_task_pauses_the_run() {
    let setup = Setup::new().await;
    let mut gate = setup.gate(0, true);
    let (run_id, pause) = pause_run(&mut gate, "tasks").await;
    assert_eq!(pause.key, "interrupt:approve:0");
    assert_eq!(status_of(&setup.storage, &run_id).await, RunStatus::Paused);
    let response = gate
        .continue_collected(&run_id, json!({"ok": true, "note": "from a task"}))
        .await
        .unwrap();
    assert_eq!(response.content_text(), " approved=true");
    assert!(response.pause.is_none());
    assert_eq!(
        status_of(&setup.storage, &run_id).await,
        RunStatus::Completed
    );
    assert_eq!(setup.llm.request_count(), 1);
}

#[tokio::test]
async fn a_collected_run_that_pauses_returns_its_pause() {
    let setup = Setup::new().await;
    let mut gate = setup.gate(1, false);
    let response = gate.run("collected".into()).await.unwrap();
    let pause = response.pause.clone().expect("the run paused");
    assert_eq!(pause.name, "approve");
    assert_eq!(response.content_text(), "The draft.");
    let again = gate
        .continue_collected(&response.run_id, json!({"ok": true}))
        .await
        .unwrap();
    assert_eq!(
        again.pause.map(|pause| pause.key).as_deref(),
        Some("interrupt:round:0")
    );
    let done = gate
        .continue_collected(&response.run_id, json!({"ok": true, "note": "n"}))
        .await
        .unwrap();
    assert!(done.pause.is_none());
    assert_eq!(done.content_text(), " round0=n");
}

/// Another writer saves the session while the run waits: `state` over what is stored.
async fn save_meanwhile(storage: &StorageRef, state: Value) {
    let mut session = storage.read_session("gate").await.unwrap().unwrap();
    session.session_state = state;
    storage.upsert_session(session).await.unwrap();
}

#[tokio::test]
async fn changes_saved_to_the_session_while_a_run_is_paused_are_kept() {
    let setup = Setup::new().await;
    let mut gate = setup.gate(0, false);
    let (run_id, _) = pause_run(&mut gate, "state").await;
    save_meanwhile(&setup.storage, json!({"other": 7})).await;

    let (_, error) = drain(gate.continue_run(&run_id, json!({"ok": true}))).await;
    assert!(error.is_none(), "{error:?}");
    let session = setup.storage.read_session("gate").await.unwrap().unwrap();
    assert_eq!(
        session.session_state,
        json!({"other": 7, "before": true, "after": true}),
        "the continued run's changes are merged onto the session as it is now"
    );
}

#[tokio::test]
async fn a_key_changed_meanwhile_to_the_same_value_is_a_conflict_not_a_lost_change() {
    let setup = Setup::new().await;
    let mut gate = setup.gate(0, false);
    let (run_id, _) = pause_run(&mut gate, "state").await;
    save_meanwhile(&setup.storage, json!({"before": true})).await;
    let (_, error) = drain(gate.continue_run(&run_id, json!({"ok": true}))).await;
    assert!(
        matches!(&error, Some(weft::Error::Conflict { keys, .. }) if keys == &["before".to_string()]),
        "{error:?}"
    );
    let session = setup.storage.read_session("gate").await.unwrap().unwrap();
    assert_eq!(
        session.session_state,
        json!({"before": true}),
        "nothing overwritten"
    );
}

/// `send(to)`: needs approval; counts the calls that really ran.
fn send_tool(sent: &Arc<AtomicUsize>) -> FunctionTool {
    let sent = Arc::clone(sent);
    FunctionTool::new(
        "send",
        "Sends the email.",
        json!({"type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}),
        move |args: Value| {
            let sent = Arc::clone(&sent);
            async move {
                sent.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ToolError>(format!("sent to {}", args["to"].as_str().unwrap_or("?")))
            }
        },
    )
    .confirm()
}

/// An assistant with a tool that needs approval, streamed or collected.
#[workflow]
pub struct Mailer {
    #[agent(model = "openai:gpt-4o")]
    pub assistant: Agent,
    /// Collect the agent's answer (`run`) instead of streaming it.
    pub collected: bool,
}

#[workflow]
impl Mailer {
    fn run(&mut self, request: String) -> RunStream<'_> {
        try_stream! {
            if self.collected {
                let answer = self.assistant.run(request).await?;
                yield RunResponse::text(answer.content_text());
            } else {
                for await item in self.assistant.run_stream(request) {
                    yield item?;
                }
            }
        }
    }
}

/// Runs `Mailer` to its approval, answers `approval`, and returns the text of the model's
/// second request's tool result, how many sends ran, and the final content.
async fn approve_with(collected: bool, approval: Value) -> (String, usize, String) {
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("send", json!({"to": "ana"})));
    llm.push(Reply::text("All done."));
    let sent = Arc::new(AtomicUsize::new(0));
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let mut mailer = Mailer::builder()
        .storage(storage.clone())
        .assistant(agent_on(&llm, "assistant", vec![send_tool(&sent)]))
        .collected(collected)
        .build()
        .unwrap();
    let (items, error) = drain(mailer.run_stream("Email Ana".into())).await;
    let pause = paused_at(&items, error);
    assert_eq!(pause.name, "approve:send");
    assert_eq!(
        pause.question,
        json!({"tool": "send", "arguments": {"to": "ana"}})
    );
    assert!(
        pause.key.starts_with("approval:tool:send:"),
        "{}",
        pause.key
    );
    assert_eq!(
        pause.answer_schema["properties"]["approved"]["type"],
        json!("boolean")
    );
    assert_eq!(sent.load(Ordering::SeqCst), 0, "not run before approval");
    assert_eq!(llm.request_count(), 1);
    let run_id = items[0].run_id.clone();

    let (more, error) = drain(mailer.continue_run(&run_id, approval)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        more.last().map(|item| item.event),
        Some(RunEvent::WorkflowCompleted)
    );
    assert_eq!(
        llm.request_count(),
        2,
        "the first model call is not asked again"
    );
    let requests = llm.requests();
    let messages = requests[1].body["messages"].as_array().unwrap().clone();
    let result = messages
        .iter()
        .find(|message| message["role"] == "tool")
        .map(|message| message["content"].as_str().unwrap_or_default().to_string())
        .expect("the second request carries the tool result");
    let record = storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    (result, sent.load(Ordering::SeqCst), record.content)
}

#[tokio::test]
async fn an_approved_tool_call_runs_once_streamed_and_collected() {
    for collected in [false, true] {
        let (result, sent, content) = approve_with(collected, json!({"approved": true})).await;
        assert_eq!(
            (result.as_str(), sent),
            ("sent to ana", 1),
            "collected: {collected}"
        );
        assert_eq!(content, "All done.");
    }
}

#[tokio::test]
async fn a_rejected_tool_call_goes_back_to_the_model_as_its_result_streamed_and_collected() {
    for collected in [false, true] {
        let rejection = json!({"approved": false, "reason": "not before Friday"});
        let (result, sent, content) = approve_with(collected, rejection).await;
        assert_eq!(sent, 0, "collected: {collected}");
        assert!(result.contains("the user rejected this call"), "{result}");
        assert!(result.contains("not before Friday"), "{result}");
        assert_eq!(content, "All done.");
    }
}

#[tokio::test]
async fn outside_a_workflow_run_a_tool_that_needs_approval_is_not_run() {
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("send", json!({"to": "ana"})));
    llm.push(Reply::text("I could not send it."));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut agent = agent_on(&llm, "assistant", vec![send_tool(&sent)]);
    let response = agent.run("Email Ana").await.unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), 0);
    let result = response.tools[0].result.clone().unwrap_or_default();
    assert!(response.tools[0].is_error);
    assert!(result.contains("needs a person's approval"), "{result}");
}

#[tokio::test]
async fn an_interrupt_outside_a_run_is_a_clear_error() {
    let setup = Setup::new().await;
    let gate = setup.gate(0, false);
    let error = gate
        .ctx()
        .interrupt::<_, Verdict>("approve", json!({}))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("outside a workflow run"),
        "{error}"
    );
}

/// Pauses and continues `Gate` on `storage`, continuing from a second instance (another
/// worker: a fresh instance that never saw the run), and checks the run ends as if
/// uninterrupted.
async fn pause_and_continue_on(storage: StorageRef) {
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::text("The draft."));
    let step_runs = Arc::new(AtomicUsize::new(0));
    let gate = || {
        Gate::builder()
            .session_id("gate")
            .storage(storage.clone())
            .writer(agent_on(&llm, "writer", Vec::new()))
            .step_runs(Arc::clone(&step_runs))
            .rounds(1)
            .build()
            .unwrap()
    };
    let (run_id, _) = pause_run(&mut gate(), "stores").await;
    assert_eq!(status_of(&storage, &run_id).await, RunStatus::Paused);
    assert!(storage.interrupted_runs(None).await.unwrap().is_empty());

    let (more, error) = drain(gate().continue_run(&run_id, json!({"ok": true}))).await;
    assert_eq!(paused_at(&more, error).key, "interrupt:round:0");
    let (_, error) = drain(gate().continue_run(&run_id, json!({"ok": "no"}))).await;
    assert!(
        matches!(error, Some(weft::Error::InvalidAnswer { .. })),
        "{error:?}"
    );
    let (more, error) = drain(gate().continue_run(&run_id, json!({"ok": true, "note": "x"}))).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        more.last().map(|item| item.event),
        Some(RunEvent::WorkflowCompleted)
    );
    let record = storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.content, "The draft. approved=true round0=x");
    assert_eq!(
        (llm.request_count(), step_runs.load(Ordering::SeqCst)),
        (1, 2)
    );
    let session = storage.read_session("gate").await.unwrap().unwrap();
    assert_eq!(
        session.session_state,
        json!({"before": true, "after": true})
    );
}

#[tokio::test]
async fn a_pause_is_kept_and_continued_on_sled() {
    let dir = std::env::temp_dir().join(format!("weft-pause-sled-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let storage: StorageRef = Arc::new(weft::SledStorage::open(dir.join("db")).unwrap());
    pause_and_continue_on(storage).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_pause_is_kept_and_continued_on_postgres() {
    let Some(url) = weft_testkit::postgres::test_url("a_pause_is_kept_and_continued_on_postgres")
    else {
        return;
    };
    let storage = weft::PostgresStorage::builder(&url)
        .schema(weft_testkit::postgres::fresh_schema("pause"))
        .connect()
        .await
        .unwrap();
    pause_and_continue_on(Arc::new(storage)).await;
}
