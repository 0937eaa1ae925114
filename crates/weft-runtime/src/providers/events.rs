//! From a provider's server-sent events to model events, the same way for every provider: a
//! provider parses each event; an answer ends at a finish reason or at the provider's own
//! end-of-stream marker, and a body that stops before either is incomplete
//! ([`sse::ended_early`]). Decoding stops at the first error, and at the caps of
//! [`ResponseLimits`] on what one call's text and tool calls add up to (the caller adds them up,
//! so this is where an endless stream of small deltas is stopped, before anything is held).
//! An answer that produces nothing
//! for the model's timeout is a stall, even while the provider keeps the connection alive
//! with pings ([`stall_timeout`]).

use std::time::Duration;

use futures::{Stream, StreamExt};

use crate::http::sse::{self, SseEvent};
use crate::http::ResponseLimits;
use crate::model::{CallBudget, ModelEvent};
use crate::{Error, Result};

/// What a provider makes of one event: its model events, and whether it is the provider's
/// end-of-stream marker.
pub(crate) struct Parsed {
    pub events: Vec<ModelEvent>,
    pub end_marker: bool,
}

/// The model events of a streamed body, within `limits`; `parse` reads one SSE event.
pub(crate) fn model_events<S, B, E, F>(
    provider: &'static str,
    bytes: S,
    transport: impl Fn(E) -> Error + Send + 'static,
    limits: ResponseLimits,
    mut parse: F,
) -> impl Stream<Item = Result<ModelEvent>> + Send
where
    S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Send,
    F: FnMut(SseEvent) -> Result<Parsed> + Send + 'static,
{
    async_stream::stream! {
        let mut sse = std::pin::pin!(sse::decode_with_limits(provider, bytes, transport, limits));
        let mut budget = CallBudget::with_limits(provider, limits.calls());
        let mut finished = false;
        while let Some(event) = sse.next().await {
            match event.and_then(&mut parse) {
                Ok(parsed) => {
                    finished |= parsed.end_marker;
                    for event in parsed.events {
                        if let Err(err) = budget.event(&event) {
                            yield Err(err);
                            return;
                        }
                        finished |= matches!(event, ModelEvent::Finish(_));
                        yield Ok(event);
                    }
                }
                Err(err) => {
                    yield Err(err);
                    return;
                }
            }
        }
        if !finished {
            yield Err(sse::ended_early(provider));
        }
    }
}

/// Ends `events` with [`Error::Timeout`] when no model event arrives for `after`. The HTTP
/// client's read timeout cannot see this: Anthropic's `ping` events keep the connection busy
/// while the answer makes no progress.
pub(crate) fn stall_timeout<S>(
    provider: &'static str,
    after: Duration,
    events: S,
) -> impl Stream<Item = Result<ModelEvent>> + Send
where
    S: Stream<Item = Result<ModelEvent>> + Send,
{
    async_stream::stream! {
        let mut events = std::pin::pin!(events);
        loop {
            match tokio::time::timeout(after, events.next()).await {
                Ok(Some(event)) => yield event,
                Ok(None) => return,
                Err(_) => {
                    yield Err(Error::Timeout { provider, after });
                    return;
                }
            }
        }
    }
}
