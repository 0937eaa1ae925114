//! The settings of an export: what the builder was given, completed from the standard
//! `OTEL_*` environment variables, checked, with errors that name the variable or the builder
//! method at fault.
//!
//! Precedence, as the OpenTelemetry specification says: a builder setting, else the
//! signal's own variable (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is), else the generic
//! one (`OTEL_EXPORTER_OTLP_ENDPOINT`, with `/v1/traces` or `/v1/metrics` appended), else
//! `http://localhost:4318`. Headers are the exception: the OTLP exporter always adds those of
//! `OTEL_EXPORTER_OTLP_HEADERS` (or the signal's own variable) over the builder's.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use tracing_subscriber::filter::Targets;

use crate::error::{Error, Result};

/// The OTLP/HTTP endpoint when nothing names one (a local collector, Jaeger, ...).
pub(crate) const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
/// The export timeout when nothing sets one (the OTLP default).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One signal: traces or metrics, with the names of its variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

impl Signal {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
        }
    }

    /// `OTEL_EXPORTER_OTLP_TRACES_<what>` or `OTEL_EXPORTER_OTLP_METRICS_<what>`.
    fn var(self, what: &str) -> String {
        format!("OTEL_EXPORTER_OTLP_{}_{what}", self.name().to_uppercase())
    }

    /// `OTEL_TRACES_EXPORTER` or `OTEL_METRICS_EXPORTER`.
    fn exporter_var(self) -> String {
        format!("OTEL_{}_EXPORTER", self.name().to_uppercase())
    }
}

/// Where and how one signal is sent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Target {
    /// The full URL POSTs go to (`…/v1/traces`).
    pub url: String,
    /// Headers, checked (names and values valid in HTTP).
    pub headers: HashMap<String, String>,
    pub timeout: Duration,
}

/// What the builder was given (every field optional: the environment fills the rest).
#[derive(Clone, Debug, Default)]
pub(crate) struct Given {
    pub endpoint: Option<String>,
    pub traces_endpoint: Option<String>,
    pub metrics_endpoint: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub traces: Option<bool>,
    pub metrics: Option<bool>,
    pub filter: Option<String>,
}

/// The settings, resolved and checked.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// `OTEL_SDK_DISABLED=true`: nothing is exported.
    pub disabled: bool,
    /// `None`: traces are not exported (`OTEL_TRACES_EXPORTER=none`, `.traces(false)`).
    pub traces: Option<Target>,
    /// `None`: metrics are not exported.
    pub metrics: Option<Target>,
    /// Which spans reach the OpenTelemetry layer (and the stderr log, if any).
    pub filter: Targets,
}

/// Reads one environment variable: `None` when unset or empty (as the specification says
/// an empty value is treated as unset).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as [`Env`].
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Resolves `given` against the environment `env`.
pub(crate) fn resolve(given: &Given, env: Env<'_>) -> Result<Settings> {
    let disabled = match env("OTEL_SDK_DISABLED") {
        None => false,
        Some(value) => parse_bool("OTEL_SDK_DISABLED", &value)?,
    };
    let filter = match &given.filter {
        Some(filter) => filter.parse::<Targets>().map_err(|err| {
            Error::config(
                "OtelBuilder::filter",
                format!("not a filter such as `info,weft=debug`: {err}"),
            )
        })?,
        None => Targets::new().with_default(tracing::Level::INFO),
    };
    let headers = checked_headers("OtelBuilder::header", &given.headers)?;

    let mut targets = [None, None];
    for (slot, signal) in targets.iter_mut().zip([Signal::Traces, Signal::Metrics]) {
        let wanted = match signal {
            Signal::Traces => given.traces,
            Signal::Metrics => given.metrics,
        };
        if !exporting(signal, wanted, env)? || disabled {
            continue;
        }
        // The OTLP variables matter (and are checked) only for a signal OTLP exports.
        let generic_timeout = env_millis(env, "OTEL_EXPORTER_OTLP_TIMEOUT")?;
        let generic_headers = match env("OTEL_EXPORTER_OTLP_HEADERS") {
            Some(text) => parse_headers("OTEL_EXPORTER_OTLP_HEADERS", &text)?,
            None => Vec::new(),
        };
        check_protocol(
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            env("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref(),
        )?;
        check_protocol(
            &signal.var("PROTOCOL"),
            env(&signal.var("PROTOCOL")).as_deref(),
        )?;
        let url = signal_url(signal, given, env)?;
        // The exporter adds the signal's own header variable if set, else the generic one,
        // over what it is given: the same order here.
        let mut all = headers.clone();
        let own = signal.var("HEADERS");
        match env(&own) {
            Some(text) => all.extend(parse_headers(&own, &text)?),
            None => all.extend(generic_headers),
        }
        let timeout = match given.timeout {
            Some(timeout) => timeout,
            None => env_millis(env, &signal.var("TIMEOUT"))?
                .or(generic_timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
        };
        *slot = Some(Target {
            url,
            headers: all.into_iter().collect(),
            timeout,
        });
    }
    let [traces, metrics] = targets;
    Ok(Settings {
        disabled,
        traces,
        metrics,
        filter,
    })
}

/// Whether `signal` is exported: the builder's word, else `OTEL_{SIGNAL}_EXPORTER` (`otlp`,
/// the default, or `none`).
fn exporting(signal: Signal, wanted: Option<bool>, env: Env<'_>) -> Result<bool> {
    if let Some(wanted) = wanted {
        return Ok(wanted);
    }
    let var = signal.exporter_var();
    match env(&var) {
        None => Ok(true),
        Some(value) => match value.trim().to_ascii_lowercase().as_str() {
            "otlp" => Ok(true),
            "none" => Ok(false),
            other => Err(Error::config(
                var,
                format!("`{other}` is not an exporter weft-otel has: use `otlp` or `none`"),
            )),
        },
    }
}

/// The URL `signal` is POSTed to.
fn signal_url(signal: Signal, given: &Given, env: Env<'_>) -> Result<String> {
    let (own_method, own) = match signal {
        Signal::Traces => ("OtelBuilder::traces_endpoint", &given.traces_endpoint),
        Signal::Metrics => ("OtelBuilder::metrics_endpoint", &given.metrics_endpoint),
    };
    if let Some(url) = own {
        return check_url(own_method, url);
    }
    if let Some(base) = &given.endpoint {
        return check_url("OtelBuilder::endpoint", &join(base, signal.path()));
    }
    let own_var = signal.var("ENDPOINT");
    if let Some(url) = env(&own_var) {
        return check_url(&own_var, url.trim());
    }
    if let Some(base) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
        return check_url(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            &join(base.trim(), signal.path()),
        );
    }
    Ok(join(DEFAULT_ENDPOINT, signal.path()))
}

/// `base` with the signal's path appended (`https://host/api/public/otel` +
/// `/v1/traces`), as the specification says for the generic endpoint.
fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// An `http`/`https` URL with a host, or an error naming `setting`.
fn check_url(setting: &str, url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).map_err(|err| {
        Error::config(
            setting,
            format!("`{url}` is not a URL ({err}); expected one such as http://localhost:4318"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::config(
            setting,
            format!(
                "`{url}`: OTLP/HTTP needs an http:// or https:// URL, not {}://",
                parsed.scheme()
            ),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(setting, format!("`{url}` names no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::config(
            setting,
            "credentials in the URL are not sent: give them as a header \
             (`OtelBuilder::basic_auth`, or `Authorization=…` in OTEL_EXPORTER_OTLP_HEADERS)",
        ));
    }
    Ok(url.to_string())
}

/// Only OTLP over HTTP with protobuf bodies is built in.
fn check_protocol(var: &str, value: Option<&str>) -> Result<()> {
    match value.map(str::trim) {
        None | Some("http/protobuf") => Ok(()),
        Some(other) => Err(Error::config(
            var,
            format!(
                "weft-otel sends OTLP over HTTP with protobuf bodies only (`http/protobuf`), \
                 not `{other}`; point it at the collector's HTTP port (4318)"
            ),
        )),
    }
}

fn parse_bool(var: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::config(var, "expected `true` or `false`")),
    }
}

/// A duration in milliseconds, as the `OTEL_*_TIMEOUT` variables give one.
fn env_millis(env: Env<'_>, var: &str) -> Result<Option<Duration>> {
    let Some(text) = env(var) else {
        return Ok(None);
    };
    text.trim()
        .parse::<u64>()
        .map(|millis| Some(Duration::from_millis(millis)))
        .map_err(|_| {
            Error::config(
                var,
                format!("`{text}` is not a whole number of milliseconds"),
            )
        })
}

/// `key1=value1,key2=value2`, values percent-decoded, as `OTEL_EXPORTER_OTLP_HEADERS`
/// holds them. Errors name the entry and its key, never a value.
pub(crate) fn parse_headers(var: &str, text: &str) -> Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    for (index, entry) in text.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((key, value)) = entry.split_once('=') else {
            return Err(Error::config(
                var,
                format!(
                    "entry {} has no `=`: expected `key=value,key2=value2`",
                    index + 1
                ),
            ));
        };
        let key = key.trim();
        let value = percent_decode(value.trim()).ok_or_else(|| {
            Error::config(
                var,
                format!("the value of `{key}` has a bad percent-encoding (`%` and two hex digits)"),
            )
        })?;
        headers.push((key.to_string(), value));
    }
    checked_headers(var, &headers)
}

/// Header names and values that HTTP allows, or an error naming the header (not its value).
fn checked_headers(setting: &str, headers: &[(String, String)]) -> Result<Vec<(String, String)>> {
    for (key, value) in headers {
        HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| Error::config(setting, format!("`{key}` is not a valid header name")))?;
        HeaderValue::from_str(value).map_err(|_| {
            Error::config(
                setting,
                format!("the value of header `{key}` has characters HTTP does not allow"),
            )
        })?;
    }
    Ok(headers.to_vec())
}

/// `%XX` sequences decoded (as UTF-8); `None` when one is malformed.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned().filter(|v| !v.trim().is_empty())
    }

    fn resolve_env(given: &Given, pairs: &[(&str, &str)]) -> Result<Settings> {
        let env = env_of(pairs);
        resolve(given, &env)
    }

    fn error_text(given: &Given, pairs: &[(&str, &str)]) -> String {
        match resolve_env(given, pairs) {
            Ok(settings) => panic!("expected an error, got {settings:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn defaults_to_a_local_collector_for_both_signals() {
        let settings = resolve_env(&Given::default(), &[]).unwrap();
        assert!(!settings.disabled);
        let traces = settings.traces.unwrap();
        assert_eq!(traces.url, "http://localhost:4318/v1/traces");
        assert_eq!(traces.timeout, DEFAULT_TIMEOUT);
        assert!(traces.headers.is_empty());
        assert_eq!(
            settings.metrics.unwrap().url,
            "http://localhost:4318/v1/metrics"
        );
    }

    #[test]
    fn the_generic_endpoint_gets_the_signal_path_and_the_signal_endpoint_is_used_as_is() {
        let settings = resolve_env(
            &Given::default(),
            &[
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    "https://cloud.langfuse.com/api/public/otel/",
                ),
                (
                    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                    "http://metrics.local:9000/ingest",
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.traces.unwrap().url,
            "https://cloud.langfuse.com/api/public/otel/v1/traces"
        );
        assert_eq!(
            settings.metrics.unwrap().url,
            "http://metrics.local:9000/ingest"
        );
    }

    #[test]
    fn the_builder_wins_over_the_environment() {
        let given = Given {
            endpoint: Some("http://localhost:6006".into()),
            metrics_endpoint: Some("http://localhost:9090/otlp".into()),
            timeout: Some(Duration::from_secs(3)),
            ..Given::default()
        };
        let settings = resolve_env(
            &given,
            &[
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://elsewhere:4318/v1/traces",
                ),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ],
        )
        .unwrap();
        let traces = settings.traces.unwrap();
        assert_eq!(traces.url, "http://localhost:6006/v1/traces");
        assert_eq!(traces.timeout, Duration::from_secs(3));
        assert_eq!(settings.metrics.unwrap().url, "http://localhost:9090/otlp");
    }

    #[test]
    fn timeouts_come_from_the_signal_variable_then_the_generic_one() {
        let settings = resolve_env(
            &Given::default(),
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700"),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.traces.unwrap().timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(
            settings.metrics.unwrap().timeout,
            Duration::from_millis(700)
        );
        let text = error_text(&Given::default(), &[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")]);
        assert!(
            text.starts_with("OTEL_EXPORTER_OTLP_TIMEOUT: `10s` is not"),
            "{text}"
        );
    }

    #[test]
    fn headers_are_parsed_percent_decoded_and_merged_with_the_builders() {
        let given = Given {
            headers: vec![("x-langfuse-ingestion-version".into(), "4".into())],
            ..Given::default()
        };
        let settings = resolve_env(
            &given,
            &[
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "Authorization=Basic cGs6c2s=, x-team = ai%20infra ,",
                ),
                ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "api-key=m%3D1"),
            ],
        )
        .unwrap();
        let traces = settings.traces.unwrap().headers;
        assert_eq!(traces["Authorization"], "Basic cGs6c2s=");
        assert_eq!(traces["x-team"], "ai infra");
        assert_eq!(traces["x-langfuse-ingestion-version"], "4");
        // The metrics' own variable replaces the generic one, as the exporter does.
        let metrics = settings.metrics.unwrap().headers;
        assert_eq!(metrics["api-key"], "m=1");
        assert!(!metrics.contains_key("Authorization"));
        assert_eq!(metrics["x-langfuse-ingestion-version"], "4");
    }

    #[test]
    fn bad_headers_name_the_variable_and_the_key_but_never_the_value() {
        let secret = "sk-lf-very-secret";
        for (text, expected) in [
            (
                format!("Authorization=Basic {secret},novalue"),
                "OTEL_EXPORTER_OTLP_HEADERS: entry 2 has no `=`",
            ),
            (
                format!("Authorization=Basic%2{secret}"),
                "OTEL_EXPORTER_OTLP_HEADERS: the value of `Authorization` has a bad percent-encoding",
            ),
            (
                format!("bad header={secret}"),
                "OTEL_EXPORTER_OTLP_HEADERS: `bad header` is not a valid header name",
            ),
            (
                format!("Authorization={secret}%0A"),
                "OTEL_EXPORTER_OTLP_HEADERS: the value of header `Authorization` has characters",
            ),
        ] {
            let message = error_text(
                &Given::default(),
                &[("OTEL_EXPORTER_OTLP_HEADERS", text.as_str())],
            );
            assert!(message.starts_with(expected), "{message}");
            assert!(!message.contains(secret), "{message}");
        }
    }

    #[test]
    fn bad_endpoints_name_where_they_came_from() {
        let text = error_text(
            &Given::default(),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")],
        );
        assert!(
            text.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT: `localhost:4318/v1/traces`"),
            "{text}"
        );
        let text = error_text(
            &Given::default(),
            &[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "grpc://collector:4317",
            )],
        );
        assert!(
            text.starts_with(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `grpc://collector:4317`: OTLP/HTTP needs"
            ),
            "{text}"
        );
        let given = Given {
            endpoint: Some("not a url".into()),
            ..Given::default()
        };
        assert!(error_text(&given, &[])
            .starts_with("OtelBuilder::endpoint: `not a url/v1/traces` is not a URL"));
        let given = Given {
            endpoint: Some("https://pk:sk@cloud.langfuse.com/api/public/otel".into()),
            ..Given::default()
        };
        let text = error_text(&given, &[]);
        assert!(
            text.contains("credentials in the URL are not sent"),
            "{text}"
        );
    }

    #[test]
    fn grpc_is_refused_by_name() {
        let text = error_text(
            &Given::default(),
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
        );
        assert!(
            text.starts_with("OTEL_EXPORTER_OTLP_PROTOCOL: weft-otel sends OTLP over HTTP"),
            "{text}"
        );
        let text = error_text(
            &Given::default(),
            &[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")],
        );
        assert!(
            text.starts_with("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL:"),
            "{text}"
        );
        resolve_env(
            &Given::default(),
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
        )
        .unwrap();
    }

    #[test]
    fn signals_can_be_turned_off_and_the_sdk_disabled() {
        let settings =
            resolve_env(&Given::default(), &[("OTEL_METRICS_EXPORTER", "none")]).unwrap();
        assert!(settings.traces.is_some());
        assert!(settings.metrics.is_none());
        let given = Given {
            traces: Some(false),
            ..Given::default()
        };
        let settings = resolve_env(&given, &[("OTEL_TRACES_EXPORTER", "otlp")]).unwrap();
        assert!(settings.traces.is_none());
        assert!(settings.metrics.is_some());
        let text = error_text(&Given::default(), &[("OTEL_TRACES_EXPORTER", "jaeger")]);
        assert!(
            text.starts_with("OTEL_TRACES_EXPORTER: `jaeger` is not"),
            "{text}"
        );
        let settings = resolve_env(&Given::default(), &[("OTEL_SDK_DISABLED", "true")]).unwrap();
        assert!(settings.disabled);
        assert!(settings.traces.is_none() && settings.metrics.is_none());
        let text = error_text(&Given::default(), &[("OTEL_SDK_DISABLED", "yes")]);
        assert!(text.starts_with("OTEL_SDK_DISABLED: expected"), "{text}");
    }

    #[test]
    fn filters_are_checked() {
        let given = Given {
            filter: Some("info,weft=debug".into()),
            ..Given::default()
        };
        resolve_env(&given, &[]).unwrap();
        let given = Given {
            filter: Some("weft=loud".into()),
            ..Given::default()
        };
        assert!(error_text(&given, &[]).starts_with("OtelBuilder::filter:"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%3D%3d").as_deref(), Some("a b=="));
        assert_eq!(percent_decode("%E2%9C%93").as_deref(), Some("✓"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%FF"), None);
    }
}
