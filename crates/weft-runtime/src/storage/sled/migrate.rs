//! Bringing a store up to date at a writable open, and pruning old logs.
//!
//! Migration from layout 1 (weft 0.1.0: each run record holds the run's items in `events`) to
//! layout 2 (the items are in the run's event log): each format-1 run record's items are
//! logged with `seq`s 1..n and identities `legacy#<n>`, and the record is rewritten without
//! them (`last_seq` = n), in one transaction per run; the `interrupted` and `ended` indexes get
//! the entries of every run. Then `meta/format` is set to 2, so later opens skip the scan. A
//! crash part way leaves some runs migrated and the marker unset: the next writable open
//! finishes the work (a migrated record is format 2 and is not migrated twice).

use std::time::Duration;

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::keys;
use super::runs::{decode_run, has_ended};
use super::{storage_error, transaction_result, LogTrees, SledStorage};
use crate::response::RunResponse;
use crate::storage::envelope::encode;
use crate::storage::{LoggedEvent, RunStatus};
use crate::time::now_millis;
use crate::{Error, Result};

type Abort = ConflictableTransactionError<Error>;

/// Whether the store's layout is the current one (`meta/format` = [`keys::FORMAT`]).
pub(super) fn is_current(log: Option<&LogTrees>) -> Result<bool> {
    let Some(log) = log else {
        return Ok(false);
    };
    let format = log.meta.get(keys::FORMAT_KEY).map_err(storage_error)?;
    Ok(format.as_deref() == Some(&[keys::FORMAT][..]))
}

/// The items of a format-1 run record as its event log: `seq` 1, 2, … in stored order, each
/// with identity `legacy#<seq>` (no replay ever matches it: a run of weft 0.1.0 has no
/// journal, so resuming one starts its work over).
pub(super) fn legacy_log(events: Vec<RunResponse>) -> Vec<LoggedEvent> {
    events
        .into_iter()
        .zip(1u64..)
        .map(|(mut item, seq)| {
            item.seq = Some(seq);
            LoggedEvent {
                seq,
                identity: format!("legacy#{seq}"),
                item,
            }
        })
        .collect()
}

impl SledStorage {
    /// Migrates a layout-1 store (see the module docs); does nothing on a current one.
    pub(super) fn migrate(&self) -> Result<()> {
        let log = self.log_trees()?;
        if is_current(Some(log))? {
            return Ok(());
        }
        let mut migrated = 0usize;
        for entry in self.trees.runs.iter() {
            let (key, bytes) = entry.map_err(storage_error)?;
            let stored = match decode_run(&bytes, || keys::describe_run_key(&key)) {
                Ok(stored) => stored,
                Err(err) => {
                    tracing::warn!(error = %err, "skipping an unreadable run while migrating the store");
                    continue;
                }
            };
            let run = stored.run;
            let events = stored.legacy_events.map(legacy_log);
            let mut encoded_events = Vec::new();
            for event in events.iter().flatten() {
                encoded_events.push((keys::log_key(&run.run_id, event.seq), encode(event)?));
            }
            let record = events.is_some().then(|| encode(&run)).transpose()?;
            let ended = has_ended(run.status).then(|| keys::ended_key(run.updated_at, &run.run_id));
            let result = (
                &self.trees.runs,
                &log.events,
                &log.log_heads,
                &log.interrupted,
                &log.ended,
            )
                .transaction(|(runs, events_tree, heads, interrupted, ended_tree)| {
                    if let Some(record) = &record {
                        // Logged unless the run somehow has a log already (kept as it is).
                        if heads.get(run.run_id.as_str())?.is_none() {
                            for (event_key, value) in &encoded_events {
                                events_tree.insert(event_key.as_slice(), value.as_slice())?;
                            }
                            let head = keys::head_value(keys::Head {
                                last: run.last_seq,
                                ..keys::Head::default()
                            });
                            heads.insert(run.run_id.as_str(), &head[..])?;
                        }
                        runs.insert(&key, record.as_slice())?;
                    }
                    if run.status == RunStatus::Interrupted {
                        interrupted.insert(&key, &[])?;
                    }
                    if let Some(ended) = &ended {
                        ended_tree.insert(ended.as_slice(), &[])?;
                    }
                    Ok::<_, Abort>(())
                });
            transaction_result(result)?;
            migrated += usize::from(record.is_some());
        }
        log.meta
            .insert(keys::FORMAT_KEY, &[keys::FORMAT])
            .map_err(storage_error)?;
        if migrated > 0 {
            tracing::info!(runs = migrated, path = %self.db.path.display(), "moved the items of runs stored by weft 0.1.0 into their event logs");
        }
        self.flush()
    }

    /// Deletes the logs and journals of runs that ended longer ago than `retention`, walking
    /// the `ended` index oldest first up to the cutoff. Each run's removal is one transaction.
    pub(super) fn prune_ended_logs(&self, retention: Duration) -> Result<()> {
        let log = self.log_trees()?;
        let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let Some(cutoff) = now_millis().checked_sub(retention_ms) else {
            return Ok(());
        };
        let mut pruned = 0usize;
        // Entries up to and including the cutoff's millisecond.
        let end = keys::ended_key(cutoff.saturating_add(1), "");
        for entry in log.ended.range(..end).keys() {
            let entry_key = entry.map_err(storage_error)?;
            let Some((_, run_id)) = keys::parse_ended(&entry_key) else {
                log.ended.remove(&entry_key).map_err(storage_error)?;
                continue;
            };
            // A stale entry (run deleted, or rewritten later) is only dropped; the run's current
            // entry, if any, decides.
            let prune = match self.read_run_now(&run_id) {
                Ok(Some(run)) => has_ended(run.status) && run.updated_at <= cutoff,
                Ok(None) => false,
                Err(err) => {
                    tracing::warn!(error = %err, "keeping the log of an unreadable run");
                    false
                }
            };
            self.forgetting_heads(|| {
                let logged_last = if prune { self.logged_last(&run_id)? } else { 0 };
                let result = (&log.events, &log.journal, &log.log_heads, &log.ended).transaction(
                    |(events, journal, heads, ended)| {
                        ended.remove(&entry_key)?;
                        if !prune {
                            return Ok(());
                        }
                        remove_log(events, journal, heads, &run_id, logged_last)
                    },
                );
                transaction_result(result).map(|()| ((), vec![run_id.clone()]))
            })?;
            pruned += usize::from(prune);
        }
        if pruned > 0 {
            tracing::info!(runs = pruned, path = %self.db.path.display(), "pruned the event logs of runs that ended before the retention period");
            self.flush()?;
        }
        Ok(())
    }
}

/// Removes a run's whole event log and journal inside a transaction: their keys are 1 up to
/// the numbers in its `log_heads` entry, read here, or up to `logged_last` (the last key of its
/// events, found before the transaction: appends of items alone do not update the entry),
/// whichever is higher. The caller holds the head cache (`forgetting_heads`), so nothing is
/// appended meanwhile.
pub(super) fn remove_log(
    events: &sled::transaction::TransactionalTree,
    journal: &sled::transaction::TransactionalTree,
    heads: &sled::transaction::TransactionalTree,
    run_id: &str,
    logged_last: u64,
) -> std::result::Result<(), Abort> {
    let head = match heads.get(run_id)? {
        Some(head) => {
            keys::parse_head(&head).ok_or_else(|| Abort::Abort(keys::corrupt_head(run_id)))?
        }
        None => keys::Head::default(),
    };
    // Seqs lie in 1..=last (a jump across a crash leaves some absent: removing them is a no-op).
    for seq in 1..=head.last.max(logged_last) {
        events.remove(keys::log_key(run_id, seq))?;
    }
    for number in 1..=head.count {
        journal.remove(keys::log_key(run_id, number))?;
    }
    heads.remove(run_id)?;
    Ok(())
}
