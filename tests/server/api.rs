//! Routes, status codes and event streams over real HTTP, against an in-process server.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use weft::{RunStatus, SessionFilter};
use weft_testkit::{Gate, Reply};

use crate::support::{
    answer_of, call, client, get_json, post_json, within, SseEvent, SseReader, TestServer,
};

const TEXT: &str = "Looms weave threads into cloth, row after row, all day long.";

/// Starts a background run of `Writer` and returns its run id.
async fn start_background(server: &TestServer, session: Option<&str>) -> String {
    let mut body = json!({"input": {"topic": "looms"}, "mode": "background"});
    if let Some(session) = session {
        body["session_id"] = json!(session);
    }
    let response = client()
        .post(server.at("/v1/workflows/Writer/runs"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "running");
    body["run_id"].as_str().unwrap().to_string()
}

/// Opens the event stream of `run_id` after `after` (as `Last-Event-ID` when `header`).
async fn open_events(
    server: &TestServer,
    run_id: &str,
    after: Option<u64>,
    header: bool,
) -> reqwest::Response {
    let mut request = client().get(server.at(&format!("/v1/runs/{run_id}/events")));
    match (after, header) {
        (Some(after), true) => request = request.header("Last-Event-ID", after.to_string()),
        (Some(after), false) => request = request.query(&[("after", after.to_string())]),
        (None, _) => {}
    }
    request.send().await.unwrap()
}

/// Checks the framing of a whole run's events: ids are the seqs 1..=n in order, the event
/// name is the item's, every data is compact JSON carrying its seq, the last is final.
fn check_framing(events: &[SseEvent], first_seq: u64) {
    assert!(!events.is_empty());
    for (i, event) in events.iter().enumerate() {
        let seq = first_seq + i as u64;
        assert_eq!(
            event.id.as_deref(),
            Some(seq.to_string().as_str()),
            "{event:?}"
        );
        let item = event.json();
        assert_eq!(item["seq"], json!(seq));
        assert_eq!(
            Some(item["event"].as_str().unwrap()),
            event.event.as_deref(),
            "the SSE event name is the item's event"
        );
        assert!(
            !event.data.contains('\n') && !event.data.contains(": "),
            "compact JSON"
        );
    }
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("WorkflowCompleted")
    );
}

#[tokio::test]
async fn health_and_workflows_describe_the_server() {
    let server = TestServer::start().await;
    let health: Value = get_json(&server.at("/health")).await;
    assert_eq!(health, json!({"status": "ok"}));

    let list: Value = get_json(&server.at("/v1/workflows")).await;
    let workflows = list["workflows"].as_array().unwrap();
    assert_eq!(workflows.len(), 1);
    assert_eq!(workflows[0]["id"], "Writer");
    assert_eq!(workflows[0]["name"], "Writer");
    assert_eq!(
        workflows[0]["description"],
        "Writes about a topic: one streamed model call; counts its runs in the session state."
    );
    let schema = &workflows[0]["input_schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["topic"]));

    let one: Value = get_json(&server.at("/v1/workflows/Writer")).await;
    assert_eq!(&one, &workflows[0]);

    let page = call("GET", &server.at("/")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn a_streamed_run_is_framed_with_seq_ids_and_ends_after_its_last_item() {
    let server = TestServer::start().await;
    server.llm.push(Reply::text(TEXT));
    let response = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "looms"}, "session_id": "s-stream", "user_id": "ada"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    let run_id = headers["x-weft-run-id"].to_str().unwrap().to_string();

    let events = within(SseReader::new(response).rest()).await;
    check_framing(&events, 1);
    assert_eq!(answer_of(&events), TEXT);
    assert!(events
        .iter()
        .all(|event| event.json()["run_id"] == json!(run_id)));

    let run: Value = get_json(&server.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(run["run"]["status"], "completed");
    assert_eq!(run["run"]["content"], TEXT);
    assert_eq!(run["run"]["last_seq"], json!(events.len()));
    assert_eq!(run["run"]["session_id"], "s-stream");

    // Nothing is left after the last item: 204, which tells an EventSource to stop.
    let last = events.len() as u64;
    assert_eq!(
        events_status(&server, &run_id, Some(last), true).await,
        StatusCode::NO_CONTENT
    );
    // From the start, the stored run replays whole.
    let replay =
        within(SseReader::new(open_events(&server, &run_id, None, false).await).rest()).await;
    assert_eq!(replay, events);
}

async fn events_status(
    server: &TestServer,
    run_id: &str,
    after: Option<u64>,
    header: bool,
) -> StatusCode {
    open_events(server, run_id, after, header).await.status()
}

#[tokio::test]
async fn a_client_that_reconnects_with_last_event_id_or_after_gets_every_event_once() {
    let server = TestServer::start().await;
    let gate = Gate::new();
    server
        .llm
        .push(Reply::text(TEXT).hold_after(4, gate.clone()));
    let run_id = start_background(&server, None).await;

    // The first connection reads until the fourth delta has arrived, then drops.
    let mut first = SseReader::new(open_events(&server, &run_id, None, false).await);
    let mut seen = within(first.until(|event| {
        event.event.as_deref() == Some("RunContent")
            && event.json()["content"]
                .as_str()
                .unwrap()
                .starts_with("into")
    }))
    .await;
    drop(first);
    let last = seen
        .last()
        .unwrap()
        .id
        .clone()
        .unwrap()
        .parse::<u64>()
        .unwrap();

    // The second picks up with Last-Event-ID while the model call is still held.
    let second = open_events(&server, &run_id, Some(last), true).await;
    assert_eq!(second.status(), StatusCode::OK);
    gate.open();
    let rest = within(SseReader::new(second).rest()).await;
    assert_eq!(rest[0].id.as_deref(), Some((last + 1).to_string().as_str()));
    seen.extend(rest);
    check_framing(&seen, 1);
    assert_eq!(answer_of(&seen), TEXT);

    // `?after=N` gives the same tail as the header.
    let tail_query =
        within(SseReader::new(open_events(&server, &run_id, Some(last), false).await).rest()).await;
    assert_eq!(tail_query, seen[last as usize..].to_vec());
}

#[tokio::test]
async fn subscribers_racing_a_fast_run_see_no_gap_and_no_duplicate_at_the_switch_to_live() {
    let server = TestServer::start().await;
    let words: Vec<String> = (0..200).map(|i| format!("w{i} ")).collect();
    server.llm.push(Reply::chunks(words.clone()));
    let run_id = start_background(&server, None).await;
    // Twenty subscribers join while the run streams (each from a different cursor), some
    // reading the stored part, some switching to live items in the middle.
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let url = server.at(&format!("/v1/runs/{run_id}/events"));
        tasks.push(tokio::spawn(async move {
            let mut request = client().get(url);
            if i > 0 {
                request = request.header("Last-Event-ID", (i * 7).to_string());
            }
            let response = request.send().await.unwrap();
            if response.status() == StatusCode::NO_CONTENT {
                return (i * 7, Vec::new());
            }
            (i * 7, SseReader::new(response).rest().await)
        }));
    }
    let full =
        within(SseReader::new(open_events(&server, &run_id, None, false).await).rest()).await;
    check_framing(&full, 1);
    assert_eq!(answer_of(&full), words.concat());
    for task in tasks {
        let (after, got) = within(task).await.unwrap();
        let expected: Vec<SseEvent> = full.iter().skip(after as usize).cloned().collect();
        assert_eq!(got, expected, "a subscriber from seq {after}");
    }
}

#[tokio::test]
async fn wait_mode_answers_with_the_run_record_once_it_ends() {
    let server = TestServer::start().await;
    server.llm.push(Reply::text(TEXT));
    let response = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "looms", "words": 12}, "mode": "wait", "session_id": "s-wait"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["run"]["status"], "completed");
    assert_eq!(body["run"]["content"], TEXT);
    assert_eq!(body["run"]["workflow_id"], "Writer");

    // The session holds the state the run saved, and the run.
    let session: Value = get_json(&server.at("/v1/sessions/s-wait")).await;
    assert_eq!(session["session"]["session_state"]["runs"], 1);
    assert_eq!(session["runs"].as_array().unwrap().len(), 1);
    let list: Value = get_json(&server.at("/v1/sessions?workflow_id=Writer&limit=10")).await;
    assert_eq!(list["sessions"][0]["session_id"], "s-wait");

    let deleted = call("DELETE", &server.at("/v1/sessions/s-wait")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = call("GET", &server.at("/v1/sessions/s-wait")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(gone).await, "not_found");
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"]["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_busy_session_is_409_until_its_run_ends_and_cancel_ends_a_run_cancelled() {
    let server = TestServer::start().await;
    let gate = Gate::new();
    server
        .llm
        .push(Reply::text(TEXT).hold_after(2, gate.clone()));
    let run_id = start_background(&server, Some("s-busy")).await;
    within(gate.reached()).await;

    let second = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "again"}, "session_id": "s-busy"}),
    )
    .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(second).await, "session_busy");
    let delete = call("DELETE", &server.at("/v1/sessions/s-busy")).await;
    assert_eq!(delete.status(), StatusCode::CONFLICT);

    let stream = open_events(&server, &run_id, None, false).await;
    let cancel = call("POST", &server.at(&format!("/v1/runs/{run_id}/cancel"))).await;
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);
    let seen = within(SseReader::new(stream).rest()).await;
    let last = seen.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("RunCancelled"));
    assert_eq!(last.id, None);

    let run: Value = get_json(&server.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(run["run"]["status"], "cancelled");
    let again = call("POST", &server.at(&format!("/v1/runs/{run_id}/cancel"))).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let resume = call("POST", &server.at(&format!("/v1/runs/{run_id}/resume"))).await;
    assert_eq!(resume.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(resume).await, "not_resumable");
    let resume_unknown = call("POST", &server.at("/v1/runs/no-such-run/resume")).await;
    assert_eq!(resume_unknown.status(), StatusCode::NOT_FOUND);
    let cont = call("POST", &server.at(&format!("/v1/runs/{run_id}/continue"))).await;
    assert_eq!(cont.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(cont).await, "not_paused");

    // The session is free again.
    server.llm.push(Reply::text(TEXT));
    let third = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "again"}, "session_id": "s-busy", "mode": "wait"}),
    )
    .await;
    assert_eq!(third.status(), StatusCode::OK);
}

/// A server on `storage` that interrupts its runs as soon as it is stopped, with a background
/// run in `session` whose model call is held after three deltas.
async fn held_run_without_grace(
    storage: &weft::StorageRef,
    session: &str,
) -> (TestServer, Gate, String) {
    let server = TestServer::start_on(storage.clone(), |server| {
        server.shutdown_grace(std::time::Duration::ZERO)
    })
    .await;
    let gate = Gate::new();
    server
        .llm
        .push(Reply::text(TEXT).hold_after(3, gate.clone()));
    let run_id = start_background(&server, Some(session)).await;
    (server, gate, run_id)
}

#[tokio::test]
async fn a_shutdown_interrupts_runs_in_flight_and_the_next_server_resumes_them() {
    let storage: weft::StorageRef = std::sync::Arc::new(weft::MemoryStorage::new());
    let (server, gate, run_id) = held_run_without_grace(&storage, "s-restart").await;
    let mut reader = SseReader::new(open_events(&server, &run_id, None, false).await);
    let mut seen = within(reader.until(|event| event.event.as_deref() == Some("RunContent"))).await;
    within(server.stop()).await.unwrap();
    seen.extend(within(reader.rest()).await);
    let record = storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Interrupted);

    // A server that does not resume at startup: resume over HTTP.
    let later =
        TestServer::start_on(storage.clone(), |server| server.resume_interrupted(false)).await;
    later.llm.push(Reply::text(TEXT));
    let last = seen
        .last()
        .unwrap()
        .id
        .clone()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let resumed = call("POST", &later.at(&format!("/v1/runs/{run_id}/resume"))).await;
    assert_eq!(resumed.status(), StatusCode::ACCEPTED);
    let rest =
        within(SseReader::new(open_events(&later, &run_id, Some(last), true).await).rest()).await;
    seen.extend(rest);
    assert_eq!(answer_of(&seen), TEXT);
    let ids: Vec<u64> = seen
        .iter()
        .map(|event| event.id.clone().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "no seq twice: {ids:?}"
    );
    let record = storage.read_run(&run_id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.content, TEXT);
    drop(gate);
}

#[tokio::test]
async fn a_server_resumes_interrupted_runs_when_it_starts() {
    // On sled: the interrupted record must reach its index of interrupted runs.
    let dir = std::env::temp_dir().join(format!("weft-server-startup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let storage: weft::StorageRef = std::sync::Arc::new(weft::SledStorage::open(&dir).unwrap());
    let (server, gate, run_id) = held_run_without_grace(&storage, "s-startup").await;
    within(gate.reached()).await;
    within(server.stop()).await.unwrap();

    // The run resumed at startup asks the new fake LLM at once: its reply is queued first.
    let later =
        TestServer::start_scripted(storage.clone(), vec![Reply::text(TEXT)], |server| server).await;
    let all = within(SseReader::new(open_events(&later, &run_id, None, false).await).rest()).await;
    assert_eq!(answer_of(&all), TEXT);
    assert_eq!(
        storage.read_run(&run_id).await.unwrap().unwrap().status,
        RunStatus::Completed
    );
    drop(later);
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn idle_streams_get_ping_comments() {
    let server =
        TestServer::start_with(|server| server.keep_alive(std::time::Duration::from_millis(20)))
            .await;
    let gate = Gate::new();
    server
        .llm
        .push(Reply::text(TEXT).hold_after(1, gate.clone()));
    let run_id = start_background(&server, None).await;
    let mut reader = SseReader::new(open_events(&server, &run_id, None, false).await);
    // Read until a ping has come while the model call is held (a condition, not a clock).
    let mut seen = Vec::new();
    assert!(within(reader.until_comment(&mut seen)).await);
    assert!(
        reader
            .comments
            .iter()
            .all(|comment| comment.trim() == "ping"),
        "{:?}",
        reader.comments
    );
    gate.open();
    seen.extend(within(reader.rest()).await);
    assert_eq!(
        seen.last().unwrap().event.as_deref(),
        Some("WorkflowCompleted")
    );
    assert_eq!(answer_of(&seen), TEXT);
}

#[tokio::test]
async fn api_keys_guard_every_v1_route_but_not_health_or_the_page() {
    let server = TestServer::start_with(|server| server.api_keys(["k-alpha", "k-beta"])).await;
    for (method, path) in [
        ("GET", "/v1/workflows"),
        ("GET", "/v1/workflows/Writer"),
        ("POST", "/v1/workflows/Writer/runs"),
        ("GET", "/v1/runs/r1"),
        ("GET", "/v1/runs/r1/events"),
        ("POST", "/v1/runs/r1/cancel"),
        ("POST", "/v1/runs/r1/resume"),
        ("POST", "/v1/runs/r1/continue"),
        ("GET", "/v1/sessions"),
        ("GET", "/v1/sessions/s1"),
        ("DELETE", "/v1/sessions/s1"),
        ("GET", "/v1/nothing-here"),
    ] {
        for key in [None, Some("k-wrong"), Some("k-alph"), Some("")] {
            let mut request = client().request(method.parse().unwrap(), server.at(path));
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {key:?}"
            );
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let text = response.text().await.unwrap();
            assert!(
                !text.contains("k-alpha") && !text.contains("k-beta"),
                "{text}"
            );
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    for key in ["k-alpha", "k-beta"] {
        let ok = client()
            .get(server.at("/v1/workflows"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    assert_eq!(
        call("GET", &server.at("/health")).await.status(),
        StatusCode::OK
    );
    assert_eq!(call("GET", &server.at("/")).await.status(), StatusCode::OK);
}

/// Every bad request this test sends, and what it must get.
/// A bad request: method, path, body, headers, and the status and error code it must get.
type BadRequest = (
    &'static str,
    String,
    Option<String>,
    Vec<(&'static str, &'static str)>,
    u16,
    &'static str,
);

fn bad_requests() -> Vec<BadRequest> {
    let runs = "/v1/workflows/Writer/runs".to_string();
    let big = format!("{{\"input\": {{\"topic\": \"{}\"}}}}", "x".repeat(70_000));
    vec![
        (
            "POST",
            runs.clone(),
            Some("{\"input\": ".into()),
            vec![],
            400,
            "invalid_json",
        ),
        (
            "POST",
            runs.clone(),
            Some("not json at all".into()),
            vec![],
            400,
            "invalid_json",
        ),
        (
            "POST",
            runs.clone(),
            Some(String::new()),
            vec![],
            400,
            "invalid_json",
        ),
        (
            "POST",
            runs.clone(),
            Some("[1, 2]".into()),
            vec![],
            422,
            "invalid_request",
        ),
        (
            "POST",
            runs.clone(),
            Some("{}".into()),
            vec![],
            422,
            "invalid_request",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": 5}}".into()),
            vec![],
            422,
            "invalid_input",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"words\": 5}}".into()),
            vec![],
            422,
            "invalid_input",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": \"a\", \"words\": -1}}".into()),
            vec![],
            422,
            "invalid_input",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": \"just a string\"}".into()),
            vec![],
            422,
            "invalid_input",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": \"a\"}, \"mode\": \"later\"}".into()),
            vec![],
            422,
            "invalid_request",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": \"a\"}, \"extra\": 1}".into()),
            vec![],
            422,
            "invalid_request",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": \"a\"}, \"session_id\": \"../etc/passwd\"}".into()),
            vec![],
            400,
            "invalid_id",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": \"a\"}, \"session_id\": \"a\\u0000b\"}".into()),
            vec![],
            400,
            "invalid_id",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": \"a\"}, \"session_id\": 7}".into()),
            vec![],
            422,
            "invalid_request",
        ),
        (
            "POST",
            runs.clone(),
            Some("{\"input\": {\"topic\": \"a\"}, \"user_id\": \"a b\"}".into()),
            vec![],
            400,
            "invalid_id",
        ),
        (
            "POST",
            runs.clone(),
            Some(big),
            vec![],
            413,
            "body_too_large",
        ),
        (
            "POST",
            "/v1/workflows/Nope/runs".into(),
            Some("{\"input\": {\"topic\": \"a\"}}".into()),
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/workflows/Nope".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/runs/no-such-run".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/runs/no-such-run/events".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "POST",
            "/v1/runs/no-such-run/cancel".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "POST",
            "/v1/runs/no-such-run/continue".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/sessions/no-such-session".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "DELETE",
            "/v1/sessions/no-such-session".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/runs/..%2F..%2Fetc".into(),
            None,
            vec![],
            400,
            "invalid_id",
        ),
        (
            "GET",
            "/v1/runs/a%00b/events".into(),
            None,
            vec![],
            400,
            "invalid_id",
        ),
        (
            "GET",
            "/v1/runs/a%0Ab".into(),
            None,
            vec![],
            400,
            "invalid_id",
        ),
        (
            "GET",
            "/v1/sessions/..%2Fx".into(),
            None,
            vec![],
            400,
            "invalid_id",
        ),
        (
            "DELETE",
            "/v1/sessions/s%1Fx".into(),
            None,
            vec![],
            400,
            "invalid_id",
        ),
        (
            "POST",
            "/v1/runs/%2E%2E%2Fx/resume".into(),
            None,
            vec![],
            400,
            "invalid_id",
        ),
        (
            "GET",
            "/v1/runs/known/events".into(),
            None,
            vec![("last-event-id", "abc")],
            400,
            "invalid_cursor",
        ),
        (
            "GET",
            "/v1/runs/known/events".into(),
            None,
            vec![("last-event-id", "-1")],
            400,
            "invalid_cursor",
        ),
        (
            "GET",
            "/v1/runs/known/events?after=x".into(),
            None,
            vec![],
            400,
            "invalid_cursor",
        ),
        (
            "GET",
            "/v1/runs/known/events?after=99999999999999999999999".into(),
            None,
            vec![],
            400,
            "invalid_cursor",
        ),
        (
            "GET",
            "/v1/sessions?limit=many".into(),
            None,
            vec![],
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/v1/sessions?offset=-3".into(),
            None,
            vec![],
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/v1/sessions?workflow_id=Nope".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/v1/sessions?user_id=..%2F".into(),
            None,
            vec![],
            400,
            "invalid_id",
        ),
        (
            "GET",
            "/v1/no-such-route".into(),
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "PUT",
            "/v1/workflows".into(),
            None,
            vec![],
            405,
            "method_not_allowed",
        ),
    ]
}

#[tokio::test]
async fn bad_requests_get_a_4xx_json_error_and_change_nothing_stored() {
    let server = TestServer::start_with(|server| server.body_limit(64 * 1024)).await;
    server.llm.push(Reply::text(TEXT));
    // One real run, whose id the cursor cases use.
    let response = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "looms"}, "mode": "wait", "session_id": "s-kept"}),
    )
    .await;
    let run: Value = response.json().await.unwrap();
    let run_id = run["run"]["run_id"].as_str().unwrap().to_string();
    let before = snapshot(&server).await;

    let cases = bad_requests();
    for (method, path, body, headers, status, code) in &cases {
        let path = path.replace("/known/", &format!("/{run_id}/"));
        let mut request = client().request(method.parse().unwrap(), server.at(&path));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(
            (got, text.is_empty()),
            (*status, false),
            "{method} {path}: {text}"
        );
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        assert_eq!(json["error"]["code"], *code, "{method} {path}: {text}");
        assert!(
            json["error"]["message"].as_str().unwrap().len() > 10,
            "{text}"
        );
        if *code == "invalid_input" {
            assert!(
                json["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("`input"),
                "names the field: {text}"
            );
        }
    }
    assert!(cases.len() >= 40);
    assert_eq!(snapshot(&server).await, before, "nothing stored changed");
    assert_eq!(
        server.llm.request_count(),
        1,
        "no bad request reached a model"
    );
}

/// Everything the store holds that a request could change: sessions and their runs.
async fn snapshot(server: &TestServer) -> Vec<(weft::WorkflowSession, Vec<weft::RunRecord>)> {
    let mut out = Vec::new();
    for session in server
        .storage
        .list_sessions(SessionFilter::default())
        .await
        .unwrap()
    {
        let runs = server.storage.read_runs(&session.session_id).await.unwrap();
        out.push((session, runs));
    }
    out
}

#[tokio::test]
async fn cors_answers_only_when_configured() {
    let preflight = |server: &TestServer| {
        client()
            .request(reqwest::Method::OPTIONS, server.at("/v1/workflows"))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
            .send()
    };
    let closed = TestServer::start().await;
    let response = preflight(&closed).await.unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let simple = client()
        .get(closed.at("/v1/workflows"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(simple
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let open = TestServer::start_with(|server| {
        server.cors(
            weft::serve::cors::CorsLayer::new()
                .allow_origin(["https://app.example".parse().unwrap()])
                .allow_methods(weft::serve::cors::Any)
                .allow_headers(weft::serve::cors::Any),
        )
    })
    .await;
    let response = preflight(&open).await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test]
async fn a_client_may_start_its_next_run_as_soon_as_the_last_one_answered() {
    let server = TestServer::start().await;
    for turn in 0..20 {
        server.llm.push(Reply::text(TEXT));
        let response = post_json(
            &server.at("/v1/workflows/Writer/runs"),
            &json!({"input": {"topic": format!("turn {turn}")}, "mode": "wait", "session_id": "s-turns"}),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "turn {turn}: {}",
            response.text().await.unwrap()
        );
    }
    let session = get_json(&server.at("/v1/sessions/s-turns")).await;
    assert_eq!(session["session"]["session_state"]["runs"], 20);
}

#[tokio::test]
async fn a_session_of_another_workflow_is_refused_and_left_alone() {
    let server = TestServer::start().await;
    let other = weft::WorkflowSession {
        session_id: "s-other".into(),
        workflow_id: "OtherWorkflow".into(),
        workflow_name: "OtherWorkflow".into(),
        session_name: None,
        user_id: None,
        session_state: json!({"kept": true}),
        version: 0,
        created_at: 1,
        updated_at: 1,
    };
    let stored = server.storage.upsert_session(other).await.unwrap();
    let response = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "looms"}, "session_id": "s-other"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(response).await, "session_of_another_workflow");
    assert_eq!(
        server.storage.read_session("s-other").await.unwrap(),
        Some(stored)
    );
    assert_eq!(server.llm.request_count(), 0);
}

#[tokio::test]
async fn a_run_that_fails_before_it_begins_ends_its_stream_with_a_run_error() {
    let server = TestServer::start().await;
    // A session of this workflow whose stored state is not a map: the run cannot begin.
    let broken = weft::WorkflowSession {
        session_id: "s-broken".into(),
        workflow_id: "Writer".into(),
        workflow_name: "Writer".into(),
        session_name: None,
        user_id: None,
        session_state: json!("not a map"),
        version: 0,
        created_at: 1,
        updated_at: 1,
    };
    server.storage.upsert_session(broken).await.unwrap();
    let response = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "looms"}, "session_id": "s-broken"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = within(SseReader::new(response).rest()).await;
    let last = events.last().expect("an event that says why");
    assert_eq!(last.event.as_deref(), Some("RunError"), "{events:?}");
    assert!(!last.json()["content"].as_str().unwrap().is_empty());

    let waited = post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "looms"}, "session_id": "s-broken", "mode": "wait"}),
    )
    .await;
    let status = waited.status();
    let body: Value = waited.json().await.unwrap();
    assert!(
        status == StatusCode::OK && body["run"]["status"] == "failed"
            || status == StatusCode::INTERNAL_SERVER_ERROR && body["error"]["message"].is_string(),
        "{status}: {body}"
    );
    assert_eq!(server.llm.request_count(), 0);
}
