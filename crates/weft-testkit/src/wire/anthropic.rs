//! Anthropic Messages rendering.

use serde_json::{json, Value};

use super::{argument_pieces, Frame};
use crate::reply::{PromptCache, Reply};

fn stop_reason(reply: &Reply) -> &'static str {
    if reply.cut_off {
        "max_tokens"
    } else if reply.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

fn output_tokens(reply: &Reply) -> u64 {
    (reply.text.len() + reply.tool_calls.len()) as u64
}

/// The usage object: `input_tokens` leaves out the cached prompt tokens, which have fields of
/// their own (present only when the reply reports a cache, as for a request without one).
fn usage(reply: &Reply, input_tokens: u64, output_tokens: u64) -> Value {
    let mut usage = json!({ "input_tokens": input_tokens, "output_tokens": output_tokens });
    if reply.cache != PromptCache::default() {
        usage["cache_read_input_tokens"] = json!(reply.cache.read);
        usage["cache_creation_input_tokens"] = json!(reply.cache.written);
    }
    usage
}

/// What the real API answers with HTTP 400 and this fake does too: `tool_use` or
/// `tool_result` blocks in the conversation while the request defines no tools.
pub(crate) fn invalid_request(request: &Value) -> Option<String> {
    let has_tools = request["tools"]
        .as_array()
        .is_some_and(|tools| !tools.is_empty());
    let uses_tools = request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|message| message["content"].as_array())
        .flatten()
        .any(|block| block["type"] == "tool_use" || block["type"] == "tool_result");
    (uses_tools && !has_tools).then(|| {
        "Requests which include `tool_use` or `tool_result` blocks must define tools.".to_string()
    })
}

/// The frames of a streamed reply.
pub(crate) fn frames(reply: &Reply, id: &str, model: &str, input_tokens: u64) -> Vec<Frame> {
    let mut frames = vec![Frame::event(
        "message_start",
        json!({ "type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": null, "stop_sequence": null,
            "usage": usage(reply, input_tokens, 1),
        }}),
        false,
    )];
    let mut index = 0;
    if !reply.text.is_empty() || reply.tool_calls.is_empty() {
        frames.push(Frame::event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
            false,
        ));
        frames.push(Frame::event("ping", json!({ "type": "ping" }), false));
        for text in &reply.text {
            frames.push(Frame::event(
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": text } }),
                true,
            ));
        }
        frames.push(Frame::event(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
            false,
        ));
        index += 1;
    }
    for call in &reply.tool_calls {
        frames.push(Frame::event(
            "content_block_start",
            json!({ "type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": call.id, "name": call.name, "input": {},
            }}),
            true,
        ));
        for piece in argument_pieces(&call.arguments) {
            frames.push(Frame::event(
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": index, "delta": { "type": "input_json_delta", "partial_json": piece } }),
                true,
            ));
        }
        frames.push(Frame::event(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": index }),
            false,
        ));
        index += 1;
    }
    // Older API versions repeat only the output count here; current ones repeat the prompt's
    // counts too (running totals, not increments): the cached reply does so, the plain one
    // keeps the older shape.
    let final_usage = if reply.cache == PromptCache::default() {
        json!({ "output_tokens": output_tokens(reply) })
    } else {
        usage(reply, input_tokens, output_tokens(reply))
    };
    frames.push(Frame::event(
        "message_delta",
        json!({ "type": "message_delta", "delta": { "stop_reason": stop_reason(reply), "stop_sequence": null }, "usage": final_usage }),
        false,
    ));
    frames.push(Frame::event(
        "message_stop",
        json!({ "type": "message_stop" }),
        false,
    ));
    frames
}

/// The body of a non-streamed reply.
pub(crate) fn body(reply: &Reply, id: &str, model: &str, input_tokens: u64) -> Value {
    let mut content = Vec::new();
    let text = reply.full_text();
    if !text.is_empty() || reply.tool_calls.is_empty() {
        content.push(json!({ "type": "text", "text": text }));
    }
    for call in &reply.tool_calls {
        let input: Value = serde_json::from_str(&call.arguments).unwrap_or_else(|_| json!({}));
        content
            .push(json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": input }));
    }
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason(reply), "stop_sequence": null,
        "usage": usage(reply, input_tokens, output_tokens(reply)),
    })
}

/// An error body.
pub(crate) fn error(status: u16) -> Value {
    let kind = match status {
        429 => "rate_limit_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        401 => "authentication_error",
        _ => "invalid_request_error",
    };
    json!({ "type": "error", "error": { "type": kind, "message": format!("fake server error {status}") } })
}
