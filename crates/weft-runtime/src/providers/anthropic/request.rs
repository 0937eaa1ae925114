//! Builds a Messages request body: the system message goes to `system`, tool calls become
//! `tool_use` blocks, and consecutive tool results are merged into one user message of
//! `tool_result` blocks, as the API requires.

use serde_json::{json, Map, Value};

use super::DEFAULT_MAX_TOKENS;

/// What Anthropic's answer tool tells the model.
const ANSWER_TOOL_DESCRIPTION: &str =
    "Give your final answer by calling this tool: its input is the answer.";
use crate::message::{Message, Role};
use crate::model::{ModelRequest, ToolChoice};
use crate::providers::Settings;

/// The JSON body for `POST /v1/messages`. `native` says whether the request's typed answer,
/// if it asks for one, is asked for with native JSON output rather than the answer tool (see
/// [`super::StructuredOutput`]).
pub(crate) fn body(
    settings: &Settings,
    request: &ModelRequest,
    stream: bool,
    native: bool,
) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(settings.model_id));
    body.insert(
        "max_tokens".into(),
        json!(settings.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
    );
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages(&request.messages)));
    let mut tools: Vec<Value> = request
        .tools
        .iter()
        .map(|tool| {
            json!({
                "name": tool.name,
                "description": tool.description,
                "input_schema": tool.parameters,
            })
        })
        .collect();
    let mut tool_choice = match request.tool_choice {
        ToolChoice::None if !tools.is_empty() => Some(json!({ "type": "none" })),
        _ => None,
    };
    // Structured output, natively: the answer's text must follow the schema; the model may
    // still call the request's tools first.
    if let Some(output) = request.output.as_ref().filter(|_| native) {
        body.insert(
            "output_config".into(),
            json!({ "format": { "type": "json_schema", "schema": output.schema } }),
        );
    }
    // Else a tool whose input is the answer, which the model must call: the only choice when
    // it may not (or cannot) call other tools, else one of them.
    if let Some(output) = request.output.as_ref().filter(|_| !native) {
        tools.push(json!({
            "name": output.name,
            "description": ANSWER_TOOL_DESCRIPTION,
            "input_schema": output.schema,
        }));
        tool_choice = Some(if tool_choice.is_some() || request.tools.is_empty() {
            json!({ "type": "tool", "name": output.name })
        } else {
            json!({ "type": "any" })
        });
    }
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = tool_choice {
        body.insert("tool_choice".into(), choice);
    }
    if let Some(temperature) = settings.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

fn messages(messages: &[Message]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(messages.len());
    let mut pending_results: Vec<Value> = Vec::new();
    for message in messages {
        if message.role != Role::Tool && !pending_results.is_empty() {
            out.push(json!({ "role": "user", "content": std::mem::take(&mut pending_results) }));
        }
        match message.role {
            Role::System => {}
            Role::User => out.push(json!({ "role": "user", "content": message.content })),
            Role::Assistant if message.tool_calls.is_empty() => {
                out.push(json!({ "role": "assistant", "content": message.content }))
            }
            Role::Assistant => {
                let mut blocks = Vec::new();
                if !message.content.is_empty() {
                    blocks.push(json!({ "type": "text", "text": message.content }));
                }
                for call in &message.tool_calls {
                    // The API wants an object; arguments that were not valid JSON were already
                    // answered with an error result, so send an empty input for them.
                    let input = serde_json::from_str::<Value>(&call.arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": input,
                    }));
                }
                out.push(json!({ "role": "assistant", "content": blocks }));
            }
            Role::Tool => pending_results.push(json!({
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
                "is_error": message.is_error,
            })),
        }
    }
    if !pending_results.is_empty() {
        out.push(json!({ "role": "user", "content": pending_results }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ToolCall;

    #[test]
    fn tool_results_of_one_turn_share_one_user_message() {
        let call = |id: &str| ToolCall {
            id: id.into(),
            name: "weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        };
        let request = ModelRequest {
            messages: vec![
                Message::system("be brief"),
                Message::user("weather?"),
                Message::assistant_with_tools("Checking.", vec![call("a"), call("b")]),
                Message::tool_result("a", "sunny", false),
                Message::tool_result("b", "boom", true),
            ],
            tools: vec![crate::model::ToolSpec {
                name: "weather".into(),
                description: "Weather now".into(),
                parameters: json!({"type": "object"}),
            }],
            tool_choice: ToolChoice::None,
            output: None,
        };
        let body = body(&Settings::new("claude"), &request, false, false);
        assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
        assert_eq!(body["tool_choice"]["type"], "none");
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[1]["content"][0]["type"], "text");
        assert_eq!(messages[1]["content"][1]["input"]["city"], "Paris");
        assert_eq!(messages[2]["role"], "user");
        assert_eq!(messages[2]["content"][1]["tool_use_id"], "b");
        assert_eq!(messages[2]["content"][1]["is_error"], true);
    }

    #[test]
    fn structured_output_is_a_forced_answer_tool() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Source {
            url: String,
        }
        let output = crate::model::OutputSchema::of::<Source>();
        let alone = ModelRequest {
            messages: vec![Message::user("find one")],
            output: Some(output.clone()),
            ..ModelRequest::default()
        };
        let body = body(&Settings::new("claude"), &alone, false, false);
        assert_eq!(body["tools"][0]["name"], "Source");
        assert_eq!(body["tools"][0]["input_schema"]["required"][0], "url");
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "Source"})
        );

        let with_tools = ModelRequest {
            tools: vec![crate::model::ToolSpec {
                name: "search".into(),
                description: "Searches".into(),
                parameters: json!({"type": "object"}),
            }],
            ..alone
        };
        let body = super::body(&Settings::new("claude"), &with_tools, false, false);
        assert_eq!(
            body["tools"][1]["name"], "Source",
            "the answer tool comes last"
        );
        assert_eq!(body["tool_choice"], json!({"type": "any"}));
    }

    #[test]
    fn native_structured_output_is_an_output_config_format() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Source {
            url: String,
        }
        let search = crate::model::ToolSpec {
            name: "search".into(),
            description: "Searches".into(),
            parameters: json!({"type": "object"}),
        };
        let request = ModelRequest {
            messages: vec![Message::user("find one")],
            tools: vec![search],
            output: Some(crate::model::OutputSchema::of::<Source>()),
            ..ModelRequest::default()
        };
        let body = body(&Settings::new("claude-sonnet-4-5"), &request, true, true);
        let format = &body["output_config"]["format"];
        assert_eq!(format["type"], "json_schema");
        assert_eq!(format["schema"]["required"][0], "url");
        assert_eq!(format["schema"]["additionalProperties"], false);
        assert_eq!(body["tools"].as_array().unwrap().len(), 1, "no answer tool");
        assert!(
            body.get("tool_choice").is_none(),
            "the model may answer in text"
        );

        let limited = ModelRequest {
            tool_choice: ToolChoice::None,
            ..request
        };
        let body = super::body(&Settings::new("claude-sonnet-4-5"), &limited, true, true);
        assert_eq!(body["tool_choice"], json!({"type": "none"}));
        assert_eq!(body["output_config"]["format"]["type"], "json_schema");
    }
}
