//! The one server-sent-events decoder every provider uses.
//!
//! Bytes go through `eventsource-stream`, which follows the WHATWG grammar: events split at any
//! byte (including inside a UTF-8 code point or between `\r` and `\n`), CRLF, CR or LF line
//! ends, comments and keep-alives (`: ping`), `event:`/`data:`/`id:` fields and unknown
//! fields. On top of it this module stops after OpenAI's `data: [DONE]` sentinel (yielded
//! last, so the caller knows the stream ended properly) and maps every failure to a typed
//! [`Error`].

use futures::{Stream, StreamExt};

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

/// Decodes a byte stream into events, ending after `data: [DONE]` (which is yielded, see
/// [`SseEvent::is_done`]) or at the end of the bytes.
///
/// `transport` turns a transport failure of the byte stream into a typed error.
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
    use eventsource_stream::EventStreamError;
    eventsource_stream::EventStream::new(bytes)
        .map(move |item| match item {
            Ok(event) => Ok(SseEvent {
                event: event.event,
                data: event.data,
            }),
            Err(EventStreamError::Transport(err)) => Err(transport(err)),
            Err(EventStreamError::Utf8(err)) => Err(Error::InvalidResponse {
                provider,
                message: format!("the event stream is not UTF-8: {err}"),
            }),
            Err(EventStreamError::Parser(err)) => Err(Error::InvalidResponse {
                provider,
                message: format!("the event stream is malformed: {err}"),
            }),
        })
        .scan(false, |done, item| {
            if *done {
                return futures::future::ready(None);
            }
            *done = matches!(&item, Ok(event) if event.is_done());
            futures::future::ready(Some(item))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn events(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let owned: Vec<Result<Vec<u8>, ()>> = chunks.iter().map(|c| Ok(c.to_vec())).collect();
        let stream = decode("test", futures::stream::iter(owned), |_| Error::Cancelled);
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
