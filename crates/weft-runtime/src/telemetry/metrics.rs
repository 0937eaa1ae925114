//! weft's metrics: the OpenTelemetry GenAI client metrics and run counts, kept in one
//! process-wide registry.
//!
//! | metric | kind | unit | attributes | Prometheus name |
//! |---|---|---|---|---|
//! | `gen_ai.client.operation.duration` | histogram | `s` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`, `error.type` | `gen_ai_client_operation_duration_seconds` |
//! | `gen_ai.client.token.usage` | histogram | `{token}` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.token.type` (`input`, `output`) | `gen_ai_client_token_usage` |
//! | `weft.workflow.runs` | counter | `{run}` | `weft.workflow.name`, `weft.run.status` | `weft_workflow_runs_total` |
//!
//! The histograms have the bucket boundaries the GenAI semantic conventions advise
//! ([`DURATION_BUCKETS`], [`TOKEN_BUCKETS`]); an attribute without a value (no response
//! model, no error) is left out. Token usage is recorded only when the provider reported it.
//!
//! The agent records every model call and tool call ([`record_operation`]), the workflow
//! driver every run that ends ([`record_run`]). Read them as plain data with [`snapshot`],
//! in the Prometheus text format with [`render_prometheus`] (what `weft-server` answers on
//! `GET /metrics`), or as they happen with a [`MetricsObserver`] (an OpenTelemetry exporter,
//! say).
//!
//! ```
//! use std::time::Duration;
//! use weft_runtime::telemetry::metrics::{self, Operation};
//!
//! metrics::record_operation(&Operation {
//!     operation: "chat",
//!     provider: "openai",
//!     request_model: "gpt-4o",
//!     response_model: Some("gpt-4o-2024-08-06"),
//!     duration: Duration::from_millis(850),
//!     input_tokens: Some(120),
//!     output_tokens: Some(48),
//!     error_type: None,
//! });
//! metrics::record_run("Research", "completed");
//! let text = metrics::render_prometheus();
//! assert!(text.contains("# TYPE gen_ai_client_operation_duration_seconds histogram"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// `gen_ai.client.operation.duration`: how long a GenAI operation took, in seconds.
pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
/// `gen_ai.client.token.usage`: the input and output tokens an operation used.
pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// `weft.workflow.runs`: the workflow runs that ended, by workflow and status.
pub const WORKFLOW_RUNS: &str = "weft.workflow.runs";

/// The bucket boundaries (seconds) of `gen_ai.client.operation.duration`, as the GenAI
/// semantic conventions advise.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// The bucket boundaries (tokens) of `gen_ai.client.token.usage`, as the GenAI semantic
/// conventions advise.
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

const OPERATION_DURATION_HELP: &str = "GenAI operation duration.";
const TOKEN_USAGE_HELP: &str = "Number of input and output tokens used.";
const WORKFLOW_RUNS_HELP: &str = "Workflow runs that ended, by workflow and status.";

/// One GenAI operation that ended: a model call (`"chat"`) or a tool call
/// (`"execute_tool"`), for [`record_operation`].
///
/// `Operation { operation: "execute_tool", provider: "openai", request_model: "gpt-4o",
/// duration, ..Default::default() }` leaves the rest unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Operation<'a> {
    /// `gen_ai.operation.name`: `"chat"` for a model call, `"execute_tool"` for a tool call.
    pub operation: &'a str,
    /// `gen_ai.provider.name`: `"openai"`, `"anthropic"`, `"ollama"`, ...
    pub provider: &'a str,
    /// `gen_ai.request.model`: the model asked for (left out when empty).
    pub request_model: &'a str,
    /// `gen_ai.response.model`: the model that answered, when the provider said.
    pub response_model: Option<&'a str>,
    /// How long it took, from the request to the last chunk (or the error).
    pub duration: Duration,
    /// The input (prompt) tokens, when the provider reported them.
    pub input_tokens: Option<u64>,
    /// The output (completion) tokens, when the provider reported them.
    pub output_tokens: Option<u64>,
    /// `error.type` when the operation failed: a low-cardinality class of the error (such
    /// as `weft::Error::kind`), never its message.
    pub error_type: Option<&'a str>,
}

/// Attributes of one time series: OpenTelemetry keys (dotted) and their values, in a fixed
/// order per metric.
pub type Labels = Vec<(&'static str, String)>;

/// A histogram metric as read by [`snapshot`]: its description and one point per label set.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    /// The OpenTelemetry name, such as `gen_ai.client.operation.duration`.
    pub name: &'static str,
    /// What it measures.
    pub description: &'static str,
    /// Its UCUM unit: `s`, `{token}`.
    pub unit: &'static str,
    /// The upper bounds of its buckets, ascending (the last bucket, to `+Inf`, is implied).
    pub boundaries: &'static [f64],
    /// One point per label set, ordered by labels.
    pub points: Vec<HistogramPoint>,
}

/// The measurements of one label set of a histogram, since the process started.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramPoint {
    /// Its attributes.
    pub labels: Labels,
    /// How many values fell in each bucket, not cumulative (as OpenTelemetry counts them):
    /// `bucket_counts[i]` counts values in `(boundaries[i-1], boundaries[i]]`, the last one
    /// those above the last boundary; `boundaries.len() + 1` entries.
    pub bucket_counts: Vec<u64>,
    /// The sum of the values.
    pub sum: f64,
    /// How many values were recorded.
    pub count: u64,
    /// The smallest value recorded.
    pub min: f64,
    /// The largest value recorded.
    pub max: f64,
}

/// A monotonic counter as read by [`snapshot`]: its description and one point per label set.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterSnapshot {
    /// The OpenTelemetry name, such as `weft.workflow.runs`.
    pub name: &'static str,
    /// What it counts.
    pub description: &'static str,
    /// Its UCUM unit, such as `{run}`.
    pub unit: &'static str,
    /// One point per label set, ordered by labels.
    pub points: Vec<CounterPoint>,
}

/// The count of one label set of a counter, since the process started.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterPoint {
    /// Its attributes.
    pub labels: Labels,
    /// The count.
    pub value: u64,
}

/// Every metric at one moment (cumulative since the process started), as plain data: what
/// exporters read.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsSnapshot {
    /// `gen_ai.client.operation.duration`.
    pub operation_duration: HistogramSnapshot,
    /// `gen_ai.client.token.usage`.
    pub token_usage: HistogramSnapshot,
    /// `weft.workflow.runs`.
    pub workflow_runs: CounterSnapshot,
}

impl MetricsSnapshot {
    /// The histograms, in the order [`render_prometheus`](Self::render_prometheus) writes them.
    pub fn histograms(&self) -> [&HistogramSnapshot; 2] {
        [&self.operation_duration, &self.token_usage]
    }

    /// These metrics in the Prometheus text exposition format 0.0.4 (content type
    /// `text/plain; version=0.0.4; charset=utf-8`): names with `_` for `.`, the unit
    /// `_seconds` and counters' `_total` suffixes, cumulative `_bucket{le=".."}` lines up to
    /// `+Inf`, then `_sum` and `_count`. A metric with no points yet has its `# HELP` and
    /// `# TYPE` lines only.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        for histogram in self.histograms() {
            write_histogram(&mut out, histogram);
        }
        write_counter(&mut out, &self.workflow_runs);
        out
    }
}

/// Sees every measurement as it is recorded: the hook an exporter (OpenTelemetry
/// instruments, say) uses instead of polling [`snapshot`]. Called on the recording thread,
/// with no lock held: keep it quick and never block.
pub trait MetricsObserver: Send + Sync {
    /// An operation ended ([`record_operation`]).
    fn on_operation(&self, operation: &Operation<'_>) {
        let _ = operation;
    }

    /// A workflow run ended with `status` ([`record_run`]).
    fn on_run(&self, workflow: &str, status: &str) {
        let _ = (workflow, status);
    }
}

/// Adds `observer`: from now on it sees every measurement of this process, besides the
/// registry that [`snapshot`] reads. Observers cannot be removed.
pub fn add_observer(observer: Arc<dyn MetricsObserver>) {
    OBSERVERS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .push(observer);
    HAS_OBSERVERS.store(true, Ordering::Release);
}

/// Records an operation that ended: its duration in `gen_ai.client.operation.duration` and,
/// when known, its input and output tokens in `gen_ai.client.token.usage`.
pub fn record_operation(operation: &Operation<'_>) {
    REGISTRY.record_operation(operation);
    for observer in observers() {
        observer.on_operation(operation);
    }
}

/// Counts a workflow run that ended with `status` (`completed`, `failed`, `cancelled`,
/// `paused`, `interrupted`, ...) in `weft.workflow.runs`.
pub fn record_run(workflow: &str, status: &str) {
    REGISTRY.record_run(workflow, status);
    for observer in observers() {
        observer.on_run(workflow, status);
    }
}

/// Every metric of this process now, as plain data.
pub fn snapshot() -> MetricsSnapshot {
    REGISTRY.snapshot()
}

/// Every metric of this process now, in the Prometheus text exposition format 0.0.4 (see
/// [`MetricsSnapshot::render_prometheus`]).
pub fn render_prometheus() -> String {
    snapshot().render_prometheus()
}

/// The process-wide registry.
static REGISTRY: Registry = Registry::new();
static OBSERVERS: RwLock<Vec<Arc<dyn MetricsObserver>>> = RwLock::new(Vec::new());
/// Whether any observer was added: recording skips the lock until one is.
static HAS_OBSERVERS: AtomicBool = AtomicBool::new(false);

fn observers() -> Vec<Arc<dyn MetricsObserver>> {
    if !HAS_OBSERVERS.load(Ordering::Acquire) {
        return Vec::new();
    }
    OBSERVERS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Measurements by label set. One lock for all: a model call records once, and nothing is
/// awaited while it is held.
struct Registry {
    inner: Mutex<Series>,
}

#[derive(Default)]
struct Series {
    operation_duration: BTreeMap<Labels, Buckets>,
    token_usage: BTreeMap<Labels, Buckets>,
    workflow_runs: BTreeMap<Labels, u64>,
}

/// One histogram point while it is recorded.
#[derive(Clone)]
struct Buckets {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
    min: f64,
    max: f64,
}

impl Buckets {
    fn new(boundaries: &[f64]) -> Self {
        Buckets {
            counts: vec![0; boundaries.len() + 1],
            sum: 0.0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn record(&mut self, boundaries: &[f64], value: f64) {
        // The first bucket whose upper bound holds the value (bounds are inclusive).
        let index = boundaries.partition_point(|bound| *bound < value);
        if let Some(count) = self.counts.get_mut(index) {
            *count += 1;
        }
        self.sum += value;
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    fn point(&self, labels: &Labels) -> HistogramPoint {
        HistogramPoint {
            labels: labels.clone(),
            bucket_counts: self.counts.clone(),
            sum: self.sum,
            count: self.count,
            min: self.min,
            max: self.max,
        }
    }
}

impl Registry {
    const fn new() -> Self {
        Registry {
            inner: Mutex::new(Series {
                operation_duration: BTreeMap::new(),
                token_usage: BTreeMap::new(),
                workflow_runs: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Series> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record_operation(&self, operation: &Operation<'_>) {
        let mut labels: Labels = vec![
            ("gen_ai.operation.name", operation.operation.to_string()),
            ("gen_ai.provider.name", operation.provider.to_string()),
        ];
        if !operation.request_model.is_empty() {
            labels.push(("gen_ai.request.model", operation.request_model.to_string()));
        }
        if let Some(model) = operation.response_model.filter(|model| !model.is_empty()) {
            labels.push(("gen_ai.response.model", model.to_string()));
        }
        // The semantic conventions give `error.type` to the duration only.
        let mut duration_labels = labels.clone();
        if let Some(error) = operation.error_type.filter(|error| !error.is_empty()) {
            duration_labels.push(("error.type", error.to_string()));
        }
        let tokens = [
            ("input", operation.input_tokens),
            ("output", operation.output_tokens),
        ];
        let token_series: Vec<(Labels, u64)> = tokens
            .into_iter()
            .filter_map(|(kind, tokens)| {
                let tokens = tokens?;
                let mut labels = labels.clone();
                labels.push(("gen_ai.token.type", kind.to_string()));
                Some((labels, tokens))
            })
            .collect();

        let mut series = self.lock();
        series
            .operation_duration
            .entry(duration_labels)
            .or_insert_with(|| Buckets::new(&DURATION_BUCKETS))
            .record(&DURATION_BUCKETS, operation.duration.as_secs_f64());
        for (labels, tokens) in token_series {
            series
                .token_usage
                .entry(labels)
                .or_insert_with(|| Buckets::new(&TOKEN_BUCKETS))
                .record(&TOKEN_BUCKETS, tokens as f64);
        }
    }

    fn record_run(&self, workflow: &str, status: &str) {
        let labels: Labels = vec![
            ("weft.workflow.name", workflow.to_string()),
            ("weft.run.status", status.to_string()),
        ];
        *self.lock().workflow_runs.entry(labels).or_insert(0) += 1;
    }

    fn snapshot(&self) -> MetricsSnapshot {
        let series = self.lock();
        MetricsSnapshot {
            operation_duration: HistogramSnapshot {
                name: OPERATION_DURATION,
                description: OPERATION_DURATION_HELP,
                unit: "s",
                boundaries: &DURATION_BUCKETS,
                points: series
                    .operation_duration
                    .iter()
                    .map(|(labels, buckets)| buckets.point(labels))
                    .collect(),
            },
            token_usage: HistogramSnapshot {
                name: TOKEN_USAGE,
                description: TOKEN_USAGE_HELP,
                unit: "{token}",
                boundaries: &TOKEN_BUCKETS,
                points: series
                    .token_usage
                    .iter()
                    .map(|(labels, buckets)| buckets.point(labels))
                    .collect(),
            },
            workflow_runs: CounterSnapshot {
                name: WORKFLOW_RUNS,
                description: WORKFLOW_RUNS_HELP,
                unit: "{run}",
                points: series
                    .workflow_runs
                    .iter()
                    .map(|(labels, value)| CounterPoint {
                        labels: labels.clone(),
                        value: *value,
                    })
                    .collect(),
            },
        }
    }
}

// --- The Prometheus text format -------------------------------------------------------

/// The Prometheus name of an OpenTelemetry metric or attribute name: characters outside
/// `[a-zA-Z0-9_:]` become `_`, and a leading digit gets a `_` before it.
fn prometheus_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// The Prometheus name of a metric with `unit`: `s` adds `_seconds`; annotations (`{token}`)
/// add nothing, as the OpenTelemetry-to-Prometheus mapping says.
fn prometheus_metric_name(name: &str, unit: &str) -> String {
    let mut out = prometheus_name(name);
    let suffix = match unit {
        "s" => "seconds",
        "ms" => "milliseconds",
        "By" => "bytes",
        _ => "",
    };
    if !suffix.is_empty() && !out.ends_with(suffix) {
        out.push('_');
        out.push_str(suffix);
    }
    out
}

/// `# HELP` text: `\` and newlines escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A label value: `\`, `"` and newlines escaped.
fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value or `le` bound as Prometheus parses it.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value == f64::INFINITY {
        "+Inf".to_string()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        value.to_string()
    }
}

/// `{a="x",b="y"}` (with `extra` last), or nothing without labels.
fn label_block(labels: &Labels, extra: Option<(&str, &str)>) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{}=\"{}\"", prometheus_name(key), escape_label_value(value)))
        .collect();
    if let Some((key, value)) = extra {
        pairs.push(format!("{key}=\"{}\"", escape_label_value(value)));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

fn write_histogram(out: &mut String, histogram: &HistogramSnapshot) {
    let name = prometheus_metric_name(histogram.name, histogram.unit);
    let _ = writeln!(out, "# HELP {name} {}", escape_help(histogram.description));
    let _ = writeln!(out, "# TYPE {name} histogram");
    for point in &histogram.points {
        let mut cumulative = 0u64;
        for (i, count) in point.bucket_counts.iter().enumerate() {
            cumulative += count;
            let le = histogram
                .boundaries
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |bound| format_value(*bound));
            let labels = label_block(&point.labels, Some(("le", &le)));
            let _ = writeln!(out, "{name}_bucket{labels} {cumulative}");
        }
        let labels = label_block(&point.labels, None);
        let _ = writeln!(out, "{name}_sum{labels} {}", format_value(point.sum));
        let _ = writeln!(out, "{name}_count{labels} {}", point.count);
    }
}

fn write_counter(out: &mut String, counter: &CounterSnapshot) {
    let mut name = prometheus_metric_name(counter.name, counter.unit);
    if !name.ends_with("_total") {
        name.push_str("_total");
    }
    let _ = writeln!(out, "# HELP {name} {}", escape_help(counter.description));
    let _ = writeln!(out, "# TYPE {name} counter");
    for point in &counter.points {
        let labels = label_block(&point.labels, None);
        let _ = writeln!(out, "{name}{labels} {}", point.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat<'a>(model: &'a str, millis: u64) -> Operation<'a> {
        Operation {
            operation: "chat",
            provider: "openai",
            request_model: model,
            duration: Duration::from_millis(millis),
            ..Default::default()
        }
    }

    #[test]
    fn renders_the_exact_text_format() {
        let registry = Registry::new();
        registry.record_operation(&Operation {
            response_model: Some("m-1"),
            input_tokens: Some(16),
            output_tokens: Some(17),
            ..chat("m", 250)
        });
        registry.record_operation(&Operation {
            response_model: Some("m-1"),
            ..chat("m", 500)
        });
        registry.record_operation(&Operation {
            error_type: Some("Timeout"),
            ..chat("m", 100_000)
        });
        registry.record_run("Writer", "completed");
        registry.record_run("Writer", "completed");
        registry.record_run("Writer", "failed");

        let labels = r#"gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="m""#;
        let ok = format!(r#"{labels},gen_ai_response_model="m-1""#);
        let failed = format!(r#"{labels},error_type="Timeout""#);
        let d = "gen_ai_client_operation_duration_seconds";
        let mut expected = String::new();
        expected.push_str(&format!(
            "# HELP {d} GenAI operation duration.\n# TYPE {d} histogram\n"
        ));
        // Label sets in order: `error.type` < `gen_ai.response.model` at the 4th label.
        let bounds = [
            "0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12",
            "10.24", "20.48", "40.96", "81.92", "+Inf",
        ];
        for le in bounds {
            let n = if le == "+Inf" { 1 } else { 0 };
            expected.push_str(&format!("{d}_bucket{{{failed},le=\"{le}\"}} {n}\n"));
        }
        expected.push_str(&format!(
            "{d}_sum{{{failed}}} 100\n{d}_count{{{failed}}} 1\n"
        ));
        for (i, le) in bounds.iter().enumerate() {
            // 0.25 falls in `le="0.32"`, 0.5 in `le="0.64"`.
            let n = match i {
                0..=4 => 0,
                5 => 1,
                _ => 2,
            };
            expected.push_str(&format!("{d}_bucket{{{ok},le=\"{le}\"}} {n}\n"));
        }
        expected.push_str(&format!("{d}_sum{{{ok}}} 0.75\n{d}_count{{{ok}}} 2\n"));

        let t = "gen_ai_client_token_usage";
        expected.push_str(&format!(
            "# HELP {t} Number of input and output tokens used.\n# TYPE {t} histogram\n"
        ));
        let token_bounds = [
            "1", "4", "16", "64", "256", "1024", "4096", "16384", "65536", "262144", "1048576",
            "4194304", "16777216", "67108864", "+Inf",
        ];
        for (kind, value, first) in [("input", 16, 2), ("output", 17, 3)] {
            let tl = format!(r#"{ok},gen_ai_token_type="{kind}""#);
            for (i, le) in token_bounds.iter().enumerate() {
                let n = u64::from(i >= first);
                expected.push_str(&format!("{t}_bucket{{{tl},le=\"{le}\"}} {n}\n"));
            }
            expected.push_str(&format!("{t}_sum{{{tl}}} {value}\n{t}_count{{{tl}}} 1\n"));
        }

        let r = "weft_workflow_runs_total";
        expected.push_str(&format!(
            "# HELP {r} Workflow runs that ended, by workflow and status.\n# TYPE {r} counter\n\
             {r}{{weft_workflow_name=\"Writer\",weft_run_status=\"completed\"}} 2\n\
             {r}{{weft_workflow_name=\"Writer\",weft_run_status=\"failed\"}} 1\n"
        ));

        let text = registry.snapshot().render_prometheus();
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn an_empty_registry_has_help_and_type_only() {
        let text = Registry::new().snapshot().render_prometheus();
        assert_eq!(
            text,
            "# HELP gen_ai_client_operation_duration_seconds GenAI operation duration.\n\
             # TYPE gen_ai_client_operation_duration_seconds histogram\n\
             # HELP gen_ai_client_token_usage Number of input and output tokens used.\n\
             # TYPE gen_ai_client_token_usage histogram\n\
             # HELP weft_workflow_runs_total Workflow runs that ended, by workflow and status.\n\
             # TYPE weft_workflow_runs_total counter\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let registry = Registry::new();
        registry.record_run("a\\b\"c\nd", "completed");
        let text = registry.snapshot().render_prometheus();
        assert!(
            text.contains(
                "weft_workflow_runs_total{weft_workflow_name=\"a\\\\b\\\"c\\nd\",weft_run_status=\"completed\"} 1\n"
            ),
            "{text}"
        );
        assert_eq!(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\"d");
    }

    #[test]
    fn buckets_are_inclusive_upper_bounds_and_counts_are_not_cumulative() {
        let registry = Registry::new();
        for tokens in [0, 1, 2, 4, 5, 67108864, 67108865] {
            registry.record_operation(&Operation {
                input_tokens: Some(tokens),
                ..chat("m", 1)
            });
        }
        let snapshot = registry.snapshot();
        let [point] = snapshot.token_usage.points.as_slice() else {
            panic!("one label set: {:?}", snapshot.token_usage.points);
        };
        assert_eq!(
            point.labels,
            vec![
                ("gen_ai.operation.name", "chat".to_string()),
                ("gen_ai.provider.name", "openai".to_string()),
                ("gen_ai.request.model", "m".to_string()),
                ("gen_ai.token.type", "input".to_string()),
            ]
        );
        assert_eq!(point.bucket_counts.len(), TOKEN_BUCKETS.len() + 1);
        assert_eq!(point.bucket_counts[0], 2, "0 and 1");
        assert_eq!(point.bucket_counts[1], 2, "2 and 4");
        assert_eq!(point.bucket_counts[2], 1, "5");
        assert_eq!(point.bucket_counts[13], 1, "67108864");
        assert_eq!(point.bucket_counts[14], 1, "above the last bound");
        assert_eq!(point.bucket_counts.iter().sum::<u64>(), 7);
        assert_eq!(point.count, 7);
        assert_eq!(point.min, 0.0);
        assert_eq!(point.max, 67108865.0);
        assert_eq!(point.sum, (1 + 2 + 4 + 5 + 67108864 + 67108865) as f64);
        // No output tokens were reported: no output series.
        assert_eq!(snapshot.token_usage.points.len(), 1);
        assert_eq!(snapshot.operation_duration.points[0].count, 7);
    }

    #[test]
    fn tool_calls_and_unknown_parts_leave_labels_out() {
        let registry = Registry::new();
        registry.record_operation(&Operation {
            operation: "execute_tool",
            provider: "anthropic",
            request_model: "",
            response_model: Some(""),
            duration: Duration::from_secs(3),
            error_type: Some("ToolFailed"),
            ..Default::default()
        });
        let snapshot = registry.snapshot();
        assert!(snapshot.token_usage.points.is_empty());
        assert_eq!(
            snapshot.operation_duration.points[0].labels,
            vec![
                ("gen_ai.operation.name", "execute_tool".to_string()),
                ("gen_ai.provider.name", "anthropic".to_string()),
                ("error.type", "ToolFailed".to_string()),
            ]
        );
    }

    #[test]
    fn names_follow_the_prometheus_conventions() {
        assert_eq!(
            prometheus_metric_name(OPERATION_DURATION, "s"),
            "gen_ai_client_operation_duration_seconds"
        );
        assert_eq!(
            prometheus_metric_name(TOKEN_USAGE, "{token}"),
            "gen_ai_client_token_usage"
        );
        assert_eq!(prometheus_name("9a.b-c"), "_9a_b_c");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(1048576.0), "1048576");
    }

    struct Counting(std::sync::atomic::AtomicU64);

    impl MetricsObserver for Counting {
        fn on_run(&self, workflow: &str, _status: &str) {
            if workflow == "observed-by-the-test" {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn the_global_registry_and_observers_see_every_record() {
        let observer = Arc::new(Counting(Default::default()));
        add_observer(observer.clone());
        record_run("observed-by-the-test", "completed");
        record_operation(&chat("model-of-the-global-test", 2));
        assert_eq!(observer.0.load(Ordering::SeqCst), 1);
        let snapshot = snapshot();
        assert!(snapshot
            .workflow_runs
            .points
            .iter()
            .any(|point| { point.labels[0].1 == "observed-by-the-test" && point.value >= 1 }));
        let text = render_prometheus();
        assert!(text.contains(
            "weft_workflow_runs_total{weft_workflow_name=\"observed-by-the-test\",weft_run_status=\"completed\"} "
        ));
        assert!(text.contains("gen_ai_request_model=\"model-of-the-global-test\",le=\"0.01\"} 1\n"));
    }
}
