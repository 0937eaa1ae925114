//! The tracing part of `bench/compare.sh`: what weft's spans cost a sequential run when
//! `tracing` is compiled out (a build with this crate's feature `tracing-off`), compiled in
//! with no subscriber, and exported over OTLP/HTTP by `weft::otel` to a local sink.
//!
//! The sink (`weft-bench otlp-sink`) is a process of its own, so its work is not counted in
//! the measured process's CPU time: it accepts every OTLP POST, counts it and drops it,
//! answering `200` with an empty (valid) protobuf body, as a collector would. `GET /stats`
//! says how many POSTs and bytes it got, per path.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// Whether this build has `tracing` compiled out (feature `tracing-off`: `max_level_off`).
pub fn tracing_compiled_out() -> bool {
    tracing::level_filters::STATIC_MAX_LEVEL == tracing::level_filters::LevelFilter::OFF
}

/// POSTs, bytes and spans received, by path.
type Received = Arc<Mutex<BTreeMap<String, Counts>>>;

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    posts: u64,
    bytes: u64,
    spans: u64,
}

/// Serves the sink on 127.0.0.1:`port` (0: a free one) until killed, after printing
/// `OTLP_ENDPOINT=http://127.0.0.1:<port>`.
pub async fn serve_sink(port: u16) -> std::io::Result<()> {
    let received = Received::default();
    let app = Router::new().fallback(receive).with_state(received);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    println!("weft-bench otlp-sink listening on {addr}");
    println!("  OTLP_ENDPOINT=http://{addr}");
    axum::serve(listener, app).await
}

async fn receive(
    State(received): State<Received>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut received = received.lock().unwrap_or_else(PoisonError::into_inner);
    if method == Method::GET && uri.path() == "/stats" {
        let stats: BTreeMap<&String, serde_json::Value> = received
            .iter()
            .map(|(path, counts)| {
                let counts = serde_json::json!({
                    "posts": counts.posts, "bytes": counts.bytes, "spans": counts.spans,
                });
                (path, counts)
            })
            .collect();
        return serde_json::to_string(&stats)
            .unwrap_or_default()
            .into_response();
    }
    let entry = received.entry(uri.path().to_string()).or_default();
    entry.posts += 1;
    entry.bytes += body.len() as u64;
    if uri.path().ends_with("/v1/traces") {
        entry.spans += count_spans(&body).unwrap_or(0);
    }
    (
        StatusCode::OK,
        [("content-type", "application/x-protobuf")],
        Vec::<u8>::new(),
    )
        .into_response()
}

/// The sink's counts: `{"/v1/traces": {"posts": n, "bytes": n}, ...}`.
pub async fn sink_stats(endpoint: &str) -> Result<serde_json::Value, String> {
    let url = format!("{}/stats", endpoint.trim_end_matches('/'));
    let response = reqwest::get(&url)
        .await
        .map_err(|err| format!("reading {url}: {err}"))?;
    response
        .json()
        .await
        .map_err(|err| format!("reading {url}: {err}"))
}

/// `after` less `before` (two answers of [`sink_stats`]), path by path and count by count.
pub fn stats_since(
    after: &serde_json::Value,
    before: Option<&serde_json::Value>,
) -> serde_json::Value {
    let mut out = after.clone();
    if let (Some(paths), Some(before)) = (out.as_object_mut(), before) {
        for (path, counts) in paths.iter_mut() {
            if let Some(counts) = counts.as_object_mut() {
                for (key, value) in counts.iter_mut() {
                    let earlier = before[path.as_str()][key.as_str()].as_u64().unwrap_or(0);
                    *value = serde_json::json!(value.as_u64().unwrap_or(0).saturating_sub(earlier));
                }
            }
        }
    }
    out
}

/// Installs `weft::otel` as the process's subscriber, exporting spans (batched) and metrics
/// to the OTLP/HTTP `endpoint`.
pub fn install_otlp(endpoint: &str) -> Result<weft::otel::OtelGuard, String> {
    weft::otel::Otel::builder()
        .endpoint(endpoint)
        .service_name("weft-bench")
        .install()
        .map_err(|err| format!("setting the OTLP export up: {err}"))
}

/// The spans in an OTLP `ExportTraceServiceRequest` (protobuf): `resource_spans` (field 1) >
/// `scope_spans` (2) > `spans` (2). `None` if the body is not well-formed protobuf.
pub fn count_spans(body: &[u8]) -> Option<u64> {
    let mut spans = 0;
    for (field, resource_spans) in messages(body)? {
        if field != 1 {
            continue;
        }
        for (field, scope_spans) in messages(resource_spans)? {
            if field != 2 {
                continue;
            }
            spans += messages(scope_spans)?
                .into_iter()
                .filter(|(field, _)| *field == 2)
                .count() as u64;
        }
    }
    Some(spans)
}

/// The length-delimited fields of a protobuf message, as (field number, bytes); other wire
/// types are skipped.
fn messages(mut buf: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        match key & 7 {
            0 => {
                varint(&mut buf)?;
            }
            1 => buf = buf.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                out.push((key >> 3, buf.get(..len)?));
                buf = buf.get(len..)?;
            }
            5 => buf = buf.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}
