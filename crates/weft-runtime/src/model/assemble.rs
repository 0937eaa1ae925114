//! Assembles streamed tool-call fragments into whole calls, keyed by index, and caps what one
//! model call's events add up to.
//!
//! Providers stream a call as pieces that share an index; pieces of different calls may
//! interleave. Keeping one slot per index (not one slot for "the current call", rig #2250) is
//! what makes several calls in one turn come out whole.
//!
//! Each event of a stream is bounded (by the SSE limits), but a stream may send any number of
//! them: [`CallBudget`] counts what one call accumulates (its text, its tool calls) and stops
//! it at the caps, wherever events are added up (the stream decoders, the agent loop,
//! [`collect`](super::collect), [`ToolCallAssembler`]). The caps are always in force; with an
//! HTTP provider compiled in they are set with `ResponseLimits` (`answer`, `tool_calls`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::ToolCallDelta;
use crate::message::ToolCall;
use crate::{Error, Result};

/// The default cap on the text of one model call: 16 MiB.
pub(crate) const DEFAULT_MAX_ANSWER: usize = 16 << 20;
/// The default cap on the tool calls of one model call: 4 MiB.
pub(crate) const DEFAULT_MAX_TOOL_CALLS: usize = 4 << 20;

/// What one tool-call piece counts for against the `tool_calls` cap besides its bytes: what
/// holding it costs, so a stream of empty pieces is capped too.
pub(crate) const TOOL_CALL_PIECE_COST: usize = 16;

static ANSWER: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_ANSWER);
static TOOL_CALLS: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_TOOL_CALLS);

/// Caps, in bytes, on what the events of one model call add up to. Process-wide, like the
/// rest of `ResponseLimits`, which reads and sets them; without an HTTP provider compiled in
/// (no `ResponseLimits`), the defaults apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CallLimits {
    /// The text of one model call (`ResponseLimits::answer`).
    pub answer: usize,
    /// The tool calls of one model call together: the bytes of every piece's arguments, id
    /// and name, plus [`TOOL_CALL_PIECE_COST`] a piece (`ResponseLimits::tool_calls`).
    pub tool_calls: usize,
}

impl CallLimits {
    /// The caps in force in this process.
    pub fn current() -> CallLimits {
        CallLimits {
            answer: ANSWER.load(Ordering::Relaxed),
            tool_calls: TOOL_CALLS.load(Ordering::Relaxed),
        }
    }

    /// Makes these the caps of this process, for every model call from now on.
    #[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
    pub fn apply(self) {
        ANSWER.store(self.answer, Ordering::Relaxed);
        TOOL_CALLS.store(self.tool_calls, Ordering::Relaxed);
    }
}

/// Counts what one model call's events add up to, and refuses the event that would take the
/// call over a [`CallLimits`] cap with [`Error::ResponseTooLarge`] naming it (before anything
/// is added, so nothing past a cap is ever held).
#[derive(Debug)]
pub(crate) struct CallBudget {
    provider: &'static str,
    limits: CallLimits,
    text: usize,
    tool_calls: usize,
}

impl CallBudget {
    /// A budget with the process's caps.
    pub fn new(provider: &'static str) -> CallBudget {
        CallBudget::with_limits(provider, CallLimits::current())
    }

    /// A budget with these caps.
    pub fn with_limits(provider: &'static str, limits: CallLimits) -> CallBudget {
        CallBudget {
            provider,
            limits,
            text: 0,
            tool_calls: 0,
        }
    }

    /// Counts a text delta.
    pub fn text(&mut self, text: &str) -> Result<()> {
        charge(
            &mut self.text,
            text.len(),
            self.limits.answer,
            self.provider,
            "the text of one answer",
            "answer",
        )
    }

    /// Counts a tool-call piece: its arguments, id and name, plus
    /// [`TOOL_CALL_PIECE_COST`].
    pub fn tool_call(&mut self, delta: &ToolCallDelta) -> Result<()> {
        let size = TOOL_CALL_PIECE_COST
            .saturating_add(delta.arguments.len())
            .saturating_add(delta.id.as_ref().map_or(0, String::len))
            .saturating_add(delta.name.as_ref().map_or(0, String::len));
        charge(
            &mut self.tool_calls,
            size,
            self.limits.tool_calls,
            self.provider,
            "the tool calls of one answer",
            "tool_calls",
        )
    }

    /// Counts any model event (only text and tool calls add up).
    #[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
    pub fn event(&mut self, event: &super::ModelEvent) -> Result<()> {
        match event {
            super::ModelEvent::Text(text) => self.text(text),
            super::ModelEvent::ToolCall(delta) => self.tool_call(delta),
            super::ModelEvent::Usage(_) | super::ModelEvent::Finish(_) => Ok(()),
        }
    }
}

/// `total += size`, or the error naming `limit` when that would pass `max`.
fn charge(
    total: &mut usize,
    size: usize,
    max: usize,
    provider: &'static str,
    what: &'static str,
    limit: &'static str,
) -> Result<()> {
    match total.checked_add(size) {
        Some(sum) if sum <= max => {
            *total = sum;
            Ok(())
        }
        _ => Err(Error::ResponseTooLarge {
            provider,
            what,
            limit,
            max,
        }),
    }
}

/// Collects [`ToolCallDelta`]s and yields the finished calls in index order. What it holds is
/// capped: pieces adding up to more than the process's cap on one model call's tool calls
/// (`ResponseLimits::tool_calls`, default 4 MiB) are refused with
/// [`Error::ResponseTooLarge`].
#[derive(Debug)]
pub struct ToolCallAssembler {
    slots: BTreeMap<usize, ToolCall>,
    budget: CallBudget,
}

impl ToolCallAssembler {
    /// An empty assembler for the tool calls of one model call to `provider` (the name its
    /// errors give), with the process's cap.
    pub fn new(provider: &'static str) -> Self {
        ToolCallAssembler {
            slots: BTreeMap::new(),
            budget: CallBudget::new(provider),
        }
    }

    /// An empty assembler holding at most `max_bytes` of tool-call pieces (their arguments,
    /// ids and names, as received).
    pub fn with_limit(provider: &'static str, max_bytes: usize) -> Self {
        let limits = CallLimits {
            tool_calls: max_bytes,
            ..CallLimits::current()
        };
        ToolCallAssembler {
            slots: BTreeMap::new(),
            budget: CallBudget::with_limits(provider, limits),
        }
    }

    /// Adds one fragment, or refuses it with [`Error::ResponseTooLarge`] (adding nothing) when
    /// the pieces would add up to more than the cap.
    pub fn push(&mut self, delta: ToolCallDelta) -> Result<()> {
        self.budget.tool_call(&delta)?;
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
        Ok(())
    }

    /// Whether no fragment was pushed.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The bytes held: every call's id, name and arguments.
    pub fn held(&self) -> usize {
        self.slots
            .values()
            .map(|call| call.id.len() + call.name.len() + call.arguments.len())
            .sum()
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
        let mut calls = ToolCallAssembler::new("test");
        calls
            .push(delta(0, Some("a"), Some("weather"), "{\"city\":"))
            .unwrap();
        calls
            .push(delta(1, Some("b"), Some("time"), "{\"tz\":"))
            .unwrap();
        calls.push(delta(0, None, None, "\"Paris\"}")).unwrap();
        calls.push(delta(1, None, None, "\"UTC\"}")).unwrap();
        let calls = calls.finish();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "weather");
        assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(calls[1].id, "b");
        assert_eq!(calls[1].arguments, r#"{"tz":"UTC"}"#);
    }

    #[test]
    fn missing_ids_and_arguments_get_defaults() {
        let mut calls = ToolCallAssembler::new("test");
        calls.push(delta(3, None, Some("now"), "")).unwrap();
        calls.push(delta(3, Some(""), Some("now"), "")).unwrap();
        let calls = calls.finish();
        assert_eq!(calls[0].id, "call_3");
        assert_eq!(calls[0].name, "now");
        assert_eq!(calls[0].arguments, "{}");
    }

    #[test]
    fn pieces_past_the_cap_are_refused_and_not_held() {
        let piece = TOOL_CALL_PIECE_COST;
        let mut calls = ToolCallAssembler::with_limit("test", 2 * piece + 10);
        calls
            .push(delta(0, Some("a"), Some("f"), "{\"x\":"))
            .unwrap();
        assert_eq!(calls.held(), 7);
        let err = calls.push(delta(0, None, None, "\"long\"}")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ResponseTooLarge {
                    limit: "tool_calls",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("ResponseLimits::tool_calls"),
            "{err}"
        );
        assert_eq!(calls.held(), 7, "nothing of the refused piece is kept");
        calls.push(delta(1, None, None, "{}1")).unwrap();
        assert_eq!(
            calls.held(),
            10,
            "exactly at the cap, with each piece's cost"
        );
    }

    #[test]
    fn empty_pieces_are_capped_too() {
        let mut calls = ToolCallAssembler::with_limit("test", 10 * TOOL_CALL_PIECE_COST);
        for index in 0..10 {
            calls.push(delta(index, None, None, "")).unwrap();
        }
        assert!(calls.push(delta(10, None, None, "")).is_err());
    }

    #[test]
    fn text_past_the_answer_cap_is_refused() {
        let limits = CallLimits {
            answer: 5,
            tool_calls: 0,
        };
        let mut budget = CallBudget::with_limits("test", limits);
        budget.text("abc").unwrap();
        budget.text("de").unwrap();
        let err = budget.text("f").unwrap_err();
        assert!(
            matches!(
                err,
                Error::ResponseTooLarge {
                    provider: "test",
                    limit: "answer",
                    max: 5,
                    ..
                }
            ),
            "{err}"
        );
        budget.text("").unwrap();
    }
}
