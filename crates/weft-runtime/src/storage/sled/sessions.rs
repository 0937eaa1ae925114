//! Session records and their indexes: compare-and-swap upserts, deletes, and listings that
//! walk an index newest first.

use std::collections::HashMap;

use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::keys;
use super::{storage_error, transaction_result, SledStorage, Written};
use crate::storage::envelope::{decode, encode};
use crate::storage::{SessionFilter, SessionListing, WorkflowSession};
use crate::{Error, Result};

/// Index entries of a session, per index tree.
#[derive(Default)]
struct IndexKeys {
    by_workflow: Vec<Vec<u8>>,
    by_user: Vec<Vec<u8>>,
    by_time: Vec<Vec<u8>>,
}

impl IndexKeys {
    /// The entries of one stored session version.
    fn of(session: &WorkflowSession) -> IndexKeys {
        let id = &session.session_id;
        IndexKeys {
            by_workflow: vec![keys::index_key(
                &session.workflow_id,
                session.updated_at,
                id,
            )],
            by_user: session
                .user_id
                .iter()
                .map(|user| keys::index_key(user, session.updated_at, id))
                .collect(),
            by_time: vec![keys::index_key("", session.updated_at, id)],
        }
    }
}

pub(super) type Abort = ConflictableTransactionError<Error>;

/// Every tree a session's deletion touches, inside one transaction.
pub(super) struct DeleteTrees<'t> {
    sessions: &'t TransactionalTree,
    indexes: Indexes<'t>,
    runs: &'t TransactionalTree,
    run_ids: &'t TransactionalTree,
    running: &'t TransactionalTree,
    interrupted: &'t TransactionalTree,
    events: &'t TransactionalTree,
    journal: &'t TransactionalTree,
    log_heads: &'t TransactionalTree,
}

/// What deleting one session removes.
pub(super) struct Deletion {
    session_id: String,
    /// Whether there is a session record (readable or not).
    session: bool,
    index_keys: IndexKeys,
    /// The session's runs: key in `runs`, and run id when the record is readable.
    runs: Vec<(sled::IVec, Option<String>)>,
    /// The last key of each run's events (`SledStorage::logged_last`), by run id.
    logged_last: HashMap<String, u64>,
}

impl Deletion {
    /// Removes it all inside the transaction.
    pub(super) fn apply(&self, trees: &DeleteTrees<'_>) -> std::result::Result<(), Abort> {
        trees.sessions.remove(self.session_id.as_str())?;
        trees.indexes.remove(&self.index_keys)?;
        for (key, run_id) in &self.runs {
            trees.runs.remove(key)?;
            trees.running.remove(key)?;
            trees.interrupted.remove(key)?;
            if let Some(run_id) = run_id {
                trees.run_ids.remove(run_id.as_str())?;
                let logged_last = self.logged_last.get(run_id).copied().unwrap_or(0);
                super::migrate::remove_log(
                    trees.events,
                    trees.journal,
                    trees.log_heads,
                    run_id,
                    logged_last,
                )?;
            }
        }
        Ok(())
    }
}

/// The index trees inside a transaction.
struct Indexes<'t> {
    by_workflow: &'t TransactionalTree,
    by_user: &'t TransactionalTree,
    by_time: &'t TransactionalTree,
}

impl Indexes<'_> {
    fn trees(&self, keys: &IndexKeys) -> [(&TransactionalTree, Vec<Vec<u8>>); 3] {
        [
            (self.by_workflow, keys.by_workflow.clone()),
            (self.by_user, keys.by_user.clone()),
            (self.by_time, keys.by_time.clone()),
        ]
    }

    fn insert(&self, keys: &IndexKeys) -> std::result::Result<(), Abort> {
        for (tree, entries) in self.trees(keys) {
            for key in entries {
                tree.insert(key, &[])?;
            }
        }
        Ok(())
    }

    fn remove(&self, keys: &IndexKeys) -> std::result::Result<(), Abort> {
        for (tree, entries) in self.trees(keys) {
            for key in entries {
                tree.remove(key)?;
            }
        }
        Ok(())
    }
}

fn session_key(session_id: &str) -> String {
    format!("sessions/{session_id}")
}

impl SledStorage {
    pub(super) fn read_session_now(&self, session_id: &str) -> Result<Option<WorkflowSession>> {
        match self.trees.sessions.get(session_id).map_err(storage_error)? {
            Some(bytes) => decode(&bytes, || session_key(session_id)).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn upsert_now(&self, session: WorkflowSession) -> Result<WorkflowSession> {
        self.writable()?;
        let result = self.session_transaction(|sessions, indexes| {
            let id = session.session_id.as_str();
            let current: Option<WorkflowSession> = match sessions.get(id)? {
                Some(bytes) => Some(decode(&bytes, || session_key(id)).map_err(Abort::Abort)?),
                None => None,
            };
            if current.as_ref().map_or(0, |c| c.version) != session.version {
                return Err(Abort::Abort(Error::Conflict {
                    session_id: id.to_string(),
                    keys: Vec::new(),
                }));
            }
            let mut stored = session.clone();
            stored.version += 1;
            if let Some(old) = &current {
                stored.created_at = old.created_at;
                indexes.remove(&IndexKeys::of(old))?;
            }
            sessions.insert(id, encode(&stored).map_err(Abort::Abort)?)?;
            indexes.insert(&IndexKeys::of(&stored))?;
            Ok(stored)
        });
        let stored = transaction_result(result)?;
        self.flush_after(Written::Session)?;
        Ok(stored)
    }

    /// Deletes the session with its index entries and every run of it (unreadable ones too),
    /// with the runs' event logs and journals, in one transaction: a crash leaves all of it or
    /// none. (The `ended` index entries of its runs are dropped lazily, by retention.) A session whose record is
    /// unreadable is deleted too: that is how a user gets rid of it. `false` if there was no
    /// session record (its stray runs, if any, are deleted all the same).
    pub(super) fn delete_session_now(&self, session_id: &str) -> Result<bool> {
        self.writable()?;
        let plan = self.forgetting_heads(|| {
            let plan = self.deletion_of(session_id)?;
            transaction_result(self.delete_transaction(|trees| plan.apply(trees)))?;
            let run_ids = plan.logged_last.keys().cloned().collect();
            Ok((plan, run_ids))
        })?;
        // A worker still writing a deleted run finds no claim: its writes are refused.
        let deleted: Vec<String> = plan.runs.iter().filter_map(|(_, id)| id.clone()).collect();
        self.claims.forget(&deleted);
        self.flush_after(Written::Deletion)?;
        Ok(plan.session)
    }

    /// Everything deleting `session_id` removes, found before the transaction (a transaction
    /// cannot scan).
    pub(super) fn deletion_of(&self, session_id: &str) -> Result<Deletion> {
        let trees = &self.trees;
        let index_keys = match trees.sessions.get(session_id).map_err(storage_error)? {
            None => None,
            Some(bytes) => Some(
                match decode::<WorkflowSession>(&bytes, || session_key(session_id)) {
                    Ok(old) => IndexKeys::of(&old),
                    Err(err) => {
                        tracing::warn!(error = %err, "deleting an unreadable session; searching the indexes for its entries");
                        self.index_keys_naming(session_id)?
                    }
                },
            ),
        };
        let runs = self.runs_of(session_id)?;
        let mut logged_last = HashMap::new();
        for run_id in runs.iter().filter_map(|(_, run_id)| run_id.as_ref()) {
            logged_last.insert(run_id.clone(), self.logged_last(run_id)?);
        }
        Ok(Deletion {
            session_id: session_id.to_string(),
            session: index_keys.is_some(),
            index_keys: index_keys.unwrap_or_default(),
            runs,
            logged_last,
        })
    }

    /// Runs `change` as one transaction over every tree a deletion touches.
    pub(super) fn delete_transaction<T>(
        &self,
        change: impl Fn(&DeleteTrees<'_>) -> std::result::Result<T, Abort>,
    ) -> std::result::Result<T, sled::transaction::TransactionError<Error>> {
        let trees = &self.trees;
        let log = self
            .log_trees()
            .map_err(sled::transaction::TransactionError::Abort)?;
        (
            &trees.sessions,
            &trees.by_workflow,
            &trees.by_user,
            &trees.by_time,
            &trees.runs,
            &trees.run_ids,
            &trees.running,
            &log.interrupted,
            &log.events,
            &log.journal,
            &log.log_heads,
        )
            .transaction(
                |(
                    sessions,
                    by_workflow,
                    by_user,
                    by_time,
                    runs,
                    run_ids,
                    running,
                    interrupted,
                    events,
                    journal,
                    log_heads,
                )| {
                    change(&DeleteTrees {
                        sessions,
                        indexes: Indexes {
                            by_workflow,
                            by_user,
                            by_time,
                        },
                        runs,
                        run_ids,
                        running,
                        interrupted,
                        events,
                        journal,
                        log_heads,
                    })
                },
            )
    }

    /// Runs `change` as one transaction over the sessions tree and its indexes.
    fn session_transaction<T>(
        &self,
        change: impl Fn(&TransactionalTree, &Indexes<'_>) -> std::result::Result<T, Abort>,
    ) -> std::result::Result<T, sled::transaction::TransactionError<Error>> {
        let trees = &self.trees;
        (
            &trees.sessions,
            &trees.by_workflow,
            &trees.by_user,
            &trees.by_time,
        )
            .transaction(|(sessions, by_workflow, by_user, by_time)| {
                let indexes = Indexes {
                    by_workflow,
                    by_user,
                    by_time,
                };
                change(sessions, &indexes)
            })
    }

    /// Every index entry that names `session_id`, found by a scan (only for a session whose
    /// record cannot tell its own entries).
    fn index_keys_naming(&self, session_id: &str) -> Result<IndexKeys> {
        let naming = |tree: &sled::Tree| -> Result<Vec<Vec<u8>>> {
            let mut found = Vec::new();
            for key in tree.iter().keys() {
                let key = key.map_err(storage_error)?;
                if keys::index_names_session(&key, session_id) {
                    found.push(key.to_vec());
                }
            }
            Ok(found)
        };
        Ok(IndexKeys {
            by_workflow: naming(&self.trees.by_workflow)?,
            by_user: naming(&self.trees.by_user)?,
            by_time: naming(&self.trees.by_time)?,
        })
    }

    /// Walks the index that fits the filter (by workflow, else by user, else by time), newest
    /// first, and reads only the sessions of the requested page. Unreadable records met on the
    /// way are skipped and counted (they take no place in the page).
    pub(super) fn list_now(&self, filter: SessionFilter) -> Result<SessionListing> {
        let limit = filter.limit.unwrap_or(usize::MAX);
        let (tree, owner) = match (&filter.workflow_id, &filter.user_id) {
            (Some(workflow), _) => (&self.trees.by_workflow, workflow.as_str()),
            (None, Some(user)) => (&self.trees.by_user, user.as_str()),
            (None, None) => (&self.trees.by_time, ""),
        };
        // With both filters the user is checked on each session of the workflow's index.
        let wanted_user = match (&filter.workflow_id, &filter.user_id) {
            (Some(_), Some(user)) => Some(user.as_str()),
            _ => None,
        };
        let prefix = keys::len_prefixed(owner);
        let mut listing = SessionListing::default();
        let mut passed = 0;
        for key in tree.scan_prefix(&prefix).keys() {
            if listing.sessions.len() >= limit {
                break;
            }
            let key = key.map_err(storage_error)?;
            let id = keys::session_of_index(&key, prefix.len());
            let session = match self.read_session_now(&id) {
                Ok(Some(session)) => session,
                Ok(None) => continue,
                // One bad record must not hide the others: skipped, counted and logged.
                Err(err @ Error::Corrupt { .. }) => {
                    tracing::warn!(key = %session_key(&id), error = %err, "skipping an unreadable session while listing");
                    listing.skipped += 1;
                    continue;
                }
                Err(err) => return Err(err),
            };
            if wanted_user.is_some_and(|user| session.user_id.as_deref() != Some(user)) {
                continue;
            }
            if passed < filter.offset {
                passed += 1;
                continue;
            }
            listing.sessions.push(session);
        }
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{RunRecord, RunStatus};

    fn session(id: &str) -> WorkflowSession {
        WorkflowSession {
            session_id: id.into(),
            workflow_id: "wf".into(),
            workflow_name: "wf".into(),
            session_name: None,
            user_id: Some("ada".into()),
            session_state: serde_json::json!({"n": 1}),
            version: 0,
            created_at: 1,
            updated_at: 1,
        }
    }

    fn run(run_id: &str, session_id: &str, status: RunStatus) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            session_id: session_id.into(),
            workflow_id: "wf".into(),
            input: serde_json::json!("hi"),
            status,
            content: String::new(),
            last_seq: 0,
            start_state: None,
            metrics: Default::default(),
            error: None,
            created_at: 1,
            updated_at: 1,
            fence: 0,
            pause: None,
        }
    }

    /// Every tree's entries, to compare a store before and after.
    fn contents(store: &SledStorage) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        let trees = &store.trees;
        let log = trees.log.as_ref().unwrap();
        [
            &trees.sessions,
            &trees.runs,
            &trees.run_ids,
            &trees.running,
            &trees.by_workflow,
            &trees.by_user,
            &trees.by_time,
            &log.events,
            &log.journal,
            &log.log_heads,
            &log.interrupted,
        ]
        .iter()
        .map(|tree| {
            tree.iter()
                .map(|entry| {
                    let (key, value) = entry.unwrap();
                    (key.to_vec(), value.to_vec())
                })
                .collect()
        })
        .collect()
    }

    /// Deleting a session removes its record, index entries and runs in one transaction: the
    /// same removals, aborted at the end, leave every tree as it was; committed, they leave
    /// only the other session's records.
    #[test]
    fn a_session_and_its_runs_are_deleted_in_one_transaction() {
        let dir = std::env::temp_dir().join(format!("weft-unit-delete-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SledStorage::open(&dir).unwrap();
        store.upsert_now(session("gone")).unwrap();
        store.upsert_now(session("kept")).unwrap();
        store
            .put_run_now(run("r1", "gone", RunStatus::Completed))
            .unwrap();
        store
            .put_run_now(run("r2", "gone", RunStatus::Running))
            .unwrap();
        store
            .put_run_now(run("r3", "kept", RunStatus::Running))
            .unwrap();
        store
            .put_run_now(run("r4", "gone", RunStatus::Interrupted))
            .unwrap();
        for run_id in ["r1", "r3"] {
            let mut item = crate::response::RunResponse::text("hi");
            item.seq = Some(1);
            let event = crate::storage::LoggedEvent {
                seq: 1,
                identity: "item:x#1".into(),
                item,
            };
            let entry = crate::storage::JournalEntry {
                key: "step:s:1".into(),
                kind: crate::storage::JournalKind::Step,
                output: serde_json::json!(1),
                seqs: vec![1],
                created_at: 1,
            };
            store.append_log_now(run_id, &[event], &[entry]).unwrap();
        }
        let before = contents(&store);

        let plan = store.deletion_of("gone").unwrap();
        assert_eq!(plan.runs.len(), 3);
        let aborted = store.delete_transaction(|trees| {
            plan.apply(trees)?;
            Err::<(), _>(Abort::Abort(Error::Config("abort on purpose".into())))
        });
        assert!(matches!(
            aborted,
            Err(sled::transaction::TransactionError::Abort(Error::Config(_)))
        ));
        assert_eq!(
            contents(&store),
            before,
            "an aborted deletion removes nothing"
        );

        assert!(store.delete_session_now("gone").unwrap());
        assert!(store.read_session_now("gone").unwrap().is_none());
        assert!(store.read_runs_now("gone").unwrap().is_empty());
        assert!(store.read_run_now("r1").unwrap().is_none());
        assert!(store.trees.run_ids.get("r2").unwrap().is_none());
        assert_eq!(store.trees.running.len(), 1, "only the kept session's run");
        let log = store.trees.log.as_ref().unwrap();
        assert!(log.interrupted.is_empty());
        for tree in [&log.events, &log.journal, &log.log_heads] {
            assert_eq!(tree.len(), 1, "only the kept session's run's log");
        }
        assert!(store.read_events_now("r1", 0, 10).unwrap().is_empty());
        assert_eq!(store.read_journal_now("r3").unwrap().len(), 1);
        for tree in [
            &store.trees.by_workflow,
            &store.trees.by_user,
            &store.trees.by_time,
        ] {
            assert_eq!(tree.len(), 1, "only the kept session's entry");
        }
        assert!(store.read_session_now("kept").unwrap().is_some());
        assert!(store.read_run_now("r3").unwrap().is_some());
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
