//! The one server-sent-events decoder every provider uses.
//!
//! It follows the WHATWG event-stream grammar: events split at any byte (including inside a
//! UTF-8 code point or between `\r` and `\n`), CRLF, CR or LF line ends, comments and
//! keep-alives (`: ping`), `event:`/`data:` fields (multi-line data joined with `\n`), and
//! `id:`, `retry:` and unknown fields ignored. It stops after OpenAI's `data: [DONE]` sentinel
//! (yielded last, so the caller knows the stream ended properly) and maps every failure to a
//! typed [`Error`].
//!
//! It is written here rather than taken from a crate because the crate weft used
//! (`eventsource-stream`) copies its buffer after every event: a large network read holding
//! many events cost quadratic time (12 MiB/s on a 1 MiB read, `cargo bench -p weft-bench
//! --bench sse`). This decoder looks at every byte once: lines are found with `memchr`, and
//! each complete line is decoded as UTF-8 on its own.
//!
//! What it holds is bounded: a line longer than [`ResponseLimits::sse_line`] or an event carrying more
//! than [`ResponseLimits::sse_event`] bytes of data ends the stream with [`Error::ResponseTooLarge`],
//! whatever the server sends and however the network splits it.

use futures::{Stream, StreamExt};

use super::limits::{too_large, ResponseLimits};
use crate::Error;

/// One decoded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (`"message"` when absent).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// Whether this is OpenAI's `data: [DONE]` end-of-stream sentinel.
    pub fn is_done(&self) -> bool {
        self.data.trim() == "[DONE]"
    }
}

/// The error for a body that ended cleanly before the provider's end-of-stream marker: the
/// answer is incomplete. It is a [`Error::Network`] failure, so it is retried when nothing had
/// reached the caller yet and becomes [`Error::StreamInterrupted`] otherwise.
pub fn ended_early(provider: &'static str) -> Error {
    Error::Network {
        provider,
        message: "the connection closed before the end of the answer (no end-of-stream marker)"
            .to_string(),
    }
}

/// [`decode_with_limits`] with the process's [`ResponseLimits`] (the providers pass theirs
/// through `model_events`).
#[cfg(test)]
pub fn decode<S, B, E>(
    provider: &'static str,
    bytes: S,
    transport: impl Fn(E) -> Error + Send + 'static,
) -> impl Stream<Item = Result<SseEvent, Error>> + Send
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    decode_with_limits(provider, bytes, transport, ResponseLimits::current())
}

/// Decodes a byte stream into events, ending after `data: [DONE]` (which is yielded, see
/// [`SseEvent::is_done`]) or at the end of the bytes, within `limits` (only `sse_line` and
/// `sse_event` matter here).
///
/// `transport` turns a transport failure of the byte stream into a typed error.
pub fn decode_with_limits<S, B, E>(
    provider: &'static str,
    bytes: S,
    transport: impl Fn(E) -> Error + Send + 'static,
    limits: ResponseLimits,
) -> impl Stream<Item = Result<SseEvent, Error>> + Send
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    async_stream::stream! {
        let mut bytes = std::pin::pin!(bytes);
        let mut parser = Parser::new(provider, limits);
        let mut events = Vec::new();
        while let Some(chunk) = bytes.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(err) => {
                    yield Err(transport(err));
                    return;
                }
            };
            // The events completed before a failure go out first: what the caller sees does
            // not depend on where the network split the bytes.
            let failed = parser.feed(chunk.as_ref(), &mut events).err();
            for event in events.drain(..) {
                let done = event.is_done();
                yield Ok(event);
                if done {
                    // Read what has already arrived of the body (it ends right after
                    // `[DONE]`), so the connection can go back to the pool; never wait for
                    // more: a server that keeps the body open must not hold up the answer.
                    while let Some(Some(_)) = futures::FutureExt::now_or_never(bytes.next()) {}
                    return;
                }
            }
            if let Some(err) = failed {
                yield Err(err);
                return;
            }
        }
    }
}

/// The decoder's state between network reads.
#[derive(Debug)]
pub(crate) struct Parser {
    provider: &'static str,
    limits: ResponseLimits,
    /// Bytes of a line not yet ended (at most `limits.sse_line`).
    line: Vec<u8>,
    /// The previous read ended with `\r`: a `\n` starting the next one ends nothing.
    after_cr: bool,
    /// The event being built.
    event: Option<String>,
    /// Its data (at most `limits.sse_event` bytes).
    data: String,
    has_data: bool,
}

impl Parser {
    pub(crate) fn new(provider: &'static str, limits: ResponseLimits) -> Self {
        Parser {
            provider,
            limits,
            line: Vec::new(),
            after_cr: false,
            event: None,
            data: String::new(),
            has_data: false,
        }
    }

    /// How many bytes of a line and of event data it holds now (for the property tests).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> (usize, usize) {
        (self.line.len(), self.data.len())
    }

    fn line_too_long(&self) -> Error {
        too_large(
            self.provider,
            "an SSE line",
            "sse_line",
            self.limits.sse_line,
        )
    }

    /// Reads `bytes`, pushing every event they complete onto `out`. After an error the
    /// parser must not be fed again.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), Error> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        while let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) {
            if self.line.len() + end > self.limits.sse_line {
                return Err(self.line_too_long());
            }
            if self.line.is_empty() {
                self.line_done(&bytes[..end], out)?;
            } else {
                self.line.extend_from_slice(&bytes[..end]);
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, out)?;
                self.line = line;
                self.line.clear();
            }
            let crlf = bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n');
            if bytes[end] == b'\r' && end + 1 == bytes.len() {
                self.after_cr = true;
            }
            bytes = &bytes[end + if crlf { 2 } else { 1 }..];
        }
        if self.line.len() + bytes.len() > self.limits.sse_line {
            return Err(self.line_too_long());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// One complete line (without its line end).
    fn line_done(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), Error> {
        if line.is_empty() {
            // A blank line dispatches the event, if it has data.
            let event = self.event.take();
            if std::mem::take(&mut self.has_data) {
                out.push(SseEvent {
                    event: event.unwrap_or_else(|| "message".to_string()),
                    data: std::mem::take(&mut self.data),
                });
            }
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|err| Error::InvalidResponse {
            provider: self.provider,
            message: format!("the event stream is not UTF-8: {err}"),
        })?;
        if line.starts_with(':') {
            return Ok(()); // a comment or keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                let joined = self.data.len() + usize::from(self.has_data) + value.len();
                if joined > self.limits.sse_event {
                    return Err(too_large(
                        self.provider,
                        "an SSE event",
                        "sse_event",
                        self.limits.sse_event,
                    ));
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            _ => {} // `id`, `retry` and unknown fields do not matter here
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    /// The transport mapping of streams that never fail.
    fn transport(_: ()) -> Error {
        Error::Network {
            provider: "test",
            message: "unreachable".into(),
        }
    }

    fn events(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let owned: Vec<Result<Vec<u8>, ()>> = chunks.iter().map(|c| Ok(c.to_vec())).collect();
        let stream = decode("test", futures::stream::iter(owned), transport);
        block_on(stream.map(|item| item.unwrap()).collect())
    }

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: name.to_string(),
            data: data.to_string(),
        }
    }

    #[test]
    fn done_ends_the_stream() {
        let got = events(&[b"data: a\n\ndata: [DONE]\n\ndata: after\n\n"]);
        assert_eq!(got, vec![event("message", "a"), event("message", "[DONE]")]);
        assert!(got[1].is_done());
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let got = events(&[b"event: x\r\ndata: one\r\n\r\ndata: two\r\rdata: three\n\n"]);
        assert_eq!(
            got,
            vec![
                event("x", "one"),
                event("message", "two"),
                event("message", "three")
            ]
        );
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let got = events(&[b"data: one\r", b"\n\r", b"\ndata: two\r\n\r\n"]);
        assert_eq!(got, vec![event("message", "one"), event("message", "two")]);
    }

    #[test]
    fn comments_keep_alives_and_unknown_fields_are_ignored() {
        let got = events(&[b": keep-alive\n\n:ping\nid: 7\nretry: 10\nfoo: bar\ndata: x\n\n"]);
        assert_eq!(got, vec![event("message", "x")]);
    }

    #[test]
    fn multi_line_data_is_joined() {
        let got = events(&[b"data: a\ndata: b\n\n"]);
        assert_eq!(got, vec![event("message", "a\nb")]);
    }

    #[test]
    fn utf8_code_points_split_across_chunks() {
        let text = "data: héllo 世界 🦀\n\n".as_bytes();
        for cut in 0..text.len() {
            let got = events(&[&text[..cut], &text[cut..]]);
            assert_eq!(got, vec![event("message", "héllo 世界 🦀")], "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(events(&bytes), vec![event("message", "héllo 世界 🦀")]);
    }

    #[test]
    fn events_at_every_split_of_a_stream_are_the_same() {
        let text = b"event: a\r\ndata: one\r\ndata: two\r\n\r\n: ping\n\ndata: \xc3\xa9t\xc3\xa9\r\rdata:x\n\n";
        let whole = events(&[text]);
        assert_eq!(
            whole,
            vec![
                event("a", "one\ntwo"),
                event("message", "été"),
                event("message", "x")
            ]
        );
        for cut in 0..=text.len() {
            assert_eq!(events(&[&text[..cut], &text[cut..]]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(events(&bytes), whole);
        // Empty reads anywhere (even between `\r` and `\n`) change nothing.
        let with_empty: Vec<&[u8]> = text.chunks(1).flat_map(|b| [b, &[][..]]).collect();
        assert_eq!(events(&with_empty), whole);
    }

    #[test]
    fn invalid_utf8_is_a_typed_error() {
        let chunks = vec![Ok::<_, ()>(b"data: \xff\xfe\n\n".to_vec())];
        let got: Vec<_> =
            block_on(decode("test", futures::stream::iter(chunks), transport).collect());
        assert!(
            matches!(&got[0], Err(Error::InvalidResponse { message, .. }) if message.contains("UTF-8"))
        );
    }

    fn small(sse_line: usize, sse_event: usize) -> ResponseLimits {
        ResponseLimits {
            sse_line,
            sse_event,
            ..ResponseLimits::default()
        }
    }

    /// Bytes that never end: without the cap, the decoder would buffer them forever.
    fn endless(start: &'static [u8], then: &'static [u8]) -> impl Stream<Item = Result<Vec<u8>, ()>> {
        futures::stream::iter([Ok(start.to_vec())])
            .chain(futures::stream::repeat_with(move || Ok(then.to_vec())))
    }

    #[test]
    fn an_endless_line_ends_with_a_typed_error_at_the_limit() {
        let stream = decode_with_limits("test", endless(b"data: a\n\ndata: ", b"xyz"), transport, small(1000, 4000));
        let got: Vec<_> = block_on(stream.collect());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].as_ref().ok(), Some(&event("message", "a")));
        assert!(
            matches!(&got[1], Err(Error::ResponseTooLarge { limit: "sse_line", max: 1000, .. })),
            "{got:?}"
        );
    }

    #[test]
    fn an_endless_event_ends_with_a_typed_error_at_the_limit() {
        let stream = decode_with_limits("test", endless(b"event: e\n", b"data: 0123456789\n"), transport, small(100, 1000));
        let got: Vec<_> = block_on(stream.collect());
        assert!(
            matches!(got.as_slice(), [Err(Error::ResponseTooLarge { limit: "sse_event", max: 1000, .. })]),
            "{got:?}"
        );
        assert!(got[0].as_ref().unwrap_err().to_string().contains("ResponseLimits::sse_event"));
    }

    #[test]
    fn lines_and_events_up_to_the_limits_pass_whatever_the_chunking() {
        // A 10-byte line (`data: 1234`) and an event of 9 data bytes (`1234\n5678`).
        let text = b"data: 1234\ndata: 5678\n\n";
        let ok = small(10, 9);
        let decoded = |chunks: Vec<Vec<u8>>, limits: ResponseLimits| -> Vec<Result<SseEvent, String>> {
            let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, ()>));
            block_on(decode_with_limits("test", stream, transport, limits).map(|e| e.map_err(|e| e.to_string())).collect())
        };
        for cut in 0..=text.len() {
            let chunks = vec![text[..cut].to_vec(), text[cut..].to_vec()];
            assert_eq!(decoded(chunks.clone(), ok), vec![Ok(event("message", "1234\n5678"))]);
            let short_line = decoded(chunks.clone(), small(9, 9));
            assert!(matches!(short_line.as_slice(), [Err(m)] if m.contains("sse_line")), "cut {cut}: {short_line:?}");
            let short_event = decoded(chunks, small(10, 8));
            assert!(matches!(short_event.as_slice(), [Err(m)] if m.contains("sse_event")), "cut {cut}: {short_event:?}");
        }
    }

    #[test]
    fn transport_errors_are_mapped() {
        let chunks = vec![Ok(b"data: a\n\n".to_vec()), Err("reset")];
        let stream = decode("test", futures::stream::iter(chunks), |_| Error::Network {
            provider: "test",
            message: "reset".into(),
        });
        let got: Vec<_> = block_on(stream.collect());
        assert!(got[0].is_ok());
        assert!(matches!(got[1], Err(Error::Network { .. })));
    }
}
