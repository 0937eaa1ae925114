//! Each run's event log and journal: appended together in one transaction that checks the
//! append's rules against the run's `log_heads` entry (read inside the transaction, so two
//! appenders cannot both continue the same `seq`), read back by range scans.

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::keys;
use super::runs::decode_run;
use super::{storage_error, transaction_result, SledStorage, Written};
use crate::storage::envelope::{decode, encode};
use crate::storage::{check_append, JournalEntry, LoggedEvent, RunRecord, RunStatus};
use crate::{Error, Result};

type Abort = ConflictableTransactionError<Error>;

/// The envelope header's length: limits count the record's JSON, as the memory store does.
const HEADER: usize = 2;

impl SledStorage {
    pub(super) fn append_log_now(
        &self,
        run_id: &str,
        events: &[LoggedEvent],
        journal: &[JournalEntry],
    ) -> Result<()> {
        let log = self.log_trees()?;
        if events.is_empty() && journal.is_empty() {
            return Ok(());
        }
        // Encoded (and measured) before the transaction, which may run more than once.
        let mut encoded_events = Vec::with_capacity(events.len());
        for event in events {
            let bytes = encode(event)?;
            self.limits
                .check_event(run_id, event, bytes.len() - HEADER)?;
            encoded_events.push(bytes);
        }
        let mut encoded_journal = Vec::with_capacity(journal.len());
        for entry in journal {
            let bytes = encode(entry)?;
            self.limits
                .check_entry(run_id, entry, bytes.len() - HEADER)?;
            encoded_journal.push(bytes);
        }
        let result = (&log.events, &log.journal, &log.log_heads).transaction(
            |(event_tree, journal_tree, heads)| {
                let (last, count) = match heads.get(run_id)? {
                    Some(head) => keys::parse_head(&head).ok_or_else(|| {
                        Abort::Abort(Error::Corrupt {
                            key: format!("log_heads/{run_id}"),
                            reason: "not 16 bytes".to_string(),
                        })
                    })?,
                    None => (0, 0),
                };
                check_append(run_id, last, events, journal).map_err(Abort::Abort)?;
                for (event, bytes) in events.iter().zip(&encoded_events) {
                    event_tree.insert(keys::log_key(run_id, event.seq), bytes.as_slice())?;
                }
                for (number, bytes) in (count + 1..).zip(&encoded_journal) {
                    journal_tree.insert(keys::log_key(run_id, number), bytes.as_slice())?;
                }
                let head = keys::head_value(
                    last + events.len() as u64,
                    count + encoded_journal.len() as u64,
                );
                heads.insert(run_id, &head[..])?;
                Ok(())
            },
        );
        transaction_result(result)?;
        self.flush_after(Written::Log {
            journal: !journal.is_empty(),
        })
    }

    pub(super) fn read_events_now(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>> {
        let Some(first) = after_seq.checked_add(1) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        if let Some(log) = &self.trees.log {
            let range = keys::log_key(run_id, first)..=keys::log_key(run_id, u64::MAX);
            for entry in log.events.range(range).take(limit) {
                let (key, bytes) = entry.map_err(storage_error)?;
                found.push(decode(&bytes, || keys::describe_log_key("events", &key))?);
            }
        }
        if found.is_empty() && self.legacy {
            return self.legacy_events(run_id, first, limit);
        }
        Ok(found)
    }

    /// A read-only open of a store not yet migrated: the items a format-1 run record holds,
    /// numbered as the migration will log them.
    fn legacy_events(&self, run_id: &str, first: u64, limit: usize) -> Result<Vec<LoggedEvent>> {
        let Some(stored) = self.read_stored_run(run_id)? else {
            return Ok(Vec::new());
        };
        let Some(events) = stored.legacy_events else {
            return Ok(Vec::new());
        };
        let skip = usize::try_from(first - 1).unwrap_or(usize::MAX);
        Ok(super::migrate::legacy_log(events)
            .into_iter()
            .skip(skip)
            .take(limit)
            .collect())
    }

    pub(super) fn read_journal_now(&self, run_id: &str) -> Result<Vec<JournalEntry>> {
        let Some(log) = &self.trees.log else {
            return Ok(Vec::new());
        };
        log.journal
            .scan_prefix(keys::len_prefixed(run_id))
            .map(|entry| {
                let (key, bytes) = entry.map_err(storage_error)?;
                decode(&bytes, || keys::describe_log_key("journal", &key))
            })
            .collect()
    }

    /// Walks the `interrupted` index (a read-only open of an unmigrated store, which has none,
    /// reads every run instead). Unreadable records are skipped with a warning.
    pub(super) fn interrupted_runs_now(&self, workflow_id: Option<&str>) -> Result<Vec<RunRecord>> {
        let mut runs = Vec::new();
        let mut keep = |key: &[u8], bytes: &[u8]| match decode_run(bytes, || {
            keys::describe_run_key(key)
        }) {
            Ok(stored) => {
                let run = stored.run;
                if run.status == RunStatus::Interrupted
                    && workflow_id.is_none_or(|id| run.workflow_id == id)
                {
                    runs.push(run);
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "skipping an unreadable run while listing interrupted runs");
            }
        };
        match (&self.trees.log, self.legacy) {
            (Some(log), false) => {
                for key in log.interrupted.iter().keys() {
                    let key = key.map_err(storage_error)?;
                    if let Some(bytes) = self.trees.runs.get(&key).map_err(storage_error)? {
                        keep(&key, &bytes);
                    }
                }
            }
            _ => {
                for entry in self.trees.runs.iter() {
                    let (key, bytes) = entry.map_err(storage_error)?;
                    keep(&key, &bytes);
                }
            }
        }
        runs.sort_by_key(|run| run.created_at);
        Ok(runs)
    }
}
