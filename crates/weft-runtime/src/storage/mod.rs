//! Where workflow sessions and runs are kept.
//!
//! [`WorkflowStorage`] is object-safe and async. Sessions and runs are separate records: a run
//! is written when it starts and updated when it ends, never rewritten with the whole history
//! (Agno rewrites every run on every save: O(n²) bytes over a session's life). Session writes
//! are compare-and-swap on [`WorkflowSession::version`], so two writers never silently lose an
//! update: the loser gets [`Error::Conflict`](crate::Error::Conflict).
//!
//! [`MemoryStorage`] keeps everything in process (tests, demos); `SledStorage` (embedded, on
//! disk) is the persistent default.

#[cfg(any(feature = "sled", test))]
pub(crate) mod envelope;
mod memory;
mod records;
#[cfg(feature = "sled")]
mod sled;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::Result;

#[cfg(feature = "sled")]
pub use self::sled::{
    Durability, SledStorage, SledStorageBuilder, DEFAULT_LOCK_WAIT, DEFAULT_PREFIX,
};
pub use memory::MemoryStorage;
pub use records::{RunRecord, RunStatus, SessionFilter, SessionListing, WorkflowSession};

/// A shared handle to a store.
pub type StorageRef = Arc<dyn WorkflowStorage>;

/// A store of workflow sessions and their runs.
///
/// Contract for implementations:
/// - [`upsert_session`](Self::upsert_session) is compare-and-swap: `session.version` is the
///   version the writer read (0 for a session it believes new); the store writes it as
///   `version + 1` only if the stored version still equals `version`, else returns
///   `Error::Conflict` and changes nothing.
/// - [`put_run`](Self::put_run) inserts or replaces one run by `run_id`; runs of a session list
///   in the order they were first put.
/// - [`save_blocking`](Self::save_blocking) and
///   [`read_session_blocking`](Self::read_session_blocking) must finish without a running
///   async executor: a workflow calls them from `Drop` when its consumer drops a run stream.
///   The defaults poll the async methods to completion on the current thread, which is right
///   for in-process stores (memory, sled); a networked store should override both.
pub trait WorkflowStorage: Send + Sync + fmt::Debug {
    /// The session, if it exists.
    fn read_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<WorkflowSession>>>;

    /// Writes the session (compare-and-swap, see above) and returns it as stored.
    fn upsert_session(&self, session: WorkflowSession) -> BoxFuture<'_, Result<WorkflowSession>>;

    /// Deletes the session and its runs, all at once (a store that can should do it in one
    /// transaction); `false` if it did not exist.
    fn delete_session<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Sessions matching the filter, most recently updated first. A record that cannot be
    /// read is skipped with a warning in the log (naming its key), so one bad record does not
    /// hide the rest; [`list_sessions_counted`](Self::list_sessions_counted) also says how
    /// many were skipped.
    fn list_sessions(&self, filter: SessionFilter) -> BoxFuture<'_, Result<Vec<WorkflowSession>>>;

    /// [`list_sessions`](Self::list_sessions), with how many unreadable records it skipped.
    /// The default lists with `list_sessions` and reports none skipped: right for a store
    /// that cannot hold an unreadable record (memory); a store that can should override it.
    fn list_sessions_counted(
        &self,
        filter: SessionFilter,
    ) -> BoxFuture<'_, Result<SessionListing>> {
        Box::pin(async move {
            Ok(SessionListing {
                sessions: self.list_sessions(filter).await?,
                skipped: 0,
            })
        })
    }

    /// Inserts or replaces a run record.
    fn put_run(&self, run: RunRecord) -> BoxFuture<'_, Result<()>>;

    /// A session's runs, oldest first.
    fn read_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<RunRecord>>>;

    /// How many runs a session has. The default reads them; a store that can count without
    /// decoding should override it.
    fn count_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<usize>> {
        Box::pin(async move { Ok(self.read_runs(session_id).await?.len()) })
    }

    /// One run by id.
    fn read_run<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>>>;

    /// [`read_session`](Self::read_session) without an async executor, for the same `Drop`
    /// path as [`save_blocking`](Self::save_blocking) (re-reading after a lost
    /// compare-and-swap). The default polls `read_session` on the current thread.
    fn read_session_blocking(&self, session_id: &str) -> Result<Option<WorkflowSession>> {
        futures::executor::block_on(self.read_session(session_id))
    }

    /// Writes a run record and, if given, the session, without an async executor.
    fn save_blocking(
        &self,
        session: Option<WorkflowSession>,
        run: RunRecord,
    ) -> Result<Option<WorkflowSession>> {
        futures::executor::block_on(async {
            self.put_run(run).await?;
            match session {
                Some(session) => self.upsert_session(session).await.map(Some),
                None => Ok(None),
            }
        })
    }
}

/// Anything a workflow builder's `.storage(..)` accepts: a store, or a shared [`StorageRef`].
pub trait IntoStorage {
    /// Converts into a shared store.
    fn into_storage(self) -> StorageRef;
}

impl<S: WorkflowStorage + 'static> IntoStorage for S {
    fn into_storage(self) -> StorageRef {
        Arc::new(self)
    }
}

impl IntoStorage for StorageRef {
    fn into_storage(self) -> StorageRef {
        self
    }
}
