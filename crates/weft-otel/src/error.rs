//! What can go wrong when setting the export up or shutting it down.

/// An error of [`init`](crate::init), [`OtelBuilder`](crate::OtelBuilder) or
/// [`OtelGuard`](crate::OtelGuard). Messages name the setting at fault (an environment
/// variable or a builder method) and never carry a header's value, which may be a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is not valid: `setting` is the environment variable
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT`) or the builder method (`OtelBuilder::endpoint`) it came
    /// from.
    #[error("{setting}: {message}")]
    Config {
        /// Where the setting came from.
        setting: String,
        /// What is wrong with it.
        message: String,
    },
    /// The OTLP exporter of `signal` (`traces` or `metrics`) could not be built.
    #[error("building the OTLP {signal} exporter: {source}")]
    Exporter {
        /// `traces` or `metrics`.
        signal: &'static str,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The HTTP client of the exporters could not be built.
    #[error("building the OTLP HTTP client: {0}")]
    HttpClient(String),
    /// [`OtelBuilder::install`](crate::OtelBuilder::install) found a global `tracing`
    /// subscriber already set (one per process): compose your own with
    /// [`OtelBuilder::layer`](crate::OtelBuilder::layer) instead.
    #[error(
        "a global tracing subscriber is already set; add weft_otel's layer to it \
         (`OtelBuilder::layer`) instead of installing one"
    )]
    SubscriberAlreadySet,
    /// Flushing or shutting down the export failed (spans or metrics may be lost).
    #[error("{signal}: {message}")]
    Export {
        /// `traces` or `metrics`.
        signal: &'static str,
        /// What the SDK said.
        message: String,
    },
}

impl Error {
    pub(crate) fn config(setting: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Config {
            setting: setting.into(),
            message: message.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
