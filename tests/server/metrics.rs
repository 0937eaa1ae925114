//! `GET /metrics`: the Prometheus text format, behind the API keys, and what runs record.
//!
//! The metrics registry is one per process, shared by every test of this binary: each test
//! looks at label sets only it records (a model or workflow name of its own), or asserts
//! with `>=` on shared ones.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use weft::telemetry::metrics::{self, Operation};
use weft_testkit::{FakeLlm, Reply};

use crate::support::{client, post_json, within, TestServer, Writer};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The values of the samples named `name` (`foo_bucket`, `foo_sum`, ...) whose labels include
/// every `key="value"` in `labels`.
fn samples(text: &str, name: &str, labels: &[&str]) -> Vec<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((series_name, rest)) => (series_name, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            // (No label value of these tests has a comma.)
            let labels_match = labels
                .iter()
                .all(|label| series_labels.split(',').any(|pair| pair == *label));
            (series_name == name && labels_match).then(|| value.parse::<f64>().unwrap())
        })
        .collect()
}

/// The one sample named `name` with `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    let found = samples(text, name, labels);
    assert_eq!(found.len(), 1, "one {name} with {labels:?} in:\n{text}");
    found[0]
}

async fn scrape(server: &TestServer, key: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.at("/metrics"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

async fn scrape_text(server: &TestServer, key: Option<&str>) -> String {
    let response = scrape(server, key).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_are_served_in_the_prometheus_text_format() {
    let server = TestServer::start().await;
    let model = "metrics-direct-model";
    metrics::record_operation(&Operation {
        operation: "chat",
        provider: "openai",
        request_model: model,
        response_model: Some("metrics-direct-model-2025"),
        duration: Duration::from_millis(300),
        input_tokens: Some(100),
        output_tokens: Some(7),
        error_type: None,
    });
    metrics::record_operation(&Operation {
        operation: "execute_tool",
        provider: "openai",
        request_model: model,
        duration: Duration::from_secs(2),
        error_type: Some("ToolFailed"),
        ..Default::default()
    });
    metrics::record_run("metrics-direct-workflow", "completed");
    metrics::record_run("metrics-direct-workflow", "completed");
    metrics::record_run("metrics-direct-workflow", "failed \"badly\"\n");

    let text = scrape_text(&server, None).await;
    for line in [
        "# TYPE gen_ai_client_operation_duration_seconds histogram",
        "# TYPE gen_ai_client_token_usage histogram",
        "# TYPE weft_workflow_runs_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }

    let duration = "gen_ai_client_operation_duration_seconds";
    let chat = [
        "gen_ai_operation_name=\"chat\"",
        "gen_ai_provider_name=\"openai\"",
        "gen_ai_request_model=\"metrics-direct-model\"",
        "gen_ai_response_model=\"metrics-direct-model-2025\"",
    ];
    let bucket = |le: &str| {
        let le = format!("le=\"{le}\"");
        let mut labels = chat.to_vec();
        labels.push(&le);
        sample(&text, &format!("{duration}_bucket"), &labels)
    };
    // Cumulative buckets: 0.3 s is in `le="0.32"` and every bucket above it.
    assert_eq!(bucket("0.16"), 0.0);
    assert_eq!(bucket("0.32"), 1.0);
    assert_eq!(bucket("81.92"), 1.0);
    assert_eq!(bucket("+Inf"), 1.0);
    assert_eq!(sample(&text, &format!("{duration}_count"), &chat), 1.0);
    assert!((sample(&text, &format!("{duration}_sum"), &chat) - 0.3).abs() < 1e-9);

    let tool = [
        "gen_ai_operation_name=\"execute_tool\"",
        "gen_ai_request_model=\"metrics-direct-model\"",
        "error_type=\"ToolFailed\"",
    ];
    assert_eq!(sample(&text, &format!("{duration}_count"), &tool), 1.0);

    let tokens = "gen_ai_client_token_usage";
    for (kind, count) in [("input", 100.0), ("output", 7.0)] {
        let token_type = format!("gen_ai_token_type=\"{kind}\"");
        let mut labels = chat.to_vec();
        labels.push(&token_type);
        assert_eq!(sample(&text, &format!("{tokens}_sum"), &labels), count);
        assert_eq!(sample(&text, &format!("{tokens}_count"), &labels), 1.0);
    }
    // No tokens for the tool call.
    assert!(samples(&text, &format!("{tokens}_count"), &tool[..2]).is_empty());

    let runs = "weft_workflow_runs_total";
    let workflow = "weft_workflow_name=\"metrics-direct-workflow\"";
    assert_eq!(
        sample(&text, runs, &[workflow, "weft_run_status=\"completed\""]),
        2.0
    );
    // Label values are escaped.
    assert_eq!(
        sample(
            &text,
            runs,
            &[workflow, "weft_run_status=\"failed \\\"badly\\\"\\n\""]
        ),
        1.0
    );
}

#[tokio::test]
async fn metrics_need_the_api_key_when_keys_are_set() {
    let server = TestServer::start_with(|server| server.api_keys(["k-metrics"])).await;
    for key in [None, Some("k-wrong"), Some("")] {
        let response = scrape(&server, key).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "with {key:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let text = scrape_text(&server, Some("k-metrics")).await;
    assert!(text.contains("# TYPE weft_workflow_runs_total counter"));
    // `/health` stays open.
    let health = client().get(server.at("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_open_without_keys_and_answer_only_get() {
    let server = TestServer::start().await;
    assert_eq!(scrape(&server, None).await.status(), StatusCode::OK);
    let head = client().head(server.at("/metrics")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let post = client().post(server.at("/metrics")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_run_records_its_model_call_and_its_end() {
    // A `Writer` on a model name of its own, so that its model-call series are this test's.
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::text("Looms weave threads into cloth."));
    let llm_url = llm.openai_base_url();
    let server = TestServer::start_with(move |server| {
        server.workflow(move || {
            let agent = weft::Agent::builder()
                .name("writer")
                .model(
                    weft::OpenAIChat::new("metrics-run-model")
                        .base_url(&llm_url)
                        .api_key("sk-test"),
                )
                .retries(0)
                .build()
                .unwrap();
            Writer::builder().writer(agent)
        })
    })
    .await;
    let before = scrape_text(&server, None).await;
    let runs = "weft_workflow_runs_total";
    let completed = [
        "weft_workflow_name=\"Writer\"",
        "weft_run_status=\"completed\"",
    ];
    let completed_before = samples(&before, runs, &completed).first().copied();

    let response = within(post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &json!({"input": {"topic": "looms"}, "mode": "wait"}),
    ))
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["run"]["status"], "completed");

    let text = scrape_text(&server, None).await;
    // Other tests of this binary run `Writer` too: at least this run more than before.
    let completed_now = sample(&text, runs, &completed);
    assert!(
        completed_now >= completed_before.unwrap_or(0.0) + 1.0,
        "{completed_before:?} -> {completed_now}:\n{text}"
    );

    let chat = [
        "gen_ai_operation_name=\"chat\"",
        "gen_ai_provider_name=\"openai\"",
        "gen_ai_request_model=\"metrics-run-model\"",
    ];
    let durations = samples(
        &text,
        "gen_ai_client_operation_duration_seconds_count",
        &chat,
    );
    assert_eq!(
        durations.iter().sum::<f64>(),
        1.0,
        "one model call:\n{text}"
    );
    for kind in ["input", "output"] {
        let token_type = format!("gen_ai_token_type=\"{kind}\"");
        let mut labels = chat.to_vec();
        labels.push(&token_type);
        let counts = samples(&text, "gen_ai_client_token_usage_count", &labels);
        assert_eq!(counts.iter().sum::<f64>(), 1.0, "{kind} tokens:\n{text}");
        let sums = samples(&text, "gen_ai_client_token_usage_sum", &labels);
        assert!(sums.iter().sum::<f64>() > 0.0, "{kind} tokens:\n{text}");
    }
}
