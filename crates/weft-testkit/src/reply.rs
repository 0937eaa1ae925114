//! Scripted replies: what the fake server answers to the next request.

use std::time::Duration;

use serde_json::Value;

/// One scripted answer. Replies are consumed in order, one per request, whatever the wire
/// format of the request; when the script is empty the server's default reply is used.
///
/// ```
/// use serde_json::json;
/// use weft_testkit::Reply;
///
/// let hello = Reply::text("Hello there");                     // streamed word by word
/// let call = Reply::tool_call("get_weather", json!({"city": "Paris"}));
/// let limited = Reply::status(429).retry_after("1");         // HTTP 429 with Retry-After
/// let broken = Reply::text("one two three").reset_after(2);  // connection reset mid-stream
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub(crate) text: Vec<String>,
    pub(crate) tool_calls: Vec<FakeToolCall>,
    pub(crate) fault: Option<Fault>,
    pub(crate) ttft: Option<Duration>,
    pub(crate) chunk_delay: Option<Duration>,
    pub(crate) cut_off: bool,
    pub(crate) json: Option<Value>,
    pub(crate) cache: PromptCache,
}

/// Prompt tokens a reply reports as served from, or written to, the provider's prompt cache
/// (see [`Reply::cached_prompt`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PromptCache {
    pub read: u64,
    pub written: u64,
}

/// A tool call in a scripted reply.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeToolCall {
    /// The call id (`call_<n>` unless set).
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The arguments text, sent as is (it may be invalid JSON on purpose).
    pub arguments: String,
}

/// What goes wrong with a reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and an error body in the request's wire format.
    Status {
        /// The status code.
        status: u16,
        /// The `Retry-After` header value, if any.
        retry_after: Option<String>,
    },
    /// Send this many content chunks, then abort the connection.
    ResetAfter(usize),
    /// Send this many content chunks, then send nothing more, forever.
    StallAfter(usize),
    /// Send this many content chunks, then a chunk that is not JSON, then the rest.
    MalformedAfter(usize),
    /// Send this many content chunks, then end the body cleanly, without the end of the
    /// answer (no finish reason, `[DONE]` or `message_stop`): a proxy that cut the stream.
    TruncateAfter(usize),
    /// Send this many content chunks, then only `ping` events (Anthropic's keep-alive), every
    /// 50 ms, forever: the connection stays busy while the answer stalls.
    PingForeverAfter(usize),
    /// Send this many content chunks, then one `data:` line that never ends (bytes, forever,
    /// no line end). A non-streamed reply is a JSON body that never ends.
    EndlessLineAfter(usize),
    /// Send this many content chunks, then one event whose short `data:` lines never stop
    /// (no blank line ends it). A non-streamed reply is a JSON body that never ends.
    EndlessEventAfter(usize),
    /// Send this many content chunks, then the reply's first content chunk again and again,
    /// forever: every event small and whole, their sum without end (a client that adds deltas
    /// up without a cap grows forever). A non-streamed reply is a JSON body that never ends.
    EndlessDeltasAfter(usize),
    /// Send this many content chunks, then wait until the [`Gate`] is opened, then the rest:
    /// a test decides when a stream goes on (no clock involved).
    HoldAfter(usize, Gate),
}

/// A gate a held reply ([`Reply::hold_after`]) waits at. Cheap to clone; all clones are the
/// same gate.
///
/// ```
/// # async fn doc() {
/// use weft_testkit::{Gate, Reply};
///
/// let gate = Gate::new();
/// let reply = Reply::text("one two three four").hold_after(2, gate.clone());
/// // ... once a client asked for it:
/// gate.reached().await; // two chunks are sent, the stream waits
/// gate.open();          // the rest follows
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Gate {
    open: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    reached: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Gate::default()
    }

    /// Opens the gate: every stream waiting at it goes on, and later ones do not wait.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// Waits until a stream has come to the gate (returns at once if one has).
    pub async fn reached(&self) {
        let mut reached = self.reached.subscribe();
        let _ = reached.wait_for(|reached| *reached).await;
    }

    /// Whether a stream has come to the gate.
    pub fn is_reached(&self) -> bool {
        *self.reached.borrow()
    }

    /// Called by the server when a stream comes to the gate: waits until it is open.
    pub(crate) async fn pass(&self) {
        self.reached.send_replace(true);
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Gate) -> bool {
        std::sync::Arc::ptr_eq(&self.open, &other.open)
    }
}

impl Reply {
    fn empty() -> Self {
        Reply {
            text: Vec::new(),
            tool_calls: Vec::new(),
            fault: None,
            ttft: None,
            chunk_delay: None,
            cut_off: false,
            json: None,
            cache: PromptCache::default(),
        }
    }

    /// A text answer, streamed one word (with its trailing space) per chunk.
    pub fn text(text: &str) -> Self {
        Reply::chunks(text.split_inclusive(' '))
    }

    /// A text answer streamed in exactly these chunks.
    pub fn chunks<I, S>(chunks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Reply {
            text: chunks.into_iter().map(Into::into).collect(),
            ..Reply::empty()
        }
    }

    /// A structured answer, as each API gives one: the JSON text as the content (OpenAI's
    /// `response_format`, Anthropic's native `output_config.format` or its beta
    /// `output_format`), or else, on Anthropic, a call of the answer tool with the value as its
    /// input: the tool named by the request's `tool_choice`, else the request's last tool (weft
    /// puts its answer tool last).
    pub fn json(value: Value) -> Self {
        Reply {
            json: Some(value),
            ..Reply::empty()
        }
    }

    /// Adds a structured answer (see [`Reply::json`]) to this turn, next to its tool calls.
    pub fn with_json(mut self, value: Value) -> Self {
        self.json = Some(value);
        self
    }

    /// A turn with one tool call.
    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Reply::tool_calls([(name, arguments)])
    }

    /// A turn with several tool calls (run concurrently by the agent).
    pub fn tool_calls<'a>(calls: impl IntoIterator<Item = (&'a str, Value)>) -> Self {
        let mut reply = Reply::empty();
        for (name, arguments) in calls {
            reply = reply.with_raw_tool_call(name, &arguments.to_string());
        }
        reply
    }

    /// Adds a tool call whose arguments text is sent as is (for invalid JSON).
    pub fn with_raw_tool_call(mut self, name: &str, arguments: &str) -> Self {
        let id = format!("call_{}", self.tool_calls.len());
        self.tool_calls.push(FakeToolCall {
            id,
            name: name.to_string(),
            arguments: arguments.to_string(),
        });
        self
    }

    /// Text sent before the tool calls of this turn.
    pub fn with_text(mut self, text: &str) -> Self {
        self.text = text.split_inclusive(' ').map(str::to_string).collect();
        self
    }

    /// An HTTP error with this status and an error body in the request's format.
    pub fn status(status: u16) -> Self {
        Reply {
            fault: Some(Fault::Status {
                status,
                retry_after: None,
            }),
            ..Reply::empty()
        }
    }

    /// Sets `Retry-After` on a [`Reply::status`] reply (seconds or an HTTP date).
    pub fn retry_after(mut self, value: &str) -> Self {
        if let Some(Fault::Status { retry_after, .. }) = &mut self.fault {
            *retry_after = Some(value.to_string());
        }
        self
    }

    /// Aborts the connection after `chunks` content chunks.
    pub fn reset_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::ResetAfter(chunks));
        self
    }

    /// Send `chunks` content chunks, then wait until `gate` is opened, then the rest.
    pub fn hold_after(mut self, chunks: usize, gate: Gate) -> Self {
        self.fault = Some(Fault::HoldAfter(chunks, gate));
        self
    }

    /// Send `chunks` content chunks, then nothing more, forever.
    pub fn stall_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::StallAfter(chunks));
        self
    }

    /// Sends a chunk that is not JSON after `chunks` content chunks.
    pub fn malformed_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::MalformedAfter(chunks));
        self
    }

    /// Sends only keep-alive pings after `chunks` content chunks, forever.
    pub fn ping_forever_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::PingForeverAfter(chunks));
        self
    }

    /// After `chunks` content chunks, sends one SSE line that never ends (a client without a
    /// line limit buffers it forever); a non-streamed reply is an endless body.
    pub fn endless_line_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::EndlessLineAfter(chunks));
        self
    }

    /// After `chunks` content chunks, sends one SSE event whose `data:` lines never stop (a
    /// client without an event limit buffers it forever); a non-streamed reply is an endless
    /// body.
    pub fn endless_event_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::EndlessEventAfter(chunks));
        self
    }

    /// After `chunks` content chunks, sends the reply's first content chunk (a text delta of
    /// [`Reply::chunks`], a tool-call piece) again and again, forever: small, valid deltas that
    /// never stop. A non-streamed reply is an endless body.
    pub fn endless_deltas_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::EndlessDeltasAfter(chunks));
        self
    }

    /// Ends the body cleanly after `chunks` content chunks, before the answer's end marker.
    pub fn truncate_after(mut self, chunks: usize) -> Self {
        self.fault = Some(Fault::TruncateAfter(chunks));
        self
    }

    /// Reports `read` more prompt tokens served from the provider's prompt cache and `written`
    /// more written to it, on top of the prompt the server counts, in each wire format's own
    /// way: Anthropic's `cache_read_input_tokens` and `cache_creation_input_tokens` next to an
    /// `input_tokens` that leaves them out (in `message_start`, and again in `message_delta`
    /// as current API versions do); OpenAI's `prompt_tokens` that counts them all, with
    /// `prompt_tokens_details.cached_tokens` for the `read` ones.
    ///
    /// ```
    /// use weft_testkit::Reply;
    /// let warm = Reply::text("Cached.").cached_prompt(1024, 0);
    /// ```
    pub fn cached_prompt(mut self, read: u64, written: u64) -> Self {
        self.cache = PromptCache { read, written };
        self
    }

    /// Ends the reply as cut off at the token limit (`finish_reason: "length"`, Anthropic's
    /// `stop_reason: "max_tokens"`).
    pub fn cut_off(mut self) -> Self {
        self.cut_off = true;
        self
    }

    /// Time to first token for this reply (overrides the server's).
    pub fn ttft(mut self, delay: Duration) -> Self {
        self.ttft = Some(delay);
        self
    }

    /// Delay between chunks for this reply (overrides the server's). A non-streamed reply is
    /// sent after the time streaming it would take: time to first token plus this delay for
    /// every chunk after the first.
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = Some(delay);
        self
    }

    /// The whole text of the reply.
    pub fn full_text(&self) -> String {
        self.text.concat()
    }

    /// A [`Reply::json`] answer in the request's wire format: text, or a call of the answer
    /// tool named by an Anthropic request that does not ask for native JSON output.
    pub(crate) fn resolve_json(mut self, anthropic_request: Option<&Value>) -> Self {
        let Some(value) = self.json.take() else {
            return self;
        };
        let text = value.to_string();
        let native = |request: &Value| {
            request["output_config"]["format"]["type"] == "json_schema"
                || request["output_format"]["type"] == "json_schema"
        };
        match anthropic_request {
            Some(request) if !native(request) => {
                let forced = request["tool_choice"]["name"].as_str();
                let last = request["tools"]
                    .as_array()
                    .and_then(|tools| tools.last())
                    .and_then(|tool| tool["name"].as_str());
                let name = forced.or(last).unwrap_or("answer");
                self.with_raw_tool_call(name, &text)
            }
            _ => {
                // Streamed in three pieces, split on character boundaries.
                let chars: Vec<char> = text.chars().collect();
                let third = chars.len().div_ceil(3).max(1);
                self.text = chars.chunks(third).map(|c| c.iter().collect()).collect();
                self
            }
        }
    }
}
