//! [`SledStorage`]: the embedded, on-disk default store.
//!
//! Sessions and runs live in separate trees (layout in `keys`), every record in a versioned
//! envelope ([`envelope`](super::envelope)). Session writes and deletes are transactions that
//! keep the by-workflow, by-user and by-time indexes in step (`sessions`); listings and
//! pagination walk an index, so a page costs what it returns. A run is written when it starts
//! and rewritten only when it ends, and small `running` and `interrupted` trees list the runs
//! in flight and those left by a dead process (`runs`); a session's history is never rewritten
//! whole. Each run's event log and journal are trees of their own (`log`): an append of items
//! alone is plain inserts checked against the run's head cached in memory, one carrying
//! journal entries is one transaction with its items.
//!
//! sled allows one process per store: a second process gets [`Error::StoreLocked`]. Within one
//! process, opening the same path again shares the open database. sled releases its file lock
//! from a background IO thread a moment after the last handle is dropped, so `open` waits up
//! to [`SledStorageBuilder::lock_wait`] (default 500 ms) for a lock that is being released
//! before it reports the store as locked.
//!
//! When the store opens for writing: a store written by weft 0.1.0 is migrated once (`migrate`:
//! each run's stored items move into its event log); runs left `running` by a process that
//! died are marked [`RunStatus::Interrupted`](super::RunStatus::Interrupted) (only the `running`
//! tree is read, so this costs nothing per stored run); and with
//! [`event_log_retention`](SledStorageBuilder::event_log_retention), the logs and journals of
//! runs that ended longer ago are pruned. A store opened
//! [`read_only`](SledStorageBuilder::read_only) is left exactly as it is.

mod keys;
mod log;
mod migrate;
mod runs;
mod sessions;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
#[cfg(test)]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use futures::future::{self, BoxFuture};
use futures::FutureExt;
use sled::transaction::TransactionError;

use super::{
    ClaimTable, JournalEntry, LogHead, LogLimits, LoggedEvent, RunClaim, RunRecord, SessionFilter,
    SessionListing, WorkflowSession, WorkflowStorage,
};
use crate::{Error, Result};

/// When sled's buffers are forced to disk (`fsync`), for [`SledStorage`].
///
/// sled keeps recent writes in memory and writes them out when told to (a flush) or by
/// itself every 500 ms; a crash (`kill -9`, power loss) loses what was not yet out. What each
/// mode flushes after, and so what a crash can lose:
///
/// | mode | flushes after | a crash can lose |
/// |---|---|---|
/// | `EveryEvent` | every write: each log append, run record, session write, deletion | nothing written before it returned |
/// | `EveryStep` (default) | each log append that carries a journal entry (a completed model call, tool call or step), each run record (start and end, `interrupted` marks), each seq reservation (a run's first item shown, then one per 64), each deletion | of a run in flight: the items logged since its last flush (deltas of a model call in flight, items its code yielded since), so a resume repeats at most the work in flight, never a completed step — never their seqs (see below); session writes outside a run (`rename_session`, `load_session` edits) since the last flush |
/// | `RunEnd` | each run record with a final status (`completed`, `failed`, `cancelled`, `interrupted`), each seq reservation, each deletion | of a run in flight: everything since the last flush, its journal too (a resume may repeat completed model calls, tool calls and steps), possibly its `running` record if it had shown no item yet (then the run is not found `interrupted`, it is gone); nothing of a run that ended |
/// | `Os` | nothing (sled's own flush every 500 ms; seq reservations are written, not flushed) | the last ~500 ms of writes of any kind, a run's final record too, and seq reservations: a resumed run may give a seq a client saw to another item |
///
/// In every mode the log and the journal stay consistent: an append carrying journal entries
/// (with its items) is one atomic sled batch written after every item before it, and sled
/// recovers a prefix of its log, so after a crash a journal entry is never stored without the
/// items it names, and a run's log has no gap. Items a client was shown may be lost in every mode
/// but `EveryEvent`, but (except with `Os`) never their seqs: before an item is shown, its seq
/// is covered by the run's durable seq reservation (`WorkflowStorage::reserve_seqs`: one
/// flushed write per 64 seqs, none with `EveryEvent`, whose appends are all flushed). A
/// resumed run whose log ends below its reservation continues right above it, first with a
/// `ContentDiscarded {"from_seq": N}` item withdrawing the lost text (`N` at most the first
/// lost seq), so a client that reconnects with its last seq misses nothing, sees no seq
/// twice, and `durable::answer` gives it the uninterrupted answer. The log is then gapless but
/// for that one jump across the crash. [`SledStorage::flush`] forces everything out in any
/// mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// After every write; nothing acknowledged is ever lost, and every item a client received
    /// is on disk. The slowest: one `fsync` per logged item.
    EveryEvent,
    /// After every completed step (an append carrying a journal entry), every run record and
    /// every seq reservation (one per 64 items shown): a crash never loses a completed model
    /// call, tool call or step, only the streamed items of the work in flight — never their
    /// seqs, so a reconnecting client still gets the uninterrupted answer.
    #[default]
    EveryStep,
    /// When a run ends (a run record with a final status): a crash can lose the work of the
    /// runs in flight, never a run that ended.
    RunEnd,
    /// Never forced: sled writes in the background every 500 ms. A crash may lose the last
    /// half second.
    Os,
}

impl Durability {
    /// weft 0.1.0's name for [`Durability::EveryEvent`] (which flushes after every write,
    /// event log appends included).
    #[deprecated(since = "0.2.0", note = "renamed `Durability::EveryEvent`")]
    #[allow(non_upper_case_globals)]
    pub const EveryWrite: Durability = Durability::EveryEvent;
}

/// What a write was, for [`Durability`]'s flush decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    /// A session upsert.
    Session,
    /// A run record; `ended` when its status is final.
    Run { ended: bool },
    /// A log append; `journal` when it carried a journal entry.
    Log { journal: bool },
    /// A session's deletion.
    Deletion,
    /// A run's seq reservation (`WorkflowStorage::reserve_seqs`; never with `EveryEvent`).
    Reservation,
}

impl Durability {
    /// Whether a write of this kind is flushed at once.
    fn flushes(self, written: Written) -> bool {
        match self {
            Durability::EveryEvent => true,
            Durability::EveryStep => match written {
                Written::Session => false,
                Written::Log { journal } => journal,
                Written::Run { .. } | Written::Deletion | Written::Reservation => true,
            },
            Durability::RunEnd => match written {
                Written::Run { ended } => ended,
                Written::Deletion | Written::Reservation => true,
                Written::Session | Written::Log { .. } => false,
            },
            Durability::Os => false,
        }
    }
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
    /// The largest logged event and journal entry an append takes.
    limits: LogLimits,
    /// Read-only, and the store is not (entirely) migrated: run records of format 1 may
    /// still hold their items, which `read_events` then serves.
    legacy: bool,
    /// The claims on this prefix's runs: in process, shared by every handle on the database
    /// (sled's lock keeps any other process out, and a process that dies takes its claims
    /// with it).
    claims: ClaimTable,
    /// How many flushes the durability mode asked for (tests count them).
    #[cfg(test)]
    flushes: Arc<AtomicUsize>,
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
    limits: LogLimits,
    retention: Option<Duration>,
}

/// How long [`SledStorageBuilder::open`] waits for a lock being released by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(500);

struct OpenDb {
    db: sled::Db,
    path: PathBuf,
    /// Prefixes whose interrupted runs were already reconciled in this process.
    reconciled: Mutex<HashSet<String>>,
    /// The heads of the runs whose logs were read or written in this process (see `log`),
    /// keyed by the events tree's name and the run's length-prefixed id: shared by every
    /// handle on the database, so appends through any of them check against the same head.
    heads: Mutex<HashMap<Vec<u8>, keys::Head>>,
    /// Each prefix's claims on its runs.
    claims: Mutex<HashMap<String, ClaimTable>>,
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
    /// The event log, journal and their indexes: always there when writable; missing when a
    /// read-only open meets a store written by weft 0.1.0 (which had none of them).
    log: Option<LogTrees>,
}

/// The trees added with the event log (layout 2), see `keys`.
struct LogTrees {
    events: sled::Tree,
    journal: sled::Tree,
    log_heads: sled::Tree,
    interrupted: sled::Tree,
    ended: sled::Tree,
    meta: sled::Tree,
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

    /// When writes are forced to disk (default [`Durability::EveryStep`]; the table on
    /// [`Durability`] says what each mode can lose in a crash).
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

    /// The largest logged event and journal entry an append takes (default
    /// [`LogLimits::default`]: 1 MiB and 16 MiB); a larger one is refused with
    /// [`Error::LogRecordTooLarge`] and nothing of its append is written.
    pub fn log_limits(mut self, limits: LogLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Prunes old event logs: each writable open deletes the event logs and journals of runs
    /// that ended (`completed`, `failed` or `cancelled`) longer ago than `retention`. Their
    /// run records stay (status, content, metrics, `last_seq`); `read_events` returns nothing
    /// for them. Runs in flight and `interrupted` ones (which may be resumed) are never pruned.
    /// Default: logs are kept as long as their session.
    pub fn event_log_retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Opens the store for reading only, for tools that inspect it (the `weft` CLI's `list`
    /// and `show`): the store must exist (it is not created, nor are its trees), runs left
    /// `running` by a process that died are reported as they are (not marked `interrupted`),
    /// and every write returns [`Error::Storage`]. sled itself still takes the store's lock.
    /// A store written by weft 0.1.0 is read as it is, not migrated: each run's stored items
    /// are served by `read_events` as the migration will number them (`seq` 1, 2, …).
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
        let log = if self.read_only && !self.has_log_trees(&db.db) {
            None
        } else {
            Some(LogTrees {
                events: tree("events")?,
                journal: tree("journal")?,
                log_heads: tree("log_heads")?,
                interrupted: tree("interrupted")?,
                ended: tree("ended")?,
                meta: tree("meta")?,
            })
        };
        let trees = Trees {
            sessions: tree("sessions")?,
            runs: tree("runs")?,
            run_ids: tree("run_ids")?,
            running: tree("running")?,
            by_workflow: tree("by_workflow")?,
            by_user: tree("by_user")?,
            by_time: tree("by_time")?,
            log,
        };
        let legacy = self.read_only && !migrate::is_current(trees.log.as_ref())?;
        let claims = db
            .claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(self.prefix.clone())
            .or_default()
            .clone();
        let storage = SledStorage {
            claims,
            db: Arc::clone(&db),
            trees: Arc::new(trees),
            durability: self.durability,
            read_only: self.read_only,
            limits: self.limits,
            legacy,
            #[cfg(test)]
            flushes: Arc::default(),
        };
        if self.read_only {
            return Ok(storage);
        }
        storage.migrate()?;
        let first = db
            .reconciled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(self.prefix.clone());
        if first {
            storage.reconcile_interrupted()?;
        }
        if let Some(retention) = self.retention {
            storage.prune_ended_logs(retention)?;
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
        // The log trees are optional here: a store of weft 0.1.0 has none (`has_log_trees`).
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

impl SledStorageBuilder {
    /// Whether `db` holds every log tree of the prefix (a read-only open of a store that does
    /// not reads its runs' items from their records, as weft 0.1.0 stored them).
    fn has_log_trees(&self, db: &sled::Db) -> bool {
        let names = db.tree_names();
        LOG_TREES.iter().all(|tree| {
            let wanted = format!("{}{tree}", self.prefix);
            names.iter().any(|name| name.as_ref() == wanted.as_bytes())
        })
    }
}

/// The trees of one prefix every weft store has, without the prefix: the fields of [`Trees`]
/// but `log`.
const TREES: [&str; 7] = [
    "sessions",
    "runs",
    "run_ids",
    "running",
    "by_workflow",
    "by_user",
    "by_time",
];

/// The trees of [`LogTrees`], which a store written by weft 0.1.0 lacks.
const LOG_TREES: [&str; 6] = [
    "events",
    "journal",
    "log_heads",
    "interrupted",
    "ended",
    "meta",
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
        heads: Mutex::new(HashMap::new()),
        claims: Mutex::new(HashMap::new()),
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
            limits: LogLimits::default(),
            retention: None,
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

    /// Flushes if the durability mode wants it after this kind of write.
    fn flush_after(&self, written: Written) -> Result<()> {
        if self.durability.flushes(written) {
            #[cfg(test)]
            self.flushes.fetch_add(1, Ordering::SeqCst);
            self.flush()?;
        }
        Ok(())
    }

    /// The log trees, for a write (a writable store always has them).
    fn log_trees(&self) -> Result<&LogTrees> {
        self.writable()?;
        self.trees.log.as_ref().ok_or_else(|| Error::Storage {
            message: "the store has no event log trees; open it for writing once to migrate it"
                .to_string(),
            source: None,
        })
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

    fn append_log<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        events: Vec<LoggedEvent>,
        journal: Vec<JournalEntry>,
    ) -> BoxFuture<'a, Result<()>> {
        let appended = self
            .claims
            .check(run_id, fence)
            .and_then(|()| self.append_log_now(run_id, &events, &journal));
        future::ready(appended).boxed()
    }

    fn reserve_seqs<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        seq: u64,
    ) -> BoxFuture<'a, Result<u64>> {
        let reserved = self
            .claims
            .check(run_id, fence)
            .and_then(|()| self.reserve_now(run_id, seq));
        future::ready(reserved).boxed()
    }

    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a str,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, Result<Option<RunClaim>>> {
        let claimed = self
            .writable()
            .map(|()| self.claims.claim(run_id, owner, lease));
        future::ready(claimed).boxed()
    }

    fn renew_claim<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>> {
        future::ready(self.claims.renew(run_id, fence, lease)).boxed()
    }

    fn upsert_session_for_run<'a>(
        &'a self,
        session: WorkflowSession,
        run_id: &'a str,
        fence: u64,
    ) -> BoxFuture<'a, Result<WorkflowSession>> {
        let stored = self
            .claims
            .check(run_id, fence)
            .and_then(|()| self.upsert_now(session));
        future::ready(stored).boxed()
    }

    fn log_head<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<LogHead>> {
        future::ready(self.log_head_now(run_id)).boxed()
    }

    fn read_events<'a>(
        &'a self,
        run_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>>> {
        future::ready(self.read_events_now(run_id, after_seq, limit)).boxed()
    }

    fn read_journal<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<JournalEntry>>> {
        future::ready(self.read_journal_now(run_id)).boxed()
    }

    fn interrupted_runs<'a>(
        &'a self,
        workflow_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        future::ready(self.interrupted_runs_now(workflow_id)).boxed()
    }

    fn read_session_blocking(&self, session_id: &str) -> Result<Option<WorkflowSession>> {
        self.read_session_now(session_id)
    }

    fn save_blocking(
        &self,
        session: Option<WorkflowSession>,
        run: RunRecord,
    ) -> Result<Option<WorkflowSession>> {
        // Fenced before the session is written: a worker that lost the run saves nothing.
        self.claims.check(&run.run_id, run.fence)?;
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
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
