//! The builder, the layer it makes, and the guard that flushes and shuts the export down.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanExporter, TracerProviderBuilder};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::{self, Given, Settings};
use crate::error::{Error, Result};
use crate::export;
use crate::metrics::{self, Registration};

/// The instrumentation scope of weft's spans and instruments.
const SCOPE: &str = "weft";

/// The entry point of the builder: `Otel::builder()`.
///
/// ```no_run
/// # fn main() -> Result<(), weft_otel::Error> {
/// let _guard = weft_otel::Otel::builder()
///     .endpoint("http://localhost:4318")
///     .service_name("research")
///     .install()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Otel {
    _private: (),
}

impl Otel {
    /// A builder with nothing set: every setting left alone comes from the `OTEL_*`
    /// environment variables (see [the crate docs](crate#environment-variables)), else the
    /// OTLP default.
    pub fn builder() -> OtelBuilder {
        OtelBuilder::default()
    }
}

/// Adds a span exporter to a tracer provider (any [`SpanExporter`], boxed as a closure: the
/// trait is not object-safe).
type SpanSink = Box<dyn FnOnce(TracerProviderBuilder) -> TracerProviderBuilder + Send>;
/// Adds a metric exporter, with the export interval, to a meter provider.
type MetricSink =
    Box<dyn FnOnce(MeterProviderBuilder, Option<Duration>) -> MeterProviderBuilder + Send>;

/// Sets up the export of weft's spans and metrics: [`install`](Self::install) it as the
/// process's `tracing` subscriber, or take its [`layer`](Self::layer) into a subscriber of
/// your own. Builder settings win over the environment.
#[derive(Default)]
#[must_use = "nothing is exported until `install` or `layer` is called"]
pub struct OtelBuilder {
    given: Given,
    service_name: Option<String>,
    resource: Vec<KeyValue>,
    metric_interval: Option<Duration>,
    stderr: bool,
    span_sink: Option<SpanSink>,
    metric_sink: Option<MetricSink>,
}

impl std::fmt::Debug for OtelBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be secrets: names only.
        let headers: Vec<&str> = self.given.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtelBuilder")
            .field("endpoint", &self.given.endpoint)
            .field("traces_endpoint", &self.given.traces_endpoint)
            .field("metrics_endpoint", &self.given.metrics_endpoint)
            .field("headers", &headers)
            .field("service_name", &self.service_name)
            .field("traces", &self.given.traces)
            .field("metrics", &self.given.metrics)
            .field("custom_span_exporter", &self.span_sink.is_some())
            .field("custom_metric_exporter", &self.metric_sink.is_some())
            .finish_non_exhaustive()
    }
}

impl OtelBuilder {
    /// The OTLP/HTTP base URL (as `OTEL_EXPORTER_OTLP_ENDPOINT`): spans go to
    /// `{endpoint}/v1/traces`, metrics to `{endpoint}/v1/metrics`. Default
    /// `http://localhost:4318`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.given.endpoint = Some(url.into());
        self
    }

    /// The full URL spans are POSTed to, used as is (as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub fn traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.given.traces_endpoint = Some(url.into());
        self
    }

    /// The full URL metrics are POSTed to, used as is (as
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).
    pub fn metrics_endpoint(mut self, url: impl Into<String>) -> Self {
        self.given.metrics_endpoint = Some(url.into());
        self
    }

    /// A header sent with every export (an API key, say). Those of
    /// `OTEL_EXPORTER_OTLP_HEADERS` are sent too, and win for the same name.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.given.headers.push((name.into(), value.into()));
        self
    }

    /// Several headers (see [`header`](Self::header)).
    pub fn headers<K, V>(mut self, headers: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.given
            .headers
            .extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// `Authorization: Basic base64(user:password)`: Langfuse's public key and secret key,
    /// for one.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", format!("Basic {token}"))
    }

    /// How long one export may take (default: `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.given.timeout = Some(timeout);
        self
    }

    /// `service.name` of every span and metric (default: `OTEL_SERVICE_NAME`, else the
    /// `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// A resource attribute of every span and metric (`deployment.environment.name`, say),
    /// besides those of `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn resource_attribute(mut self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        self.resource.push(KeyValue::new(key, value));
        self
    }

    /// Whether spans are exported (default: yes, unless `OTEL_TRACES_EXPORTER=none`).
    pub fn traces(mut self, on: bool) -> Self {
        self.given.traces = Some(on);
        self
    }

    /// Whether metrics are exported (default: yes, unless `OTEL_METRICS_EXPORTER=none`).
    /// Langfuse, Phoenix and Jaeger take traces only: turn metrics off for them.
    pub fn metrics(mut self, on: bool) -> Self {
        self.given.metrics = Some(on);
        self
    }

    /// How often metrics are exported (default: `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s).
    pub fn metric_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// Which spans are exported, as `tracing_subscriber`'s `Targets` directives
    /// (`"info,my_app=debug"`). Default `info`: all of weft's spans, and yours at `INFO` and
    /// above.
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.given.filter = Some(directives.into());
        self
    }

    /// [`install`](Self::install) also logs to stderr (`tracing_subscriber`'s `fmt` layer,
    /// with the same filter). Off by default.
    pub fn stderr(mut self, on: bool) -> Self {
        self.stderr = on;
        self
    }

    /// Spans go to `exporter` (batched) instead of OTLP: the SDK's
    /// `InMemorySpanExporter` in tests, any other [`SpanExporter`].
    pub fn span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.span_sink = Some(Box::new(move |builder: TracerProviderBuilder| {
            builder.with_batch_exporter(exporter)
        }));
        self
    }

    /// Metrics go to `exporter` (read periodically) instead of OTLP.
    pub fn metric_exporter<E: PushMetricExporter>(mut self, exporter: E) -> Self {
        self.metric_sink = Some(Box::new(
            move |builder: MeterProviderBuilder, interval: Option<Duration>| {
                builder.with_reader(periodic_reader(exporter, interval))
            },
        ));
        self
    }

    /// Installs the process's global `tracing` subscriber: a registry with the OpenTelemetry
    /// layer (and the stderr log, if [`stderr`](Self::stderr)); also sets OpenTelemetry's
    /// global tracer and meter providers. Keep the guard for as long as the program runs:
    /// dropping it flushes and shuts the export down.
    ///
    /// Fails with [`Error::SubscriberAlreadySet`] when a global subscriber is already set:
    /// add [`layer`](Self::layer) to yours instead.
    pub fn install(self) -> Result<OtelGuard> {
        let stderr = self.stderr;
        let (layer, filter, guard) = self.build::<tracing_subscriber::Registry>()?;
        let log = stderr.then(|| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter)
        });
        let subscriber = tracing_subscriber::registry().with(layer).with(log);
        tracing::subscriber::set_global_default(subscriber)
            .map_err(|_| Error::SubscriberAlreadySet)?;
        if let Some(provider) = &guard.tracer {
            opentelemetry::global::set_tracer_provider(provider.clone());
        }
        if let Some(provider) = &guard.meter {
            opentelemetry::global::set_meter_provider(provider.clone());
        }
        Ok(guard)
    }

    /// The OpenTelemetry layer, for a subscriber of your own (filtered as
    /// [`filter`](Self::filter) says; it does nothing when traces are off), and the guard
    /// that flushes and shuts the export down when dropped. Sets no global state but weft's
    /// metrics going to this export's meter provider.
    ///
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt;
    /// use tracing_subscriber::util::SubscriberInitExt;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (otel, _guard) = weft_otel::Otel::builder().service_name("research").layer()?;
    /// tracing_subscriber::registry()
    ///     .with(otel)
    ///     .with(tracing_subscriber::fmt::layer())
    ///     .try_init()?;
    /// # Ok(()) }
    /// ```
    pub fn layer<S>(self) -> Result<(impl Layer<S> + 'static, OtelGuard)>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        let (layer, _, guard) = self.build::<S>()?;
        Ok((layer, guard))
    }

    /// The providers, the filtered layer, the filter alone (for a stderr log) and the guard.
    #[allow(clippy::type_complexity)]
    fn build<S>(
        self,
    ) -> Result<(
        tracing_subscriber::filter::Filtered<Option<OpenTelemetryLayer<S, SdkTracer>>, Targets, S>,
        Targets,
        OtelGuard,
    )>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        let mut given = self.given;
        // A custom exporter stands for the OTLP one: nothing to resolve for its signal.
        if self.span_sink.is_some() {
            given.traces = Some(false);
        }
        if self.metric_sink.is_some() {
            given.metrics = Some(false);
        }
        let settings: Settings = config::resolve(&given, &config::process_env)?;
        let resource = resource(self.service_name, self.resource);

        let span_sink: Option<SpanSink> = match (self.span_sink, &settings.traces) {
            (Some(sink), _) if !settings.disabled => Some(sink),
            (_, Some(target)) => {
                let exporter = export::span_exporter(target)?;
                Some(Box::new(move |builder: TracerProviderBuilder| {
                    builder.with_batch_exporter(exporter)
                }))
            }
            _ => None,
        };
        let metric_sink: Option<MetricSink> = match (self.metric_sink, &settings.metrics) {
            (Some(sink), _) if !settings.disabled => Some(sink),
            (_, Some(target)) => {
                let exporter = export::metric_exporter(target)?;
                Some(Box::new(
                    move |builder: MeterProviderBuilder, interval: Option<Duration>| {
                        builder.with_reader(periodic_reader(exporter, interval))
                    },
                ))
            }
            _ => None,
        };

        let tracer = span_sink
            .map(|sink| sink(SdkTracerProvider::builder().with_resource(resource.clone())).build());
        let meter = metric_sink.map(|sink| {
            sink(
                SdkMeterProvider::builder().with_resource(resource.clone()),
                self.metric_interval,
            )
            .build()
        });
        let registration = meter.as_ref().map(|provider| {
            use opentelemetry::metrics::MeterProvider as _;
            metrics::register(&provider.meter_with_scope(scope()))
        });
        let layer = tracer.as_ref().map(|provider| {
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer_with_scope(scope()))
                // Only what weft (and your spans) record: no source location, thread,
                // target or busy/idle-time attributes on every span.
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_tracked_inactivity(false)
        });
        let filter = settings.filter;
        Ok((
            layer.with_filter(filter.clone()),
            filter,
            OtelGuard {
                tracer,
                meter,
                registration,
            },
        ))
    }
}

/// The instrumentation scope `weft` with this crate's version.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// The resource: the SDK's detectors (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
/// `telemetry.sdk.*`), then the builder's settings over them.
fn resource(service_name: Option<String>, attributes: Vec<KeyValue>) -> Resource {
    let mut builder = Resource::builder().with_attributes(attributes);
    if let Some(name) = service_name {
        builder = builder.with_service_name(name);
    }
    builder.build()
}

fn periodic_reader<E: PushMetricExporter>(
    exporter: E,
    interval: Option<Duration>,
) -> PeriodicReader<E> {
    let reader = PeriodicReader::builder(exporter);
    match interval {
        Some(interval) => reader.with_interval(interval).build(),
        None => reader.build(),
    }
}

/// Keeps the export running; dropping it flushes what is pending and shuts the export down
/// (once; a failure is said on stderr). Call [`shutdown`](Self::shutdown) to see the error
/// instead.
#[must_use = "dropping the guard shuts the export down at once"]
pub struct OtelGuard {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    registration: Option<Registration>,
}

impl std::fmt::Debug for OtelGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelGuard")
            .field("traces", &self.tracer.is_some())
            .field("metrics", &self.meter.is_some())
            .finish()
    }
}

impl OtelGuard {
    /// Exports every span that ended and every metric now, waiting for it.
    pub fn flush(&self) -> Result<()> {
        if let Some(provider) = &self.tracer {
            provider.force_flush().map_err(|err| Error::Export {
                signal: "traces",
                message: err.to_string(),
            })?;
        }
        if let Some(provider) = &self.meter {
            provider.force_flush().map_err(|err| Error::Export {
                signal: "metrics",
                message: err.to_string(),
            })?;
        }
        Ok(())
    }

    /// Flushes and shuts the export down; spans that end after this are dropped.
    pub fn shutdown(mut self) -> Result<()> {
        self.shutdown_now()
    }

    /// The tracer provider (`None` when traces are off), for spans made with the
    /// OpenTelemetry API directly.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.tracer.as_ref()
    }

    /// The meter provider (`None` when metrics are off), for instruments of your own.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter.as_ref()
    }

    fn shutdown_now(&mut self) -> Result<()> {
        // weft's measurements stop going to instruments about to be shut down.
        self.registration = None;
        let traces = self.tracer.take().map(|provider| {
            provider.shutdown().map_err(|err| Error::Export {
                signal: "traces",
                message: err.to_string(),
            })
        });
        let metrics = self.meter.take().map(|provider| {
            provider.shutdown().map_err(|err| Error::Export {
                signal: "metrics",
                message: err.to_string(),
            })
        });
        traces.transpose()?;
        metrics.transpose()?;
        Ok(())
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown_now() {
            eprintln!("weft-otel: shutting the export down: {err}");
        }
    }
}
