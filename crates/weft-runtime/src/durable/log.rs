//! The run's log writer: every item of a workflow run gets the next seq and is appended to
//! the store before any consumer sees it.
//!
//! An item's identity (see [`super::identity`]) comes with it from the agent call
//! that made it (`RunResponse::origin`), or is computed here for items the run's own code
//! made. When a run resumes, its scope holds the identities already logged: an item whose
//! identity is logged is neither logged nor yielded again, so a resumed run only adds what
//! the interrupted one had not logged.

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
}

impl LogWriter {
    pub fn new(scope: Arc<RunScope>) -> Self {
        LogWriter {
            scope,
            items: HashMap::new(),
        }
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
        let seq = self.scope.log().last_seq + 1;
        item.seq = Some(seq);
        let event = LoggedEvent {
            seq,
            identity: identity.clone(),
            item: item.clone(),
        };
        let store = Arc::clone(self.scope.store());
        store
            .append_log(self.scope.run_id(), vec![event], Vec::new())
            .await?;
        fault_point("log.appended");
        {
            let mut log = self.scope.log();
            log.last_seq = seq;
            if item.event == RunEvent::RunContent {
                log.content.push_str(item.content_text());
            }
            log.logged.insert(identity, seq);
        }
        self.scope.live().logged(seq);
        Ok(item)
    }
}
