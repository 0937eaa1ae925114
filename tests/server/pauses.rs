//! Pauses over HTTP: the serve example's `ApprovalWorkflow` (draft → approve → send) as a
//! child process on a sled store. The run's stream ends with a `RunPaused` event carrying the
//! question; `POST /v1/runs/{id}/continue` refuses an answer that does not fit (`422`) and a
//! run that is not paused (`409`); the pause survives a SIGKILL of the server, and the
//! restarted server continues the run without asking the model for the draft again.

use reqwest::StatusCode;
use serde_json::{json, Value};
use weft_testkit::{FakeLlm, Reply};

use crate::crash::Served;
use crate::support::{get_json, post_json, within, SseEvent, SseReader};

/// The events of a stream until it ends.
async fn all_events(mut reader: SseReader) -> Vec<SseEvent> {
    within(reader.rest()).await
}

fn kinds(events: &[SseEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| event.event.clone())
        .collect()
}

#[tokio::test]
async fn a_paused_run_survives_a_server_kill_and_is_continued_over_http() {
    let dir = std::env::temp_dir().join(format!("weft-serve-pause-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("store");
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::text("Dear Ana, the launch is on Friday."));

    let first = Served::start(&db, &llm).await;
    let request =
        json!({"input": {"to": "ana@example.com", "topic": "the launch"}, "session_id": "mail"});
    let (run_id, reader) = first.stream_run("ApprovalWorkflow", request).await;
    let events = all_events(reader).await;
    assert_eq!(
        kinds(&events).last().map(String::as_str),
        Some("RunPaused"),
        "{:?}",
        kinds(&events)
    );
    let paused = events.last().unwrap().json();
    assert_eq!(paused["pause"]["name"], json!("approve_send"));
    assert_eq!(
        paused["pause"]["question"],
        json!({"to": "ana@example.com", "draft": "Dear Ana, the launch is on Friday."})
    );
    assert_eq!(
        paused["pause"]["answer_schema"]["properties"]["approve"]["type"],
        json!("boolean")
    );
    let run = get_json(&first.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(run["run"]["status"], json!("paused"));
    assert_eq!(run["run"]["pause"], paused["pause"]);

    // The session is free while the run waits: another run of it may start (and pause too).
    llm.push(Reply::text("Another draft."));
    let (other, reader) = first
        .stream_run(
            "ApprovalWorkflow",
            json!({"input": {"to": "bo@example.com", "topic": "lunch"}, "session_id": "mail"}),
        )
        .await;
    assert_eq!(
        kinds(&all_events(reader).await).last().map(String::as_str),
        Some("RunPaused")
    );

    let continue_url =
        |served: &Served, run_id: &str| served.at(&format!("/v1/runs/{run_id}/continue"));
    let response = post_json(
        &continue_url(&first, &run_id),
        &json!({"answer": {"approve": "sure"}}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], json!("invalid_answer"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/approve"),
        "{body}"
    );
    let response = post_json(&continue_url(&first, &run_id), &json!({"no_answer": 1})).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a body without `answer`"
    );
    let run = get_json(&first.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(run["run"]["status"], json!("paused"), "still paused");

    // kill -9: the pause is in the store already.
    first.kill();
    let second = Served::start(&db, &llm).await;
    let run = get_json(&second.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(
        run["run"]["status"],
        json!("paused"),
        "not resumed by the restart"
    );

    let response = post_json(
        &continue_url(&second, &run_id),
        &json!({"answer": {"approve": true}}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-weft-run-id"], run_id.as_str());
    let events = all_events(SseReader::new(response)).await;
    let items: Vec<Value> = events.iter().map(SseEvent::json).collect();
    assert_eq!(
        kinds(&events),
        ["StepCompleted", "WorkflowCompleted"],
        "only what came after the pause: {items:?}"
    );
    assert!(
        items[0]["content"]
            .as_str()
            .unwrap()
            .starts_with("Sent to ana@example.com"),
        "{items:?}"
    );
    assert_eq!(
        llm.request_count(),
        2,
        "one draft per run: the continued run did not ask for its draft again"
    );
    let run = get_json(&second.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(run["run"]["status"], json!("completed"));

    let response = post_json(
        &continue_url(&second, &run_id),
        &json!({"answer": {"approve": true}}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], json!("not_paused"));

    // The other paused run: rejected, in `wait` mode.
    let response = post_json(
        &continue_url(&second, &other),
        &json!({"answer": {"approve": false}, "mode": "wait"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["run"]["status"], json!("completed"));
    let session = get_json(&second.at("/v1/sessions/mail")).await;
    assert_eq!(
        session["session"]["session_state"],
        json!({"sent": 1, "rejected": 1})
    );

    // The whole log, from the start, across the pause and the restart.
    let response = crate::support::client()
        .get(second.at(&format!("/v1/runs/{run_id}/events")))
        .send()
        .await
        .unwrap();
    let all = kinds(&all_events(SseReader::new(response)).await);
    assert_eq!(all.first().map(String::as_str), Some("WorkflowStarted"));
    assert_eq!(all.iter().filter(|kind| *kind == "RunPaused").count(), 1);
    assert_eq!(all.last().map(String::as_str), Some("WorkflowCompleted"));
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
