//! Where workflow sessions and runs are kept.
//!
//! [`WorkflowStorage`] is object-safe and async. Sessions and runs are separate records: a run
//! is written when it starts and updated when it ends, never rewritten with the whole history
//! (Agno rewrites every run on every save: O(n²) bytes over a session's life). Session writes
//! are compare-and-swap on [`WorkflowSession::version`], so two writers never silently lose an
//! update: the loser gets [`Error::Conflict`](crate::Error::Conflict).
//!
//! Many workers may share one store (`weft-postgres`): a worker claims a run before it writes
//! it ([`WorkflowStorage::claim_run`]), and every write of the run carries the claim's fencing
//! token, so a worker whose claim lapsed and was taken over can never overwrite its successor.
//!
//! [`MemoryStorage`] keeps everything in process (tests, demos); `SledStorage` (embedded, on
//! disk) is the persistent default.

mod claims;
#[cfg(any(feature = "sled", test))]
pub(crate) mod envelope;
mod memory;
mod records;
#[cfg(feature = "sled")]
mod sled;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::Result;

#[cfg(feature = "sled")]
pub use self::sled::{
    Durability, SledStorage, SledStorageBuilder, DEFAULT_LOCK_WAIT, DEFAULT_PREFIX,
};
pub(crate) use claims::ClaimTable;
pub use claims::{check_fence, worker_id, RunClaim};
pub use memory::MemoryStorage;
pub use records::{
    JournalEntry, JournalKind, LogHead, LoggedEvent, RunRecord, RunStatus, SessionFilter,
    SessionListing, WorkflowSession,
};

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
/// - Claims and fencing: a run is written by the worker holding its claim
///   ([`claim_run`](Self::claim_run)). Every write of a run carries the claim's fencing token
///   (`RunRecord::fence` for [`put_run`](Self::put_run) and
///   [`save_blocking`](Self::save_blocking); the `fence` argument of
///   [`upsert_session_for_run`](Self::upsert_session_for_run),
///   [`append_log`](Self::append_log) and [`reserve_seqs`](Self::reserve_seqs)) and is refused
///   with [`Error::Fenced`](crate::Error::Fenced), writing nothing, when the run's current
///   claim has another token, or when the run has no claim and the write carries a token
///   ([`check_fence`]). A run record written `interrupted` or `paused` releases the claim it
///   was written with (another worker may claim it at once); one written `completed`, `failed` or
///   `cancelled` ends it (a store may forget it, refusing that token from then on).
pub trait WorkflowStorage: Send + Sync + fmt::Debug {
    /// The session, if it exists.
    fn read_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<WorkflowSession>>>;

    /// Writes the session (compare-and-swap, see above) and returns it as stored.
    fn upsert_session(&self, session: WorkflowSession) -> BoxFuture<'_, Result<WorkflowSession>>;

    /// Deletes the session and its runs, their event logs and journals too, all at once (a
    /// store that can should do it in one transaction); `false` if it did not exist.
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

    /// Inserts or replaces a run record (fenced by `run.fence`, see above).
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

    /// Appends to a run's event log and journal in one atomic write: `events` continue the
    /// log (the first `seq` is the run's last logged `seq` + 1 — or, only when the run's seq
    /// reservation is above its last seq, the reservation + 1: see
    /// [`reserve_seqs`](Self::reserve_seqs) — then no gaps), and every `seq` a journal entry
    /// names is in the log once the write is done (logged before, or in `events`). A batch
    /// that breaks either rule is refused with [`Error::Storage`] and nothing of it is
    /// written, so a journal entry is never stored without its events. [`check_append`]
    /// checks both rules.
    ///
    /// [`Error::Storage`]: crate::Error::Storage
    fn append_log<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        events: Vec<LoggedEvent>,
        journal: Vec<JournalEntry>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Makes sure a crash can never give a seq up to `seq` to a new item of the run: after it
    /// returns `Ok(r)` (`r >= seq`), no seq up to `r` is ever given to an item other than the
    /// one logged with it, whatever a crash loses. The log writer calls it before any client
    /// is shown the item with seq `seq`, and again only for a seq above `r`, so a seq a
    /// client saw never names another item after a resume (a client reconnecting with its
    /// last seq misses nothing and sees no seq twice).
    ///
    /// A store whose appends may be lost in a crash records `reserved = max(reserved, seq +
    /// B - 1)` durably (flushed; `B` a block of seqs, so one write covers many items) when
    /// `seq` is above its current reservation, and returns the reservation; otherwise it
    /// writes nothing. A store whose every append is durable when `append_log` returns writes
    /// no reservation: memory returns `seq`; Postgres returns `u64::MAX` (every seq is covered,
    /// so the writer never asks again); sled's `EveryEvent` may still record one, which is
    /// harmless. [`log_head`](Self::log_head) reads the reservation back;
    /// [`append_log`](Self::append_log) then lets the log jump once to `reserved + 1` when a
    /// crash left the reservation above the last seq.
    fn reserve_seqs<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        seq: u64,
    ) -> BoxFuture<'a, Result<u64>>;

    /// The run's last logged seq and its durable seq reservation (zeros for an unknown run).
    fn log_head<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<LogHead>>;

    /// Up to `limit` items of a run's event log with `seq > after_seq`, in `seq` order; none
    /// for an unknown run, or one whose log a store pruned (`SledStorageBuilder`'s
    /// `event_log_retention`).
    fn read_events<'a>(
        &'a self,
        run_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>>>;

    /// A run's journal, in the order it was written.
    fn read_journal<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<JournalEntry>>>;

    /// Runs to resume, oldest first; only those of `workflow_id` when given: runs left
    /// `interrupted` (by a process that died, found at the next open, or by a shutdown), and
    /// on a store with a [`lease`](Self::lease), runs still `running` whose claim lapsed
    /// (their worker died or stalled).
    fn interrupted_runs<'a>(
        &'a self,
        workflow_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>>>;

    /// How long a claim lasts unless its worker renews it; `None` (the default) for a store
    /// that lives in one process, where a claim is held until released and a process that
    /// dies takes its claims with it. A store shared by many processes returns its lease: a
    /// run's worker renews its claim well within it, and a worker that finds a run `running`
    /// with a lapsed claim takes the run over ([`interrupted_runs`](Self::interrupted_runs)
    /// lists it).
    fn lease(&self) -> Option<Duration> {
        None
    }

    /// Claims `run_id` for `owner` until `lease` from now (`None`: until released): taken
    /// when nobody holds the run (never claimed, its claim lapsed, or released), with a
    /// fencing token above any the run was claimed with before; `None` while another claim
    /// is live. A run need not be stored yet: a new run is claimed before it is first
    /// written.
    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a str,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, Result<Option<RunClaim>>>;

    /// Extends the claim with `fence` to `lease` from now; [`Error::Fenced`](crate::Error::Fenced)
    /// if the run was claimed again since. A released claim (the run's record was written
    /// with an end status) stays released.
    fn renew_claim<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Asks the worker that holds `run_id`'s live claim to cancel the run: how a server
    /// cancels a run another server runs. `true` when a live claim was marked (its worker
    /// checks with its renewals, every second at most, and cancels the run); `false` when
    /// no live claim holds the run (it is not in flight anywhere). The default, for a store of
    /// one process (memory, sled), is `false`: cancel through the run's own `RunHandle`.
    fn request_cancel<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<bool>> {
        let _ = run_id;
        Box::pin(async { Ok(false) })
    }

    /// Whether a cancel was asked ([`request_cancel`](Self::request_cancel)) for `run_id`
    /// while the claim with `fence` holds it (`false` once the claim is not the run's). The
    /// default is `false`.
    fn cancel_requested<'a>(&'a self, run_id: &'a str, fence: u64) -> BoxFuture<'a, Result<bool>> {
        let _ = (run_id, fence);
        Box::pin(async { Ok(false) })
    }

    /// Writes the session (compare-and-swap, as [`upsert_session`](Self::upsert_session))
    /// for the run `run_id`, which saves its state: refused with
    /// [`Error::Fenced`](crate::Error::Fenced), writing nothing, when `fence` is not the run's
    /// current claim, so a worker that lost the run cannot save over its successor.
    fn upsert_session_for_run<'a>(
        &'a self,
        session: WorkflowSession,
        run_id: &'a str,
        fence: u64,
    ) -> BoxFuture<'a, Result<WorkflowSession>>;

    /// [`read_session`](Self::read_session) without an async executor, for the same `Drop`
    /// path as [`save_blocking`](Self::save_blocking) (re-reading after a lost
    /// compare-and-swap). The default polls `read_session` on the current thread.
    fn read_session_blocking(&self, session_id: &str) -> Result<Option<WorkflowSession>> {
        futures::executor::block_on(self.read_session(session_id))
    }

    /// Writes a run record and, if given, the session, without an async executor; fenced by
    /// `run.fence` (the session too). The default polls the async methods on the current
    /// thread.
    fn save_blocking(
        &self,
        session: Option<WorkflowSession>,
        run: RunRecord,
    ) -> Result<Option<WorkflowSession>> {
        futures::executor::block_on(async {
            let stored = match session {
                Some(session) => Some(
                    self.upsert_session_for_run(session, &run.run_id, run.fence)
                        .await?,
                ),
                None => None,
            };
            self.put_run(run).await?;
            Ok(stored)
        })
    }
}

/// The rules of [`WorkflowStorage::append_log`], checked before a store writes anything:
/// `events` continue the log after `head.last_seq` (the run's last logged seq) without gaps —
/// or, only when `head.reserved_seq > head.last_seq` (a crash lost logged items, some perhaps
/// shown to a client), after `head.reserved_seq`: the log's one documented jump — and each
/// journal entry names only seqs the log will hold (at most the last logged seq, or in
/// `events`).
pub fn check_append(
    run_id: &str,
    head: LogHead,
    events: &[LoggedEvent],
    journal: &[JournalEntry],
) -> Result<()> {
    let refuse = |message: String| crate::Error::Storage {
        message: format!("refused an append to the log of run `{run_id}`: {message}"),
        source: None,
    };
    let last = head.last_seq;
    // Where the batch starts: right after the last seq, or right after the reservation.
    let base = match events.first() {
        Some(first)
            if head.reserved_seq > last && first.seq == head.reserved_seq.saturating_add(1) =>
        {
            head.reserved_seq
        }
        _ => last,
    };
    for (offset, event) in events.iter().enumerate() {
        let expected = base.saturating_add(offset as u64).saturating_add(1);
        if event.seq != expected || event.item.seq != Some(event.seq) {
            let allowed = if head.reserved_seq > last {
                format!(
                    "expected {expected} (the log continues after seq {last}, or after the reservation {})",
                    head.reserved_seq
                )
            } else {
                format!("expected {expected}")
            };
            return Err(refuse(format!(
                "item {offset} has seq {} (item.seq {:?}), {allowed}",
                event.seq, event.item.seq
            )));
        }
    }
    let batch = base.saturating_add(1)..=base.saturating_add(events.len() as u64);
    for entry in journal {
        if let Some(missing) = entry
            .seqs
            .iter()
            .find(|seq| **seq == 0 || (**seq > last && !batch.contains(*seq)))
        {
            return Err(refuse(format!(
                "journal entry `{}` names seq {missing}, which the log does not hold",
                entry.key
            )));
        }
    }
    Ok(())
}

/// The default of [`LogLimits::max_event_bytes`]: 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;
/// The default of [`LogLimits::max_journal_entry_bytes`]: 16 MiB.
pub const DEFAULT_MAX_JOURNAL_ENTRY_BYTES: usize = 16 << 20;

/// The largest item a store's event log and journal take, measured as stored (the record's
/// JSON). An [`append_log`](WorkflowStorage::append_log) holding a larger one is refused with
/// [`Error::LogRecordTooLarge`](crate::Error::LogRecordTooLarge) naming the limit, and nothing
/// of it is written. Set with `SledStorageBuilder::log_limits` or
/// [`MemoryStorage::with_log_limits`].
///
/// ```
/// use weft_runtime::storage::LogLimits;
/// let limits = LogLimits { max_event_bytes: 64 << 10, ..LogLimits::default() };
/// assert_eq!(limits.max_journal_entry_bytes, 16 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLimits {
    /// The most bytes one logged event may take ([`DEFAULT_MAX_EVENT_BYTES`], 1 MiB, by
    /// default).
    pub max_event_bytes: usize,
    /// The most bytes one journal entry may take (a model call's recorded answer, a tool's
    /// result, a step's output; [`DEFAULT_MAX_JOURNAL_ENTRY_BYTES`], 16 MiB, by default).
    pub max_journal_entry_bytes: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_journal_entry_bytes: DEFAULT_MAX_JOURNAL_ENTRY_BYTES,
        }
    }
}

impl LogLimits {
    /// Refuses a logged event whose stored JSON is `size` bytes, if over the limit, with
    /// [`Error::LogRecordTooLarge`](crate::Error::LogRecordTooLarge) (for stores outside this
    /// crate too, such as `weft-postgres`).
    pub fn check_event(&self, run_id: &str, event: &LoggedEvent, size: usize) -> Result<()> {
        if size > self.max_event_bytes {
            return Err(crate::Error::LogRecordTooLarge {
                run_id: run_id.to_string(),
                what: "logged event",
                name: format!("seq {}", event.seq),
                size,
                max: self.max_event_bytes,
                limit: "max_event_bytes",
            });
        }
        Ok(())
    }

    /// Refuses a journal entry whose stored JSON is `size` bytes, if over the limit, with
    /// [`Error::LogRecordTooLarge`](crate::Error::LogRecordTooLarge).
    pub fn check_entry(&self, run_id: &str, entry: &JournalEntry, size: usize) -> Result<()> {
        if size > self.max_journal_entry_bytes {
            return Err(crate::Error::LogRecordTooLarge {
                run_id: run_id.to_string(),
                what: "journal entry",
                name: entry.key.clone(),
                size,
                max: self.max_journal_entry_bytes,
                limit: "max_journal_entry_bytes",
            });
        }
        Ok(())
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
