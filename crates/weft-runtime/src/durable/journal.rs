//! What the journal keeps of each kind of work, and how it is read back.
//!
//! - a model call: the turn's model events ([`RecordedTurn`]): its text deltas one by one (so
//!   a replay yields the same items), its assembled tool calls, usage and finish reason;
//! - a tool call: its [`ToolExecution`] (result, error flag, duration);
//! - a step: the step's output as JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::ToolCall;
use crate::model::{FinishReason, ModelEvent, ModelResponse, ToolCallAssembler, Usage};
use crate::response::ToolExecution;
use crate::storage::JournalEntry;
use crate::{Error, Result};

/// One model call as the journal keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecordedTurn {
    /// The text deltas, in order.
    #[serde(default)]
    pub text: Vec<String>,
    /// The tool calls, assembled.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// The call's usage, summed.
    #[serde(default)]
    pub usage: Usage,
    /// Why the model stopped, if it said.
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
}

impl RecordedTurn {
    /// The events a replay of the call yields: the same text deltas, the same tool calls
    /// (one piece each), the usage, the finish reason.
    pub fn into_events(self) -> Vec<ModelEvent> {
        let mut events: Vec<ModelEvent> = self.text.into_iter().map(ModelEvent::Text).collect();
        // The rest as a whole response carries it (no text: the deltas are above).
        events.extend(
            ModelResponse {
                text: String::new(),
                tool_calls: self.tool_calls,
                usage: self.usage,
                finish_reason: self.finish_reason,
            }
            .into_events(),
        );
        events
    }
}

/// Records a live model call's events, to journal them when the call completes.
#[derive(Debug)]
pub(crate) struct TurnRecorder {
    text: Vec<String>,
    calls: ToolCallAssembler,
    usage: Usage,
    finish_reason: Option<FinishReason>,
}

impl TurnRecorder {
    pub fn new() -> Self {
        TurnRecorder {
            text: Vec::new(),
            // The agent's own assembler already caps the pieces; this one only mirrors it.
            calls: ToolCallAssembler::with_limit("journal", usize::MAX),
            usage: Usage::default(),
            finish_reason: None,
        }
    }

    /// Takes note of one event (the agent has already checked it against its caps).
    pub fn push(&mut self, event: &ModelEvent) -> Result<()> {
        match event {
            ModelEvent::Text(delta) => self.text.push(delta.clone()),
            ModelEvent::ToolCall(delta) => self.calls.push(delta.clone())?,
            ModelEvent::Usage(usage) => self.usage += *usage,
            ModelEvent::Finish(reason) => self.finish_reason = Some(reason.clone()),
        }
        Ok(())
    }

    pub fn finish(self) -> RecordedTurn {
        RecordedTurn {
            text: self.text,
            tool_calls: self.calls.finish(),
            usage: self.usage,
            finish_reason: self.finish_reason,
        }
    }
}

/// The error for a journal entry this version cannot read back.
pub(crate) fn unreadable(run_id: &str, key: &str, err: &serde_json::Error) -> Error {
    Error::Corrupt {
        key: format!("journal/{run_id}/{key}"),
        reason: format!(
            "the journaled result does not fit what the run expects now ({err}); the run's code changed since it was interrupted, so start it anew instead of resuming it"
        ),
    }
}

/// Reads a model call's journal entry.
pub(crate) fn read_turn(run_id: &str, entry: &JournalEntry) -> Result<RecordedTurn> {
    serde_json::from_value(entry.output.clone()).map_err(|err| unreadable(run_id, &entry.key, &err))
}

/// Reads a tool call's journal entry, for the call `call` (a replayed call keeps its own id,
/// name and arguments: identical calls are interchangeable).
pub(crate) fn read_tool(
    run_id: &str,
    entry: &JournalEntry,
    call: &ToolCall,
) -> Result<ToolExecution> {
    let stored: ToolExecution = serde_json::from_value(entry.output.clone())
        .map_err(|err| unreadable(run_id, &entry.key, &err))?;
    Ok(ToolExecution {
        id: call.id.clone(),
        name: call.name.clone(),
        arguments: call.arguments.clone(),
        ..stored
    })
}

/// A value as journal output.
pub(crate) fn output_of<T: Serialize>(value: &T) -> Result<Value> {
    Ok(serde_json::to_value(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolCallDelta;

    #[test]
    fn a_recorded_turn_replays_the_same_deltas_and_calls() {
        let mut recorder = TurnRecorder::new();
        let live = vec![
            ModelEvent::Text("Hel".into()),
            ModelEvent::ToolCall(ToolCallDelta {
                index: 3,
                id: Some("c1".into()),
                name: Some("search".into()),
                arguments: "{\"q\":".into(),
            }),
            ModelEvent::Text("lo".into()),
            ModelEvent::ToolCall(ToolCallDelta {
                index: 3,
                arguments: "1}".into(),
                ..ToolCallDelta::default()
            }),
            ModelEvent::Usage(Usage {
                input_tokens: 3,
                output_tokens: 2,
                cached_input_tokens: 0,
            }),
            ModelEvent::Finish(FinishReason::ToolCalls),
        ];
        for event in &live {
            recorder.push(event).unwrap();
        }
        let turn = recorder.finish();
        let stored = serde_json::to_value(&turn).unwrap();
        let back: RecordedTurn = serde_json::from_value(stored).unwrap();
        assert_eq!(back, turn);
        let events = back.into_events();
        assert_eq!(events[0], ModelEvent::Text("Hel".into()));
        assert_eq!(events[1], ModelEvent::Text("lo".into()));
        let mut calls = ToolCallAssembler::new("test");
        for event in &events {
            if let ModelEvent::ToolCall(delta) = event {
                calls.push(delta.clone()).unwrap();
            }
        }
        let calls = calls.finish();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            (calls[0].id.as_str(), calls[0].arguments.as_str()),
            ("c1", "{\"q\":1}")
        );
        assert_eq!(
            events.last(),
            Some(&ModelEvent::Finish(FinishReason::ToolCalls))
        );
    }
}
