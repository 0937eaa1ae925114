//! Assembles streamed tool-call fragments into whole calls, keyed by index.
//!
//! Providers stream a call as pieces that share an index; pieces of different calls may
//! interleave. Keeping one slot per index (not one slot for "the current call", rig #2250) is
//! what makes several calls in one turn come out whole.

use std::collections::BTreeMap;

use super::ToolCallDelta;
use crate::message::ToolCall;

/// Collects [`ToolCallDelta`]s and yields the finished calls in index order.
#[derive(Debug, Default)]
pub struct ToolCallAssembler {
    slots: BTreeMap<usize, ToolCall>,
}

impl ToolCallAssembler {
    /// Adds one fragment.
    pub fn push(&mut self, delta: ToolCallDelta) {
        let slot = self.slots.entry(delta.index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if let Some(id) = delta.id.filter(|id| !id.is_empty()) {
            if slot.id.is_empty() {
                slot.id = id;
            }
        }
        if let Some(name) = delta.name.filter(|name| !name.is_empty()) {
            // Some servers repeat the whole name on every piece; others split it.
            if slot.name != name {
                slot.name.push_str(&name);
            }
        }
        slot.arguments.push_str(&delta.arguments);
    }

    /// Whether no fragment was pushed.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The finished calls in index order. A call without an id gets `call_<index>`; empty
    /// arguments become `{}` (a call to a tool without parameters).
    pub fn finish(self) -> Vec<ToolCall> {
        self.slots
            .into_iter()
            .map(|(index, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call_{index}");
                }
                if call.arguments.trim().is_empty() {
                    call.arguments = "{}".to_string();
                }
                call
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(index: usize, id: Option<&str>, name: Option<&str>, args: &str) -> ToolCallDelta {
        ToolCallDelta {
            index,
            id: id.map(str::to_string),
            name: name.map(str::to_string),
            arguments: args.to_string(),
        }
    }

    #[test]
    fn interleaved_calls_are_kept_apart_by_index() {
        let mut calls = ToolCallAssembler::default();
        calls.push(delta(0, Some("a"), Some("weather"), "{\"city\":"));
        calls.push(delta(1, Some("b"), Some("time"), "{\"tz\":"));
        calls.push(delta(0, None, None, "\"Paris\"}"));
        calls.push(delta(1, None, None, "\"UTC\"}"));
        let calls = calls.finish();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "weather");
        assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(calls[1].id, "b");
        assert_eq!(calls[1].arguments, r#"{"tz":"UTC"}"#);
    }

    #[test]
    fn missing_ids_and_arguments_get_defaults() {
        let mut calls = ToolCallAssembler::default();
        calls.push(delta(3, None, Some("now"), ""));
        calls.push(delta(3, Some(""), Some("now"), ""));
        let calls = calls.finish();
        assert_eq!(calls[0].id, "call_3");
        assert_eq!(calls[0].name, "now");
        assert_eq!(calls[0].arguments, "{}");
    }
}
