//! The run's log writer: every item of a workflow run gets the next seq and is appended to
//! the store before any consumer sees it.
//!
//! An item's identity (see [`super::identity`]) comes with it from the agent call
//! that made it (`RunResponse::origin`), or is computed here for items the run's own code
//! made. When a run resumes, its scope holds the identities already logged: an item whose
//! identity is logged is neither logged nor yielded again, so a resumed run only adds what
//! the interrupted one had not logged.
//!
//! Before an item is yielded to the consumer or shown to a [`RunHandle`](super::RunHandle)
//! subscriber, its seq is covered by the store's durable seq reservation
//! (`WorkflowStorage::reserve_seqs`, one store write per block of seqs): a crash that loses
//! items a client was shown cannot give their seqs to other items, because the resumed run
//! continues above the reservation.

use std::collections::HashMap;
use std::sync::Arc;

use super::faults::fault_point;
use super::identity;
use super::scope::RunScope;
use crate::response::{RunEvent, RunResponse};
use crate::storage::LoggedEvent;
use crate::Result;

/// Appends a run's items to its event log. One per run, driven by the run's stream alone.
#[derive(Debug)]
pub(crate) struct LogWriter {
    scope: Arc<RunScope>,
    /// Occurrences of each `item:` identity prefix so far.
    items: HashMap<String, u64>,
    /// The run's durable seq reservation as last known: items up to it may be shown.
    reserved: u64,
    /// The next item goes right after this seq instead of after the last one: a resumed run
    /// whose interrupted try lost items a client may have seen continues above the
    /// reservation.
    jump_after: Option<u64>,
}

impl LogWriter {
    /// The writer of a run whose durable reservation is `reserved` (0 for a new run).
    pub fn new(scope: Arc<RunScope>, reserved: u64) -> Self {
        LogWriter {
            scope,
            items: HashMap::new(),
            reserved,
            jump_after: None,
        }
    }

    /// Logs the next item at `reserved + 1` (the store allows that one jump while its
    /// reservation is above the last seq).
    pub fn continue_after(&mut self, reserved: u64) {
        self.jump_after = Some(reserved);
    }

    /// The item's identity: from the agent call that made it, else its hash and occurrence.
    fn identity(&mut self, item: &mut RunResponse) -> String {
        if let Some(origin) = item.origin.take() {
            return origin;
        }
        let prefix = identity::item_prefix(item);
        let count = self.items.entry(prefix.clone()).or_insert(0);
        let identity = format!("{prefix}#{count}");
        *count += 1;
        identity
    }

    /// Logs `item` and returns it with its seq, or `None` if an item with its identity is
    /// logged already (a resumed run replaying what the interrupted one did).
    pub async fn log(&mut self, mut item: RunResponse) -> Result<Option<RunResponse>> {
        let identity = self.identity(&mut item);
        if self.scope.log().logged.contains_key(&identity) {
            return Ok(None);
        }
        self.append(identity, item).await.map(Some)
    }

    /// Logs `item` even if its identity is logged (a `ContentDiscarded` item).
    pub async fn log_always(&mut self, mut item: RunResponse) -> Result<RunResponse> {
        let identity = self.identity(&mut item);
        self.append(identity, item).await
    }

    async fn append(&mut self, identity: String, mut item: RunResponse) -> Result<RunResponse> {
        let seq = self.jump_after.unwrap_or_else(|| self.scope.log().last_seq) + 1;
        item.seq = Some(seq);
        let event = LoggedEvent {
            seq,
            identity: identity.clone(),
            item: item.clone(),
        };
        let store = Arc::clone(self.scope.store());
        store
            .append_log(
                self.scope.run_id(),
                self.scope.fence(),
                vec![event],
                Vec::new(),
            )
            .await?;
        fault_point("log.appended");
        self.jump_after = None;
        {
            let mut log = self.scope.log();
            log.last_seq = seq;
            if item.event == RunEvent::RunContent {
                log.content.push_str(item.content_text());
            }
            log.logged.insert(identity, seq);
        }
        if seq > self.reserved {
            // Not shown to anyone before a crash can no longer give its seq to another item.
            self.reserved = store
                .reserve_seqs(self.scope.run_id(), self.scope.fence(), seq)
                .await?;
        }
        self.scope.live().logged(seq);
        Ok(item)
    }
}
