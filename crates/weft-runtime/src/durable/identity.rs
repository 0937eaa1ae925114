//! Stable names for a run's work and items, the same in every process and release: journal
//! keys (what a resumed run looks completed work up by) and item identities (what it
//! recognises already-logged items by).
//!
//! - model call: `model:<agent>:<hash of the whole request and call mode>:<n>`
//! - tool call: `tool:<name>:<hash of name and arguments>:<n>`
//! - step: `step:<name>:<n>`
//! - interrupt: `interrupt:<name>:<n>`; the approval of a tool call: `approval:<tool key>:0`
//!
//! `<n>` is the occurrence of that prefix in the run, counted when the work starts: identical
//! concurrent calls are interchangeable and different ones never collide, so the order in
//! which tasks are scheduled does not matter.
//!
//! Items: `turn:<model key>#<i>` for the `i`-th text delta of a model call,
//! `call:<key of the agent call's first model call>#<j>` for the agent call's other items,
//! and `item:<hash of event, content, step and agent>#<n>` for items the run's own code made.

use serde_json::{json, Value};

use crate::message::Message;
use crate::model::{ModelRequest, ToolChoice};
use crate::response::RunResponse;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a (64 bits) of `bytes`, as 16 lowercase hex digits: stable across processes,
/// platforms and releases (unlike `std`'s hashers).
pub fn stable_hash(bytes: &[u8]) -> String {
    let mut hash = FNV_OFFSET;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    format!("{hash:016x}")
}

/// [`stable_hash`] of a JSON value's compact text.
pub fn hash_json(value: &Value) -> String {
    stable_hash(value.to_string().as_bytes())
}

/// The prefix of a model call's key (before `:<n>`): the agent's name, and a hash of the whole
/// request as JSON with the call mode (`stream` or `complete`).
pub(crate) fn model_prefix(agent: Option<&str>, request: &ModelRequest, mode: &str) -> String {
    let output = request.output.as_ref().map(|output| {
        json!({
            "name": output.name,
            "schema": output.schema,
            "strict": output.strict,
            "wrapped": output.wrapped,
        })
    });
    let whole = json!({
        "messages": messages_json(&request.messages),
        "tools": request.tools,
        "tool_choice": match request.tool_choice {
            ToolChoice::Auto => "auto",
            ToolChoice::None => "none",
        },
        "output": output,
        "mode": mode,
    });
    format!("model:{}:{}", agent.unwrap_or(""), hash_json(&whole))
}

fn messages_json(messages: &[Message]) -> Value {
    // `Message` serialises deterministically (struct fields in order); a failure cannot
    // happen for these types, and would only make the key less specific.
    serde_json::to_value(messages).unwrap_or(Value::Null)
}

/// The prefix of a tool call's key (before `:<n>`).
pub(crate) fn tool_prefix(name: &str, arguments: &str) -> String {
    let hashed = json!({ "name": name, "arguments": arguments });
    format!("tool:{name}:{}", hash_json(&hashed))
}

/// The prefix of a user step's key (before `:<n>`).
pub(crate) fn step_prefix(name: &str) -> String {
    format!("step:{name}")
}

/// The prefix of an interrupt's key (before `:<n>`).
pub(crate) fn interrupt_prefix(name: &str) -> String {
    format!("interrupt:{name}")
}

/// The prefix of the approval of a tool call (before `:<n>`): the call's own key prefix, so
/// the approval and the call are counted alike.
pub(crate) fn approval_prefix(tool_key: &str) -> String {
    format!("approval:{tool_key}")
}

/// A full key: the prefix and its occurrence.
pub(crate) fn key(prefix: &str, occurrence: u64) -> String {
    format!("{prefix}:{occurrence}")
}

/// The identity of a model call's `index`-th text delta.
pub(crate) fn turn_item(model_key: &str, index: usize) -> String {
    format!("turn:{model_key}#{index}")
}

/// The identity of an agent call's `index`-th item other than text deltas.
pub(crate) fn call_item(call_key: &str, index: usize) -> String {
    format!("call:{call_key}#{index}")
}

/// The model key a `turn:` identity belongs to, if it is one.
pub(crate) fn turn_key(identity: &str) -> Option<&str> {
    let rest = identity.strip_prefix("turn:")?;
    rest.rsplit_once('#').map(|(key, _)| key)
}

/// The prefix of the identity of an item the run's own code yielded (before `#<n>`).
pub(crate) fn item_prefix(item: &RunResponse) -> String {
    let hashed = json!({
        "event": item.event,
        "content": item.content,
        "step": item.step,
        "agent": item.agent_name,
    });
    format!("item:{}", hash_json(&hashed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a_and_does_not_change() {
        // Reference values of FNV-1a 64.
        assert_eq!(stable_hash(b""), "cbf29ce484222325");
        assert_eq!(stable_hash(b"a"), "af63dc4c8601ec8c");
        assert_eq!(stable_hash(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn keys_and_identities_read_back() {
        let request = ModelRequest {
            messages: vec![Message::user("hi")],
            ..ModelRequest::default()
        };
        let prefix = model_prefix(Some("writer"), &request, "stream");
        assert!(prefix.starts_with("model:writer:"), "{prefix}");
        assert_ne!(prefix, model_prefix(Some("writer"), &request, "complete"));
        let other = ModelRequest {
            messages: vec![Message::user("hello")],
            ..ModelRequest::default()
        };
        assert_ne!(prefix, model_prefix(Some("writer"), &other, "stream"));
        let key = key(&prefix, 2);
        assert_eq!(turn_key(&turn_item(&key, 7)), Some(key.as_str()));
        assert_eq!(turn_key(&call_item(&key, 0)), None);
        assert_eq!(
            tool_prefix("search", "{\"q\":1}"),
            tool_prefix("search", "{\"q\":1}")
        );
        assert_ne!(
            tool_prefix("search", "{\"q\":1}"),
            tool_prefix("search", "{\"q\":2}")
        );
        let a = item_prefix(&RunResponse::text("x"));
        let mut later = RunResponse::text("x");
        later.created_at += 10;
        assert_eq!(
            a,
            item_prefix(&later),
            "time is not part of an item's identity"
        );
        assert_ne!(a, item_prefix(&RunResponse::text("y")));
    }
}
