//! Reads a whole (non-streamed) Chat Completions response. Lenient: unknown fields, a missing
//! `id`, `null` content and an empty or null `finish_reason` are all accepted.

use serde::Deserialize;

use crate::message::ToolCall;
use crate::model::{FinishReason, ModelResponse, Usage};
use crate::{Error, Result};

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    /// Why the model refused (structured outputs): its words, read as the answer's text.
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: Option<String>,
}

/// Token usage as OpenAI-compatible servers report it. `prompt_tokens` already counts the
/// cached ones; `prompt_tokens_details.cached_tokens` says how many of them were cached.
#[derive(Deserialize, Default)]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(usage: WireUsage) -> Self {
        let input_tokens = usage.prompt_tokens.unwrap_or(0);
        let cached = usage
            .prompt_tokens_details
            .and_then(|details| details.cached_tokens)
            .unwrap_or(0);
        Usage {
            input_tokens,
            output_tokens: usage.completion_tokens.unwrap_or(0),
            // Never more than the prompt, whatever a compatible server writes.
            cached_input_tokens: cached.min(input_tokens),
        }
    }
}

/// Parses a response body.
pub(crate) fn parse(provider: &'static str, body: &[u8]) -> Result<ModelResponse> {
    let completion: Completion =
        serde_json::from_slice(body).map_err(|err| Error::InvalidResponse {
            provider,
            message: format!("not a chat completion: {err}"),
        })?;
    let choice = completion
        .choices
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| Error::InvalidResponse {
            provider,
            message: "the completion has no choices".to_string(),
        })?;
    let message = choice.message.unwrap_or(WireMessage {
        content: None,
        refusal: None,
        tool_calls: None,
    });
    let tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, call)| ToolCall {
            id: call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{index}")),
            name: call.function.name,
            arguments: call
                .function
                .arguments
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(|| "{}".to_string()),
        })
        .collect();
    Ok(ModelResponse {
        text: message
            .content
            .filter(|c| !c.is_empty())
            .or(message.refusal)
            .unwrap_or_default(),
        tool_calls,
        usage: completion.usage.unwrap_or_default().into(),
        finish_reason: choice
            .finish_reason
            .as_deref()
            .and_then(FinishReason::parse),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_toward_compatible_servers() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"hi","extra":1},"finish_reason":""}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
        let response = parse("openai", body).unwrap();
        assert_eq!(response.text, "hi");
        assert_eq!(response.finish_reason, None);
        assert_eq!(response.usage.input_tokens, 3);
        assert_eq!(response.usage.cached_input_tokens, 0);
    }

    #[test]
    fn cached_prompt_tokens_are_part_of_the_prompt() {
        let body = br#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2006,"completion_tokens":300,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0}}}"#;
        let usage = parse("openai", body).unwrap().usage;
        assert_eq!(
            usage,
            Usage {
                input_tokens: 2006,
                output_tokens: 300,
                cached_input_tokens: 1920
            }
        );
        let null_details = br#"{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":null}}"#;
        assert_eq!(
            parse("openai", null_details)
                .unwrap()
                .usage
                .cached_input_tokens,
            0
        );
    }

    #[test]
    fn tool_calls_and_null_content() {
        let body = br#"{"id":"x","choices":[{"index":0,"message":{"content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}]}"#;
        let response = parse("openai", body).unwrap();
        assert_eq!(response.text, "");
        assert_eq!(response.tool_calls[0].arguments, r#"{"a":1}"#);
        assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn a_refusal_is_the_answer_text() {
        let body = br#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#;
        assert_eq!(
            parse("openai", body).unwrap().text,
            "I can't help with that."
        );
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(matches!(
            parse("openai", b"<html>"),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(parse("openai", br#"{"choices":[]}"#).is_err());
    }
}
