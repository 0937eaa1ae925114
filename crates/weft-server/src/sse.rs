//! SSE framing of a run's items: `id: <seq>`, `event: <RunEvent>`, `data: <compact JSON with
//! "seq">`; the cursor a client resumes from (`Last-Event-ID` or `?after=N`).

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use weft_runtime::{RunResponse, RunStream};

use crate::error::ApiError;

/// The event name of an item: its `RunEvent` as serialised (`RunContent`, `WorkflowCompleted`…).
pub fn event_name(item: &RunResponse) -> String {
    match serde_json::to_value(item.event) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{:?}", item.event),
    }
}

/// One item as an SSE event.
pub fn frame(item: &RunResponse) -> Event {
    let data = serde_json::to_string(item).unwrap_or_else(|err| {
        serde_json::json!({"error": {"code": "internal", "message": err.to_string()}}).to_string()
    });
    let event = Event::default().event(event_name(item)).data(data);
    match item.seq {
        Some(seq) => event.id(seq.to_string()),
        None => event,
    }
}

/// The event that ends the stream of a run that was cancelled (it logs no last item).
pub fn cancelled(run_id: &str) -> Event {
    Event::default()
        .event("RunCancelled")
        .data(serde_json::json!({"run_id": run_id, "status": "cancelled"}).to_string())
}

/// The event that ends the stream of a run that failed before it logged its own `RunError`.
pub fn run_failed(run_id: &str, err: &weft_runtime::Error) -> Event {
    Event::default().event("RunError").data(
        serde_json::json!({"run_id": run_id, "event": "RunError", "content": err.to_string()})
            .to_string(),
    )
}

/// The event that ends a stream when the store failed while reading it.
pub fn failed(err: &weft_runtime::Error) -> Event {
    tracing::error!(error = %err, "a run's event stream failed");
    Event::default().event("StreamError").data(
        serde_json::json!({"error": {"code": "internal", "message": err.to_string()}}).to_string(),
    )
}

/// Where a client resumes: the `Last-Event-ID` header, else `?after=N`, else 0 (from the
/// start). Either must be a seq (a whole number): anything else is a `400 invalid_cursor`.
pub fn cursor(headers: &HeaderMap, after: Option<&str>) -> Result<u64, ApiError> {
    if let Some(value) = headers.get("last-event-id") {
        let text = value.to_str().unwrap_or("\u{fffd}");
        return parse_seq("the Last-Event-ID header", text);
    }
    match after {
        Some(after) => parse_seq("`after`", after),
        None => Ok(0),
    }
}

fn parse_seq(what: &str, text: &str) -> Result<u64, ApiError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(0);
    }
    trimmed.parse::<u64>().map_err(|_| {
        ApiError::bad_request(
            "invalid_cursor",
            format!(
                "{what} must be the seq of the last event received (a whole number), not {:?}",
                trimmed.chars().take(32).collect::<String>()
            ),
        )
    })
}

/// A run's items (from [`weft_runtime::RunHandle::events`] or the store) as an SSE response:
/// `: ping` comments every `keep_alive`, `Cache-Control: no-cache`, `X-Accel-Buffering: no`;
/// `end` is sent after the last item when the run did not end with one of its own.
pub fn respond(
    items: RunStream<'static>,
    end: impl std::future::Future<Output = Option<Event>> + Send + 'static,
    keep_alive: Duration,
    run_id: &str,
) -> Response {
    let stream = events(items, end);
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(keep_alive).text(" ping"))
        .into_response();
    let headers = response.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Ok(value) = HeaderValue::from_str(run_id) {
        headers.insert("x-weft-run-id", value);
    }
    response
}

fn events(
    mut items: RunStream<'static>,
    end: impl std::future::Future<Output = Option<Event>> + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    async_stream::stream! {
        let mut last_event = None;
        while let Some(item) = items.next().await {
            match item {
                Ok(item) => {
                    last_event = Some(item.event);
                    yield Ok(frame(&item));
                }
                Err(err) => {
                    yield Ok(failed(&err));
                    return;
                }
            }
        }
        let ended_by_item = matches!(
            last_event,
            Some(weft_runtime::RunEvent::WorkflowCompleted | weft_runtime::RunEvent::RunError)
        );
        if !ended_by_item {
            if let Some(event) = end.await {
                yield Ok(event);
            }
        }
    }
}
