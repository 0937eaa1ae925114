//! [`RunScope`]: what one workflow run shares with everything working for it (its agents and
//! their clones in spawned tasks, its steps, its log writer): the run id, the store, the
//! journal loaded for the run, the occurrence counters of journal keys, and which item
//! identities are logged at which seq.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::faults::fault_point;
use super::handle::Live;
use super::identity;
use super::interrupt::Pause;
use crate::response::now_millis;
use crate::storage::{JournalEntry, JournalKind, StorageRef};
use crate::Result;

/// The log as the run's writer left it: shared, so the run's record can be written from a
/// `Drop`.
#[derive(Debug, Default)]
pub(crate) struct LogState {
    /// The seq of the last logged item (0: none).
    pub last_seq: u64,
    /// The run's answer so far: `RunContent` deltas in seq order, discarded ranges removed.
    pub content: String,
    /// Identities logged (and not withdrawn), with their seq.
    pub logged: HashMap<String, u64>,
}

/// One workflow run, as its agents, steps and log writer see it. Shared (`Arc`) for the
/// length of the run.
pub(crate) struct RunScope {
    run_id: String,
    /// The fencing token of this worker's claim on the run: every write of the run carries it.
    fence: u64,
    store: StorageRef,
    /// The journal, by key: loaded when a run resumes, empty for a new run.
    journal: Mutex<HashMap<String, JournalEntry>>,
    /// Occurrences taken so far of each key prefix.
    counters: Mutex<HashMap<String, u64>>,
    log: Mutex<LogState>,
    live: Arc<Live>,
    /// The pause an interrupt asked for, if one did (the first one wins).
    pause: Mutex<Option<Pause>>,
    /// The run's span and session, for its agents' and steps' spans.
    trace: RunTrace,
}

/// What a run's telemetry needs of it: its `invoke_workflow` span (the parent of its agents'
/// and steps' spans, also in spawned tasks) and its session (the spans' conversation).
#[derive(Clone, Debug)]
pub(crate) struct RunTrace {
    pub span: tracing::Span,
    pub session_id: String,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a plain insert or read: a poisoned lock holds whole data.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RunScope {
    /// The scope of a run: `journal` and `log` are empty for a new run, loaded for a resumed
    /// one.
    pub fn new(
        run_id: String,
        fence: u64,
        store: StorageRef,
        journal: Vec<JournalEntry>,
        log: LogState,
        live: Arc<Live>,
        trace: RunTrace,
    ) -> Arc<RunScope> {
        let journal = journal
            .into_iter()
            .map(|entry| (entry.key.clone(), entry))
            .collect();
        Arc::new(RunScope {
            run_id,
            fence,
            store,
            journal: Mutex::new(journal),
            counters: Mutex::new(HashMap::new()),
            log: Mutex::new(log),
            live,
            pause: Mutex::new(None),
            trace,
        })
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The fencing token the run's writes carry.
    pub fn fence(&self) -> u64 {
        self.fence
    }

    pub fn store(&self) -> &StorageRef {
        &self.store
    }

    /// The run's `invoke_workflow` span.
    pub fn span(&self) -> &tracing::Span {
        &self.trace.span
    }

    /// The session the run belongs to (its conversation, in spans).
    pub fn session_id(&self) -> &str {
        &self.trace.session_id
    }

    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    pub fn log(&self) -> MutexGuard<'_, LogState> {
        lock(&self.log)
    }

    /// Records that an interrupt paused the run (an earlier pause of this run is kept: the
    /// run is continued with the answer to that one first).
    pub fn pause(&self, pause: Pause) {
        lock(&self.pause).get_or_insert(pause);
    }

    /// The pause an interrupt asked for, if one did.
    pub fn paused(&self) -> Option<Pause> {
        lock(&self.pause).clone()
    }

    /// The full key for the next occurrence of `prefix` in this run.
    pub fn next_key(&self, prefix: &str) -> String {
        let mut counters = lock(&self.counters);
        let count = counters.entry(prefix.to_string()).or_insert(0);
        let key = identity::key(prefix, *count);
        *count += 1;
        key
    }

    /// The journal entry under `key`, if the work was done before.
    pub fn journaled(&self, key: &str) -> Option<JournalEntry> {
        lock(&self.journal).get(key).cloned()
    }

    /// The seqs of those of `identities` that are logged.
    pub fn seqs_of<'a>(&self, identities: impl IntoIterator<Item = &'a str>) -> Vec<u64> {
        let log = self.log();
        let mut seqs: Vec<u64> = identities
            .into_iter()
            .filter_map(|identity| log.logged.get(identity).copied())
            .collect();
        seqs.sort_unstable();
        seqs
    }

    /// Journals a completed piece of work (awaited: the entry is in the store when this
    /// returns). `seqs` name only items already logged, so the entry never gets to the store
    /// without its events.
    pub async fn write_journal(
        &self,
        key: String,
        kind: JournalKind,
        output: serde_json::Value,
        seqs: Vec<u64>,
    ) -> Result<()> {
        let entry = JournalEntry {
            key,
            kind,
            output,
            seqs,
            created_at: now_millis(),
        };
        self.store
            .append_log(&self.run_id, self.fence, Vec::new(), vec![entry.clone()])
            .await?;
        fault_point("journal.written");
        lock(&self.journal).insert(entry.key.clone(), entry);
        Ok(())
    }
}

impl fmt::Debug for RunScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunScope")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}
