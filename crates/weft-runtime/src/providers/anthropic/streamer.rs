//! Reads a streamed Messages response. Text arrives as `text_delta`s, tool calls as a
//! `content_block_start` (id, name) followed by `input_json_delta` fragments, keyed by the
//! block index. `ping` and unknown event types are ignored; an `error` event is a typed error.

use futures::Stream;
use serde::Deserialize;

use super::response::WireUsage;
use crate::http::ResponseLimits;
use crate::model::{FinishReason, ModelEvent, ToolCallDelta, Usage};
use crate::providers::events::{self, Parsed};
use crate::{Error, Result};

const PROVIDER: &str = "anthropic";

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: usize,
        content_block: BlockStart,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    MessageDelta {
        #[serde(default)]
        delta: Option<MessageDelta>,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    Error {
        error: WireError,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageStart {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockStart {
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// Decodes a streamed response body into model events. A body that ends before
/// `message_stop` (or a `stop_reason`) is incomplete: its last item is
/// [`ended_early`](crate::http::sse::ended_early)'s error. Decoding stops at the first error,
/// and at the process's [`ResponseLimits`]. Calls of `answer_tool` (structured output) come
/// out as the text of the answer.
pub fn decode<S, B, E>(
    bytes: S,
    transport: impl Fn(E) -> Error + Send + 'static,
    answer_tool: Option<String>,
) -> impl Stream<Item = Result<ModelEvent>> + Send
where
    S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    decode_with_limits(bytes, transport, answer_tool, ResponseLimits::current())
}

/// [`decode`] within `limits`.
pub(crate) fn decode_with_limits<S, B, E>(
    bytes: S,
    transport: impl Fn(E) -> Error + Send + 'static,
    answer_tool: Option<String>,
    limits: ResponseLimits,
) -> impl Stream<Item = Result<ModelEvent>> + Send
where
    S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    let mut answer = AnswerBlocks::new(answer_tool);
    let mut usage = UsageTotals::default();
    events::model_events(PROVIDER, bytes, transport, limits, move |event| {
        let end_marker = event.event == "message_stop";
        let events = parse_event_with(&event.data, &mut usage)?
            .into_iter()
            .filter_map(|e| answer.map(e))
            .collect();
        Ok(Parsed { events, end_marker })
    })
}

/// Turns the blocks of the structured-output tool into text: its input JSON is the answer.
struct AnswerBlocks {
    tool: Option<String>,
    index: Option<usize>,
    other_calls: bool,
}

impl AnswerBlocks {
    fn new(tool: Option<String>) -> Self {
        AnswerBlocks {
            tool,
            index: None,
            other_calls: false,
        }
    }

    fn map(&mut self, event: ModelEvent) -> Option<ModelEvent> {
        match event {
            ModelEvent::ToolCall(delta) if delta.name.is_some() => {
                if self.tool.is_some() && delta.name == self.tool {
                    self.index = Some(delta.index);
                    return None;
                }
                self.other_calls = true;
                Some(ModelEvent::ToolCall(delta))
            }
            ModelEvent::ToolCall(delta) if Some(delta.index) == self.index => {
                (!delta.arguments.is_empty()).then_some(ModelEvent::Text(delta.arguments))
            }
            ModelEvent::Finish(FinishReason::ToolCalls)
                if self.index.is_some() && !self.other_calls =>
            {
                Some(ModelEvent::Finish(FinishReason::Stop))
            }
            other => Some(other),
        }
    }
}

/// Anthropic reports usage as running totals: `message_start` carries the prompt's fields
/// (and a first output count), `message_delta` the output so far and, in newer API versions,
/// the prompt's fields again. Weft's usage events add up, so each report becomes what it adds
/// to the totals seen so far: nothing is counted twice, whichever fields each event repeats.
#[derive(Default)]
struct UsageTotals {
    seen: WireUsage,
}

impl UsageTotals {
    /// What `report` adds to the totals, if anything.
    fn add(&mut self, report: WireUsage) -> Option<Usage> {
        fn raise(total: &mut Option<u64>, reported: Option<u64>) {
            if let Some(reported) = reported {
                *total = Some(total.unwrap_or(0).max(reported));
            }
        }
        let before = Usage::from(self.seen);
        raise(&mut self.seen.input_tokens, report.input_tokens);
        raise(&mut self.seen.output_tokens, report.output_tokens);
        raise(
            &mut self.seen.cache_read_input_tokens,
            report.cache_read_input_tokens,
        );
        raise(
            &mut self.seen.cache_creation_input_tokens,
            report.cache_creation_input_tokens,
        );
        let after = Usage::from(self.seen);
        let added = Usage {
            input_tokens: after.input_tokens.saturating_sub(before.input_tokens),
            output_tokens: after.output_tokens.saturating_sub(before.output_tokens),
            cached_input_tokens: after
                .cached_input_tokens
                .saturating_sub(before.cached_input_tokens),
        };
        (added != Usage::default()).then_some(added)
    }
}

/// Parses one event's `data:` payload on its own (as the first usage report of a stream).
#[cfg(test)]
pub(crate) fn parse_event(data: &str) -> Result<Vec<ModelEvent>> {
    parse_event_with(data, &mut UsageTotals::default())
}

/// Parses one event's `data:` payload (its `type` field names the event); `usage` holds the
/// totals reported so far.
fn parse_event_with(data: &str, usage: &mut UsageTotals) -> Result<Vec<ModelEvent>> {
    let event: Event = serde_json::from_str(data).map_err(|err| Error::InvalidResponse {
        provider: PROVIDER,
        message: format!(
            "unreadable stream event ({err}): {}",
            data.chars().take(120).collect::<String>()
        ),
    })?;
    Ok(match event {
        Event::MessageStart { message } => message
            .usage
            .and_then(|report| usage.add(report))
            .map(ModelEvent::Usage)
            .into_iter()
            .collect(),
        Event::ContentBlockStart {
            index,
            content_block: BlockStart::ToolUse { id, name },
        } => vec![ModelEvent::ToolCall(ToolCallDelta {
            index,
            id: Some(id),
            name: Some(name),
            arguments: String::new(),
        })],
        Event::ContentBlockDelta { index, delta } => match delta {
            BlockDelta::TextDelta { text } if !text.is_empty() => vec![ModelEvent::Text(text)],
            BlockDelta::InputJsonDelta { partial_json } => {
                vec![ModelEvent::ToolCall(ToolCallDelta {
                    index,
                    arguments: partial_json,
                    ..ToolCallDelta::default()
                })]
            }
            _ => vec![],
        },
        Event::MessageDelta {
            delta,
            usage: report,
        } => {
            let mut events = Vec::new();
            if let Some(added) = report.and_then(|report| usage.add(report)) {
                events.push(ModelEvent::Usage(added));
            }
            let reason = delta.and_then(|d| d.stop_reason);
            if let Some(reason) = reason.as_deref().and_then(FinishReason::parse) {
                events.push(ModelEvent::Finish(reason));
            }
            events
        }
        Event::Error { error } => {
            let status = match error.kind.as_str() {
                "overloaded_error" => 529,
                "rate_limit_error" => 429,
                "api_error" => 500,
                "invalid_request_error" => 400,
                "authentication_error" => 401,
                _ => 500,
            };
            return Err(Error::Provider {
                provider: PROVIDER,
                status,
                message: error.message,
                retry_after: None,
            });
        }
        Event::ContentBlockStart { .. } | Event::Other => vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::recorded::{
        assert_any_chunking_gives_identical_events, calls_of, text_of, usage_of,
    };
    use futures::executor::block_on;
    use futures::StreamExt;

    const RECORDED: &str = include_str!("../../../tests/fixtures/anthropic_stream.txt");

    fn decode_chunks(chunks: Vec<Vec<u8>>) -> Vec<ModelEvent> {
        let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, ()>));
        block_on(
            decode(stream, |_| Error::Config("unused transport".into()), None)
                .map(|event| event.unwrap())
                .collect(),
        )
    }

    #[test]
    fn recorded_stream_decodes_to_text_tool_calls_and_usage() {
        assert!(
            RECORDED.contains("\r\n"),
            "the fixture must keep its CRLF line ends"
        );
        let events = decode_chunks(vec![RECORDED.as_bytes().to_vec()]);
        assert_eq!(text_of(&events), "Let me check — 天気 🌤.");
        let calls = calls_of(&events);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "toolu_a");
        assert_eq!(calls[0].arguments, r#"{"city": "Paris"}"#);
        assert_eq!(calls[1].arguments, r#"{"tz":"UTC"}"#);
        assert_eq!(
            usage_of(&events),
            Usage {
                input_tokens: 42,
                output_tokens: 17,
                cached_input_tokens: 0
            }
        );
        assert!(events.contains(&ModelEvent::Finish(FinishReason::ToolCalls)));
    }

    fn usage_of_frames(frames: &[&str]) -> Usage {
        let mut body: String = frames.iter().map(|f| format!("data: {f}\n\n")).collect();
        body.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        usage_of(&decode_chunks(vec![body.into_bytes()]))
    }

    /// Older API versions repeat only the output count in `message_delta`; newer ones repeat
    /// the prompt's fields too, as running totals. Either way each token counts once, and cache
    /// reads and writes are part of the input.
    #[test]
    fn cache_tokens_count_once_whichever_fields_message_delta_repeats() {
        let start = r#"{"type":"message_start","message":{"usage":{"input_tokens":12,"cache_read_input_tokens":900,"cache_creation_input_tokens":80,"output_tokens":1}}}"#;
        let expected = Usage {
            input_tokens: 992,
            output_tokens: 30,
            cached_input_tokens: 900,
        };
        let old_delta = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}}"#;
        assert_eq!(usage_of_frames(&[start, old_delta]), expected);
        let new_delta = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12,"cache_read_input_tokens":900,"cache_creation_input_tokens":80,"output_tokens":30}}"#;
        assert_eq!(usage_of_frames(&[start, new_delta]), expected);
        // A prompt first reported in `message_delta` (a start without usage) still counts.
        let bare_start = r#"{"type":"message_start","message":{}}"#;
        assert_eq!(usage_of_frames(&[bare_start, new_delta]), expected);
    }

    /// Re-chunks the recorded stream at every byte position: the events never change.
    #[test]
    fn any_chunking_gives_identical_events() {
        assert_any_chunking_gives_identical_events(RECORDED.as_bytes(), decode_chunks);
    }

    #[test]
    fn error_events_are_typed() {
        let err = parse_event(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Provider { status: 529, .. }));
        assert!(err.is_retryable());
    }

    #[test]
    fn a_body_that_ends_before_message_stop_is_an_error() {
        let cut = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"half\"}}\n\n";
        let stream = futures::stream::iter([Ok::<_, ()>(cut.as_bytes().to_vec())]);
        let events: Vec<_> =
            block_on(decode(stream, |_| Error::Config("unused transport".into()), None).collect());
        assert!(matches!(&events[0], Ok(ModelEvent::Text(t)) if t == "half"));
        assert!(
            matches!(&events[1], Err(Error::Network { message, .. }) if message.contains("end-of-stream")),
            "{events:?}"
        );
    }

    #[test]
    fn the_answer_tool_streams_as_text() {
        let frames = [
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"Source","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"url\":"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" \"https://a\"}"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#,
        ];
        let body: String = frames.iter().map(|f| format!("data: {f}\n\n")).collect();
        let stream = futures::stream::iter([Ok::<_, ()>(body.into_bytes())]);
        let events: Vec<ModelEvent> = block_on(
            decode(
                stream,
                |_| Error::Config("unused transport".into()),
                Some("Source".into()),
            )
            .map(|event| event.unwrap())
            .collect(),
        );
        assert_eq!(text_of(&events), r#"{"url": "https://a"}"#);
        assert!(calls_of(&events).is_empty());
        assert!(events.contains(&ModelEvent::Finish(FinishReason::Stop)));
    }
}
