//! Three serve examples on one PostgreSQL database (`WEFT_TEST_POSTGRES_URL`, each test in a
//! schema of its own): runs in flight on a server that is SIGKILLed, or stopped past its
//! lease (SIGSTOP), are taken over by the others and complete exactly once; no completed
//! model call is asked again; a client follows each run from another server with
//! `Last-Event-ID` and gets the rest; a stopped server that wakes up cannot write to a run
//! it lost, stops it, and serves it from the store.
//!
//! The runs are `ReviewWorkflow`s (a draft, then its review: two model calls). Each review is
//! held by a fake-LLM gate after 3 deltas, so the kill comes with the draft journaled and the
//! review half streamed; the review's second ask is scripted before the kill, and nothing
//! waits on a clock: the tests wait for runs to end (with a 60 s deadline for hangs).

use std::ffi::OsString;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};
use weft_testkit::postgres::{fresh_schema, test_url};
use weft_testkit::{FakeLlm, Gate, Reply};

use crate::crash::{last_seq, reconnect, Completed, Served};
use crate::support::{answer_of, get_json, within, SseEvent, SseReader};

/// Each server's lease: long enough that a busy CI machine never lets a live server's claim
/// lapse (it renews every third of it), short enough for a quick takeover.
const LEASE_MS: &str = "3000";

fn draft(topic: &str) -> Vec<String> {
    (1..=6).map(|i| format!("{topic}-draft{i} ")).collect()
}

fn edit(topic: &str) -> Vec<String> {
    (1..=12).map(|i| format!("{topic}-edit{i} ")).collect()
}

/// What a client reassembles from an uninterrupted run: the draft, then the edited post.
fn whole_answer(topic: &str) -> String {
    format!("{}{}", draft(topic).concat(), edit(topic).concat())
}

/// Scripts one run on `topic`: its draft whole, its review held at `gate` after 3 deltas,
/// and the review's second ask (by the server that takes the run over) whole.
fn script(llm: &FakeLlm, topic: &str, gate: &Gate) {
    llm.route(
        &format!("Draft a post about {topic}."),
        Reply::chunks(draft(topic)),
    );
    let review = format!("Edit this draft about {topic}:");
    llm.route(
        &review,
        Reply::chunks(edit(topic)).hold_after(3, gate.clone()),
    );
    llm.route(&review, Reply::chunks(edit(topic)));
}

async fn server(llm: &FakeLlm, url: &str, schema: &str) -> Served {
    let args: Vec<OsString> = [
        "--postgres",
        url,
        "--postgres-schema",
        schema,
        "--lease-ms",
        LEASE_MS,
        "--grace",
        "0",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    Served::launch(llm, &args).await
}

/// A run started on `served` and followed until its review is held at `gate` with 3 of
/// its deltas seen: its id, and what the client saw.
async fn start_held(
    served: &Served,
    topic: &str,
    gate: &Gate,
) -> (String, SseReader, Vec<SseEvent>) {
    start_held_in(served, &format!("s-{topic}"), topic, gate).await
}

/// [`start_held`] in the session `session_id`.
async fn start_held_in(
    served: &Served,
    session_id: &str,
    topic: &str,
    gate: &Gate,
) -> (String, SseReader, Vec<SseEvent>) {
    let (run_id, mut reader) = served
        .stream_run(
            "ReviewWorkflow",
            json!({"input": topic, "session_id": session_id}),
        )
        .await;
    within(gate.reached()).await;
    let wanted = draft(topic).len() + 3;
    let mut seen = Vec::new();
    while deltas(&seen) < wanted {
        seen.push(within(reader.next()).await.unwrap());
    }
    (run_id, reader, seen)
}

fn deltas(seen: &[SseEvent]) -> usize {
    seen.iter()
        .filter(|event| event.event.as_deref() == Some("RunContent"))
        .count()
}

/// Follows `run_id` on `served` after what `seen` holds, to its end.
async fn follow_rest(served: &Served, run_id: &str, seen: &mut Vec<SseEvent>) {
    if let Some(response) = reconnect(served, run_id, last_seq(seen)).await {
        seen.extend(within(SseReader::new(response).rest()).await);
    }
}

/// The run completed once, with the whole answer in its record and log, one
/// `WorkflowCompleted`, seqs once each in order, and its session's state saved once.
async fn assert_completed_once(served: &Served, run_id: &str, topic: &str, seen: &[SseEvent]) {
    let expected = Completed {
        answer: &whole_answer(topic),
        session_id: &format!("s-{topic}"),
        counter: "reviews",
    };
    expected.check(served, run_id, seen, topic).await;
    // The whole log, from the start, from this server: one end.
    let response = reconnect(served, run_id, 0).await.unwrap();
    let log = within(SseReader::new(response).rest()).await;
    let completed = log
        .iter()
        .filter(|event| event.event.as_deref() == Some("WorkflowCompleted"))
        .count();
    assert_eq!(completed, 1, "{topic}: the run completed once");
    assert_eq!(
        answer_of(&log),
        whole_answer(topic),
        "{topic}: the log's answer"
    );
}

/// Sends `signal` (`STOP`, `CONT`) to a server.
fn signal(served: &Served, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), served.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal}");
}

#[tokio::test]
async fn three_servers_on_one_database_finish_a_killed_servers_runs_exactly_once() {
    let Some(url) = test_url("three_servers_on_one_database") else {
        return;
    };
    let schema = fresh_schema("weft_srv_kill");
    let llm = FakeLlm::start().await.unwrap();
    let topics = ["looms", "shuttles", "warps"];
    let gates: Vec<Gate> = topics.iter().map(|_| Gate::new()).collect();
    for (topic, gate) in topics.iter().zip(&gates) {
        script(&llm, topic, gate);
    }
    let doomed = server(&llm, &url, &schema).await;
    let others = [
        server(&llm, &url, &schema).await,
        server(&llm, &url, &schema).await,
    ];

    let mut runs = Vec::new();
    for (topic, gate) in topics.iter().zip(&gates) {
        let (run_id, reader, seen) = start_held(&doomed, topic, gate).await;
        drop(reader);
        runs.push((run_id, seen));
    }
    doomed.kill();

    // Each client reconnects to another server with the last seq it saw and gets the rest,
    // once one of them has taken the run over and finished it.
    for (i, ((run_id, seen), topic)) in runs.iter_mut().zip(topics).enumerate() {
        let other = &others[i % 2];
        follow_rest(other, run_id, seen).await;
        assert_completed_once(other, run_id, topic, seen).await;
        assert_completed_once(&others[(i + 1) % 2], run_id, topic, seen).await;
    }
    // Per run: the draft once (journaled before the kill), the review twice (the killed
    // ask never finished).
    assert_eq!(
        llm.request_count(),
        topics.len() * 3,
        "no completed model call asked again"
    );
}

#[tokio::test]
async fn a_server_stopped_past_its_lease_cannot_write_to_the_run_another_took_over() {
    let Some(url) = test_url("a_server_stopped_past_its_lease") else {
        return;
    };
    let schema = fresh_schema("weft_srv_stop");
    let llm = FakeLlm::start().await.unwrap();
    let topic = "bobbins";
    let gate = Gate::new();
    script(&llm, topic, &gate);
    let stalled = server(&llm, &url, &schema).await;
    let other = server(&llm, &url, &schema).await;

    let (run_id, mut stalled_reader, mut seen) = start_held(&stalled, topic, &gate).await;
    // Not killed: stopped, so its claim lapses while it still holds the run in memory.
    signal(&stalled, "STOP");
    follow_rest(&other, &run_id, &mut seen).await;
    assert_completed_once(&other, &run_id, topic, &seen).await;

    // It wakes up, and its review goes on: its claim's renewal or its first write is
    // refused as fenced, so it stops the run; its client's stream ends without an end of
    // its own (the run did not end: it goes on elsewhere), and a reconnect to the same
    // server follows the run from the store, where it completed.
    signal(&stalled, "CONT");
    gate.open();
    let rest = within(stalled_reader.rest()).await;
    assert!(
        rest.iter()
            .all(|event| event.event.as_deref() != Some("RunError")
                && event.event.as_deref() != Some("RunContent")),
        "the stalled server showed nothing more, and no failure: {rest:?}"
    );
    assert!(
        reconnect(&stalled, &run_id, last_seq(&seen))
            .await
            .is_none(),
        "the stalled server follows the run from the store: nothing left after the end"
    );
    let from_stalled: Value = get_json(&stalled.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(from_stalled["run"]["status"], "completed");
    assert_completed_once(&other, &run_id, topic, &seen).await;
    assert_completed_once(&stalled, &run_id, topic, &seen).await;
    assert_eq!(llm.request_count(), 3, "draft once, review twice");
}

/// Agno #7479 (two runs saving one session at once lose one of them), on two servers: two
/// runs of one session end at once on two servers; both are kept with their answers, the
/// first one's state change is saved, and the second's, which changed the same key from the
/// same base, is reported as a conflict naming it, never dropped silently.
#[tokio::test]
async fn two_servers_running_one_session_at_once_keep_both_runs() {
    let Some(url) = test_url("two_servers_running_one_session_at_once") else {
        return;
    };
    let schema = fresh_schema("weft_srv_session");
    let llm = FakeLlm::start().await.unwrap();
    let (first_gate, second_gate) = (Gate::new(), Gate::new());
    script(&llm, "warp", &first_gate);
    script(&llm, "weft", &second_gate);
    let a = server(&llm, &url, &schema).await;
    let b = server(&llm, &url, &schema).await;

    let (first, mut first_reader, mut first_seen) =
        start_held_in(&a, "shared", "warp", &first_gate).await;
    let (second, mut second_reader, mut second_seen) =
        start_held_in(&b, "shared", "weft", &second_gate).await;
    // Both runs began from the same stored session; the first ends, then the second.
    first_gate.open();
    first_seen.extend(within(first_reader.rest()).await);
    second_gate.open();
    second_seen.extend(within(second_reader.rest()).await);

    assert_eq!(answer_of(&first_seen), whole_answer("warp"));
    assert_eq!(answer_of(&second_seen), whole_answer("weft"));
    let session: Value = get_json(&a.at("/v1/sessions/shared")).await;
    let runs: Vec<(String, String)> = session["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            (
                run["run_id"].as_str().unwrap().to_string(),
                run["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            (first.clone(), "completed".to_string()),
            (second.clone(), "failed".to_string())
        ],
        "both runs kept, in the order they began: {session}"
    );
    assert_eq!(
        session["session"]["session_state"]["reviews"], 1,
        "{session}"
    );
    let second_run: Value = get_json(&b.at(&format!("/v1/runs/{second}"))).await;
    let error = second_run["run"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("reviews"),
        "the conflict names the key: {second_run}"
    );
    assert_eq!(
        second_run["run"]["content"],
        whole_answer("weft"),
        "its answer is kept"
    );
    assert_eq!(llm.request_count(), 4, "a draft and a review each");
}

/// A cancel sent to another server than the one running the run (behind a load balancer)
/// reaches the run through the store: `202`, the run's own server cancels it (at its next
/// check, within a second), its client gets the `RunCancelled` marker, and every server shows
/// the run `cancelled`. A cancel of a run that is not in flight anywhere is `409`.
#[tokio::test]
async fn a_cancel_sent_to_another_server_cancels_the_run() {
    let Some(url) = test_url("a_cancel_sent_to_another_server") else {
        return;
    };
    let schema = fresh_schema("weft_srv_cancel");
    let llm = FakeLlm::start().await.unwrap();
    let gate = Gate::new();
    script(&llm, "heddles", &gate);
    let running = server(&llm, &url, &schema).await;
    let other = server(&llm, &url, &schema).await;

    let (run_id, mut reader, _) = start_held(&running, "heddles", &gate).await;
    let response =
        crate::support::call("POST", &other.at(&format!("/v1/runs/{run_id}/cancel"))).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let rest = within(reader.rest()).await;
    assert_eq!(
        rest.last().and_then(|event| event.event.as_deref()),
        Some("RunCancelled"),
        "{rest:?}"
    );
    for served in [&running, &other] {
        let run: Value = get_json(&served.at(&format!("/v1/runs/{run_id}"))).await;
        assert_eq!(run["run"]["status"], "cancelled", "{run}");
    }
    let again = crate::support::call("POST", &other.at(&format!("/v1/runs/{run_id}/cancel"))).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    gate.open();
}
