//! Resuming an interrupted run: what its log and journal say was done, and what a resumed
//! run must withdraw.
//!
//! A resumed run re-enters `run` from the state the run started with; journaled work returns
//! at once, items whose identity is logged are not logged (nor yielded) again, new work runs
//! live. Text deltas of a model call that never completed (its `turn:` identity names a model
//! key the journal does not hold) cannot be trusted to come back the same: the smallest seq
//! among them, `N`, is withdrawn with one `ContentDiscarded {"from_seq": N}` item, and every
//! `RunContent` delta from `N` on counts as not logged (a replay logs it again, with a new
//! seq). [`answer`] is the client rule that gives the same text as an uninterrupted run.
//!
//! When the store's seq reservation is above the log's last seq (a crash lost items a client
//! may have been shown), the resumed run's first item is that `ContentDiscarded`, logged at
//! the reservation + 1, with `N` = the smaller of the first incomplete delta and the last
//! seq + 1: it also withdraws the lost text a client holds. Else it follows `WorkflowStarted`
//! and the log stays gapless.

use std::collections::HashSet;

use super::identity;
use super::scope::LogState;
use crate::response::{Content, RunEvent, RunResponse};
use crate::storage::{JournalEntry, LoggedEvent};

/// The `from_seq` of a `ContentDiscarded` item.
pub(crate) fn discarded_from(item: &RunResponse) -> Option<u64> {
    match (&item.event, &item.content) {
        (RunEvent::ContentDiscarded, Content::Json(value)) => value.get("from_seq")?.as_u64(),
        _ => None,
    }
}

/// The content of a `ContentDiscarded` item withdrawing deltas from `from_seq` on.
pub(crate) fn discard_content(from_seq: u64) -> Content {
    Content::Json(serde_json::json!({ "from_seq": from_seq }))
}

/// The answer a stream of logged items adds up to: `RunContent` deltas in `seq` order, each
/// `ContentDiscarded {"from_seq": N}` dropping the deltas before it with `seq >= N`. An item
/// seen twice (a client that reconnected and got it again) counts once; items without a seq
/// count in the order given, after those with one. Seqs need not be contiguous: after a
/// crash that lost items a client had got (a store that does not flush every append), the
/// resumed run continues above the lost seqs with a `ContentDiscarded` whose `from_seq` is at
/// most the first lost one, so the lost deltas the client holds are dropped too.
///
/// ```
/// use weft_runtime::durable::answer;
/// use weft_runtime::{Content, RunEvent, RunResponse};
///
/// let delta = |seq, text: &str| RunResponse { seq: Some(seq), ..RunResponse::text(text) };
/// let discarded = RunResponse {
///     seq: Some(4),
///     content: Content::Json(serde_json::json!({"from_seq": 2})),
///     ..RunResponse::new(RunEvent::ContentDiscarded)
/// };
/// let items = [delta(1, "The "), delta(2, "ans"), delta(3, "wer"), discarded, delta(5, "answer.")];
/// assert_eq!(answer(&items), "The answer.");
/// ```
pub fn answer<'a>(items: impl IntoIterator<Item = &'a RunResponse>) -> String {
    let mut items: Vec<&RunResponse> = items.into_iter().collect();
    items.sort_by_key(|item| item.seq.unwrap_or(u64::MAX));
    let mut kept: Vec<(Option<u64>, &str)> = Vec::new();
    let mut last_seq = None;
    for item in items {
        if item.seq.is_some() && item.seq == last_seq {
            continue;
        }
        last_seq = item.seq;
        if let Some(from) = discarded_from(item) {
            kept.retain(|(seq, _)| seq.is_none_or(|seq| seq < from));
        } else if item.event == RunEvent::RunContent {
            kept.push((item.seq, item.content_text()));
        }
    }
    kept.into_iter().map(|(_, text)| text).collect()
}

/// What a resumed run starts from.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// The log as the resumed run's writer continues it.
    pub log: LogState,
    /// Where the deltas of model calls that never completed begin, if any: the resumed run
    /// withdraws everything from there with one `ContentDiscarded` item.
    pub discard_from: Option<u64>,
}

/// Reads a run's log and journal into what a resumed run starts from.
pub(crate) fn replay(events: &[LoggedEvent], journal: &[JournalEntry]) -> Replay {
    let journaled: HashSet<&str> = journal.iter().map(|entry| entry.key.as_str()).collect();
    let mut log = LogState::default();
    // The `RunContent` deltas that count, in seq order: (seq, identity, text).
    let mut content: Vec<(u64, &str, &str)> = Vec::new();
    for event in events {
        log.last_seq = event.seq;
        if let Some(from) = discarded_from(&event.item) {
            withdraw(&mut content, &mut log, from);
        } else if event.item.event == RunEvent::RunContent {
            content.push((event.seq, &event.identity, event.item.content_text()));
        }
        log.logged.insert(event.identity.clone(), event.seq);
    }
    let discard_from = content
        .iter()
        .filter(|(_, identity, _)| {
            identity::turn_key(identity).is_some_and(|key| !journaled.contains(key))
        })
        .map(|(seq, _, _)| *seq)
        .min();
    if let Some(from) = discard_from {
        withdraw(&mut content, &mut log, from);
    }
    log.content = content.iter().map(|(_, _, text)| *text).collect();
    Replay { log, discard_from }
}

/// Drops the deltas with `seq >= from`: they no longer count, as content or as logged.
fn withdraw(content: &mut Vec<(u64, &str, &str)>, log: &mut LogState, from: u64) {
    content.retain(|(seq, identity, _)| {
        let keep = *seq < from;
        if !keep && log.logged.get(*identity) == Some(seq) {
            log.logged.remove(*identity);
        }
        keep
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::JournalKind;

    fn logged(seq: u64, identity: &str, item: RunResponse) -> LoggedEvent {
        LoggedEvent {
            seq,
            identity: identity.to_string(),
            item: RunResponse {
                seq: Some(seq),
                ..item
            },
        }
    }

    fn entry(key: &str) -> JournalEntry {
        JournalEntry {
            key: key.to_string(),
            kind: JournalKind::ModelCall,
            output: serde_json::Value::Null,
            seqs: Vec::new(),
            created_at: 0,
        }
    }

    #[test]
    fn deltas_of_a_call_that_never_completed_are_withdrawn_from_the_first_one() {
        let events = vec![
            logged(1, "item:a#0", RunResponse::new(RunEvent::WorkflowStarted)),
            logged(2, "turn:model:w:1:0#0", RunResponse::text("Done ")),
            logged(3, "turn:model:w:2:0#0", RunResponse::text("Hal")),
            logged(4, "item:b#0", RunResponse::new(RunEvent::StepStarted)),
            logged(5, "turn:model:w:2:0#1", RunResponse::text("f")),
        ];
        let replay = replay(&events, &[entry("model:w:1:0")]);
        assert_eq!(replay.discard_from, Some(3));
        assert_eq!(replay.log.content, "Done ");
        assert_eq!(replay.log.last_seq, 5);
        assert!(
            replay.log.logged.contains_key("item:b#0"),
            "only deltas are withdrawn"
        );
        assert!(!replay.log.logged.contains_key("turn:model:w:2:0#0"));
        assert!(replay.log.logged.contains_key("turn:model:w:1:0#0"));
    }

    #[test]
    fn an_earlier_discard_is_applied_before_looking_for_incomplete_calls() {
        let discard = RunResponse {
            content: discard_content(2),
            ..RunResponse::new(RunEvent::ContentDiscarded)
        };
        let events = vec![
            logged(1, "turn:model:w:1:0#0", RunResponse::text("a")),
            logged(2, "turn:model:w:2:0#0", RunResponse::text("b")),
            logged(3, "item:d#0", discard),
            logged(4, "turn:model:w:2:0#0", RunResponse::text("B")),
        ];
        let journal = [entry("model:w:1:0"), entry("model:w:2:0")];
        let replay = replay(&events, &journal);
        assert_eq!(replay.discard_from, None);
        assert_eq!(replay.log.content, "aB");
        assert_eq!(replay.log.logged["turn:model:w:2:0#0"], 4);
        let items: Vec<RunResponse> = events.into_iter().map(|e| e.item).collect();
        assert_eq!(answer(&items), "aB");
    }
}
