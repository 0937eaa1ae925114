//! Run records: appended when a run starts, rewritten once when it ends, listed per session in
//! start order. The `running` tree holds the runs in flight, so a store reconciles the runs of
//! a dead process without reading its history; the `interrupted` tree lists the runs waiting
//! to be resumed; `ended` lists finished runs by end time, for log retention.

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::keys;
use super::{storage_error, transaction_result, SledStorage, Written};
use crate::response::RunResponse;
use crate::storage::envelope::{self, decode, encode};
use crate::storage::{RunRecord, RunStatus};
use crate::time::now_millis;
use crate::{Error, Result};

/// A run record as stored. A record written by weft 0.1.0 (envelope format 1) still holds the
/// run's items in `events`, until a writable open moves them into the event log.
pub(super) struct StoredRun {
    /// The record; for a format-1 record, `last_seq` is the number of its stored items.
    pub run: RunRecord,
    /// The items of a format-1 record, in order.
    pub legacy_events: Option<Vec<RunResponse>>,
}

/// Decodes a run record of any readable format; `key` names it in errors.
pub(super) fn decode_run(bytes: &[u8], key: impl FnOnce() -> String) -> Result<StoredRun> {
    if envelope::version(bytes) != Some(1) {
        return Ok(StoredRun {
            run: decode(bytes, key)?,
            legacy_events: None,
        });
    }
    // Format 1: the record has `events` (every item but content deltas) and no `last_seq`.
    let key = key();
    let mut value: serde_json::Value = decode(bytes, || key.clone())?;
    let events = value
        .as_object_mut()
        .and_then(|fields| fields.remove("events"))
        .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
    let corrupt = |err: serde_json::Error| Error::Corrupt {
        key: key.clone(),
        reason: format!("invalid format-1 run record: {err}"),
    };
    let events: Vec<RunResponse> = serde_json::from_value(events).map_err(corrupt)?;
    let mut run: RunRecord = serde_json::from_value(value).map_err(corrupt)?;
    run.last_seq = events.len() as u64;
    Ok(StoredRun {
        run,
        legacy_events: Some(events),
    })
}

/// Whether a run with this status has ended for good (its log may be pruned).
pub(super) fn has_ended(status: RunStatus) -> bool {
    matches!(
        status,
        RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
    )
}

impl SledStorage {
    pub(super) fn put_run_now(&self, run: RunRecord) -> Result<()> {
        let log = self.log_trees()?;
        self.claims.check(&run.run_id, run.fence)?;
        let key = match self.trees.run_ids.get(&run.run_id).map_err(storage_error)? {
            Some(key) => key.to_vec(),
            None => keys::run_key(
                &run.session_id,
                self.db.db.generate_id().map_err(storage_error)?,
            ),
        };
        let value = encode(&run)?;
        let ended = has_ended(run.status).then(|| keys::ended_key(run.updated_at, &run.run_id));
        let trees = &self.trees;
        let result = (
            &trees.runs,
            &trees.run_ids,
            &trees.running,
            &log.interrupted,
            &log.ended,
        )
            .transaction(|(runs, run_ids, running, interrupted, ended_tree)| {
                runs.insert(key.as_slice(), value.as_slice())?;
                run_ids.insert(run.run_id.as_str(), key.as_slice())?;
                if run.status == RunStatus::Running {
                    running.insert(key.as_slice(), &[])?;
                } else {
                    running.remove(key.as_slice())?;
                }
                if run.status == RunStatus::Interrupted {
                    interrupted.insert(key.as_slice(), &[])?;
                } else {
                    interrupted.remove(key.as_slice())?;
                }
                if let Some(ended) = &ended {
                    ended_tree.insert(ended.as_slice(), &[])?;
                }
                Ok::<_, ConflictableTransactionError<Error>>(())
            });
        transaction_result(result)?;
        match run.status {
            RunStatus::Running => {}
            RunStatus::Interrupted | RunStatus::Paused => {
                self.claims.release(&run.run_id, run.fence)
            }
            _ => self.claims.end(&run.run_id, run.fence),
        }
        if run.status != RunStatus::Running {
            // Its log is complete (or waits for a resume): the cache keeps heads of runs in
            // flight only.
            self.forget_head(&run.run_id);
        }
        self.flush_after(Written::Run {
            ended: run.status != RunStatus::Running,
        })
    }

    pub(super) fn read_runs_now(&self, session_id: &str) -> Result<Vec<RunRecord>> {
        self.trees
            .runs
            .scan_prefix(keys::len_prefixed(session_id))
            .map(|entry| {
                let (key, bytes) = entry.map_err(storage_error)?;
                decode_run(&bytes, || keys::describe_run_key(&key)).map(|stored| stored.run)
            })
            .collect()
    }

    /// Counts a session's runs from their keys, without decoding them (unreadable ones too).
    pub(super) fn count_runs_now(&self, session_id: &str) -> Result<usize> {
        let mut count = 0;
        for key in self
            .trees
            .runs
            .scan_prefix(keys::len_prefixed(session_id))
            .keys()
        {
            key.map_err(storage_error)?;
            count += 1;
        }
        Ok(count)
    }

    pub(super) fn read_run_now(&self, run_id: &str) -> Result<Option<RunRecord>> {
        Ok(self.read_stored_run(run_id)?.map(|stored| stored.run))
    }

    /// One run by id, as stored.
    pub(super) fn read_stored_run(&self, run_id: &str) -> Result<Option<StoredRun>> {
        let Some(key) = self.trees.run_ids.get(run_id).map_err(storage_error)? else {
            return Ok(None);
        };
        match self.trees.runs.get(&key).map_err(storage_error)? {
            Some(bytes) => decode_run(&bytes, || keys::describe_run_key(&key)).map(Some),
            None => Ok(None),
        }
    }

    /// Every run of a session (unreadable ones too): its key, and its id when the record can
    /// be read (an unreadable run's id entry, if any, points at nothing once it is deleted,
    /// which reads as "no such run"; its log, if any, is left behind).
    pub(super) fn runs_of(&self, session_id: &str) -> Result<Vec<(sled::IVec, Option<String>)>> {
        let mut found = Vec::new();
        for entry in self.trees.runs.scan_prefix(keys::len_prefixed(session_id)) {
            let (key, bytes) = entry.map_err(storage_error)?;
            let run_id = decode_run(&bytes, String::new)
                .ok()
                .map(|stored| stored.run.run_id);
            found.push((key, run_id));
        }
        Ok(found)
    }

    /// Marks runs left `running` by a dead process as interrupted. Unreadable runs are
    /// skipped (and logged): they must not keep the store from opening.
    pub(super) fn reconcile_interrupted(&self) -> Result<()> {
        let mut changed = 0;
        for key in self.trees.running.iter().keys() {
            let key = key.map_err(storage_error)?;
            let Some(bytes) = self.trees.runs.get(&key).map_err(storage_error)? else {
                self.trees.running.remove(&key).map_err(storage_error)?;
                continue;
            };
            let mut run = match decode_run(&bytes, || keys::describe_run_key(&key)) {
                Ok(stored) => stored.run,
                Err(err) => {
                    tracing::warn!(error = %err, "skipping an unreadable run while reconciling");
                    continue;
                }
            };
            if run.status == RunStatus::Running {
                run.status = RunStatus::Interrupted;
                run.updated_at = now_millis();
                // The dead process's claim died with it: nothing holds the run now.
                run.fence = 0;
                self.put_run_now(run)?;
                changed += 1;
            } else {
                self.trees.running.remove(&key).map_err(storage_error)?;
            }
        }
        if changed > 0 {
            tracing::info!(runs = changed, path = %self.db.path.display(), "marked runs of a dead process as interrupted");
            self.flush()?;
        }
        Ok(())
    }
}
