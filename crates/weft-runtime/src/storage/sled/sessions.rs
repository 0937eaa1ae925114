//! Session records and their indexes: compare-and-swap upserts, deletes, and listings that
//! walk an index newest first.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::keys;
use super::{storage_error, transaction_result, Durability, SledStorage};
use crate::storage::envelope::{decode, encode};
use crate::storage::{SessionFilter, WorkflowSession};
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

type Abort = ConflictableTransactionError<Error>;

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
        let result = self.session_transaction(|sessions, indexes| {
            let id = session.session_id.as_str();
            let current: Option<WorkflowSession> = match sessions.get(id)? {
                Some(bytes) => Some(decode(&bytes, || session_key(id)).map_err(Abort::Abort)?),
                None => None,
            };
            if current.as_ref().map_or(0, |c| c.version) != session.version {
                return Err(Abort::Abort(Error::Conflict {
                    session_id: id.to_string(),
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
        self.flush_if(self.durability == Durability::EveryWrite)?;
        Ok(stored)
    }

    /// Deletes the session with its index entries (one transaction), then its runs. A session
    /// whose record is unreadable is deleted too: that is how a user gets rid of it.
    pub(super) fn delete_session_now(&self, session_id: &str) -> Result<bool> {
        let trees = &self.trees;
        let Some(bytes) = trees.sessions.get(session_id).map_err(storage_error)? else {
            self.delete_runs_of(session_id)?;
            return Ok(false);
        };
        let index_keys = match decode::<WorkflowSession>(&bytes, || session_key(session_id)) {
            Ok(old) => IndexKeys::of(&old),
            Err(err) => {
                tracing::warn!(error = %err, "deleting an unreadable session; searching the indexes for its entries");
                self.index_keys_naming(session_id)?
            }
        };
        let result = self.session_transaction(|sessions, indexes| {
            sessions.remove(session_id)?;
            indexes.remove(&index_keys)?;
            Ok(())
        });
        transaction_result(result)?;
        self.delete_runs_of(session_id)?;
        Ok(true)
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
    /// first, and reads only the sessions of the requested page.
    pub(super) fn list_now(&self, filter: SessionFilter) -> Result<Vec<WorkflowSession>> {
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
        let mut sessions = Vec::new();
        let mut skipped = 0;
        for key in tree.scan_prefix(&prefix).keys() {
            if sessions.len() >= limit {
                break;
            }
            let key = key.map_err(storage_error)?;
            let id = keys::session_of_index(&key, prefix.len());
            let Some(session) = self.read_session_now(&id)? else {
                continue;
            };
            if wanted_user.is_some_and(|user| session.user_id.as_deref() != Some(user)) {
                continue;
            }
            if skipped < filter.offset {
                skipped += 1;
                continue;
            }
            sessions.push(session);
        }
        Ok(sessions)
    }
}
