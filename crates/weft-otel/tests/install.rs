//! `weft_otel::init()` from the standard environment variables alone, as the global
//! subscriber; a second install is refused by name. Its own test binary: it sets the process
//! environment and the global subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(dead_code)] // shared with tests/export.rs, which uses all of it
mod collector;

use collector::Collector;
use weft_otel::Error;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_reads_the_standard_variables_and_installs_the_global_subscriber() {
    let collector = Collector::start().await;
    // Edition 2021: `set_var` is safe; this binary has this one test.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url);
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "Authorization=Basic%20cGs6c2s=,x-tenant=weft",
    );
    std::env::set_var("OTEL_SERVICE_NAME", "weft-otel-init-test");
    std::env::set_var("OTEL_METRICS_EXPORTER", "none");

    let guard = weft_otel::init().unwrap();
    assert!(
        guard.meter_provider().is_none(),
        "OTEL_METRICS_EXPORTER=none"
    );
    tracing::info_span!("invoke_agent", otel.name = "invoke_agent writer").in_scope(|| {});

    let again = weft_otel::init().unwrap_err();
    assert!(matches!(again, Error::SubscriberAlreadySet), "{again:?}");

    guard.shutdown().unwrap();
    let posts = collector.posts_to("/v1/traces");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].authorization.as_deref(), Some("Basic cGs6c2s="));
    assert_eq!(posts[0].headers["x-tenant"], "weft");
    assert!(posts[0].mentions("invoke_agent writer"));
    assert!(posts[0].mentions("weft-otel-init-test"));
    assert!(collector.posts_to("/v1/metrics").is_empty());
}
