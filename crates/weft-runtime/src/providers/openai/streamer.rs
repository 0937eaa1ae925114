//! Reads a streamed Chat Completions response: SSE `data:` chunks into [`ModelEvent`]s.
//!
//! Tolerated: chunks with an empty `choices` array (the usage chunk), `null` or missing fields,
//! `finish_reason: ""`, tool-call pieces without `id`/`index`, unknown fields.

use futures::Stream;
use serde::Deserialize;

use super::response::WireUsage;
use crate::http::ResponseLimits;
use crate::model::{FinishReason, ModelEvent, ToolCallDelta};
use crate::providers::events::{self, Parsed};
use crate::{Error, Result};

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    /// A refusal (structured outputs), streamed like text.
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallPiece>>,
}

#[derive(Deserialize)]
struct ToolCallPiece {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionPiece>,
}

#[derive(Deserialize)]
struct FunctionPiece {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// Decodes a streamed response body into model events, within the process's
/// [`ResponseLimits`]. A body that ends without `[DONE]` or a finish reason is incomplete: its
/// last item is `ended_early`'s error. Decoding stops at the first error.
pub fn decode<S, B, E>(
    provider: &'static str,
    bytes: S,
    transport: impl Fn(E) -> Error + Send + 'static,
) -> impl Stream<Item = Result<ModelEvent>> + Send
where
    S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    decode_with_limits(provider, bytes, transport, ResponseLimits::current())
}

/// [`decode`] within `limits`.
pub(crate) fn decode_with_limits<S, B, E>(
    provider: &'static str,
    bytes: S,
    transport: impl Fn(E) -> Error + Send + 'static,
    limits: ResponseLimits,
) -> impl Stream<Item = Result<ModelEvent>> + Send
where
    S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    let mut slots = Slots::default();
    events::model_events(provider, bytes, transport, limits, move |event| {
        if event.is_done() {
            return Ok(Parsed {
                events: Vec::new(),
                end_marker: true,
            });
        }
        Ok(Parsed {
            events: parse_chunk_with(provider, &event.data, &mut slots)?,
            end_marker: false,
        })
    })
}

/// Gives every tool-call piece the slot of the call it belongs to. OpenAI sends an `index`;
/// some compatible servers omit it and send each call whole, so without an index a piece with
/// a new `id` starts a new call and a piece without one continues the last call.
#[derive(Default)]
pub(crate) struct Slots {
    by_id: Vec<(String, usize)>,
    last: usize,
    next: usize,
}

impl Slots {
    fn slot(&mut self, index: Option<usize>, id: Option<&str>) -> usize {
        let known = id.and_then(|id| self.by_id.iter().find(|(k, _)| k == id).map(|(_, s)| *s));
        let slot = match (index, id) {
            (Some(index), _) => index,
            (None, Some(_)) => known.unwrap_or(self.next),
            (None, None) => self.last,
        };
        if let (Some(id), None) = (id, known) {
            self.by_id.push((id.to_string(), slot));
        }
        self.last = slot;
        self.next = self.next.max(slot.saturating_add(1));
        slot
    }
}

/// Parses one `data:` payload on its own (tool-call pieces without `index` start at slot 0).
#[cfg(test)]
pub(crate) fn parse_chunk(provider: &'static str, data: &str) -> Result<Vec<ModelEvent>> {
    parse_chunk_with(provider, data, &mut Slots::default())
}

/// Parses one `data:` payload.
fn parse_chunk_with(
    provider: &'static str,
    data: &str,
    slots: &mut Slots,
) -> Result<Vec<ModelEvent>> {
    let chunk: Chunk = serde_json::from_str(data).map_err(|err| Error::InvalidResponse {
        provider,
        message: format!("unreadable stream chunk ({err}): {}", preview(data)),
    })?;
    if let Some(error) = chunk.error {
        let message = error
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        return Err(Error::Provider {
            provider,
            status: 500,
            message,
            retry_after: None,
        });
    }
    let mut events = Vec::new();
    if let Some(choice) = chunk.choices.unwrap_or_default().into_iter().next() {
        if let Some(delta) = choice.delta {
            for text in [delta.content, delta.refusal].into_iter().flatten() {
                if !text.is_empty() {
                    events.push(ModelEvent::Text(text));
                }
            }
            for piece in delta.tool_calls.unwrap_or_default() {
                let function = piece.function.unwrap_or(FunctionPiece {
                    name: None,
                    arguments: None,
                });
                events.push(ModelEvent::ToolCall(ToolCallDelta {
                    index: slots.slot(piece.index, piece.id.as_deref()),
                    id: piece.id,
                    name: function.name,
                    arguments: function.arguments.unwrap_or_default(),
                }));
            }
        }
        if let Some(reason) = choice
            .finish_reason
            .as_deref()
            .and_then(FinishReason::parse)
        {
            events.push(ModelEvent::Finish(reason));
        }
    }
    if let Some(usage) = chunk.usage {
        events.push(ModelEvent::Usage(usage.into()));
    }
    Ok(events)
}

fn preview(data: &str) -> String {
    data.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Usage;
    use crate::providers::recorded::{
        assert_any_chunking_gives_identical_events, calls_of, text_of, usage_of,
    };
    use futures::executor::block_on;
    use futures::StreamExt;

    const RECORDED: &str = include_str!("../../../tests/fixtures/openai_stream.txt");

    fn decode_chunks(chunks: Vec<Vec<u8>>) -> Vec<ModelEvent> {
        let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, ()>));
        block_on(
            decode("openai", stream, |_| {
                Error::Config("unused transport".into())
            })
            .map(|event| event.unwrap())
            .collect(),
        )
    }

    #[test]
    fn recorded_stream_decodes_to_text_tool_calls_and_usage() {
        let events = decode_chunks(vec![RECORDED.as_bytes().to_vec()]);
        assert_eq!(text_of(&events), "Let me check — 天気 🌤.");
        let calls = calls_of(&events);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(calls[1].name, "get_time");
        assert!(events.contains(&ModelEvent::Finish(FinishReason::ToolCalls)));
        assert_eq!(
            usage_of(&events),
            Usage {
                input_tokens: 42,
                output_tokens: 17,
                cached_input_tokens: 0
            }
        );
    }

    /// Re-chunks the recorded stream at every byte position: the events never change.
    #[test]
    fn any_chunking_gives_identical_events() {
        assert_any_chunking_gives_identical_events(RECORDED.as_bytes(), decode_chunks);
    }

    #[test]
    fn empty_choices_and_empty_finish_reason_are_tolerated() {
        let usage = parse_chunk(
            "openai",
            r#"{"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#,
        )
        .unwrap();
        assert_eq!(
            usage,
            vec![ModelEvent::Usage(Usage {
                input_tokens: 1,
                output_tokens: 2,
                cached_input_tokens: 0
            })]
        );
        let odd = parse_chunk(
            "openai",
            r#"{"choices":[{"delta":{"content":"a"},"finish_reason":""}],"usage":null}"#,
        )
        .unwrap();
        assert_eq!(odd, vec![ModelEvent::Text("a".into())]);
        let null_choices = parse_chunk("openai", r#"{"choices":null}"#).unwrap();
        assert!(null_choices.is_empty());
    }

    #[test]
    fn tool_calls_without_index_are_told_apart_by_id() {
        let stream = concat!(
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"one\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"two\",\"arguments\":\"{\\\"x\\\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\":1}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        );
        let calls = calls_of(&decode_chunks(vec![stream.as_bytes().to_vec()]));
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(
            (calls[0].name.as_str(), calls[0].arguments.as_str()),
            ("one", "{}")
        );
        assert_eq!(
            (calls[1].name.as_str(), calls[1].arguments.as_str()),
            ("two", r#"{"x":1}"#)
        );
    }

    #[test]
    fn a_body_that_ends_without_an_end_marker_is_an_error() {
        let cut = "data: {\"choices\":[{\"delta\":{\"content\":\"half an\"}}]}\n\n";
        let stream = futures::stream::iter([Ok::<_, ()>(cut.as_bytes().to_vec())]);
        let events: Vec<_> = block_on(
            decode("openai", stream, |_| {
                Error::Config("unused transport".into())
            })
            .collect(),
        );
        assert!(matches!(&events[0], Ok(ModelEvent::Text(t)) if t == "half an"));
        assert!(
            matches!(&events[1], Err(Error::Network { message, .. }) if message.contains("end-of-stream")),
            "{events:?}"
        );
        // `[DONE]` alone (no finish reason) is a proper end.
        let done = format!("{cut}data: [DONE]\n\n");
        let stream = futures::stream::iter([Ok::<_, ()>(done.into_bytes())]);
        let events: Vec<_> = block_on(
            decode("openai", stream, |_| {
                Error::Config("unused transport".into())
            })
            .collect(),
        );
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_malformed_chunk_is_a_typed_error() {
        assert!(matches!(
            parse_chunk("openai", "{not json"),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(matches!(
            parse_chunk("openai", r#"{"error":{"message":"overloaded"}}"#),
            Err(Error::Provider { .. })
        ));
    }
}
