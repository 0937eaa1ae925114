//! Capturing spans per test, and rendering them as a sorted text tree for goldens.

use std::collections::HashMap;

use weft::otel::opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use weft::otel::opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use weft::otel::{Otel, OtelGuard};

use tracing_subscriber::layer::SubscriberExt as _;

/// The spans one test makes: weft's layer as users get it (`weft::otel`), exporting to an
/// in-memory exporter, as this thread's default subscriber until dropped.
pub struct Capture {
    exporter: InMemorySpanExporter,
    guard: OtelGuard,
    _default: tracing::subscriber::DefaultGuard,
}

impl Capture {
    pub fn start() -> Capture {
        let exporter = InMemorySpanExporter::default();
        let (layer, guard) = Otel::builder()
            .span_exporter(exporter.clone())
            .metrics(false)
            .layer()
            .unwrap();
        let default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        Capture {
            exporter,
            guard,
            _default: default,
        }
    }

    /// Every span that ended so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.guard.flush().unwrap();
        self.exporter.get_finished_spans().unwrap()
    }

    /// Forgets the spans that ended so far.
    pub fn clear(&self) {
        self.guard.flush().unwrap();
        self.exporter.reset();
    }
}

/// The value of attribute `key`, as text.
pub fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// A whole-number attribute.
pub fn number(span: &SpanData, key: &str) -> Option<u64> {
    attr(span, key).map(|value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{key} of {}: {value}", span.name))
    })
}

/// The spans named `name` (the OpenTelemetry name).
pub fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|span| span.name == name).collect()
}

/// The one span named `name`.
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "one `{name}`:\n{}", render(spans));
    found[0]
}

/// The children of `parent`.
pub fn children<'a>(spans: &'a [SpanData], parent: &SpanData) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|span| span.parent_span_id == parent.span_context.span_id())
        .collect()
}

/// Attributes whose values change from run to run in ways the goldens do not pin: rendered
/// as `#` (the tests check them apart).
const MASKED: [&str; 1] = ["gen_ai.usage.input_tokens"];

/// The spans as a tree, one span a line (`name [kind] key=value ...`, attributes sorted,
/// `!ERROR` for an error status), children indented under their parent and sorted by their
/// rendering (so concurrent work renders the same whatever the order), roots likewise. A span
/// whose parent was not exported is a root marked `(orphan)`.
pub fn render(spans: &[SpanData]) -> String {
    let ids: HashMap<SpanId, &SpanData> = spans
        .iter()
        .map(|span| (span.span_context.span_id(), span))
        .collect();
    let mut roots: Vec<String> = spans
        .iter()
        .filter(|span| !ids.contains_key(&span.parent_span_id))
        .map(|span| {
            let orphan = span.parent_span_id != SpanId::INVALID;
            subtree(spans, span, 0, orphan)
        })
        .collect();
    roots.sort();
    roots.concat()
}

fn subtree(spans: &[SpanData], span: &SpanData, depth: usize, orphan: bool) -> String {
    let marker = if orphan { " (orphan)" } else { "" };
    let mut out = format!("{}{}{marker}\n", "  ".repeat(depth), line(span));
    let mut below: Vec<String> = children(spans, span)
        .into_iter()
        .map(|child| subtree(spans, child, depth + 1, false))
        .collect();
    below.sort();
    out.push_str(&below.concat());
    out
}

fn line(span: &SpanData) -> String {
    let kind = match span.span_kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    };
    let mut out = format!("{} [{kind}]", span.name);
    if matches!(span.status, Status::Error { .. }) {
        out.push_str(" !ERROR");
    }
    let mut attributes: Vec<String> = span
        .attributes
        .iter()
        .map(|kv| {
            let key = kv.key.as_str();
            if MASKED.contains(&key) {
                format!("{key}=#")
            } else {
                format!("{key}={}", kv.value)
            }
        })
        .collect();
    attributes.sort();
    for attribute in attributes {
        out.push(' ');
        out.push_str(&attribute);
    }
    out
}

/// The trace ids of `spans`, each once.
pub fn traces(spans: &[SpanData]) -> Vec<TraceId> {
    let mut ids: Vec<TraceId> = spans
        .iter()
        .map(|span| span.span_context.trace_id())
        .collect();
    ids.sort_by_key(|id| id.to_string());
    ids.dedup();
    ids
}

/// Fails if `needle` appears in any span's name, attribute, status or event.
pub fn assert_nowhere(spans: &[SpanData], needle: &str) {
    for span in spans {
        let mut texts = vec![span.name.to_string()];
        texts.extend(span.attributes.iter().map(|kv| kv.value.to_string()));
        if let Status::Error { description } = &span.status {
            texts.push(description.to_string());
        }
        for event in span.events.iter() {
            texts.push(event.name.to_string());
            texts.extend(event.attributes.iter().map(|kv| kv.value.to_string()));
        }
        for text in texts {
            assert!(
                !text.contains(needle),
                "`{needle}` in span `{}`: {text}",
                span.name
            );
        }
    }
}
