//! Test support shared by the provider streamers: checks on recorded streams.

use crate::message::ToolCall;
use crate::model::{ModelEvent, ToolCallAssembler, Usage};

/// Re-chunks `bytes` at every byte position, and into single bytes: `decode` must give the same
/// events as for the whole stream in one chunk.
pub(crate) fn assert_any_chunking_gives_identical_events(
    bytes: &[u8],
    decode: impl Fn(Vec<Vec<u8>>) -> Vec<ModelEvent>,
) {
    let whole = decode(vec![bytes.to_vec()]);
    assert!(!whole.is_empty());
    for cut in 0..=bytes.len() {
        let split = decode(vec![bytes[..cut].to_vec(), bytes[cut..].to_vec()]);
        assert_eq!(split, whole, "split at byte {cut}");
    }
    let single_bytes = decode(bytes.iter().map(|b| vec![*b]).collect());
    assert_eq!(single_bytes, whole);
}

/// The text deltas, concatenated.
pub(crate) fn text_of(events: &[ModelEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The assembled tool calls.
pub(crate) fn calls_of(events: &[ModelEvent]) -> Vec<ToolCall> {
    let mut calls = ToolCallAssembler::new("recorded");
    for event in events {
        if let ModelEvent::ToolCall(delta) = event {
            if let Err(err) = calls.push(delta.clone()) {
                panic!("{err}");
            }
        }
    }
    calls.finish()
}

/// The usage events, summed.
pub(crate) fn usage_of(events: &[ModelEvent]) -> Usage {
    let mut total = Usage::default();
    for event in events {
        if let ModelEvent::Usage(usage) = event {
            total += *usage;
        }
    }
    total
}
