//! OpenAI Chat Completions rendering.

use serde_json::{json, Value};

use super::{argument_pieces, Frame};
use crate::reply::Reply;

fn finish_reason(reply: &Reply) -> &'static str {
    if reply.cut_off {
        "length"
    } else if reply.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// The usage object: `prompt_tokens` counts the cached prompt tokens too, and
/// `prompt_tokens_details.cached_tokens` says how many were read from the cache.
fn usage(input_tokens: u64, reply: &Reply) -> Value {
    let output = (reply.text.len() + reply.tool_calls.len()) as u64;
    let prompt = input_tokens + reply.cache.read + reply.cache.written;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": { "cached_tokens": reply.cache.read },
    })
}

fn chunk(id: &str, model: &str, choices: Value) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "system_fingerprint": null,
        "choices": choices,
    })
}

/// The frames of a streamed reply.
pub(crate) fn frames(
    reply: &Reply,
    id: &str,
    model: &str,
    input_tokens: u64,
    include_usage: bool,
) -> Vec<Frame> {
    let delta = |delta: Value, finish: Value| json!([{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }]);
    let mut frames = vec![Frame::data(
        chunk(
            id,
            model,
            delta(json!({"role": "assistant", "content": ""}), Value::Null),
        ),
        false,
    )];
    for text in &reply.text {
        frames.push(Frame::data(
            chunk(id, model, delta(json!({ "content": text }), Value::Null)),
            true,
        ));
    }
    for (index, call) in reply.tool_calls.iter().enumerate() {
        let start = json!({ "tool_calls": [{
            "index": index, "id": call.id, "type": "function",
            "function": { "name": call.name, "arguments": "" },
        }]});
        frames.push(Frame::data(
            chunk(id, model, delta(start, Value::Null)),
            true,
        ));
        for piece in argument_pieces(&call.arguments) {
            let piece =
                json!({ "tool_calls": [{ "index": index, "function": { "arguments": piece } }] });
            frames.push(Frame::data(
                chunk(id, model, delta(piece, Value::Null)),
                true,
            ));
        }
    }
    frames.push(Frame::data(
        chunk(id, model, delta(json!({}), json!(finish_reason(reply)))),
        false,
    ));
    if include_usage {
        let mut last = chunk(id, model, json!([]));
        last["usage"] = usage(input_tokens, reply);
        frames.push(Frame::data(last, false));
    }
    frames.push(Frame {
        text: "data: [DONE]\n\n".to_string(),
        content: false,
    });
    frames
}

/// The body of a non-streamed reply.
pub(crate) fn body(reply: &Reply, id: &str, model: &str, input_tokens: u64) -> Value {
    let text = reply.full_text();
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !reply.tool_calls.is_empty() { Value::Null } else { json!(text) },
    });
    if !reply.tool_calls.is_empty() {
        message["tool_calls"] = reply
            .tool_calls
            .iter()
            .map(|call| {
                json!({
                    "id": call.id, "type": "function",
                    "function": { "name": call.name, "arguments": call.arguments },
                })
            })
            .collect();
    }
    json!({
        "id": id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(reply) }],
        "usage": usage(input_tokens, reply),
    })
}

/// An error body.
pub(crate) fn error(status: u16) -> Value {
    json!({ "error": {
        "message": format!("fake server error {status}"),
        "type": if status == 429 { "rate_limit_exceeded" } else { "server_error" },
        "code": null,
    }})
}
