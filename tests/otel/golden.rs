//! Goldens of the span trees of a streamed, a collected, a tool-calling (agents in spawned
//! tasks), a resumed, a paused-and-continued and a failed run, and content capture.
//!
//! A golden is the tree `tree::render` prints, with `{run}`, `{first}`, `{last}`, `{items}`
//! and `{entries}` standing for the run's id, the seqs of its first and last items and what
//! a resume read; input token counts are `#` there and checked apart (each agent's are the
//! sum of its model calls', and a streamed agent's are what its `RunCompleted` reported).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use weft::otel::opentelemetry_sdk::trace::SpanData;
use weft::prelude::*;
use weft::{MemoryStorage, RunStatus, StorageRef};
use weft_testkit::{FakeLlm, Reply};

use crate::drain::drain;
use crate::fixtures::{approval, desk, script_desk, teller, API_KEY};
use crate::tree::{assert_nowhere, attr, children, named, number, one, render, traces, Capture};

/// `capture_content` is process-wide: the tests of this binary take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Attributes only content capture may set.
const CONTENT: [&str; 4] = [
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
];

/// `golden` with its placeholders filled.
fn fill(golden: &str, values: &[(&str, String)]) -> String {
    let mut text = golden.to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// Compares the rendered tree of `spans` with `expected`, showing both when they differ.
fn assert_tree(spans: &[SpanData], expected: &str) {
    let actual = render(spans);
    if actual == expected {
        return;
    }
    // The lines only one side has, first: long trees differ in a word.
    let mut missing: Vec<&str> = expected.lines().collect();
    let mut extra = Vec::new();
    for line in actual.lines() {
        match missing.iter().position(|wanted| *wanted == line) {
            Some(index) => {
                missing.remove(index);
            }
            None => extra.push(line),
        }
    }
    panic!(
        "span tree differs\n--- expected only\n{}\n--- actual only\n{}\n--- expected\n{expected}--- actual\n{actual}---",
        missing.join("\n"),
        extra.join("\n")
    );
}

/// The seqs of the first and last items of a run's log.
async fn log_seqs(storage: &StorageRef, run_id: &str) -> (String, String) {
    let log = storage.read_events(run_id, 0, usize::MAX).await.unwrap();
    let first = log.first().expect("a logged item").seq;
    let last = log.last().expect("a logged item").seq;
    (first.to_string(), last.to_string())
}

/// What every run's spans must hold, whatever the run: one trace; no key; no content
/// (unless `content`); every agent's tokens the sum of its model calls'; every agent under
/// the one `invoke_workflow` span (also from spawned tasks); run ids all the run's.
fn assert_invariants(spans: &[SpanData], run_id: &str, content: bool) {
    assert_eq!(traces(spans).len(), 1, "one trace:\n{}", render(spans));
    assert_nowhere(spans, API_KEY);
    if !content {
        for span in spans {
            for key in CONTENT {
                assert!(
                    attr(span, key).is_none(),
                    "{key} on `{}` with content capture off",
                    span.name
                );
            }
        }
    }
    let workflows = named_prefix(spans, "invoke_workflow ");
    assert_eq!(workflows.len(), 1, "{}", render(spans));
    let workflow = workflows[0];
    assert_eq!(
        workflow.parent_span_id,
        weft::otel::opentelemetry::trace::SpanId::INVALID
    );
    assert_eq!(attr(workflow, "weft.run.id").as_deref(), Some(run_id));
    for agent in named_prefix(spans, "invoke_agent") {
        assert_eq!(
            agent.parent_span_id,
            workflow.span_context.span_id(),
            "`{}` is not under its workflow run",
            agent.name
        );
        assert_eq!(attr(agent, "weft.run.id").as_deref(), Some(run_id));
        assert_eq!(
            attr(agent, "gen_ai.conversation.id"),
            attr(workflow, "gen_ai.conversation.id")
        );
        let chats: Vec<&SpanData> = children(spans, agent)
            .into_iter()
            .filter(|span| span.name.starts_with("chat "))
            .collect();
        assert!(!chats.is_empty(), "`{}` made no model call", agent.name);
        for key in ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"] {
            let calls: u64 = chats
                .iter()
                .map(|chat| number(chat, key).unwrap_or(0))
                .sum();
            assert_eq!(number(agent, key), Some(calls), "{key} of `{}`", agent.name);
        }
        assert!(number(agent, "gen_ai.usage.input_tokens").unwrap_or(0) > 0);
    }
}

fn named_prefix<'a>(spans: &'a [SpanData], prefix: &str) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|span| span.name.starts_with(prefix))
        .collect()
}

/// The input and output tokens the stream's agent `RunCompleted` reported.
fn reported_tokens(items: &[RunResponse]) -> (u64, u64) {
    let completed: Vec<&RunResponse> = items
        .iter()
        .filter(|item| item.event == RunEvent::RunCompleted)
        .collect();
    assert_eq!(completed.len(), 1, "one agent run completed in the stream");
    (
        completed[0].metrics.input_tokens,
        completed[0].metrics.output_tokens,
    )
}

const TELLER: &str = "\
invoke_workflow Teller [internal] gen_ai.conversation.id=teller gen_ai.operation.name=invoke_workflow weft.run.id={run} weft.run.resumed=false weft.run.status=completed weft.seq.first={first} weft.seq.last={last} weft.workflow.name=Teller
  invoke_agent writer [client] gen_ai.agent.name=writer gen_ai.conversation.id=teller gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=4 weft.run.id={run}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=stop gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=4 weft.journaled=false
";

#[tokio::test]
async fn a_streamed_run_is_one_trace_of_workflow_agent_and_model_call() {
    let _turn = SERIAL.lock().await;
    let capture = Capture::start();
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Once upon a time."));
    let storage: StorageRef = Arc::new(MemoryStorage::new());

    let mut wf = teller(&server, &storage);
    let (items, error) = drain(wf.run_stream("otters".into())).await;
    assert!(error.is_none(), "{error:?}");
    let run_id = items[0].run_id.clone();
    let spans = capture.spans();

    let (first, last) = log_seqs(&storage, &run_id).await;
    assert_eq!(first, items[0].seq.unwrap().to_string());
    assert_eq!(last, items.last().unwrap().seq.unwrap().to_string());
    assert_tree(
        &spans,
        &fill(
            TELLER,
            &[("run", run_id.clone()), ("first", first), ("last", last)],
        ),
    );
    assert_invariants(&spans, &run_id, false);
    let (input, output) = reported_tokens(&items);
    let agent = one(&spans, "invoke_agent writer");
    assert_eq!(number(agent, "gen_ai.usage.input_tokens"), Some(input));
    assert_eq!(number(agent, "gen_ai.usage.output_tokens"), Some(output));
}

#[tokio::test]
async fn a_collected_run_has_the_streamed_run_s_tree() {
    let _turn = SERIAL.lock().await;
    let capture = Capture::start();
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Once upon a time."));
    let storage: StorageRef = Arc::new(MemoryStorage::new());

    let mut wf = teller(&server, &storage);
    let answer = wf.run("otters".to_string()).await.unwrap();
    assert_eq!(answer.content_text(), "Once upon a time.");
    let runs = storage.read_runs("teller").await.unwrap();
    assert_eq!(runs.len(), 1);
    let run_id = runs[0].run_id.clone();
    let spans = capture.spans();

    let (first, last) = log_seqs(&storage, &run_id).await;
    assert_tree(
        &spans,
        &fill(
            TELLER,
            &[("run", run_id.clone()), ("first", first), ("last", last)],
        ),
    );
    assert_invariants(&spans, &run_id, false);
}

const DESK: &str = "\
invoke_workflow Desk [internal] gen_ai.conversation.id=desk gen_ai.operation.name=invoke_workflow weft.run.id={run} weft.run.resumed={resumed} weft.run.status=completed weft.seq.first={first} weft.seq.last={last} weft.workflow.name=Desk
  invoke_agent reader [client] gen_ai.agent.name=reader gen_ai.conversation.id=desk gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=4 weft.run.id={run}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=stop gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=3 weft.journaled={replayed}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=tool_calls gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=1 weft.journaled={replayed}
    execute_tool lookup [internal] gen_ai.operation.name=execute_tool gen_ai.tool.call.id=call_0 gen_ai.tool.name=lookup weft.journaled={replayed}
  invoke_agent reader [client] gen_ai.agent.name=reader gen_ai.conversation.id=desk gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=4 weft.run.id={run}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=stop gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=3 weft.journaled={replayed}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=tool_calls gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=1 weft.journaled={replayed}
    execute_tool lookup [internal] gen_ai.operation.name=execute_tool gen_ai.tool.call.id=call_0 gen_ai.tool.name=lookup weft.journaled={replayed}
  invoke_agent reader [client] gen_ai.agent.name=reader gen_ai.conversation.id=desk gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=4 weft.run.id={run}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=stop gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=3 weft.journaled={replayed}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=tool_calls gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=1 weft.journaled={replayed}
    execute_tool lookup [internal] gen_ai.operation.name=execute_tool gen_ai.tool.call.id=call_0 gen_ai.tool.name=lookup weft.journaled={replayed}
  invoke_agent writer [client] gen_ai.agent.name=writer gen_ai.conversation.id=desk gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=4 weft.run.id={run}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=stop gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=4 weft.journaled=false
{resume}  step stamp [internal] weft.journaled={replayed} weft.step.name=stamp
";

/// The line of the resume span, under the run's.
const RESUME: &str = "  resume_workflow Desk [internal] weft.journal.entries={entries} weft.log.items={items} weft.run.id={run}\n";

#[tokio::test]
async fn a_tool_calling_run_nests_agents_of_spawned_tasks_under_their_workflow() {
    let _turn = SERIAL.lock().await;
    let capture = Capture::start();
    let server = FakeLlm::start().await.unwrap();
    script_desk(&server);
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let step_runs = Arc::new(AtomicUsize::new(0));

    let mut wf = desk(&server, &storage, &step_runs);
    let (items, error) = drain(wf.run_stream("databases".into())).await;
    assert!(error.is_none(), "{error:?}");
    let run_id = items[0].run_id.clone();
    let spans = capture.spans();

    let (first, last) = log_seqs(&storage, &run_id).await;
    let expected = fill(
        DESK,
        &[
            ("resume", String::new()),
            ("run", run_id.clone()),
            ("resumed", "false".into()),
            ("replayed", "false".into()),
            ("first", first),
            ("last", last),
        ],
    );
    assert_tree(&spans, &expected);
    assert_invariants(&spans, &run_id, false);
    // The three readers ran in spawned tasks: still children of the run's span (checked by
    // the invariants), each with its own model calls and tool call under it.
    let readers = named(&spans, "invoke_agent reader");
    assert_eq!(readers.len(), 3);
    for reader in readers {
        let below: Vec<String> = children(&spans, reader)
            .iter()
            .map(|span| span.name.to_string())
            .collect();
        assert_eq!(below.len(), 3, "{below:?}");
    }
    let (input, output) = reported_tokens(&items);
    let writer = one(&spans, "invoke_agent writer");
    assert_eq!(number(writer, "gen_ai.usage.input_tokens"), Some(input));
    assert_eq!(number(writer, "gen_ai.usage.output_tokens"), Some(output));
    let step = one(&spans, "step stamp");
    let workflow = one(&spans, "invoke_workflow Desk");
    assert_eq!(step.parent_span_id, workflow.span_context.span_id());
}

#[tokio::test]
async fn a_resumed_run_reads_its_log_in_a_resume_span_and_marks_journaled_work() {
    let _turn = SERIAL.lock().await;
    let capture = Capture::start();
    let server = FakeLlm::start().await.unwrap();
    script_desk(&server);
    let memory = MemoryStorage::new();
    let storage: StorageRef = Arc::new(memory.clone());
    let step_runs = Arc::new(AtomicUsize::new(0));

    // The first try "dies" after the reads: its stream is forgotten (nothing more runs, its
    // spans never end), then the process "restarts".
    let mut first_try = desk(&server, &storage, &step_runs);
    let mut stream = first_try.run_stream("databases".to_string());
    let mut run_id = String::new();
    while let Some(item) = stream.next().await {
        let item = item.unwrap();
        run_id.clone_from(&item.run_id);
        if item.event == RunEvent::StepCompleted {
            break;
        }
    }
    std::mem::forget(stream);
    assert_eq!(memory.interrupt_running_runs(), 1);
    capture.clear();
    let log_items = storage
        .read_events(&run_id, 0, usize::MAX)
        .await
        .unwrap()
        .len();
    let journal_entries = storage.read_journal(&run_id).await.unwrap().len();

    let mut second = desk(&server, &storage, &step_runs);
    let (items, error) = drain(second.resume(&run_id)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(step_runs.load(Ordering::SeqCst), 1, "the step ran once");
    assert_eq!(
        storage.read_run(&run_id).await.unwrap().unwrap().status,
        RunStatus::Completed
    );
    let spans = capture.spans();

    let resume = fill(
        RESUME,
        &[
            ("run", run_id.clone()),
            ("items", log_items.to_string()),
            ("entries", journal_entries.to_string()),
        ],
    );
    let expected = fill(
        DESK,
        &[
            ("resume", resume),
            ("run", run_id.clone()),
            ("resumed", "true".into()),
            ("replayed", "true".into()),
            ("first", items[0].seq.unwrap().to_string()),
            ("last", items.last().unwrap().seq.unwrap().to_string()),
        ],
    );
    assert_tree(&spans, &expected);
    assert_invariants(&spans, &run_id, false);
    let resume = one(&spans, "resume_workflow Desk");
    let workflow = one(&spans, "invoke_workflow Desk");
    assert_eq!(resume.parent_span_id, workflow.span_context.span_id());
}

const APPROVAL_PAUSED: &str = "\
invoke_workflow Approval [internal] gen_ai.conversation.id=approval gen_ai.operation.name=invoke_workflow weft.run.id={run} weft.run.resumed=false weft.run.status=paused weft.seq.first={first} weft.seq.last={last} weft.workflow.name=Approval
  invoke_agent writer [client] gen_ai.agent.name=writer gen_ai.conversation.id=approval gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=2 weft.run.id={run}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=stop gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=2 weft.journaled=false
";

const APPROVAL_CONTINUED: &str = "\
invoke_workflow Approval [internal] gen_ai.conversation.id=approval gen_ai.operation.name=invoke_workflow weft.run.id={run} weft.run.resumed=true weft.run.status=completed weft.seq.first={first} weft.seq.last={last} weft.workflow.name=Approval
  invoke_agent writer [client] gen_ai.agent.name=writer gen_ai.conversation.id=approval gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=2 weft.run.id={run}
    chat gpt-4o [client] gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o gen_ai.response.finish_reasons=stop gen_ai.response.model=gpt-4o gen_ai.usage.input_tokens=# gen_ai.usage.output_tokens=2 weft.journaled=true
  resume_workflow Approval [internal] weft.journal.entries={entries} weft.log.items={items} weft.run.id={run}
";

#[tokio::test]
async fn a_paused_run_ends_its_trace_paused_and_its_continuation_is_a_resumed_run() {
    let _turn = SERIAL.lock().await;
    let capture = Capture::start();
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("The draft."));
    let storage: StorageRef = Arc::new(MemoryStorage::new());

    let mut wf = approval(&server, &storage);
    let (items, error) = drain(wf.run_stream("otters".into())).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.last().unwrap().event, RunEvent::RunPaused);
    let run_id = items[0].run_id.clone();
    let spans = capture.spans();
    let (first, last) = log_seqs(&storage, &run_id).await;
    assert_tree(
        &spans,
        &fill(
            APPROVAL_PAUSED,
            &[("run", run_id.clone()), ("first", first), ("last", last)],
        ),
    );
    assert_invariants(&spans, &run_id, false);

    capture.clear();
    let log_items = storage
        .read_events(&run_id, 0, usize::MAX)
        .await
        .unwrap()
        .len();
    let journal_entries = storage.read_journal(&run_id).await.unwrap().len();
    let mut again = approval(&server, &storage);
    let (more, error) = drain(again.continue_run(&run_id, json!({"ok": true}))).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(server.request_count(), 1, "the draft came from the journal");
    let spans = capture.spans();
    assert_tree(
        &spans,
        &fill(
            APPROVAL_CONTINUED,
            &[
                ("run", run_id.clone()),
                ("first", more[0].seq.unwrap().to_string()),
                ("last", more.last().unwrap().seq.unwrap().to_string()),
                ("items", log_items.to_string()),
                ("entries", journal_entries.to_string()),
            ],
        ),
    );
    assert_invariants(&spans, &run_id, false);
}

const FAILED: &str = "\
invoke_workflow Teller [internal] !ERROR error.type=provider gen_ai.conversation.id=teller gen_ai.operation.name=invoke_workflow weft.run.id={run} weft.run.resumed=false weft.run.status=failed weft.seq.first={first} weft.seq.last={last} weft.workflow.name=Teller
  invoke_agent writer [client] !ERROR error.type=provider gen_ai.agent.name=writer gen_ai.conversation.id=teller gen_ai.operation.name=invoke_agent gen_ai.provider.name=openai gen_ai.request.model=gpt-4o weft.run.id={run}
    chat gpt-4o [client] !ERROR error.type=provider gen_ai.operation.name=chat gen_ai.provider.name=openai gen_ai.request.model=gpt-4o weft.journaled=false
";

#[tokio::test]
async fn a_failed_model_call_marks_the_call_the_agent_and_the_run_as_errors() {
    let _turn = SERIAL.lock().await;
    let capture = Capture::start();
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::status(400));
    let storage: StorageRef = Arc::new(MemoryStorage::new());

    let mut wf = teller(&server, &storage);
    let (items, error) = drain(wf.run_stream("otters".into())).await;
    assert!(
        matches!(error, Some(weft::Error::Provider { status: 400, .. })),
        "{error:?}"
    );
    let run_id = items[0].run_id.clone();
    let spans = capture.spans();
    let (first, last) = log_seqs(&storage, &run_id).await;
    assert_tree(
        &spans,
        &fill(
            FAILED,
            &[("run", run_id.clone()), ("first", first), ("last", last)],
        ),
    );
    assert_eq!(traces(&spans).len(), 1);
    assert_nowhere(&spans, API_KEY);
}

#[tokio::test]
async fn content_is_recorded_only_when_opted_in_and_keys_never() {
    let _turn = SERIAL.lock().await;
    let capture = Capture::start();
    let server = FakeLlm::start().await.unwrap();
    script_desk(&server);
    let storage: StorageRef = Arc::new(MemoryStorage::new());
    let step_runs = Arc::new(AtomicUsize::new(0));

    weft::telemetry::capture_content(true);
    let mut wf = desk(&server, &storage, &step_runs);
    let (items, error) = drain(wf.run_stream("databases".into())).await;
    weft::telemetry::capture_content(false);
    assert!(error.is_none(), "{error:?}");
    let run_id = items[0].run_id.clone();
    let spans = capture.spans();
    assert_invariants(&spans, &run_id, true);

    let writer = one(&spans, "invoke_agent writer");
    let chat = children(&spans, writer)[0];
    let input = attr(chat, "gen_ai.input.messages").expect("the prompt, captured");
    let output = attr(chat, "gen_ai.output.messages").expect("the answer, captured");
    let input: serde_json::Value = serde_json::from_str(&input).expect("JSON messages");
    let output: serde_json::Value = serde_json::from_str(&output).expect("JSON messages");
    assert!(input
        .to_string()
        .contains("Summarise: A is fine. B is fine. C is fine."));
    assert!(output.to_string().contains("All three are fine."));
    for tool in named(&spans, "execute_tool lookup") {
        let arguments = attr(tool, "gen_ai.tool.call.arguments").expect("arguments, captured");
        let result = attr(tool, "gen_ai.tool.call.result").expect("the result, captured");
        assert!(arguments.contains("\"id\""), "{arguments}");
        assert!(result.starts_with("found "), "{result}");
    }

    // Off again: the same run records none of it.
    capture.clear();
    script_desk(&server);
    let mut wf = desk(&server, &storage, &step_runs);
    let (items, error) = drain(wf.run_stream("databases".into())).await;
    assert!(error.is_none(), "{error:?}");
    let spans = capture.spans();
    assert_invariants(&spans, &items[0].run_id, false);
}
