//! Each run's event log and journal: appended together in one transaction that checks the
//! append's rules against the run's `log_heads` entry (read inside the transaction, so two
//! appenders cannot both continue the same `seq`), read back by range scans.

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::keys;
use super::runs::decode_run;
use super::{storage_error, transaction_result, Durability, SledStorage, Written};
use crate::storage::envelope::{decode, encode};
use crate::storage::{check_append, JournalEntry, LogHead, LoggedEvent, RunRecord, RunStatus};
use crate::{Error, Result};

type Abort = ConflictableTransactionError<Error>;

/// How many seqs one reservation covers: one flush per this many items a client is shown.
pub(super) const RESERVATION_BLOCK: u64 = 64;

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
                let head = match heads.get(run_id)? {
                    Some(head) => keys::parse_head(&head)
                        .ok_or_else(|| Abort::Abort(keys::corrupt_head(run_id)))?,
                    None => keys::Head::default(),
                };
                let log_head = LogHead {
                    last_seq: head.last,
                    reserved_seq: head.reserved,
                };
                check_append(run_id, log_head, events, journal).map_err(Abort::Abort)?;
                for (event, bytes) in events.iter().zip(&encoded_events) {
                    event_tree.insert(keys::log_key(run_id, event.seq), bytes.as_slice())?;
                }
                for (number, bytes) in (head.count + 1..).zip(&encoded_journal) {
                    journal_tree.insert(keys::log_key(run_id, number), bytes.as_slice())?;
                }
                let value = keys::head_value(keys::Head {
                    last: events.last().map_or(head.last, |event| event.seq),
                    count: head.count + encoded_journal.len() as u64,
                    reserved: head.reserved,
                });
                heads.insert(run_id, &value[..])?;
                Ok(())
            },
        );
        transaction_result(result)?;
        self.flush_after(Written::Log {
            journal: !journal.is_empty(),
        })
    }

    /// The run's `log_heads` entry (zeros for a run without a log).
    fn head_now(&self, run_id: &str) -> Result<keys::Head> {
        let Some(log) = &self.trees.log else {
            return Ok(keys::Head::default());
        };
        match log.log_heads.get(run_id).map_err(storage_error)? {
            Some(head) => keys::parse_head(&head).ok_or_else(|| keys::corrupt_head(run_id)),
            None => Ok(keys::Head::default()),
        }
    }

    pub(super) fn log_head_now(&self, run_id: &str) -> Result<LogHead> {
        let head = self.head_now(run_id)?;
        if self.legacy && head == keys::Head::default() {
            // A read-only open of an unmigrated store: the run record says where its log ends.
            let last_seq = self.read_run_now(run_id)?.map_or(0, |run| run.last_seq);
            return Ok(LogHead {
                last_seq,
                reserved_seq: 0,
            });
        }
        Ok(LogHead {
            last_seq: head.last,
            reserved_seq: head.reserved,
        })
    }

    /// See `WorkflowStorage::reserve_seqs`: a durable reservation of [`RESERVATION_BLOCK`]
    /// seqs at a time, written (and flushed, but with `Durability::Os`) only when `seq` is
    /// above the current one; none with `Durability::EveryEvent`, whose appends are flushed.
    pub(super) fn reserve_now(&self, run_id: &str, seq: u64) -> Result<u64> {
        let log = self.log_trees()?;
        let head = self.head_now(run_id)?;
        if seq <= head.reserved {
            return Ok(head.reserved);
        }
        if self.durability == Durability::EveryEvent && seq <= head.last {
            // Appends are flushed before `append_log` returns: every logged seq is durable.
            return Ok(head.last);
        }
        let wanted = seq.saturating_add(RESERVATION_BLOCK - 1);
        let result = log.log_heads.transaction(|heads| {
            let head = match heads.get(run_id)? {
                Some(head) => keys::parse_head(&head)
                    .ok_or_else(|| Abort::Abort(keys::corrupt_head(run_id)))?,
                None => keys::Head::default(),
            };
            if head.reserved >= seq {
                return Ok((head.reserved, false));
            }
            let reserved = head.reserved.max(wanted);
            let value = keys::head_value(keys::Head { reserved, ..head });
            heads.insert(run_id, &value[..])?;
            Ok((reserved, true))
        });
        let (reserved, written) = transaction_result(result)?;
        if written {
            self.flush_after(Written::Reservation)?;
        }
        Ok(reserved)
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
