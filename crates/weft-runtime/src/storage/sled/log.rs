//! Each run's event log and journal: appends checked against the run's head cached in memory
//! (`append_log_now` says what each writes and what a crash keeps of it), read back by range
//! scans.

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::keys;
use super::runs::decode_run;
use super::{storage_error, transaction_result, Durability, LogTrees, SledStorage, Written};
use crate::storage::envelope::{decode, encode};
use crate::storage::{check_append, JournalEntry, LogHead, LoggedEvent, RunRecord, RunStatus};
use crate::{Error, Result};

type Abort = ConflictableTransactionError<Error>;

/// How many seqs one reservation covers: one flush per this many items a client is shown.
pub(super) const RESERVATION_BLOCK: u64 = 64;

/// The envelope header's length: limits count the record's JSON, as the memory store does.
const HEADER: usize = 2;

impl SledStorage {
    /// Appends a run's items and journal entries.
    ///
    /// The check (`check_append`) is against the run's head cached in `OpenDb::heads`, under
    /// its lock, which is held through the write: two appenders in this process cannot both
    /// continue the same `seq`, and sled lets one process at a time open the store.
    ///
    /// An append of items alone is one `Tree::insert` per item, in seq order, and leaves the
    /// `log_heads` entry as it is (its `last` may lag: the head is rebuilt from the log's last
    /// key, see `load_head`). A sled transaction or batch costs an IO buffer write and sync on
    /// its own (`pin_log` rolls the buffer before and after it), a plain insert only a place
    /// in the current buffer. What a crash keeps of these inserts: sled writes every update
    /// into its log at an LSN reserved when the update is made, and recovery reads that log in
    /// LSN order and stops at the first torn or missing message (`LogIter::next`), so it
    /// recovers a prefix of the updates. Item `n` is inserted after item `n - 1`'s insert has
    /// returned, at a higher LSN, so it is never recovered without it: the log stays gapless
    /// (but for the documented jump above a reservation). The items of one append may be
    /// recovered in part, a prefix of them, which no journal entry names yet.
    ///
    /// An append carrying journal entries is one transaction over the items, the entries and
    /// the `log_heads` entry (written whole from the cached head): sled recovers it all or
    /// none, and after every item appended before it (lower LSNs), so a journal entry is
    /// never recovered without the items it names.
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
        self.with_head(log, run_id, |head| {
            let log_head = LogHead {
                last_seq: head.last,
                reserved_seq: head.reserved,
            };
            check_append(run_id, log_head, events, journal)?;
            let new = keys::Head {
                last: events.last().map_or(head.last, |event| event.seq),
                count: head.count + encoded_journal.len() as u64,
                reserved: head.reserved,
            };
            if journal.is_empty() {
                for (event, bytes) in events.iter().zip(encoded_events) {
                    log.events
                        .insert(keys::log_key(run_id, event.seq), bytes)
                        .map_err(storage_error)?;
                }
            } else {
                let count = head.count;
                let result = (&log.events, &log.journal, &log.log_heads).transaction(
                    |(event_tree, journal_tree, heads)| {
                        for (event, bytes) in events.iter().zip(&encoded_events) {
                            event_tree
                                .insert(keys::log_key(run_id, event.seq), bytes.as_slice())?;
                        }
                        for (number, bytes) in (count + 1..).zip(&encoded_journal) {
                            journal_tree.insert(keys::log_key(run_id, number), bytes.as_slice())?;
                        }
                        heads.insert(run_id, &keys::head_value(new)[..])?;
                        Ok::<_, Abort>(())
                    },
                );
                transaction_result(result)?;
            }
            *head = new;
            Ok(())
        })?;
        self.flush_after(Written::Log {
            journal: !journal.is_empty(),
        })
    }

    /// Runs `change` on the run's head (loaded on first use, see `load_head`) under the lock
    /// of the head cache; the cache keeps what `change` leaves only when it succeeds (after a
    /// failure the head is loaded again from the store).
    fn with_head<T>(
        &self,
        log: &LogTrees,
        run_id: &str,
        change: impl FnOnce(&mut keys::Head) -> Result<T>,
    ) -> Result<T> {
        let mut heads = self.db.heads.lock().unwrap_or_else(|p| p.into_inner());
        let key = head_cache_key(log, run_id);
        let mut head = match heads.get(&key) {
            Some(head) => *head,
            None => load_head(log, run_id)?,
        };
        match change(&mut head) {
            Ok(value) => {
                heads.insert(key, head);
                Ok(value)
            }
            Err(err) => {
                heads.remove(&key);
                Err(err)
            }
        }
    }

    /// Runs `change` (which removes the logs of the runs it returns) under the lock of the
    /// head cache, so no append of this process can interleave with it, then forgets the
    /// cached heads of those runs.
    pub(super) fn forgetting_heads<T>(
        &self,
        change: impl FnOnce() -> Result<(T, Vec<String>)>,
    ) -> Result<T> {
        let mut heads = self.db.heads.lock().unwrap_or_else(|p| p.into_inner());
        let (value, run_ids) = change()?;
        if let Some(log) = &self.trees.log {
            for run_id in run_ids {
                heads.remove(&head_cache_key(log, &run_id));
            }
        }
        Ok(value)
    }

    /// The run's last logged seq in the events tree (0 for none): the end of its log, which
    /// its `log_heads` entry may not record yet.
    pub(super) fn logged_last(&self, run_id: &str) -> Result<u64> {
        match &self.trees.log {
            Some(log) => logged_last(log, run_id),
            None => Ok(0),
        }
    }

    /// The run's head (zeros for a run without a log).
    fn head_now(&self, run_id: &str) -> Result<keys::Head> {
        let Some(log) = &self.trees.log else {
            return Ok(keys::Head::default());
        };
        // Read under the cache's lock (no append is half done), and not cached: a lookup of
        // an unknown run adds nothing.
        let heads = self.db.heads.lock().unwrap_or_else(|p| p.into_inner());
        match heads.get(&head_cache_key(log, run_id)) {
            Some(head) => Ok(*head),
            None => load_head(log, run_id),
        }
    }

    /// Drops the run's cached head (a run that ended): `load_head` rebuilds it from the store
    /// if the run is appended to again (a resume), since every write keeps it rebuildable (the
    /// journal count and the reservation are in `log_heads`, the last seq is the events' last
    /// key).
    pub(super) fn forget_head(&self, run_id: &str) {
        if let Some(log) = &self.trees.log {
            let mut heads = self.db.heads.lock().unwrap_or_else(|p| p.into_inner());
            heads.remove(&head_cache_key(log, run_id));
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
    /// The reservation is written with the whole cached head (its `last` too).
    pub(super) fn reserve_now(&self, run_id: &str, seq: u64) -> Result<u64> {
        let log = self.log_trees()?;
        let every_event = self.durability == Durability::EveryEvent;
        let (reserved, written) = self.with_head(log, run_id, |head| {
            if seq <= head.reserved {
                return Ok((head.reserved, false));
            }
            if every_event && seq <= head.last {
                // Appends are flushed before `append_log` returns: every logged seq is durable.
                return Ok((head.last, false));
            }
            let wanted = seq.saturating_add(RESERVATION_BLOCK - 1);
            let new = keys::Head {
                reserved: head.reserved.max(wanted),
                ..*head
            };
            log.log_heads
                .insert(run_id, &keys::head_value(new)[..])
                .map_err(storage_error)?;
            *head = new;
            Ok((new.reserved, true))
        })?;
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

/// The key of a run's head in `OpenDb::heads`: the events tree's name (which holds the store's
/// prefix), then the run's length-prefixed id.
fn head_cache_key(log: &LogTrees, run_id: &str) -> Vec<u8> {
    let mut key = log.events.name().to_vec();
    key.extend_from_slice(&keys::len_prefixed(run_id));
    key
}

/// A run's head as stored: its `log_heads` entry, with `last` raised to the last key of its
/// events (plain appends do not write the entry; see `append_log_now`).
fn load_head(log: &LogTrees, run_id: &str) -> Result<keys::Head> {
    let mut head = match log.log_heads.get(run_id).map_err(storage_error)? {
        Some(head) => keys::parse_head(&head).ok_or_else(|| keys::corrupt_head(run_id))?,
        None => keys::Head::default(),
    };
    head.last = head.last.max(logged_last(log, run_id)?);
    Ok(head)
}

/// The seq of the last key of the run's events (0 for none).
fn logged_last(log: &LogTrees, run_id: &str) -> Result<u64> {
    let range = keys::log_key(run_id, 0)..=keys::log_key(run_id, u64::MAX);
    match log.events.range(range).next_back() {
        None => Ok(0),
        Some(entry) => {
            let (key, _) = entry.map_err(storage_error)?;
            let seq = key
                .len()
                .checked_sub(8)
                .and_then(|at| <[u8; 8]>::try_from(&key[at..]).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| Error::Corrupt {
                    key: keys::describe_log_key("events", &key),
                    reason: "a log key without its seq".to_string(),
                })?;
            Ok(seq)
        }
    }
}
