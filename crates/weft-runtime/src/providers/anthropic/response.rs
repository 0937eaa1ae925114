//! Reads a whole (non-streamed) Messages response.

use serde::Deserialize;

use crate::message::ToolCall;
use crate::model::{FinishReason, ModelResponse, Usage};
use crate::{Error, Result};

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: serde_json::Value,
    },
    #[serde(other)]
    Other,
}

/// Token usage as Anthropic reports it. `input_tokens` counts only the prompt tokens after
/// the last cache breakpoint: the whole prompt is `input_tokens + cache_read_input_tokens +
/// cache_creation_input_tokens`.
#[derive(Clone, Copy, Deserialize, Default)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(usage: WireUsage) -> Self {
        let cache_read = usage.cache_read_input_tokens.unwrap_or(0);
        Usage {
            // Saturating: the counts come from outside.
            input_tokens: usage
                .input_tokens
                .unwrap_or(0)
                .saturating_add(cache_read)
                .saturating_add(usage.cache_creation_input_tokens.unwrap_or(0)),
            output_tokens: usage.output_tokens.unwrap_or(0),
            cached_input_tokens: cache_read,
        }
    }
}

/// Parses a response body. A call of `answer_tool` (structured output) becomes the text of
/// the answer.
pub(crate) fn parse(body: &[u8], answer_tool: Option<&str>) -> Result<ModelResponse> {
    let message: WireMessage =
        serde_json::from_slice(body).map_err(|err| Error::InvalidResponse {
            provider: "anthropic",
            message: format!("not a Messages response: {err}"),
        })?;
    let mut response = ModelResponse {
        finish_reason: message.stop_reason.as_deref().and_then(FinishReason::parse),
        ..ModelResponse::default()
    };
    for block in message.content {
        match block {
            Block::Text { text } => response.text.push_str(&text),
            Block::ToolUse { name, input, .. } if Some(name.as_str()) == answer_tool => {
                response.text.push_str(&input.to_string());
            }
            Block::ToolUse { id, name, input } => response.tool_calls.push(ToolCall {
                id,
                name,
                arguments: if input.is_null() {
                    "{}".to_string()
                } else {
                    input.to_string()
                },
            }),
            Block::Other => {}
        }
    }
    if response.tool_calls.is_empty() && response.finish_reason == Some(FinishReason::ToolCalls) {
        // Only the answer tool was called: for the agent, a finished answer.
        response.finish_reason = Some(FinishReason::Stop);
    }
    response.usage = message.usage.unwrap_or_default().into();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_tool_use_blocks() {
        let body = br#"{"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"t1","name":"weather","input":{"city":"Paris"}},{"type":"thinking","thinking":"..."}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":7}}"#;
        let response = parse(body, None).unwrap();
        assert_eq!(response.text, "Checking.");
        assert_eq!(response.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(response.usage.output_tokens, 7);
    }

    #[test]
    fn cache_reads_and_writes_count_as_input() {
        let body = br#"{"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":50,"cache_creation_input_tokens":248,"cache_read_input_tokens":100000,"output_tokens":503}}"#;
        assert_eq!(
            parse(body, None).unwrap().usage,
            Usage {
                input_tokens: 100_298,
                output_tokens: 503,
                cached_input_tokens: 100_000
            }
        );
    }

    #[test]
    fn the_answer_tool_is_the_text() {
        let body = br#"{"content":[{"type":"tool_use","id":"t1","name":"Source","input":{"url":"https://a"}}],"stop_reason":"tool_use"}"#;
        let response = parse(body, Some("Source")).unwrap();
        assert_eq!(response.text, r#"{"url":"https://a"}"#);
        assert!(response.tool_calls.is_empty());
        assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    }
}
