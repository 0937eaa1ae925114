//! Property tests of every parser of outside data: the SSE decoder, the OpenAI and Anthropic
//! stream decoders with the tool-call assembler, and the stored-record envelope. Arbitrary
//! bytes, split at arbitrary places, never panic, never make a parser hold more than its
//! limits, and give the same result however they are split. The stream decoders run with
//! small caps on a call's text and tool calls too (`ResponseLimits::answer`, `tool_calls`), so
//! the caps are reached: what the events add up to stays within them, and the stream ends
//! exactly where it would pass one, with the typed error.
//!
//! Case counts are explicit and every property starts from the same fixed seed ([`SEED`]),
//! so a CI run is bounded and repeatable: the same cases on every run. No regression files
//! are written (`failure_persistence: None`): a failure prints its minimal input, to be
//! pinned as a plain unit test. Total: 12,000 cases per run.
//!
//! | property | cases |
//! |---|---|
//! | `sse::any_bytes_any_split` | 3,000 |
//! | `sse::near_limit_lines` | 1,000 |
//! | `streams::openai_any_frames_any_split` | 2,000 |
//! | `streams::anthropic_any_frames_any_split` | 2,000 |
//! | `streams::recorded_streams_any_split` | 1,000 |
//! | `assembler::any_deltas` | 1,000 |
//! | `envelope::any_bytes` | 1,500 |
//! | `envelope::round_trip` | 500 |

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

/// The seed of every property: the same cases on every run and machine.
const SEED: u64 = 0x5745_4654_0001;

/// `cases` cases from the fixed [`SEED`], no regression files.
fn config(cases: u32) -> Config {
    Config {
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(SEED),
        ..Config::with_cases(cases)
    }
}

#[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
/// `bytes` cut at `cuts` (taken modulo its length, in any order; empty pieces included).
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(bytes[start..cut].to_vec());
        start = cut;
    }
    chunks.push(bytes[start..].to_vec());
    chunks
}

#[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<usize>(), 0..24)
}

#[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
/// Bytes that look like an event stream: fields, line ends of every kind, multi-byte UTF-8,
/// the `[DONE]` sentinel, and some arbitrary bytes.
fn sse_like() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        24 => prop::sample::select(vec![
            &b"data: "[..], b"data:", b"event: ", b"event:x", b"id: 7", b"retry: 1", b": ping",
            b"\n", b"\r", b"\r\n", b"\n\n", b"\r\n\r\n", b"[DONE]", b" [DONE] ", b"{}", b":",
        ])
        .prop_map(<[u8]>::to_vec),
        12 => proptest::collection::vec(prop::sample::select(b"ab z:{}\"".to_vec()), 0..24),
        4 => prop::sample::select(vec!["é", "天気", "🦀", "\u{feff}"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..3),
    ];
    proptest::collection::vec(token, 0..64).prop_map(|tokens| tokens.concat())
}

#[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
mod sse {
    use super::*;
    use crate::http::sse::{decode_with_limits, Parser, SseEvent};
    use crate::http::ResponseLimits;
    use crate::Error;
    use futures::StreamExt;

    fn transport(_: ()) -> Error {
        Error::Network {
            provider: "fuzz",
            message: "unreachable".into(),
        }
    }

    /// What the decoder yields for these chunks: events, then maybe an error (as text).
    fn decoded(chunks: Vec<Vec<u8>>, limits: ResponseLimits) -> Vec<Result<SseEvent, String>> {
        let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, ()>));
        futures::executor::block_on(
            decode_with_limits("fuzz", stream, transport, limits)
                .map(|item| item.map_err(|err| err.to_string()))
                .collect(),
        )
    }

    /// Feeds the chunks to a parser, checking after every read that it holds no more than
    /// its limits.
    fn check_buffers(chunks: &[Vec<u8>], limits: ResponseLimits) -> Result<(), TestCaseError> {
        let mut parser = Parser::new("fuzz", limits);
        let mut out = Vec::new();
        for chunk in chunks {
            if parser.feed(chunk, &mut out).is_err() {
                break;
            }
            let (line, data) = parser.buffered();
            prop_assert!(
                line <= limits.sse_line,
                "line buffer {line} > {}",
                limits.sse_line
            );
            prop_assert!(
                data <= limits.sse_event,
                "event data {data} > {}",
                limits.sse_event
            );
            for event in out.drain(..) {
                prop_assert!(event.data.len() <= limits.sse_event);
            }
        }
        Ok(())
    }

    fn property(bytes: &[u8], cuts: &[usize], limits: ResponseLimits) -> Result<(), TestCaseError> {
        let whole = decoded(vec![bytes.to_vec()], limits);
        let chunks = split(bytes, cuts);
        prop_assert_eq!(&decoded(chunks.clone(), limits), &whole);
        let single_bytes = bytes.iter().map(|b| vec![*b]).collect();
        prop_assert_eq!(&decoded(single_bytes, limits), &whole);
        check_buffers(&chunks, limits)?;
        // Whatever went before, the decoder stops at the first error or `[DONE]`.
        let stops = whole
            .iter()
            .position(|item| item.as_ref().map_or(true, SseEvent::is_done));
        if let Some(stop) = stops {
            prop_assert_eq!(stop, whole.len() - 1);
        }
        Ok(())
    }

    /// Small limits (so they are hit often), or the defaults.
    fn limits() -> impl Strategy<Value = ResponseLimits> {
        prop_oneof![
            (1usize..128, 1usize..512).prop_map(|(sse_line, sse_event)| ResponseLimits {
                sse_line,
                sse_event,
                ..ResponseLimits::default()
            }),
            Just(ResponseLimits::default()),
        ]
    }

    proptest! {
        #![proptest_config(config(3_000))]
        #[test]
        fn any_bytes_any_split(bytes in sse_like(), cuts in cuts(), limits in limits()) {
            property(&bytes, &cuts, limits)?;
        }
    }

    proptest! {
        #![proptest_config(config(1_000))]
        /// One line or event around its limit: exactly at it passes, one byte over fails.
        #[test]
        fn near_limit_lines(len in 0usize..64, limit in 6usize..64, cuts in cuts()) {
            let line = format!("data: {}", "x".repeat(len));
            let text = format!("{line}\n\n");
            let limits = ResponseLimits { sse_line: limit, sse_event: limit, ..ResponseLimits::default() };
            let got = decoded(split(text.as_bytes(), &cuts), limits);
            if line.len() <= limit {
                prop_assert_eq!(got.len(), 1);
                prop_assert!(got[0].is_ok(), "{:?}", got);
            } else {
                prop_assert!(matches!(got.as_slice(), [Err(m)] if m.contains("sse_line")), "{:?}", got);
            }
            property(text.as_bytes(), &cuts, limits)?;
        }
    }
}

/// Frames of a fuzzed provider stream: JSON close to what the provider sends, with odd values
/// everywhere, sometimes cut or replaced by garbage.
#[cfg(any(feature = "openai", feature = "anthropic"))]
mod frames {
    use super::*;
    use serde_json::{json, Map, Value};

    fn word() -> impl Strategy<Value = Value> {
        prop::sample::select(vec![
            "",
            "a",
            "Paris",
            "天気 🌤",
            "stop",
            "length",
            "tool_calls",
            "tool_use",
            "end_turn",
            "max_tokens",
            "content_filter",
            "text",
            "text_delta",
            "input_json_delta",
            "tool_use",
            "message_start",
            "message_delta",
            "message_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "ping",
            "error",
            "overloaded_error",
            "{\"city\":",
            "\"x\"}",
            "{}",
            "answer",
            "call_1",
            "toolu_a",
        ])
        .prop_map(Value::from)
    }

    /// Any JSON value, leaning to the numbers and words the decoders look at.
    pub(super) fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0u64..4).prop_map(Value::from),
            prop::sample::select(vec![u64::MAX, usize::MAX as u64, u32::MAX as u64, 1 << 53])
                .prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            word(),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((word(), inner), 0..4).prop_map(|fields| {
                    let map: Map<String, Value> = fields
                        .into_iter()
                        .map(|(k, v)| (k.as_str().unwrap_or("").to_string(), v))
                        .collect();
                    Value::Object(map)
                }),
            ]
        })
    }

    /// `value`, or one of `odd` (a wrong type, null, a huge number…), or left out.
    fn field(
        known: impl Strategy<Value = Value> + 'static,
    ) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            40 => known.prop_map(Some),
            1 => value().prop_map(Some),
            2 => Just(None),
        ]
    }

    fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
        Value::Object(
            fields
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect(),
        )
    }

    fn index() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => (0u64..4).prop_map(Value::from),
            1 => prop::sample::select(vec![u64::MAX, usize::MAX as u64]).prop_map(Value::from),
        ]
    }

    /// One Chat Completions chunk.
    pub(super) fn openai_chunk() -> impl Strategy<Value = Value> {
        let function = (field(word()), field(word()))
            .prop_map(|(name, arguments)| object(vec![("name", name), ("arguments", arguments)]));
        let piece =
            (field(index()), field(word()), field(function)).prop_map(|(index, id, function)| {
                object(vec![("index", index), ("id", id), ("function", function)])
            });
        let delta = (
            field(word()),
            field(word()),
            field(proptest::collection::vec(piece, 0..3).prop_map(Value::Array)),
        )
            .prop_map(|(content, refusal, tool_calls)| {
                object(vec![
                    ("content", content),
                    ("refusal", refusal),
                    ("tool_calls", tool_calls),
                ])
            });
        let choice = (field(delta), field(word()))
            .prop_map(|(delta, finish)| object(vec![("delta", delta), ("finish_reason", finish)]));
        let usage = (field(index()), field(index()))
            .prop_map(|(p, c)| object(vec![("prompt_tokens", p), ("completion_tokens", c)]));
        (
            field(proptest::collection::vec(choice, 0..2).prop_map(Value::Array)),
            field(usage),
            prop_oneof![8 => Just(None), 1 => value().prop_map(Some)],
        )
            .prop_map(|(choices, usage, error)| {
                object(vec![
                    ("choices", choices),
                    ("usage", usage),
                    ("error", error),
                ])
            })
    }

    /// One Messages stream event.
    pub(super) fn anthropic_event() -> impl Strategy<Value = Value> {
        let usage = || {
            (field(index()), field(index()))
                .prop_map(|(i, o)| object(vec![("input_tokens", i), ("output_tokens", o)]))
        };
        let kind = |kinds: &'static [&'static str]| {
            prop_oneof![
                6 => prop::sample::select(kinds).prop_map(Value::from),
                1 => word(),
            ]
        };
        let block = (
            field(kind(&["tool_use", "text"])),
            field(word()),
            field(word()),
        )
            .prop_map(|(kind, id, name)| object(vec![("type", kind), ("id", id), ("name", name)]));
        let delta = (
            field(kind(&["text_delta", "input_json_delta"])),
            field(word()),
            field(word()),
            field(word()),
        )
            .prop_map(|(kind, text, partial, stop)| {
                object(vec![
                    ("type", kind),
                    ("text", text),
                    ("partial_json", partial),
                    ("stop_reason", stop),
                ])
            });
        let event = kind(&[
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "ping",
            "error",
        ]);
        (
            field(event),
            field(index()),
            field(block),
            field(delta),
            field(usage()),
            field(usage().prop_map(|usage| json!({ "usage": usage }))),
            prop_oneof![8 => Just(None), 1 => value().prop_map(Some)],
        )
            .prop_map(|(kind, index, block, delta, usage, message, error)| {
                object(vec![
                    ("type", kind),
                    ("index", index),
                    ("content_block", block),
                    ("delta", delta),
                    ("usage", usage),
                    ("message", message),
                    ("error", error),
                ])
            })
    }

    /// A stream body: each payload as an SSE frame (sometimes cut short, sometimes with an
    /// `event:` line), garbage frames among them, and maybe an end marker.
    pub(super) fn body(
        payload: impl Strategy<Value = Value> + 'static,
        end: &'static str,
    ) -> impl Strategy<Value = Vec<u8>> {
        let payload = (payload, any::<bool>())
            .prop_map(|(json, named)| {
                let kind = json
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("x")
                    .to_string();
                let event = if named {
                    format!("event: {kind}\n")
                } else {
                    String::new()
                };
                format!("{event}data: {json}\n\n").into_bytes()
            })
            .boxed();
        let frame = prop_oneof![
            8 => payload.clone(),
            1 => (value(), 0usize..64).prop_map(|(json, keep)| {
                let text = format!("data: {json}");
                let keep = keep.min(text.len());
                let mut bytes = text.into_bytes();
                bytes.truncate(keep);
                bytes.extend_from_slice(b"\n\n");
                bytes
            }),
            1 => sse_like(),
        ];
        // Half the bodies are well-formed frames only, so decoding goes deep before any error.
        let frames = prop_oneof![
            proptest::collection::vec(payload, 0..10),
            proptest::collection::vec(frame, 0..10),
        ];
        (frames, any::<bool>()).prop_map(move |(frames, ended)| {
            let mut body = frames.concat();
            if ended {
                body.extend_from_slice(end.as_bytes());
            }
            body
        })
    }
}

#[cfg(any(feature = "openai", feature = "anthropic"))]
mod streams {
    use super::*;
    use crate::http::ResponseLimits;
    use crate::model::{ModelEvent, ToolCallAssembler};
    use crate::Error;
    use futures::{Stream, StreamExt};

    pub(super) type Decoded = Vec<Result<ModelEvent, String>>;

    fn transport(_: ()) -> Error {
        Error::Network {
            provider: "fuzz",
            message: "unreachable".into(),
        }
    }

    fn collect(stream: impl Stream<Item = crate::Result<ModelEvent>>) -> Decoded {
        futures::executor::block_on(
            stream
                .map(|item| item.map_err(|err| err.to_string()))
                .collect(),
        )
    }

    fn chunks(chunks: Vec<Vec<u8>>) -> impl Stream<Item = Result<Vec<u8>, ()>> + Send + 'static {
        futures::stream::iter(chunks.into_iter().map(Ok))
    }

    #[cfg(feature = "openai")]
    fn openai(pieces: Vec<Vec<u8>>, limits: ResponseLimits) -> Decoded {
        collect(crate::providers::openai::streamer::decode_with_limits(
            "openai",
            chunks(pieces),
            transport,
            limits,
        ))
    }

    #[cfg(feature = "anthropic")]
    fn anthropic(
        pieces: Vec<Vec<u8>>,
        answer_tool: Option<String>,
        limits: ResponseLimits,
    ) -> Decoded {
        collect(crate::providers::anthropic::streamer::decode_with_limits(
            chunks(pieces),
            transport,
            answer_tool,
            limits,
        ))
    }

    /// The default limits; or small caps on a call's text and tool calls (so they are hit
    /// often), with the default SSE limits or small ones too.
    fn limits() -> impl Strategy<Value = ResponseLimits> {
        prop_oneof![
            1 => Just(ResponseLimits::default()),
            2 => (0usize..96, 0usize..96).prop_map(|(answer, tool_calls)| ResponseLimits {
                answer,
                tool_calls,
                ..ResponseLimits::default()
            }),
            1 => (16usize..400, 16usize..400, 0usize..96, 0usize..96).prop_map(
                |(sse_line, sse_event, answer, tool_calls)| ResponseLimits {
                    sse_line,
                    sse_event,
                    answer,
                    tool_calls,
                    ..ResponseLimits::default()
                }
            ),
        ]
    }

    /// What `uncapped` (decoded without caps on text and tool calls) becomes with the caps of
    /// `limits`: the same events up to the one that would take the text or the tool-call
    /// pieces (arguments, id and name) past a cap, which is replaced by the error naming it.
    fn cut_at_caps(provider: &'static str, uncapped: Decoded, limits: ResponseLimits) -> Decoded {
        let (mut text, mut tools) = (0usize, 0usize);
        let mut out = Decoded::new();
        for item in uncapped {
            let over = match &item {
                Ok(ModelEvent::Text(delta)) => {
                    text += delta.len();
                    (text > limits.answer).then_some((
                        "the text of one answer",
                        "answer",
                        limits.answer,
                    ))
                }
                Ok(ModelEvent::ToolCall(delta)) => {
                    tools += crate::model::TOOL_CALL_PIECE_COST
                        + delta.arguments.len()
                        + delta.id.as_ref().map_or(0, String::len)
                        + delta.name.as_ref().map_or(0, String::len);
                    (tools > limits.tool_calls).then_some((
                        "the tool calls of one answer",
                        "tool_calls",
                        limits.tool_calls,
                    ))
                }
                _ => None,
            };
            if let Some((what, limit, max)) = over {
                let error = Error::ResponseTooLarge {
                    provider,
                    what,
                    limit,
                    max,
                };
                out.push(Err(error.to_string()));
                break;
            }
            out.push(item);
        }
        out
    }

    /// Split anywhere, the events are the same; at most one error, and it comes last; what
    /// the events add up to (text, assembled tool calls) stays within the caps, and the caps
    /// cut the stream exactly where it would pass one, with the typed error; the tool-call
    /// pieces assemble without panicking.
    fn check(
        provider: &'static str,
        bytes: &[u8],
        cuts: &[usize],
        limits: ResponseLimits,
        decode: impl Fn(Vec<Vec<u8>>, ResponseLimits) -> Decoded,
    ) -> Result<(), TestCaseError> {
        let whole = decode(vec![bytes.to_vec()], limits);
        prop_assert_eq!(&decode(split(bytes, cuts), limits), &whole);
        if let Some(error) = whole.iter().position(Result::is_err) {
            prop_assert_eq!(error, whole.len() - 1, "{:?}", whole);
        }
        let mut text = String::new();
        let mut calls = ToolCallAssembler::with_limit(provider, limits.tool_calls);
        for event in whole.iter().flatten() {
            match event {
                ModelEvent::Text(delta) => text.push_str(delta),
                ModelEvent::ToolCall(delta) => calls
                    .push(delta.clone())
                    .map_err(|err| TestCaseError::fail(format!("assembling: {err}")))?,
                _ => {}
            }
        }
        prop_assert!(
            text.len() <= limits.answer,
            "text {} > {}",
            text.len(),
            limits.answer
        );
        prop_assert!(
            calls.held() <= limits.tool_calls,
            "tool calls {} > {}",
            calls.held(),
            limits.tool_calls
        );
        for call in calls.finish() {
            prop_assert!(!call.id.is_empty());
        }
        let default = ResponseLimits::default();
        if (limits.sse_line, limits.sse_event) == (default.sse_line, default.sse_event) {
            let uncapped = ResponseLimits {
                answer: usize::MAX,
                tool_calls: usize::MAX,
                ..limits
            };
            let uncapped = decode(vec![bytes.to_vec()], uncapped);
            prop_assert_eq!(&whole, &cut_at_caps(provider, uncapped, limits));
        }
        Ok(())
    }

    /// Found by `openai_any_frames_any_split`: the slot after index `usize::MAX` overflowed.
    #[cfg(feature = "openai")]
    #[test]
    fn a_tool_call_at_the_largest_index_is_no_panic() {
        let piece = serde_json::json!({"choices": [{"delta": {"tool_calls": [
            {"index": usize::MAX, "id": "a", "function": {"name": "f"}}
        ]}}]});
        let events = openai(
            vec![format!("data: {piece}\n\ndata: [DONE]\n\n").into_bytes()],
            ResponseLimits::default(),
        );
        assert!(
            matches!(events.as_slice(), [Ok(ModelEvent::ToolCall(d))] if d.index == usize::MAX),
            "{events:?}"
        );
    }

    /// Endless small deltas stop at the cap, with the error naming it; each provider's.
    #[cfg(all(feature = "openai", feature = "anthropic"))]
    #[test]
    fn many_small_deltas_stop_at_the_caps() {
        let limits = ResponseLimits {
            answer: 100,
            tool_calls: 100,
            ..ResponseLimits::default()
        };
        let text = "data: {\"choices\":[{\"delta\":{\"content\":\"abc\"}}]}\n\n".repeat(50);
        let events = openai(vec![text.into_bytes()], limits);
        assert_eq!(events.len(), 34, "33 deltas of 3 bytes fit in 100");
        assert!(
            matches!(events.last(), Some(Err(m)) if m.contains("ResponseLimits::answer") && m.contains("100 bytes")),
            "{events:?}"
        );
        let piece = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1,\"}}\n\n";
        let events = anthropic(vec![piece.repeat(50).into_bytes()], None, limits);
        assert_eq!(
            events.len(),
            6,
            "5 pieces of 3 bytes and 16 for holding each fit in 100"
        );
        assert!(
            matches!(events.last(), Some(Err(m)) if m.contains("ResponseLimits::tool_calls")),
            "{events:?}"
        );
    }

    #[cfg(feature = "openai")]
    proptest! {
        #![proptest_config(config(2_000))]
        #[test]
        fn openai_any_frames_any_split(
            bytes in frames::body(frames::openai_chunk(), "data: [DONE]\n\n"),
            cuts in cuts(),
            limits in limits(),
        ) {
            check("openai", &bytes, &cuts, limits, openai)?;
        }
    }

    #[cfg(feature = "anthropic")]
    proptest! {
        #![proptest_config(config(2_000))]
        #[test]
        fn anthropic_any_frames_any_split(
            bytes in frames::body(
                frames::anthropic_event(),
                "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            ),
            cuts in cuts(),
            answer in proptest::option::of(prop::sample::select(vec!["answer", "Paris", ""])),
            limits in limits(),
        ) {
            let answer = answer.map(str::to_string);
            check("anthropic", &bytes, &cuts, limits, |pieces, limits| {
                anthropic(pieces, answer.clone(), limits)
            })?;
        }
    }

    #[cfg(all(feature = "openai", feature = "anthropic"))]
    proptest! {
        #![proptest_config(config(1_000))]
        /// A valid recorded stream, split at any set of places, decodes to exactly the events
        /// of the whole stream: no error, nothing lost, nothing doubled.
        #[test]
        fn recorded_streams_any_split(cuts in cuts(), which in any::<bool>()) {
            const OPENAI: &str = include_str!("../tests/fixtures/openai_stream.txt");
            const ANTHROPIC: &str = include_str!("../tests/fixtures/anthropic_stream.txt");
            let limits = ResponseLimits::default();
            let (text, decode): (&str, &dyn Fn(Vec<Vec<u8>>) -> Decoded) = if which {
                (OPENAI, &|pieces| openai(pieces, limits))
            } else {
                (ANTHROPIC, &|pieces| anthropic(pieces, None, limits))
            };
            let whole = decode(vec![text.as_bytes().to_vec()]);
            prop_assert!(whole.len() > 5 && whole.iter().all(Result::is_ok), "{:?}", whole);
            prop_assert_eq!(decode(split(text.as_bytes(), &cuts)), whole);
        }
    }
}

mod assembler {
    use super::*;
    use crate::model::{ToolCallAssembler, ToolCallDelta};

    fn delta() -> impl Strategy<Value = ToolCallDelta> {
        let index = prop_oneof![4 => 0usize..4, 1 => Just(usize::MAX)];
        let text = || prop::sample::select(vec!["", "a", "get_", "time", "{\"x\":", "1}", " "]);
        (
            index,
            proptest::option::of(text()),
            proptest::option::of(text()),
            text(),
        )
            .prop_map(|(index, id, name, arguments)| ToolCallDelta {
                index,
                id: id.map(str::to_string),
                name: name.map(str::to_string),
                arguments: arguments.to_string(),
            })
    }

    proptest! {
        #![proptest_config(config(1_000))]
        /// One call per index, in index order, with that index's argument pieces in order
        /// (or `{}` when blank) and a non-empty id.
        #[test]
        fn any_deltas(deltas in proptest::collection::vec(delta(), 0..32)) {
            let mut calls = ToolCallAssembler::new("fuzz");
            for delta in &deltas {
                calls.push(delta.clone()).map_err(|err| TestCaseError::fail(err.to_string()))?;
            }
            let mut indices: Vec<usize> = deltas.iter().map(|d| d.index).collect();
            indices.sort_unstable();
            indices.dedup();
            let calls = calls.finish();
            prop_assert_eq!(calls.len(), indices.len());
            for (call, index) in calls.iter().zip(indices) {
                let arguments: String = deltas
                    .iter()
                    .filter(|d| d.index == index)
                    .map(|d| d.arguments.as_str())
                    .collect();
                let expected = if arguments.trim().is_empty() { "{}".to_string() } else { arguments };
                prop_assert_eq!(&call.arguments, &expected);
                prop_assert!(!call.id.is_empty());
            }
        }
    }
}

mod envelope {
    use super::*;
    use crate::storage::envelope::{decode, encode, FORMAT_VERSION};
    use crate::storage::{RunRecord, WorkflowSession};
    use crate::Error;
    use serde_json::Value;

    /// Arbitrary bytes, often behind a valid header or the marker with another version.
    fn record_bytes() -> impl Strategy<Value = Vec<u8>> {
        let header = prop::sample::select(vec![
            vec![],
            vec![0xF7],
            vec![0xF7, FORMAT_VERSION],
            vec![0xF7, FORMAT_VERSION],
            vec![0xF7, 0],
            vec![0xF7, 0xFF],
        ]);
        let body = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            super::plain_json().prop_map(|json| json.into_bytes()),
            (1usize..4096).prop_map(|depth| "[".repeat(depth).into_bytes()),
        ];
        (header, body).prop_map(|(header, body)| [header, body].concat())
    }

    fn corrupt_named<T: std::fmt::Debug>(result: crate::Result<T>) -> Result<(), TestCaseError> {
        if let Err(err) = result {
            prop_assert!(
                matches!(&err, Error::Corrupt { key, .. } if key == "fuzz/key"),
                "{err}"
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config(1_500))]
        /// Whatever is stored, reading it is a record or `Error::Corrupt` naming it.
        #[test]
        fn any_bytes(bytes in record_bytes()) {
            corrupt_named(decode::<Value>(&bytes, || "fuzz/key".into()))?;
            corrupt_named(decode::<WorkflowSession>(&bytes, || "fuzz/key".into()))?;
            corrupt_named(decode::<RunRecord>(&bytes, || "fuzz/key".into()))?;
        }
    }

    proptest! {
        #![proptest_config(config(500))]
        #[test]
        fn round_trip(text in super::plain_json()) {
            let value: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let bytes = encode(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: Value = decode(&bytes, || "fuzz/key".into()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, value);
        }
    }
}

/// JSON text without floats (they need not survive a round trip bit for bit), built from
/// strings, integers, booleans, null, arrays and objects.
fn plain_json() -> impl Strategy<Value = String> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
    .prop_map(|value| value.to_string())
}
