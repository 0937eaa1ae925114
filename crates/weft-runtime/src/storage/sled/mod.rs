//! [`SledStorage`]: the embedded, on-disk default store.
//!
//! Sessions and runs live in separate trees (layout in `keys`), every record in a versioned
//! envelope ([`envelope`](super::envelope)). Session writes are compare-and-swap transactions
//! that keep the by-workflow and by-user indexes in step. A run is written when it starts and
//! rewritten only when it ends; a session's history is never rewritten whole.
//!
//! sled allows one process per store: a second process gets [`Error::StoreLocked`]. Within one
//! process, opening the same path again shares the open database. sled releases its file lock
//! from a background IO thread a moment after the last handle is dropped, so `open` waits up
//! to [`SledStorageBuilder::lock_wait`] (default 500 ms) for a lock that is being released
//! before it reports the store as locked.
//!
//! When the store opens, runs left `running` by a process that died are marked
//! [`RunStatus::Interrupted`].

mod keys;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use futures::future::{self, BoxFuture};
use futures::FutureExt;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::envelope::{decode, encode};
use super::{RunRecord, RunStatus, SessionFilter, WorkflowSession, WorkflowStorage};
use crate::response::now_millis;
use crate::{Error, Result};

/// When sled's buffers are forced to disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// After every write: nothing acknowledged is ever lost; the slowest.
    EveryWrite,
    /// When a run starts and when it ends (its state is saved just before): a crash loses
    /// at most the state changes of the runs in flight, which are found `interrupted`.
    #[default]
    RunEnd,
    /// Never forced: sled writes in the background every 500 ms. A crash may lose the last
    /// half second.
    Os,
}

/// The default tree-name prefix.
pub const DEFAULT_PREFIX: &str = "weft_";

/// An embedded store on disk (sled 0.34). Clones share one database.
///
/// ```
/// # fn main() -> weft_runtime::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("weft-doc-{}", std::process::id()));
/// use weft_runtime::SledStorage;
/// let store = SledStorage::open(dir.join("workflows.db"))?;
/// let same = SledStorage::open(dir.join("workflows.db"))?; // same process: shares the database
/// # drop((store, same)); std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SledStorage {
    db: Arc<OpenDb>,
    trees: Arc<Trees>,
    durability: Durability,
}

/// Configures a [`SledStorage`] before it opens; see [`SledStorage::builder`].
#[derive(Clone, Debug)]
#[must_use = "call `.open()`"]
pub struct SledStorageBuilder {
    path: PathBuf,
    prefix: String,
    durability: Durability,
    lock_wait: Duration,
}

/// How long [`SledStorageBuilder::open`] waits for a lock being released by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(500);

struct OpenDb {
    db: sled::Db,
    path: PathBuf,
    /// Prefixes whose interrupted runs were already reconciled in this process.
    reconciled: Mutex<HashSet<String>>,
}

struct Trees {
    sessions: sled::Tree,
    runs: sled::Tree,
    run_ids: sled::Tree,
    by_workflow: sled::Tree,
    by_user: sled::Tree,
}

/// Databases open in this process, so a second `open` of a path shares the first.
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<OpenDb>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<OpenDb>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

fn storage_error(err: sled::Error) -> Error {
    Error::Storage(err.to_string())
}

impl SledStorageBuilder {
    /// Prefix of every tree name (default `weft_`), like Agno's `table_name`: several
    /// independent stores can share one database file.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// When writes are forced to disk (default [`Durability::RunEnd`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How long `open` keeps retrying while another handle holds the store's lock (default
    /// [`DEFAULT_LOCK_WAIT`]) before it returns [`Error::StoreLocked`]. A store closed a
    /// moment ago in this process, or by a process that is exiting, opens instead of failing;
    /// `Duration::ZERO` fails at once.
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Opens (or creates) the store, creating parent directories.
    pub fn open(self) -> Result<SledStorage> {
        let db = open_db(&self.path, self.lock_wait)?;
        let tree = |name: &str| {
            db.db
                .open_tree(format!("{}{name}", self.prefix))
                .map_err(storage_error)
        };
        let trees = Trees {
            sessions: tree("sessions")?,
            runs: tree("runs")?,
            run_ids: tree("run_ids")?,
            by_workflow: tree("by_workflow")?,
            by_user: tree("by_user")?,
        };
        let storage = SledStorage {
            db: Arc::clone(&db),
            trees: Arc::new(trees),
            durability: self.durability,
        };
        let first = db
            .reconciled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(self.prefix.clone());
        if first {
            storage.reconcile_interrupted()?;
        }
        Ok(storage)
    }
}

fn open_db(path: &Path, lock_wait: Duration) -> Result<Arc<OpenDb>> {
    let shown = path.display().to_string();
    std::fs::create_dir_all(path).map_err(|err| {
        Error::Storage(format!(
            "could not create the store directory `{shown}`: {err}"
        ))
    })?;
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let deadline = Instant::now() + lock_wait;
    let mut pause = Duration::from_millis(2);
    loop {
        match open_shared(&canonical, &shown) {
            Err(Error::StoreLocked { .. }) if Instant::now() < deadline => {
                // The holder may be releasing it right now (see the module docs).
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// The database at `canonical`: the one already open in this process, or a newly opened one.
fn open_shared(canonical: &Path, shown: &str) -> Result<Arc<OpenDb>> {
    let mut open = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(db) = open.get(canonical).and_then(Weak::upgrade) {
        return Ok(db);
    }
    let db = sled::open(canonical).map_err(|err| match err {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            Error::StoreLocked {
                path: shown.to_string(),
            }
        }
        other => Error::Storage(format!("could not open the store `{shown}`: {other}")),
    })?;
    let db = Arc::new(OpenDb {
        db,
        path: canonical.to_path_buf(),
        reconciled: Mutex::new(HashSet::new()),
    });
    open.retain(|_, weak| weak.strong_count() > 0);
    open.insert(canonical.to_path_buf(), Arc::downgrade(&db));
    Ok(db)
}

impl SledStorage {
    /// Opens (or creates) a store at `path` with the default prefix and durability.
    pub fn open(path: impl AsRef<Path>) -> Result<SledStorage> {
        SledStorage::builder(path).open()
    }

    /// Configures a store at `path`.
    pub fn builder(path: impl AsRef<Path>) -> SledStorageBuilder {
        SledStorageBuilder {
            path: path.as_ref().to_path_buf(),
            prefix: DEFAULT_PREFIX.to_string(),
            durability: Durability::default(),
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }

    /// Where the store is on disk.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// Forces everything written so far to disk.
    pub fn flush(&self) -> Result<()> {
        self.db.db.flush().map(drop).map_err(storage_error)
    }

    fn flush_if(&self, wanted: bool) -> Result<()> {
        if wanted {
            self.flush()?;
        }
        Ok(())
    }

    /// Marks runs left `running` by a dead process as interrupted. Unreadable runs are
    /// skipped (and logged): they must not keep the store from opening.
    fn reconcile_interrupted(&self) -> Result<()> {
        let mut changed = 0;
        for entry in self.trees.runs.iter() {
            let (key, bytes) = entry.map_err(storage_error)?;
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
                self.trees
                    .runs
                    .insert(key, encode(&run)?)
                    .map_err(storage_error)?;
                changed += 1;
            }
        }
        if changed > 0 {
            tracing::info!(runs = changed, path = %self.db.path.display(), "marked runs of a dead process as interrupted");
            self.flush()?;
        }
        Ok(())
    }

    fn read_session_now(&self, session_id: &str) -> Result<Option<WorkflowSession>> {
        match self.trees.sessions.get(session_id).map_err(storage_error)? {
            Some(bytes) => decode(&bytes, || format!("sessions/{session_id}")).map(Some),
            None => Ok(None),
        }
    }

    fn upsert_now(&self, session: WorkflowSession) -> Result<WorkflowSession> {
        let trees = &self.trees;
        let result = (&trees.sessions, &trees.by_workflow, &trees.by_user).transaction(
            |(sessions, by_workflow, by_user)| {
                let abort = ConflictableTransactionError::Abort;
                let id = session.session_id.as_str();
                let current: Option<WorkflowSession> = match sessions.get(id)? {
                    Some(bytes) => {
                        Some(decode(&bytes, || format!("sessions/{id}")).map_err(abort)?)
                    }
                    None => None,
                };
                if current.as_ref().map_or(0, |c| c.version) != session.version {
                    return Err(abort(Error::Conflict {
                        session_id: id.to_string(),
                    }));
                }
                let mut stored = session.clone();
                stored.version += 1;
                if let Some(old) = &current {
                    stored.created_at = old.created_at;
                    by_workflow.remove(keys::index_key(&old.workflow_id, old.updated_at, id))?;
                    if let Some(user) = &old.user_id {
                        by_user.remove(keys::index_key(user, old.updated_at, id))?;
                    }
                }
                sessions.insert(id, encode(&stored).map_err(abort)?)?;
                by_workflow.insert(
                    keys::index_key(&stored.workflow_id, stored.updated_at, id),
                    &[],
                )?;
                if let Some(user) = &stored.user_id {
                    by_user.insert(keys::index_key(user, stored.updated_at, id), &[])?;
                }
                Ok(stored)
            },
        );
        let stored = match result {
            Ok(stored) => stored,
            Err(TransactionError::Abort(err)) => return Err(err),
            Err(TransactionError::Storage(err)) => return Err(storage_error(err)),
        };
        self.flush_if(self.durability == Durability::EveryWrite)?;
        Ok(stored)
    }

    fn put_run_now(&self, run: RunRecord) -> Result<()> {
        let key = match self.trees.run_ids.get(&run.run_id).map_err(storage_error)? {
            Some(key) => key.to_vec(),
            None => keys::run_key(
                &run.session_id,
                self.db.db.generate_id().map_err(storage_error)?,
            ),
        };
        let value = encode(&run)?;
        let result = (&self.trees.runs, &self.trees.run_ids).transaction(|(runs, run_ids)| {
            runs.insert(key.as_slice(), value.as_slice())?;
            run_ids.insert(run.run_id.as_str(), key.as_slice())?;
            Ok::<_, ConflictableTransactionError<Error>>(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(err)) => return Err(err),
            Err(TransactionError::Storage(err)) => return Err(storage_error(err)),
        }
        self.flush_if(self.durability != Durability::Os)
    }

    fn delete_now(&self, session_id: &str) -> Result<bool> {
        let existed = match self.read_session_now(session_id)? {
            Some(old) => {
                let trees = &self.trees;
                trees.sessions.remove(session_id).map_err(storage_error)?;
                trees
                    .by_workflow
                    .remove(keys::index_key(
                        &old.workflow_id,
                        old.updated_at,
                        session_id,
                    ))
                    .map_err(storage_error)?;
                if let Some(user) = &old.user_id {
                    trees
                        .by_user
                        .remove(keys::index_key(user, old.updated_at, session_id))
                        .map_err(storage_error)?;
                }
                true
            }
            None => false,
        };
        for entry in self.trees.runs.scan_prefix(keys::len_prefixed(session_id)) {
            let (key, bytes) = entry.map_err(storage_error)?;
            if let Ok(run) = decode::<RunRecord>(&bytes, String::new) {
                self.trees
                    .run_ids
                    .remove(run.run_id)
                    .map_err(storage_error)?;
            }
            self.trees.runs.remove(key).map_err(storage_error)?;
        }
        self.flush_if(self.durability != Durability::Os)?;
        Ok(existed)
    }

    fn list_now(&self, filter: SessionFilter) -> Result<Vec<WorkflowSession>> {
        let limit = filter.limit.unwrap_or(usize::MAX);
        let from_index = |tree: &sled::Tree, owner: &str| -> Result<Vec<String>> {
            let prefix = keys::len_prefixed(owner);
            tree.scan_prefix(&prefix)
                .keys()
                .map(|key| {
                    key.map(|key| keys::session_of_index(&key, prefix.len()))
                        .map_err(storage_error)
                })
                .collect()
        };
        let ids = match (&filter.workflow_id, &filter.user_id) {
            (Some(workflow), _) => Some(from_index(&self.trees.by_workflow, workflow)?),
            (None, Some(user)) => Some(from_index(&self.trees.by_user, user)?),
            (None, None) => None,
        };
        let mut sessions = Vec::new();
        match ids {
            Some(ids) => {
                for id in ids {
                    if let Some(session) = self.read_session_now(&id)? {
                        sessions.push(session);
                    }
                }
            }
            None => {
                for entry in self.trees.sessions.iter() {
                    let (key, bytes) = entry.map_err(storage_error)?;
                    sessions.push(decode(&bytes, || {
                        format!("sessions/{}", String::from_utf8_lossy(&key))
                    })?);
                }
                sessions.sort_by_key(|s: &WorkflowSession| std::cmp::Reverse(s.updated_at));
            }
        }
        Ok(sessions
            .into_iter()
            .filter(|s| filter.user_id.is_none() || s.user_id == filter.user_id)
            .filter(|s| {
                filter
                    .workflow_id
                    .as_ref()
                    .is_none_or(|w| &s.workflow_id == w)
            })
            .skip(filter.offset)
            .take(limit)
            .collect())
    }

    fn read_runs_now(&self, session_id: &str) -> Result<Vec<RunRecord>> {
        self.trees
            .runs
            .scan_prefix(keys::len_prefixed(session_id))
            .map(|entry| {
                let (key, bytes) = entry.map_err(storage_error)?;
                decode(&bytes, || keys::describe_run_key(&key))
            })
            .collect()
    }

    fn read_run_now(&self, run_id: &str) -> Result<Option<RunRecord>> {
        let Some(key) = self.trees.run_ids.get(run_id).map_err(storage_error)? else {
            return Ok(None);
        };
        match self.trees.runs.get(&key).map_err(storage_error)? {
            Some(bytes) => decode(&bytes, || keys::describe_run_key(&key)).map(Some),
            None => Ok(None),
        }
    }
}

impl WorkflowStorage for SledStorage {
    fn read_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<WorkflowSession>>> {
        future::ready(self.read_session_now(session_id)).boxed()
    }

    fn upsert_session(&self, session: WorkflowSession) -> BoxFuture<'_, Result<WorkflowSession>> {
        future::ready(self.upsert_now(session)).boxed()
    }

    fn delete_session<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<bool>> {
        future::ready(self.delete_now(session_id)).boxed()
    }

    fn list_sessions(&self, filter: SessionFilter) -> BoxFuture<'_, Result<Vec<WorkflowSession>>> {
        future::ready(self.list_now(filter)).boxed()
    }

    fn put_run(&self, run: RunRecord) -> BoxFuture<'_, Result<()>> {
        future::ready(self.put_run_now(run)).boxed()
    }

    fn read_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        future::ready(self.read_runs_now(session_id)).boxed()
    }

    fn read_run<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>>> {
        future::ready(self.read_run_now(run_id)).boxed()
    }

    fn save_blocking(
        &self,
        session: Option<WorkflowSession>,
        run: RunRecord,
    ) -> Result<Option<WorkflowSession>> {
        let stored = session.map(|s| self.upsert_now(s)).transpose();
        self.put_run_now(run)?;
        stored
    }
}

impl std::fmt::Debug for SledStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStorage")
            .field("path", &self.db.path)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}
