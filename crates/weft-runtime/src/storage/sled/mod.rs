//! [`SledStorage`]: the embedded, on-disk default store.
//!
//! Sessions and runs live in separate trees (layout in `keys`), every record in a versioned
//! envelope ([`envelope`](super::envelope)). Session writes and deletes are transactions that
//! keep the by-workflow, by-user and by-time indexes in step (`sessions`); listings and
//! pagination walk an index, so a page costs what it returns. A run is written when it starts
//! and rewritten only when it ends, and a small `running` tree lists the runs in flight
//! (`runs`); a session's history is never rewritten whole.
//!
//! sled allows one process per store: a second process gets [`Error::StoreLocked`]. Within one
//! process, opening the same path again shares the open database. sled releases its file lock
//! from a background IO thread a moment after the last handle is dropped, so `open` waits up
//! to [`SledStorageBuilder::lock_wait`] (default 500 ms) for a lock that is being released
//! before it reports the store as locked.
//!
//! When the store opens, runs left `running` by a process that died are marked
//! [`RunStatus::Interrupted`](super::RunStatus::Interrupted); only the `running` tree is
//! read, so opening costs nothing per stored run. A store opened
//! [`read_only`](SledStorageBuilder::read_only) is left exactly as it is.

mod keys;
mod runs;
mod sessions;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use futures::future::{self, BoxFuture};
use futures::FutureExt;
use sled::transaction::TransactionError;

use super::{RunRecord, SessionFilter, SessionListing, WorkflowSession, WorkflowStorage};
use crate::{Error, Result};

/// When sled's buffers are forced to disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// After every write: nothing acknowledged is ever lost; the slowest.
    EveryWrite,
    /// When a run starts and when it ends (its state is saved just before): a crash loses
    /// at most the state changes of the runs in flight, which are found `interrupted`.
    /// Session changes outside a run (`rename_session`) reach the disk with the next flush
    /// (sled's own every 500 ms, or [`SledStorage::flush`]).
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
    /// Opened with [`SledStorageBuilder::read_only`]: every write is refused.
    read_only: bool,
}

/// Configures a [`SledStorage`] before it opens; see [`SledStorage::builder`].
#[derive(Clone, Debug)]
#[must_use = "call `.open()`"]
pub struct SledStorageBuilder {
    path: PathBuf,
    prefix: String,
    durability: Durability,
    lock_wait: Duration,
    read_only: bool,
}

/// How long [`SledStorageBuilder::open`] waits for a lock being released by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(500);

struct OpenDb {
    db: sled::Db,
    path: PathBuf,
    /// Prefixes whose interrupted runs were already reconciled in this process.
    reconciled: Mutex<HashSet<String>>,
}

/// The trees of one prefix; the layout is in `keys`.
struct Trees {
    sessions: sled::Tree,
    runs: sled::Tree,
    run_ids: sled::Tree,
    running: sled::Tree,
    by_workflow: sled::Tree,
    by_user: sled::Tree,
    by_time: sled::Tree,
}

/// Databases open in this process, so a second `open` of a path shares the first.
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<OpenDb>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<OpenDb>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

fn storage_error(err: sled::Error) -> Error {
    Error::Storage {
        message: "sled could not read or write the store; check the disk (space, permissions) and that no other program changes its files".to_string(),
        source: Some(Box::new(err)),
    }
}

/// A transaction's outcome as a weft result.
fn transaction_result<T>(
    result: std::result::Result<T, sled::transaction::TransactionError<Error>>,
) -> Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(TransactionError::Abort(err)) => Err(err),
        Err(TransactionError::Storage(err)) => Err(storage_error(err)),
    }
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

    /// Opens the store for reading only, for tools that inspect it (the `weft` CLI's `list`
    /// and `show`): the store must exist (it is not created, nor are its trees), runs left
    /// `running` by a process that died are reported as they are (not marked `interrupted`),
    /// and every write returns [`Error::Storage`]. sled itself still takes the store's lock.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Opens (or creates) the store, creating parent directories.
    pub fn open(self) -> Result<SledStorage> {
        if self.read_only && !self.path.exists() {
            return Err(Error::Storage {
                message: format!(
                    "there is no store at `{}`; check the path",
                    self.path.display()
                ),
                source: None,
            });
        }
        let db = open_db(&self.path, self.lock_wait)?;
        if self.read_only {
            self.check_trees(&db.db)?;
        }
        // Every tree exists when read-only (checked above), so `open_tree` creates nothing then.
        let tree = |name: &str| {
            db.db
                .open_tree(format!("{}{name}", self.prefix))
                .map_err(storage_error)
        };
        let trees = Trees {
            sessions: tree("sessions")?,
            runs: tree("runs")?,
            run_ids: tree("run_ids")?,
            running: tree("running")?,
            by_workflow: tree("by_workflow")?,
            by_user: tree("by_user")?,
            by_time: tree("by_time")?,
        };
        let storage = SledStorage {
            db: Arc::clone(&db),
            trees: Arc::new(trees),
            durability: self.durability,
            read_only: self.read_only,
        };
        if self.read_only {
            return Ok(storage);
        }
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

impl SledStorageBuilder {
    /// For a read-only open: fails unless `db` already holds every tree of the prefix, since
    /// `open_tree` would create a missing one.
    fn check_trees(&self, db: &sled::Db) -> Result<()> {
        let names = db.tree_names();
        let has = |tree: &str| {
            let wanted = format!("{}{tree}", self.prefix);
            names.iter().any(|name| name.as_ref() == wanted.as_bytes())
        };
        if !TREES.iter().any(|tree| has(tree)) {
            return Err(Error::Storage {
                message: format!(
                    "the store `{}` holds no weft data under the tree prefix `{}`; check the path and the prefix",
                    self.path.display(),
                    self.prefix
                ),
                source: None,
            });
        }
        match TREES.iter().find(|tree| !has(tree)) {
            Some(missing) => Err(Error::Storage {
                message: format!(
                    "the store `{}` lacks its tree `{}{missing}`, and a read-only open does not create it; open the store once for writing (any weft program that uses it does), then retry",
                    self.path.display(),
                    self.prefix
                ),
                source: None,
            }),
            None => Ok(()),
        }
    }
}

/// The trees of one prefix, without the prefix: the fields of [`Trees`].
const TREES: [&str; 7] = [
    "sessions",
    "runs",
    "run_ids",
    "running",
    "by_workflow",
    "by_user",
    "by_time",
];

fn open_db(path: &Path, lock_wait: Duration) -> Result<Arc<OpenDb>> {
    let shown = path.display().to_string();
    std::fs::create_dir_all(path).map_err(|err| Error::Storage {
        message: format!(
            "could not create the store directory `{shown}`; check the path and its permissions"
        ),
        source: Some(Box::new(err)),
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
        other => Error::Storage {
            message: format!("could not open the store `{shown}`; check that it is a weft store and its permissions"),
            source: Some(Box::new(other)),
        },
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
            read_only: false,
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

    /// Refuses a write on a store opened read-only.
    fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::Storage {
                message: format!(
                    "the store `{}` was opened read-only; open it without `read_only()` to change it",
                    self.db.path.display()
                ),
                source: None,
            });
        }
        Ok(())
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
        future::ready(self.delete_session_now(session_id)).boxed()
    }

    fn list_sessions(&self, filter: SessionFilter) -> BoxFuture<'_, Result<Vec<WorkflowSession>>> {
        future::ready(self.list_now(filter).map(|listing| listing.sessions)).boxed()
    }

    fn list_sessions_counted(
        &self,
        filter: SessionFilter,
    ) -> BoxFuture<'_, Result<SessionListing>> {
        future::ready(self.list_now(filter)).boxed()
    }

    fn put_run(&self, run: RunRecord) -> BoxFuture<'_, Result<()>> {
        future::ready(self.put_run_now(run)).boxed()
    }

    fn read_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        future::ready(self.read_runs_now(session_id)).boxed()
    }

    fn count_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<usize>> {
        future::ready(self.count_runs_now(session_id)).boxed()
    }

    fn read_run<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>>> {
        future::ready(self.read_run_now(run_id)).boxed()
    }

    fn read_session_blocking(&self, session_id: &str) -> Result<Option<WorkflowSession>> {
        self.read_session_now(session_id)
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
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}
