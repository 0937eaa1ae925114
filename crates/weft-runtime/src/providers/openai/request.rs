//! Builds a Chat Completions request body.

use serde_json::{json, Map, Value};

use crate::message::{Message, Role};
use crate::model::{ModelRequest, ToolChoice};
use crate::providers::Settings;

/// The JSON body for `POST /chat/completions`.
pub(crate) fn body(settings: &Settings, request: &ModelRequest, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(settings.model_id));
    body.insert(
        "messages".into(),
        request.messages.iter().map(message).collect(),
    );
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    }
                })
            })
            .collect();
        body.insert("tools".into(), tools);
        if request.tool_choice == ToolChoice::None {
            body.insert("tool_choice".into(), json!("none"));
        }
    }
    if let Some(output) = &request.output {
        body.insert(
            "response_format".into(),
            json!({
                "type": "json_schema",
                "json_schema": {
                    "name": output.name,
                    "schema": output.schema,
                    "strict": output.strict,
                },
            }),
        );
    }
    if let Some(temperature) = settings.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(max_tokens) = settings.max_tokens {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    if stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    Value::Object(body)
}

fn message(message: &Message) -> Value {
    match message.role {
        Role::System => json!({ "role": "system", "content": message.content }),
        Role::User => json!({ "role": "user", "content": message.content }),
        Role::Assistant if message.tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": message.content })
        }
        Role::Assistant => {
            let calls: Vec<Value> = message
                .tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": { "name": call.name, "arguments": call.arguments },
                    })
                })
                .collect();
            let content = if message.content.is_empty() {
                Value::Null
            } else {
                json!(message.content)
            };
            json!({ "role": "assistant", "content": content, "tool_calls": calls })
        }
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ToolCall;
    use crate::model::ToolSpec;

    #[test]
    fn tool_use_turn_is_kept_in_openai_shape() {
        let request = ModelRequest {
            messages: vec![
                Message::system("be brief"),
                Message::user("weather?"),
                Message::assistant_with_tools(
                    "",
                    vec![ToolCall {
                        id: "call_1".into(),
                        name: "weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    }],
                ),
                Message::tool_result("call_1", "sunny", false),
            ],
            tools: vec![ToolSpec {
                name: "weather".into(),
                description: "Weather now".into(),
                parameters: json!({"type": "object"}),
            }],
            tool_choice: ToolChoice::Auto,
            output: None,
        };
        let body = body(&Settings::new("gpt-4o"), &request, true);
        assert!(body.get("tool_choice").is_none());
        assert_eq!(body["messages"][2]["content"], Value::Null);
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["name"],
            "weather"
        );
        assert_eq!(body["messages"][3]["role"], "tool");
        assert_eq!(body["messages"][3]["tool_call_id"], "call_1");
        assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
        assert_eq!(body["stream_options"]["include_usage"], true);

        let limited = ModelRequest {
            tool_choice: ToolChoice::None,
            ..request
        };
        let body = super::body(&Settings::new("gpt-4o"), &limited, true);
        assert_eq!(body["tool_choice"], "none");
        assert_eq!(body["tools"][0]["function"]["name"], "weather");
    }

    #[test]
    fn structured_output_is_a_json_schema_response_format() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Source {
            url: String,
        }
        let request = ModelRequest {
            messages: vec![Message::user("find one")],
            output: Some(crate::model::OutputSchema::of::<Source>()),
            ..ModelRequest::default()
        };
        let body = body(&Settings::new("gpt-4o"), &request, false);
        let format = &body["response_format"];
        assert_eq!(format["type"], "json_schema");
        assert_eq!(format["json_schema"]["name"], "Source");
        assert_eq!(format["json_schema"]["strict"], true);
        assert_eq!(format["json_schema"]["schema"]["required"][0], "url");
    }
}
