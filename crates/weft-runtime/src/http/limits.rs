//! [`ResponseLimits`]: how much of a provider's response weft keeps in memory at once.
//!
//! A server that misbehaves (a proxy that never ends a line, an endless event, a body that
//! never stops, small text deltas that never stop) must end the call with a typed error, not
//! grow memory without bound. The
//! limits are process-wide: they describe what this process is willing to hold, whatever the
//! agent or provider. The defaults are far above what OpenAI, Anthropic or Ollama send.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::{CallLimits, DEFAULT_MAX_ANSWER, DEFAULT_MAX_TOOL_CALLS};
use crate::Error;

/// The default [`ResponseLimits::sse_line`]: 1 MiB.
pub const DEFAULT_MAX_SSE_LINE: usize = 1 << 20;
/// The default [`ResponseLimits::sse_event`]: 4 MiB.
pub const DEFAULT_MAX_SSE_EVENT: usize = 4 << 20;
/// The default [`ResponseLimits::body`]: 16 MiB.
pub const DEFAULT_MAX_BODY: usize = 16 << 20;

static SSE_LINE: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_SSE_LINE);
static SSE_EVENT: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_SSE_EVENT);
static BODY: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_BODY);

/// Caps, in bytes, on what weft reads from a provider; past one, the call ends with
/// [`Error::ResponseTooLarge`] naming it.
///
/// `sse_line`, `sse_event` and `body` bound what is buffered while reading; `answer` and
/// `tool_calls` bound what one model call's events add up to, which the agent holds (the
/// stream decoders stop at them, and so does every place that adds events up, whatever the
/// model).
///
/// ```
/// use weft_runtime::ResponseLimits;
///
/// // A gateway that sends whole tool calls of several MiB in one SSE line:
/// ResponseLimits { sse_line: 8 << 20, sse_event: 8 << 20, ..ResponseLimits::current() }.apply();
/// assert_eq!(ResponseLimits::current().sse_line, 8 << 20);
/// # ResponseLimits::default().apply();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseLimits {
    /// The longest line of a streamed (SSE) response, without its line end (default 1 MiB).
    pub sse_line: usize,
    /// The most `data:` one SSE event may carry, its lines joined (default 4 MiB).
    pub sse_event: usize,
    /// The largest non-streamed response body (default 16 MiB).
    pub body: usize,
    /// The most text one model call may stream, all its deltas together (default 16 MiB).
    pub answer: usize,
    /// The most tool-call data one model call may stream: the bytes of every piece's
    /// arguments, id and name, all its tool calls together (default 4 MiB).
    pub tool_calls: usize,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        ResponseLimits {
            sse_line: DEFAULT_MAX_SSE_LINE,
            sse_event: DEFAULT_MAX_SSE_EVENT,
            body: DEFAULT_MAX_BODY,
            answer: DEFAULT_MAX_ANSWER,
            tool_calls: DEFAULT_MAX_TOOL_CALLS,
        }
    }
}

impl ResponseLimits {
    /// The limits in force in this process.
    pub fn current() -> ResponseLimits {
        let calls = CallLimits::current();
        ResponseLimits {
            sse_line: SSE_LINE.load(Ordering::Relaxed),
            sse_event: SSE_EVENT.load(Ordering::Relaxed),
            body: BODY.load(Ordering::Relaxed),
            answer: calls.answer,
            tool_calls: calls.tool_calls,
        }
    }

    /// Makes these the limits of this process, for every response read from now on.
    pub fn apply(self) {
        SSE_LINE.store(self.sse_line, Ordering::Relaxed);
        SSE_EVENT.store(self.sse_event, Ordering::Relaxed);
        BODY.store(self.body, Ordering::Relaxed);
        self.calls().apply();
    }

    /// The caps on what one model call adds up to.
    pub(crate) fn calls(self) -> CallLimits {
        CallLimits {
            answer: self.answer,
            tool_calls: self.tool_calls,
        }
    }
}

/// The error for a part of a response over its limit.
pub(crate) fn too_large(
    provider: &'static str,
    what: &'static str,
    limit: &'static str,
    max: usize,
) -> Error {
    Error::ResponseTooLarge {
        provider,
        what,
        limit,
        max,
    }
}
