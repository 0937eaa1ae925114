//! The real export path: spans and metrics POSTed over OTLP/HTTP (protobuf) to a fake
//! collector on 127.0.0.1 with the headers given, weft's registry bridged to OpenTelemetry
//! instruments, and export failures reported without leaking a header's value. Each test sets
//! its layer with `set_default`: nothing global.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod collector;

use std::time::Duration;

use axum::http::StatusCode;
use collector::Collector;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use tracing_subscriber::layer::SubscriberExt;
use weft_otel::{Error, Otel};
use weft_runtime::telemetry::metrics::{self, Operation};

/// A span as weft makes them: the OpenTelemetry name in `otel.name`.
fn workflow_span(workflow: &str) {
    let span = tracing::info_span!(
        "invoke_workflow",
        otel.name = %format_args!("invoke_workflow {workflow}"),
        otel.kind = "internal",
        weft.workflow.name = %workflow,
    );
    let _entered = span.enter();
    tracing::info_span!("chat", otel.name = "chat gpt-4o", otel.kind = "client").in_scope(|| {});
}

// Blocking calls (`flush`) on the test's own thread: the collector runs on the workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_http_collector_with_the_headers_given() {
    let collector = Collector::start().await;
    let (layer, guard) = Otel::builder()
        .endpoint(format!("{}/api/public/otel/", collector.url))
        .basic_auth("pk-lf-public", "sk-lf-secret")
        .header("x-langfuse-ingestion-version", "4")
        .service_name("weft-otel-export-test")
        .metrics(false)
        .layer()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || workflow_span("Exported"));
    guard.flush().unwrap();

    let posts = collector.posts_to("/api/public/otel/v1/traces");
    assert_eq!(posts.len(), 1, "one batch: {posts:?}");
    let post = &posts[0];
    assert_eq!(post.content_type.as_deref(), Some("application/x-protobuf"));
    // base64("pk-lf-public:sk-lf-secret")
    assert_eq!(
        post.authorization.as_deref(),
        Some("Basic cGstbGYtcHVibGljOnNrLWxmLXNlY3JldA==")
    );
    assert_eq!(post.headers["x-langfuse-ingestion-version"], "4");
    assert!(post.mentions("invoke_workflow Exported"));
    assert!(post.mentions("chat gpt-4o"));
    assert!(post.mentions("weft-otel-export-test"), "the service name");
    assert!(post.mentions("weft.workflow.name"));
    assert!(collector.posts_to("/api/public/otel/v1/metrics").is_empty());
    guard.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weft_metrics_reach_the_collector_on_flush() {
    let collector = Collector::start().await;
    let (_layer, guard) = Otel::builder()
        .endpoint(&collector.url)
        .traces(false)
        .metric_interval(Duration::from_secs(3600))
        .layer::<tracing_subscriber::Registry>()
        .unwrap();
    metrics::record_run("ExportedMetrics", "completed");
    guard.flush().unwrap();
    let posts = collector.posts_to("/v1/metrics");
    assert!(!posts.is_empty());
    let post = posts.last().unwrap();
    assert_eq!(post.content_type.as_deref(), Some("application/x-protobuf"));
    assert!(post.mentions("weft.workflow.runs"));
    assert!(post.mentions("ExportedMetrics"));
    assert!(collector.posts_to("/v1/traces").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_export_fails_the_flush_without_naming_the_secret() {
    let collector = Collector::answering(StatusCode::UNAUTHORIZED).await;
    let (layer, guard) = Otel::builder()
        .endpoint(&collector.url)
        .header("Authorization", "Bearer very-secret-token")
        .metrics(false)
        .layer()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || workflow_span("Refused"));
    let err = guard.flush().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Export {
                signal: "traces",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(!text.contains("very-secret-token"), "{text}");
    assert_eq!(
        collector.posts_to("/v1/traces").len(),
        1,
        "401 is not retried"
    );
}

/// The values of the instrument `name` in `exporter`'s last export, by data point: its
/// attributes (sorted `key=value`), then what was recorded.
fn points(exporter: &InMemoryMetricExporter, name: &str) -> Vec<(Vec<String>, String)> {
    let exported = exporter.get_finished_metrics().unwrap();
    let last = exported.last().expect("an export");
    let mut out = Vec::new();
    for scope in last.scope_metrics() {
        assert_eq!(scope.scope().name(), "weft");
        for metric in scope.metrics().filter(|metric| metric.name() == name) {
            let attributes = |kvs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                let mut list: Vec<String> =
                    kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                list.sort();
                list
            };
            match metric.data() {
                AggregatedMetrics::F64(MetricData::Histogram(histogram)) => {
                    assert_eq!(metric.unit(), "s");
                    for point in histogram.data_points() {
                        let bounds: Vec<f64> = point.bounds().collect();
                        assert_eq!(bounds, metrics::DURATION_BUCKETS.to_vec());
                        out.push((
                            attributes(&mut point.attributes()),
                            format!("count={} sum={}", point.count(), point.sum()),
                        ));
                    }
                }
                AggregatedMetrics::U64(MetricData::Histogram(histogram)) => {
                    assert_eq!(metric.unit(), "{token}");
                    for point in histogram.data_points() {
                        let bounds: Vec<f64> = point.bounds().collect();
                        assert_eq!(bounds, metrics::TOKEN_BUCKETS.to_vec());
                        out.push((
                            attributes(&mut point.attributes()),
                            format!("count={} sum={}", point.count(), point.sum()),
                        ));
                    }
                }
                AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                    assert_eq!(metric.unit(), "{run}");
                    assert!(sum.is_monotonic());
                    for point in sum.data_points() {
                        out.push((
                            attributes(&mut point.attributes()),
                            point.value().to_string(),
                        ));
                    }
                }
                other => panic!("{name}: unexpected data {other:?}"),
            }
        }
    }
    out.sort();
    out
}

#[test]
fn weft_measurements_become_instruments_of_the_same_names_units_and_buckets() {
    let exporter = InMemoryMetricExporter::default();
    let (_layer, guard) = Otel::builder()
        .metric_exporter(exporter.clone())
        .traces(false)
        .metric_interval(Duration::from_secs(3600))
        .layer::<tracing_subscriber::Registry>()
        .unwrap();
    // Labels unique to this test: other tests of this binary record too.
    let model = "bridge-test-model";
    metrics::record_operation(&Operation {
        operation: "chat",
        provider: "openai",
        request_model: model,
        response_model: Some("bridge-test-model-1"),
        duration: Duration::from_millis(250),
        input_tokens: Some(12),
        output_tokens: Some(5),
        error_type: None,
    });
    metrics::record_operation(&Operation {
        operation: "chat",
        provider: "openai",
        request_model: model,
        duration: Duration::from_millis(500),
        error_type: Some("Timeout"),
        ..Operation::default()
    });
    metrics::record_run("BridgeTest", "completed");
    metrics::record_run("BridgeTest", "completed");
    metrics::record_run("BridgeTest", "failed");
    guard.flush().unwrap();

    let mine = |points: Vec<(Vec<String>, String)>, needle: &str| -> Vec<(Vec<String>, String)> {
        points
            .into_iter()
            .filter(|(attributes, _)| attributes.iter().any(|a| a.contains(needle)))
            .collect()
    };
    let chat = [
        "gen_ai.operation.name=chat".to_string(),
        "gen_ai.provider.name=openai".to_string(),
        format!("gen_ai.request.model={model}"),
    ];
    let with = |extra: &[&str]| {
        let mut list: Vec<String> = chat.to_vec();
        list.extend(extra.iter().map(|s| s.to_string()));
        list.sort();
        list
    };
    assert_eq!(
        mine(points(&exporter, "gen_ai.client.operation.duration"), model),
        vec![
            (with(&["error.type=Timeout"]), "count=1 sum=0.5".to_string()),
            (
                with(&["gen_ai.response.model=bridge-test-model-1"]),
                "count=1 sum=0.25".to_string()
            ),
        ]
    );
    assert_eq!(
        mine(points(&exporter, "gen_ai.client.token.usage"), model),
        vec![
            (
                with(&[
                    "gen_ai.response.model=bridge-test-model-1",
                    "gen_ai.token.type=input"
                ]),
                "count=1 sum=12".to_string()
            ),
            (
                with(&[
                    "gen_ai.response.model=bridge-test-model-1",
                    "gen_ai.token.type=output"
                ]),
                "count=1 sum=5".to_string()
            ),
        ]
    );
    assert_eq!(
        mine(points(&exporter, "weft.workflow.runs"), "BridgeTest"),
        vec![
            (
                vec![
                    "weft.run.status=completed".to_string(),
                    "weft.workflow.name=BridgeTest".to_string()
                ],
                "2".to_string()
            ),
            (
                vec![
                    "weft.run.status=failed".to_string(),
                    "weft.workflow.name=BridgeTest".to_string()
                ],
                "1".to_string()
            ),
        ]
    );

    // After the guard, weft's measurements no longer reach its instruments.
    guard.shutdown().unwrap();
    metrics::record_run("BridgeTest", "completed");
}

#[test]
fn a_custom_span_exporter_gets_weft_s_spans_and_traces_off_means_no_layer() {
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let (layer, guard) = Otel::builder()
        .span_exporter(exporter.clone())
        .metrics(false)
        .layer()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        workflow_span("InMemory");
        // Below the default `info` filter: not exported.
        tracing::debug_span!("noise").in_scope(|| {});
    });
    guard.flush().unwrap();
    let mut names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| span.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["chat gpt-4o", "invoke_workflow InMemory"]);

    let (layer, guard) = Otel::builder()
        .traces(false)
        .metrics(false)
        .layer()
        .unwrap();
    assert!(guard.tracer_provider().is_none() && guard.meter_provider().is_none());
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || workflow_span("Nowhere"));
    guard.shutdown().unwrap();
}
