//! Run records: appended when a run starts, rewritten once when it ends, listed per session in
//! start order. The `running` tree holds the runs in flight, so a store reconciles the runs of
//! a dead process without reading its history.

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::keys;
use super::{storage_error, transaction_result, Durability, SledStorage};
use crate::storage::envelope::{decode, encode};
use crate::storage::{RunRecord, RunStatus};
use crate::time::now_millis;
use crate::{Error, Result};

impl SledStorage {
    pub(super) fn put_run_now(&self, run: RunRecord) -> Result<()> {
        self.writable()?;
        let key = match self.trees.run_ids.get(&run.run_id).map_err(storage_error)? {
            Some(key) => key.to_vec(),
            None => keys::run_key(
                &run.session_id,
                self.db.db.generate_id().map_err(storage_error)?,
            ),
        };
        let value = encode(&run)?;
        let in_flight = run.status == RunStatus::Running;
        let trees = &self.trees;
        let result = (&trees.runs, &trees.run_ids, &trees.running).transaction(
            |(runs, run_ids, running)| {
                runs.insert(key.as_slice(), value.as_slice())?;
                run_ids.insert(run.run_id.as_str(), key.as_slice())?;
                if in_flight {
                    running.insert(key.as_slice(), &[])?;
                } else {
                    running.remove(key.as_slice())?;
                }
                Ok::<_, ConflictableTransactionError<Error>>(())
            },
        );
        transaction_result(result)?;
        self.flush_if(self.durability != Durability::Os)
    }

    pub(super) fn read_runs_now(&self, session_id: &str) -> Result<Vec<RunRecord>> {
        self.trees
            .runs
            .scan_prefix(keys::len_prefixed(session_id))
            .map(|entry| {
                let (key, bytes) = entry.map_err(storage_error)?;
                decode(&bytes, || keys::describe_run_key(&key))
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
        let Some(key) = self.trees.run_ids.get(run_id).map_err(storage_error)? else {
            return Ok(None);
        };
        match self.trees.runs.get(&key).map_err(storage_error)? {
            Some(bytes) => decode(&bytes, || keys::describe_run_key(&key)).map(Some),
            None => Ok(None),
        }
    }

    /// Every run of a session (unreadable ones too): its key, and its id when the record can
    /// be read (an unreadable run's id entry, if any, points at nothing once it is deleted,
    /// which reads as "no such run").
    pub(super) fn runs_of(&self, session_id: &str) -> Result<Vec<(sled::IVec, Option<String>)>> {
        let mut found = Vec::new();
        for entry in self.trees.runs.scan_prefix(keys::len_prefixed(session_id)) {
            let (key, bytes) = entry.map_err(storage_error)?;
            let run_id = decode::<RunRecord>(&bytes, String::new)
                .ok()
                .map(|run| run.run_id);
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
            let mut run: RunRecord = match decode(&bytes, || keys::describe_run_key(&key)) {
                Ok(run) => run,
                Err(err) => {
                    tracing::warn!(error = %err, "skipping an unreadable run while reconciling");
                    continue;
                }
            };
            if run.status == RunStatus::Running {
                run.status = RunStatus::Interrupted;
                run.updated_at = now_millis();
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
