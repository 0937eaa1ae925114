//! The HTTP side: routes, request capture, and turning a reply into a response.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as Shared;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::capture::{CapturedRequest, WireFormat};
use crate::reply::{Fault, Reply};
use crate::web::Page;
use crate::wire::{self, Frame};

/// Shared server state.
pub(crate) struct State {
    pub script: Mutex<VecDeque<Reply>>,
    /// Replies for requests whose body contains a needle, tried (in order) before `script`.
    pub routes: Mutex<Vec<(String, Reply)>>,
    pub default_reply: Reply,
    pub ttft: Duration,
    pub chunk_delay: Duration,
    pub capture: bool,
    pub requests: Mutex<Vec<CapturedRequest>>,
    pub count: AtomicUsize,
    /// Pages served on `GET`, by path (a path with its query string wins over the bare path).
    pub pages: Mutex<HashMap<String, Page>>,
    /// `GET` requests to pages, by path with query (what the web tools asked for).
    pub page_requests: Mutex<Vec<String>>,
}

impl State {
    fn next_reply(&self, body: &str) -> Reply {
        let routed = {
            let mut routes = match self.routes.lock() {
                Ok(routes) => routes,
                Err(poisoned) => poisoned.into_inner(),
            };
            let position = routes
                .iter()
                .position(|(needle, _)| body.contains(needle.as_str()));
            position.map(|i| routes.remove(i).1)
        };
        if let Some(reply) = routed {
            return reply;
        }
        let scripted = match self.script.lock() {
            Ok(mut script) => script.pop_front(),
            Err(poisoned) => poisoned.into_inner().pop_front(),
        };
        scripted.unwrap_or_else(|| self.default_reply.clone())
    }
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai))
        .route("/chat/completions", post(openai))
        .route("/v1/messages", post(anthropic))
        .route("/_stats", get(stats))
        .fallback(get(page))
        .with_state(state)
}

async fn openai(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    handle(state, WireFormat::OpenAI, headers, body).await
}

async fn anthropic(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    handle(state, WireFormat::Anthropic, headers, body).await
}

/// A fixture page, or 404.
async fn page(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let path = uri.path().to_string();
    let full = uri
        .path_and_query()
        .map_or(path.clone(), |pq| pq.as_str().to_string());
    match state.page_requests.lock() {
        Ok(mut seen) => seen.push(full.clone()),
        Err(poisoned) => poisoned.into_inner().push(full.clone()),
    }
    let found = {
        let pages = match state.pages.lock() {
            Ok(pages) => pages,
            Err(poisoned) => poisoned.into_inner(),
        };
        pages.get(&full).or_else(|| pages.get(&path)).cloned()
    };
    let Some(page) = found else {
        return (StatusCode::NOT_FOUND, "no fixture page here").into_response();
    };
    if !page.delay.is_zero() {
        tokio::time::sleep(page.delay).await;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let body = page.body_for(&base);
    let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, page.content_type.as_str());
    for (name, value) in &page.headers {
        response = response.header(name.as_str(), value.replace("{base}", &base));
    }
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn stats(Shared(state): Shared<Arc<State>>) -> Json<Value> {
    Json(json!({ "requests": state.count.load(Ordering::SeqCst) }))
}

async fn handle(
    state: Arc<State>,
    format: WireFormat,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let number = state.count.fetch_add(1, Ordering::SeqCst);
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if state.capture {
        let captured = CapturedRequest {
            format,
            path: match format {
                WireFormat::OpenAI => "/v1/chat/completions".to_string(),
                WireFormat::Anthropic => "/v1/messages".to_string(),
            },
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        value.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
            body: request.clone(),
        };
        match state.requests.lock() {
            Ok(mut requests) => requests.push(captured),
            Err(poisoned) => poisoned.into_inner().push(captured),
        }
    }
    if !request.is_object() {
        let error = json!({ "error": { "message": "the request body is not a JSON object" } });
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    if format == WireFormat::Anthropic {
        if let Some(message) = wire::anthropic::invalid_request(&request) {
            let error = json!({ "type": "error", "error": { "type": "invalid_request_error", "message": message } });
            return (StatusCode::BAD_REQUEST, Json(error)).into_response();
        }
    }
    let anthropic = (format == WireFormat::Anthropic).then_some(&request);
    let reply = state
        .next_reply(&String::from_utf8_lossy(&body))
        .resolve_json(anthropic);
    let model = request["model"]
        .as_str()
        .unwrap_or("fake-model")
        .to_string();
    let id = format!("fake-{number}");
    let input_tokens = count_words(&request["messages"]) + count_words(&request["system"]);
    let ttft = reply.ttft.unwrap_or(state.ttft);
    let chunk_delay = reply.chunk_delay.unwrap_or(state.chunk_delay);

    if let Some(Fault::Status {
        status,
        retry_after,
    }) = &reply.fault
    {
        let body = match format {
            WireFormat::OpenAI => wire::openai::error(*status),
            WireFormat::Anthropic => wire::anthropic::error(*status),
        };
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(body)).into_response();
        if let Some(value) = retry_after.as_deref().and_then(|v| v.parse().ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }

    if request["stream"] == Value::Bool(true) {
        let frames = match format {
            WireFormat::OpenAI => {
                let usage = request["stream_options"]["include_usage"] == Value::Bool(true);
                wire::openai::frames(&reply, &id, &model, input_tokens, usage)
            }
            WireFormat::Anthropic => wire::anthropic::frames(&reply, &id, &model, input_tokens),
        };
        let body = timed_body(frames, reply.fault.clone(), ttft, chunk_delay);
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(body)
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }

    // A whole answer takes as long as streaming it would: the first token, then every other
    // chunk.
    let chunks = (reply.text.len() + reply.tool_calls.len()).max(1) as u32;
    let generation = ttft + chunk_delay * (chunks - 1);
    if !generation.is_zero() {
        tokio::time::sleep(generation).await;
    }
    let body = match format {
        WireFormat::OpenAI => wire::openai::body(&reply, &id, &model, input_tokens),
        WireFormat::Anthropic => wire::anthropic::body(&reply, &id, &model, input_tokens),
    };
    if let Some(Fault::HoldAfter(_, gate)) = &reply.fault {
        gate.pass().await;
    }
    match reply.fault {
        Some(Fault::StallAfter(_)) => futures::future::pending().await,
        Some(
            Fault::EndlessLineAfter(_) | Fault::EndlessEventAfter(_) | Fault::EndlessDeltasAfter(_),
        ) => {
            // A JSON answer whose text never ends.
            let start = Bytes::from_static(b"{\"choices\":[{\"message\":{\"content\":\"");
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(endless(start, ENDLESS_TEXT)))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Fault::TruncateAfter(_)) => {
            let text = body.to_string();
            let half = text.len() / 2;
            (
                [(header::CONTENT_TYPE, "application/json")],
                text.as_bytes()[..half].to_vec(),
            )
                .into_response()
        }
        Some(Fault::ResetAfter(_)) => {
            let text = body.to_string();
            let half = text.len() / 2;
            let parts: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from(text.as_bytes()[..half].to_vec())),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fake reset",
                )),
            ];
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(futures::stream::iter(parts)))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Fault::MalformedAfter(_)) => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"choices\": [not json",
        )
            .into_response(),
        _ => Json(body).into_response(),
    }
}

/// Counts words in every string under `value`: the fake's token count.
fn count_words(value: &Value) -> u64 {
    match value {
        Value::String(text) => text.split_whitespace().count() as u64,
        Value::Array(items) => items.iter().map(count_words).sum(),
        Value::Object(map) => map.values().map(count_words).sum(),
        _ => 0,
    }
}

enum Step {
    Send(Bytes, Duration),
    Reset,
    Stall,
    Hold(crate::reply::Gate),
}

/// 64 KiB of text, sent again and again by the endless faults.
const ENDLESS_TEXT: &[u8] = &[b'a'; 64 * 1024];

/// 64 KiB of short `data:` lines, sent again and again by [`Fault::EndlessEventAfter`].
fn endless_data_lines() -> &'static [u8] {
    static LINES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| b"data: aaaaaaaaaa\n".repeat(4096))
}

/// `start`, then `then` forever: a body with no end, made lazily (the client's reads pace it).
fn endless(
    start: Bytes,
    then: &'static [u8],
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::iter([Ok(start)]).chain(futures::stream::repeat_with(move || {
        Ok(Bytes::from_static(then))
    }))
}

/// `frame` again and again, forever, in batches of about 64 KiB.
fn repeated(
    frame: &str,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let copies = (64 * 1024 / frame.len().max(1)).max(1);
    let batch = Bytes::from(frame.repeat(copies));
    futures::stream::repeat_with(move || Ok(batch.clone()))
}

/// A streamed body: frames with time to first token and per-chunk delays, and the reply's
/// fault injected before content chunk number `n` (or after the last one).
fn timed_body(
    frames: Vec<Frame>,
    fault: Option<Fault>,
    ttft: Duration,
    chunk_delay: Duration,
) -> Body {
    let mut remaining_content = frames.iter().filter(|f| f.content).count();
    let first_content = frames
        .iter()
        .find(|f| f.content)
        .map(|f| f.text.clone())
        .unwrap_or_default();
    let mut fault = fault;
    let mut content_seen = 0;
    let mut pinging = false;
    let mut tail: Option<futures::stream::BoxStream<'static, Result<Bytes, std::io::Error>>> = None;
    let mut steps = Vec::with_capacity(frames.len() + 1);
    for (position, frame) in frames.into_iter().enumerate() {
        let due = match &fault {
            Some(
                Fault::ResetAfter(n)
                | Fault::StallAfter(n)
                | Fault::MalformedAfter(n)
                | Fault::TruncateAfter(n)
                | Fault::PingForeverAfter(n)
                | Fault::EndlessLineAfter(n)
                | Fault::EndlessEventAfter(n)
                | Fault::EndlessDeltasAfter(n)
                | Fault::HoldAfter(n, _),
            ) => content_seen >= *n && (frame.content || remaining_content == 0),
            _ => false,
        };
        if due {
            match fault.take() {
                Some(Fault::ResetAfter(_)) => {
                    steps.push(Step::Reset);
                    break;
                }
                Some(Fault::StallAfter(_)) => {
                    steps.push(Step::Stall);
                    break;
                }
                Some(Fault::TruncateAfter(_)) => break,
                Some(Fault::HoldAfter(_, gate)) => steps.push(Step::Hold(gate)),
                Some(Fault::PingForeverAfter(_)) => {
                    pinging = true;
                    break;
                }
                Some(Fault::EndlessLineAfter(_)) => {
                    tail = Some(endless(Bytes::from_static(b"data: "), ENDLESS_TEXT).boxed());
                    break;
                }
                Some(Fault::EndlessEventAfter(_)) => {
                    let start = Bytes::from_static(b"event: content_block_delta\n");
                    tail = Some(endless(start, endless_data_lines()).boxed());
                    break;
                }
                // A reply without content has nothing to repeat: it is sent whole.
                Some(Fault::EndlessDeltasAfter(_)) if !first_content.is_empty() => {
                    tail = Some(repeated(&first_content).boxed());
                    break;
                }
                Some(Fault::MalformedAfter(_)) => steps.push(Step::Send(
                    Bytes::from_static(b"data: {\"choices\": [not json\n\n"),
                    Duration::ZERO,
                )),
                _ => {}
            }
        }
        let delay = if position == 0 {
            ttft
        } else if frame.content {
            chunk_delay
        } else {
            Duration::ZERO
        };
        if frame.content {
            content_seen += 1;
            remaining_content -= 1;
        }
        steps.push(Step::Send(Bytes::from(frame.text), delay));
    }
    // Every chunk is due at a fixed offset from the start (not after the previous sleep), so
    // timer granularity does not add up over the chunks of a reply.
    let start = tokio::time::Instant::now();
    let mut due = Duration::ZERO;
    let steps: Vec<(Step, Duration)> = steps
        .into_iter()
        .map(|step| {
            if let Step::Send(_, delay) = &step {
                due += *delay;
            }
            (step, due)
        })
        .collect();
    let stream = futures::stream::iter(steps).then(move |(step, due)| async move {
        match step {
            Step::Send(bytes, delay) => {
                if !delay.is_zero() {
                    tokio::time::sleep_until(start + due).await;
                }
                Ok(bytes)
            }
            Step::Reset => {
                // Let the server flush what it already wrote, so the client receives the
                // chunks before the connection breaks.
                tokio::task::yield_now().await;
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fake connection reset",
                ))
            }
            Step::Stall => futures::future::pending().await,
            Step::Hold(gate) => {
                gate.pass().await;
                Ok(Bytes::new())
            }
        }
    });
    // Keep-alives every 50 ms, forever: the connection is busy, the answer goes nowhere.
    let pings = futures::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Some((
            Ok(Bytes::from_static(
                b"event: ping\ndata: {\"type\": \"ping\"}\n\n",
            )),
            (),
        ))
    });
    if pinging {
        Body::from_stream(stream.chain(pings))
    } else if let Some(tail) = tail {
        Body::from_stream(stream.chain(tail))
    } else {
        Body::from_stream(stream)
    }
}
