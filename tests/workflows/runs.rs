//! What a run yields: ids on every item, the event sequence, collected results, JSON input.

use serde_json::json;
use weft::prelude::*;
use weft::RunStatus;
use weft_testkit::{FakeLlm, Reply};

use crate::drain::drain;
use crate::fixtures::*;

#[tokio::test]
async fn every_item_of_a_run_carries_one_run_id_and_session_id() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Qubits are both."));
    let mut wf = CacheWorkflow::builder()
        .session_id("s-ids")
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let (items, error) = drain(wf.run_stream("What is a qubit?".to_string())).await;
    assert!(error.is_none(), "{error:?}");
    let run_id = wf
        .run_id
        .clone()
        .expect("the run id is kept on the instance");
    for item in &items {
        assert_eq!(item.run_id, run_id, "{:?}", item.event);
        assert_eq!(item.session_id.as_deref(), Some("s-ids"));
        assert_eq!(item.workflow_id.as_deref(), Some("CacheWorkflow"));
    }
    let events: Vec<RunEvent> = items.iter().map(|i| i.event).collect();
    assert_eq!(events.first(), Some(&RunEvent::WorkflowStarted));
    assert_eq!(events.last(), Some(&RunEvent::WorkflowCompleted));
    assert!(events.contains(&RunEvent::RunStarted) && events.contains(&RunEvent::RunCompleted));
    let text: String = items.iter().map(|i| i.content_text()).collect();
    assert_eq!(
        text, "Qubits are both.",
        "content_text gives the answer exactly once"
    );
    let completed = items.last().unwrap();
    assert_eq!(completed.content.as_text(), "Qubits are both.");
    assert_eq!(completed.metrics.model_calls, 1);
    assert!(completed.metrics.output_tokens > 0 && completed.metrics.duration.is_some());

    let (second, _) = drain(wf.run_stream("Another?".to_string())).await;
    assert_ne!(second[0].run_id, run_id, "each run has its own id");
}

#[tokio::test]
async fn the_cache_answers_the_second_time_without_a_model_call() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Superposition."));
    let mut wf = CacheWorkflow::builder()
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let first = wf
        .run("Explain quantum computing".to_string())
        .await
        .unwrap();
    let second = wf
        .run("Explain quantum computing".to_string())
        .await
        .unwrap();
    assert_eq!(first.content_text(), "Superposition.");
    assert_eq!(second.content_text(), "Superposition.");
    assert_eq!(
        server.request_count(),
        1,
        "the second answer came from session state"
    );
    assert_eq!(second.metrics.model_calls, 0);
    assert_eq!(
        wf.session_state
            .get::<String>("Explain quantum computing")
            .as_deref(),
        Some("Superposition.")
    );
}

#[tokio::test]
async fn bad_json_input_names_the_field_and_runs_nothing() {
    let server = FakeLlm::start().await.unwrap();
    let mut wf = ValidationWorkflow::builder()
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let (items, error) = drain(wf.run_json(json!({"name": "Ada", "query": "hi"}))).await;
    let error = error.expect("missing email must fail");
    match &error {
        weft::Error::InvalidInput { path, message } => {
            assert!(message.contains("email"), "{message}");
            assert_eq!(path, "email", "a missing field is named");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].event, RunEvent::RunError);
    assert!(items[0].content.as_text().contains("email"));

    let (_, error) = drain(wf.run_json(json!({"name": "Ada", "email": 7, "query": "hi"}))).await;
    match error {
        Some(weft::Error::InvalidInput { path, .. }) => assert_eq!(path, "email"),
        other => panic!("expected InvalidInput at email, got {other:?}"),
    }
    assert_eq!(server.request_count(), 0, "no model call for bad input");
    let runs = wf.storage.read_runs(&wf.session_id).await.unwrap();
    assert!(runs.is_empty(), "bad input starts no run");
}

#[tokio::test]
async fn good_json_input_runs_and_is_recorded() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Hello Ada."));
    let mut wf = ValidationWorkflow::builder()
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let input = json!({"name": "Ada", "email": "ada@example.com", "query": "hi"});
    let (items, error) = drain(wf.run_json(input.clone())).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.last().unwrap().content.as_text(), "Hello Ada.");
    let requests = server.requests();
    let prompt = &requests[0].messages().last().unwrap()["content"];
    assert_eq!(prompt, "Ada asks: hi");
    let runs = wf.storage.read_runs(&wf.session_id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].input, input);
    assert_eq!(runs[0].status, RunStatus::Completed);
}

#[tokio::test]
async fn an_error_in_run_is_a_run_error_item_then_the_error() {
    let server = FakeLlm::start().await.unwrap();
    let mut wf = ValidationWorkflow::builder()
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let input = UserInput {
        name: "Ada".into(),
        email: "nope".into(),
        query: "hi".into(),
    };
    let (items, error) = drain(wf.run_stream(input)).await;
    assert!(
        matches!(error, Some(weft::Error::InvalidInput { .. })),
        "{error:?}"
    );
    assert_eq!(items.last().unwrap().event, RunEvent::RunError);
    let runs = wf.storage.read_runs(&wf.session_id).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert!(runs[0]
        .error
        .as_deref()
        .unwrap()
        .contains("not an email address"));
}

#[tokio::test]
async fn builder_defaults_and_plain_fields() {
    let a = CountingWorkflow::builder().build().unwrap();
    let b = CountingWorkflow::builder().build().unwrap();
    assert_ne!(
        a.session_id, b.session_id,
        "a new UUID session id per instance"
    );
    assert_eq!(a.session_id.len(), 36);
    assert_eq!(
        a.greeting, "",
        "plain fields with a Default fall back to it"
    );
    let c = CountingWorkflow::builder()
        .greeting("Hi".to_string())
        .user_id("u1")
        .build()
        .unwrap();
    assert_eq!(
        (c.greeting.as_str(), c.user_id.as_deref()),
        ("Hi", Some("u1"))
    );
    use weft::WorkflowDefinition;
    assert_eq!(CountingWorkflow::NAME, "counting");
    assert_eq!(
        CacheWorkflow::DESCRIPTION,
        Some("The seed's CacheWorkflow: answers from session state when it can.")
    );
}

#[tokio::test]
async fn a_plain_field_without_default_must_be_given_to_the_builder() {
    let err = NeedsEndpoint::builder().build().err().unwrap();
    assert!(
        matches!(&err, weft::Error::Config(message) if message.contains("`NeedsEndpoint::builder()` needs `.endpoint(..)`")),
        "{err}"
    );
    let mut wf = NeedsEndpoint::builder()
        .endpoint(Endpoint("https://example.invalid".into()))
        .build()
        .unwrap();
    let answer = wf.run("docs".to_string()).await.unwrap();
    assert_eq!(answer.content_text(), "https://example.invalid/docs");
}
