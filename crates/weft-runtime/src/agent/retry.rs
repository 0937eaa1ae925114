//! Retrying a model call, without ever repeating text.
//!
//! Policy: HTTP 408/409/429/5xx, network errors and timeouts are retried with exponential
//! backoff and full jitter, or after exactly the `Retry-After` the provider asked for, up to
//! `retries` times, and **only while the call has not yielded any content** (text or a
//! tool-call piece; usage is not content). Once content went out, a failure ends the call with
//! a typed error: a retry would duplicate tokens the caller already has (an Agno bug). A broken
//! or cut connection after that point is [`Error::StreamInterrupted`]. Usage reported by an
//! attempt that is then retried is dropped, so tokens are counted once.

use std::time::Duration;

use futures::{Stream, StreamExt, TryFutureExt};

use crate::model::{ModelEvent, ModelRef, ModelRequest};
use crate::{Error, Result};

/// How failed model calls are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2).
    pub retries: u32,
    /// The first backoff; it doubles on every retry (default 500 ms).
    pub base_delay: Duration,
    /// The longest backoff (default 8 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` weft waits; a longer one ends the call with the provider's
    /// error, which carries the wait so the caller can decide (default 60 s).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based), or `None` to give up.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.retries {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        // Full jitter over the upper half: spreads clients out, never waits less than half.
        let half = backoff / 2;
        Some(half + half.mul_f64(fastrand::f64()))
    }
}

/// Whether a call streams (SSE) or asks for the whole response at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallMode {
    Stream,
    Complete,
}

impl CallMode {
    /// The mode's name, as journal keys hash it.
    pub fn as_str(self) -> &'static str {
        match self {
            CallMode::Stream => "stream",
            CallMode::Complete => "complete",
        }
    }
}

/// One model call with retries, as a stream of events either way.
pub(crate) fn call(
    policy: RetryPolicy,
    model: ModelRef,
    request: ModelRequest,
    mode: CallMode,
) -> impl Stream<Item = Result<ModelEvent>> + Send {
    async_stream::stream! {
        let mut attempt = 0;
        loop {
            let mut events = match mode {
                CallMode::Stream => model.stream(request.clone()),
                CallMode::Complete => model
                    .complete(request.clone())
                    .map_ok(|response| {
                        futures::stream::iter(response.into_events().into_iter().map(Ok))
                    })
                    .try_flatten_stream()
                    .boxed(),
            };
            let mut yielded = false;
            let mut retry_in = None;
            // Usage reported before any content (Anthropic's `message_start`) is held back
            // until the attempt is known to stand, so a retried attempt is not counted twice.
            let mut held_usage = Vec::new();
            while let Some(event) = events.next().await {
                match event {
                    Ok(event @ ModelEvent::Usage(_)) if !yielded => held_usage.push(event),
                    Ok(event) => {
                        // Finish events carry no content: a retry after them cannot duplicate
                        // anything the caller has.
                        if matches!(event, ModelEvent::Text(_) | ModelEvent::ToolCall(_)) {
                            yielded = true;
                            for usage in held_usage.drain(..) {
                                yield Ok(usage);
                            }
                        }
                        yield Ok(event);
                    }
                    Err(err) if !yielded && err.is_retryable() => {
                        match policy.delay(attempt, err.retry_after()) {
                            Some(delay) => {
                                tracing::warn!(provider = model.provider(), attempt, ?delay, error = %err, "model call failed before any output; retrying");
                                retry_in = Some(delay);
                            }
                            None => yield Err(err),
                        }
                        held_usage.clear();
                        break;
                    }
                    Err(Error::Network { provider, message }) => {
                        yield Err(Error::StreamInterrupted { provider, message });
                        break;
                    }
                    Err(err) => {
                        yield Err(err);
                        break;
                    }
                }
            }
            for usage in held_usage {
                yield Ok(usage);
            }
            match retry_in {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(3600))), None);
        assert_eq!(policy.delay(2, Some(Duration::from_secs(1))), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_capped() {
        let policy = RetryPolicy {
            retries: 10,
            ..RetryPolicy::default()
        };
        for attempt in 0..10 {
            let delay = policy.delay(attempt, None).unwrap();
            let full = (policy.base_delay * 2u32.pow(attempt)).min(policy.max_delay);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
    }
}
