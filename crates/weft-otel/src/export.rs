//! The OTLP/HTTP exporters: a blocking reqwest client with rustls on the `ring` provider,
//! used from the SDK's own export threads (so no async runtime is needed, and dropping the
//! guard inside one cannot deadlock), and wrappers that say on stderr when an export fails.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::config::{Signal, Target};
use crate::error::{Error, Result};

/// The HTTP client of one exporter: rustls with the `ring` provider and the webpki roots (as
/// the rest of weft: no aws-lc, no system OpenSSL), the target's timeout, no redirects (a
/// redirected POST would lose its body, or carry the credentials elsewhere).
///
/// Built on a thread of its own: a blocking reqwest client starts a runtime, which must not
/// happen on a thread that already runs one.
fn http_client(timeout: Duration) -> Result<reqwest::blocking::Client> {
    let build = move || -> Result<reqwest::blocking::Client> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| Error::HttpClient(err.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|err| Error::HttpClient(err.to_string()))
    };
    std::thread::Builder::new()
        .name("weft-otel-client".into())
        .spawn(build)
        .map_err(|err| Error::HttpClient(format!("no thread to build it on: {err}")))?
        .join()
        .map_err(|_| Error::HttpClient("its builder panicked".into()))?
}

/// The OTLP/HTTP span exporter sending to `target`.
pub(crate) fn span_exporter(target: &Target) -> Result<Reported<opentelemetry_otlp::SpanExporter>> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http_client(target.timeout)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(target.url.clone())
        .with_timeout(target.timeout)
        .with_headers(target.headers.clone())
        .build()
        .map_err(|source| Error::Exporter {
            signal: "traces",
            source,
        })?;
    Ok(Reported::new(exporter, Signal::Traces, &target.url))
}

/// The OTLP/HTTP metric exporter sending to `target` (cumulative temporality, the OTLP
/// default).
pub(crate) fn metric_exporter(
    target: &Target,
) -> Result<Reported<opentelemetry_otlp::MetricExporter>> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_http_client(http_client(target.timeout)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(target.url.clone())
        .with_timeout(target.timeout)
        .with_headers(target.headers.clone())
        .build()
        .map_err(|source| Error::Exporter {
            signal: "metrics",
            source,
        })?;
    Ok(Reported::new(exporter, Signal::Metrics, &target.url))
}

/// An exporter that says on stderr when an export fails: once, until one succeeds again
/// (then a new failure is said again). Without it a wrong endpoint or key loses every span
/// without a word.
pub(crate) struct Reported<E> {
    inner: E,
    signal: Signal,
    url: String,
    failing: AtomicBool,
}

impl<E> Reported<E> {
    fn new(inner: E, signal: Signal, url: &str) -> Self {
        Reported {
            inner,
            signal,
            url: url.to_string(),
            failing: AtomicBool::new(false),
        }
    }

    fn report(&self, result: &OTelSdkResult) {
        match result {
            Ok(()) => self.failing.store(false, Ordering::Relaxed),
            Err(err) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "weft-otel: exporting {} to {} failed: {err} (further failures are not \
                         reported until an export succeeds)",
                        self.signal.name(),
                        self.url
                    );
                }
            }
        }
    }
}

impl<E> fmt::Debug for Reported<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reported")
            .field("signal", &self.signal)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl<E: SpanExporter> SpanExporter for Reported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.report(&result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Reported<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.report(&result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
