//! # weft-otel
//!
//! weft's traces and metrics in any OpenTelemetry backend (Langfuse, Arize Phoenix, Jaeger,
//! Grafana, Honeycomb, an OpenTelemetry Collector, ...), over OTLP/HTTP with protobuf bodies.
//! Through the facade: feature `otel`, then `weft::otel`.
//!
//! ```no_run
//! # fn main() -> Result<(), weft_otel::Error> {
//! // Reads OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, ...
//! let _guard = weft_otel::init()?;
//! // ... run agents and workflows; every run is a trace. Dropping the guard flushes.
//! # Ok(()) }
//! ```
//!
//! `init` installs the process's global `tracing` subscriber with an OpenTelemetry layer,
//! exports spans in batches and metrics every 60 s (`OTEL_METRIC_EXPORT_INTERVAL`), and
//! returns an [`OtelGuard`]: keep it alive while the program runs; dropping it exports what
//! is pending and shuts the export down. No async runtime is needed: exports run on the
//! SDK's own threads, with a blocking HTTP client (rustls, `ring`, the webpki roots).
//!
//! ## What is exported
//! weft's spans follow OpenTelemetry's GenAI semantic conventions (the list, with every
//! attribute, is in `weft::telemetry`):
//!
//! ```text
//! invoke_workflow Research              weft.run.id, gen_ai.conversation.id (the session), weft.run.status
//! ├── resume_workflow Research          (a resumed run: reading its log and journal)
//! ├── step stamp                        weft.step.name, weft.journaled
//! └── invoke_agent writer               gen_ai.agent.name, gen_ai.usage.input_tokens/output_tokens
//!     ├── chat gpt-4o                   gen_ai.provider.name, gen_ai.request.model, gen_ai.response.model, tokens, finish reasons
//!     └── execute_tool lookup           gen_ai.tool.name, gen_ai.tool.call.id, error.type on an error
//! ```
//!
//! Prompts, answers, tool arguments and results are not recorded unless you opt in
//! (`weft::telemetry::capture_content(true)` or `WEFT_TRACE_CONTENT=1`); API keys never are.
//!
//! Metrics: `gen_ai.client.operation.duration` (histogram, `s`), `gen_ai.client.token.usage`
//! (histogram, `{token}`) and `weft.workflow.runs` (counter, `{run}`): every measurement of
//! weft's own registry (`weft::telemetry::metrics`) from the moment the export is set up,
//! with the same names, attributes and bucket boundaries.
//!
//! ## Environment variables
//! The standard ones; a builder setting wins over its variable. A bad value is an
//! [`Error::Config`] naming the variable (and never a header's value).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | `http://localhost:4318` | base URL; `/v1/traces` and `/v1/metrics` are appended |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._METRICS_ENDPOINT` | | a signal's full URL, used as is |
//! | `OTEL_EXPORTER_OTLP_HEADERS` (`..._TRACES_HEADERS`, `..._METRICS_HEADERS`) | | `key=value,key2=value2`, values percent-encoded |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT` (`..._TRACES_TIMEOUT`, `..._METRICS_TIMEOUT`) | `10000` | milliseconds per export |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` | the only protocol built in (no gRPC) |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | `unknown_service` | the resource |
//! | `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` | `otlp` | `none` turns a signal off |
//! | `OTEL_SDK_DISABLED` | `false` | `true`: export nothing |
//! | `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_BSP_*` | 60000, SDK defaults | metric interval, span batching |
//!
//! ## The builder
//! ```no_run
//! use std::time::Duration;
//! use weft_otel::Otel;
//!
//! # fn main() -> Result<(), weft_otel::Error> {
//! let _guard = Otel::builder()
//!     .endpoint("https://otel.example.com")
//!     .header("x-api-key", std::env::var("OTEL_API_KEY").unwrap_or_default())
//!     .service_name("research")
//!     .resource_attribute("deployment.environment.name", "staging")
//!     .timeout(Duration::from_secs(5))
//!     .stderr(true) // also log to stderr
//!     .install()?;
//! # Ok(()) }
//! ```
//!
//! Have a subscriber of your own? Take the layer instead ([`OtelBuilder::layer`], or
//! [`layer`] from the environment) and keep its guard:
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (otel, _guard) = weft_otel::layer()?;
//! tracing_subscriber::registry()
//!     .with(otel)
//!     .with(tracing_subscriber::fmt::layer())
//!     .try_init()?;
//! # Ok(()) }
//! ```
//!
//! ## Langfuse
//! Langfuse takes OTLP/HTTP traces at `/api/public/otel` (Langfuse Cloud EU:
//! `https://cloud.langfuse.com/api/public/otel`; US: `https://us.cloud.langfuse.com/api/public/otel`;
//! self-hosted: `{host}/api/public/otel`), with HTTP Basic auth: the public key as the user,
//! the secret key as the password. It takes no metrics.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let _guard = weft_otel::Otel::builder()
//!     .endpoint("https://cloud.langfuse.com/api/public/otel")
//!     .basic_auth(
//!         &std::env::var("LANGFUSE_PUBLIC_KEY")?,
//!         &std::env::var("LANGFUSE_SECRET_KEY")?,
//!     )
//!     // Langfuse's API reference asks direct OTLP exporters for this header (real-time
//!     // ingestion); older servers ignore it.
//!     .header("x-langfuse-ingestion-version", "4")
//!     .metrics(false)
//!     .service_name("research")
//!     .install()?;
//! # Ok(()) }
//! ```
//!
//! Or with the environment alone:
//!
//! ```sh
//! export OTEL_EXPORTER_OTLP_ENDPOINT=https://cloud.langfuse.com/api/public/otel
//! export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Basic%20$(printf %s "$LANGFUSE_PUBLIC_KEY:$LANGFUSE_SECRET_KEY" | base64 -w0)"
//! export OTEL_METRICS_EXPORTER=none
//! ```
//!
//! ## Arize Phoenix
//! A local Phoenix (`phoenix serve`, or its container) takes OTLP/HTTP traces at
//! `http://localhost:6006/v1/traces` (its gRPC port, 4317, is not used here); Phoenix Cloud
//! at your space's hostname, with its API key as a header.
//!
//! ```no_run
//! # fn main() -> Result<(), weft_otel::Error> {
//! let _guard = weft_otel::Otel::builder()
//!     .traces_endpoint("http://localhost:6006/v1/traces")
//!     .metrics(false)
//!     .service_name("research")
//!     .install()?;
//! # Ok(()) }
//! ```
//!
//! ## Jaeger
//! Jaeger (1.35 and later, and Jaeger v2) takes OTLP/HTTP on port 4318, the default
//! endpoint; its UI is on port 16686. Traces only.
//!
//! ```sh
//! docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/all-in-one:latest
//! OTEL_METRICS_EXPORTER=none OTEL_SERVICE_NAME=research cargo run --example research
//! ```
//!
//! (with `let _guard = weft::otel::init()?;` at the start of `main`).
//!
//! ## Tests
//! [`OtelBuilder::span_exporter`] takes any `SpanExporter`: the SDK's
//! `InMemorySpanExporter` (feature `testing` of this crate) collects the spans for
//! assertions; [`OtelGuard::flush`] exports what ended. Set the layer per test with
//! `tracing::subscriber::set_default` so tests do not share a global.

mod config;
mod error;
mod export;
mod metrics;
mod pipeline;

pub use error::{Error, Result};
pub use pipeline::{Otel, OtelBuilder, OtelGuard};

/// The OpenTelemetry crates weft-otel is built on (one minor version), for their types.
pub use opentelemetry;
pub use opentelemetry_sdk;
pub use tracing_opentelemetry;

/// Sets the export up from the environment alone and installs the global `tracing`
/// subscriber: `Otel::builder().install()`. Keep the guard while the program runs.
pub fn init() -> Result<OtelGuard> {
    Otel::builder().install()
}

/// The OpenTelemetry layer set up from the environment alone, for a subscriber of your own,
/// and its guard: `Otel::builder().layer()`.
pub fn layer<S>() -> Result<(impl tracing_subscriber::Layer<S> + 'static, OtelGuard)>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    Otel::builder().layer()
}
