//! [`MemoryStorage`]: sessions and runs in process memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::{self, BoxFuture};
use futures::FutureExt;

use super::{
    ClaimTable, JournalEntry, LogHead, LogLimits, LoggedEvent, RunClaim, RunRecord, RunStatus,
    SessionFilter, WorkflowSession, WorkflowStorage,
};
use crate::{Error, Result};

/// An in-memory store, for tests and demos. Clones share the same data.
///
/// Event logs and journals are kept as long as their session, with the same
/// [`LogLimits`] as `SledStorage` ([`with_log_limits`](Self::with_log_limits)); there is no
/// retention setting, since nothing outlives the process.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    inner: Arc<Mutex<Inner>>,
    claims: ClaimTable,
    limits: LogLimits,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, WorkflowSession>,
    /// Runs keyed by (session id, insertion number), so a session's runs list in order.
    runs: BTreeMap<(String, u64), RunRecord>,
    run_keys: HashMap<String, (String, u64)>,
    next_run: u64,
    /// Each run's event log, in `seq` order.
    events: HashMap<String, Vec<LoggedEvent>>,
    /// Each run's journal, in the order written.
    journals: HashMap<String, Vec<JournalEntry>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStorage::default()
    }

    /// An empty store whose appends take at most these sizes (default [`LogLimits::default`]).
    pub fn with_log_limits(limits: LogLimits) -> Self {
        MemoryStorage {
            limits,
            ..MemoryStorage::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written record (every write is a
        // single insert), so a poisoned lock is safe to use.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn upsert_now(&self, mut session: WorkflowSession) -> Result<WorkflowSession> {
        let mut inner = self.lock();
        let current = inner.sessions.get(&session.session_id);
        if current.map_or(0, |s| s.version) != session.version {
            return Err(Error::Conflict {
                session_id: session.session_id,
                keys: Vec::new(),
            });
        }
        if let Some(current) = current {
            session.created_at = current.created_at;
        }
        session.version += 1;
        inner
            .sessions
            .insert(session.session_id.clone(), session.clone());
        Ok(session)
    }

    /// What a restart does to a store on disk: every run still `running` becomes
    /// `interrupted`, ready to be resumed. In memory nothing outlives the process, so tests
    /// call this to stand for a process that died mid-run.
    pub fn interrupt_running_runs(&self) -> usize {
        let mut inner = self.lock();
        let mut count = 0;
        for run in inner.runs.values_mut() {
            if run.status == RunStatus::Running {
                run.status = RunStatus::Interrupted;
                // The dead process's claim lapses; its fencing token stays refused.
                self.claims.lapse(&run.run_id);
                count += 1;
            }
        }
        count
    }

    fn append_log_now(
        &self,
        run_id: &str,
        fence: u64,
        events: Vec<LoggedEvent>,
        journal: Vec<JournalEntry>,
    ) -> Result<()> {
        self.claims.check(run_id, fence)?;
        // Measured as the sled store measures them: the record's JSON.
        for event in &events {
            self.limits.check_event(run_id, event, json_len(event)?)?;
        }
        for entry in &journal {
            self.limits.check_entry(run_id, entry, json_len(entry)?)?;
        }
        let mut inner = self.lock();
        let last = inner
            .events
            .get(run_id)
            .and_then(|log| log.last())
            .map_or(0, |event| event.seq);
        // Nothing held in memory is lost before the process is: no reservation, ever.
        let head = LogHead {
            last_seq: last,
            reserved_seq: 0,
        };
        super::check_append(run_id, head, &events, &journal)?;
        inner
            .events
            .entry(run_id.to_string())
            .or_default()
            .extend(events);
        inner
            .journals
            .entry(run_id.to_string())
            .or_default()
            .extend(journal);
        Ok(())
    }

    fn put_run_now(&self, run: RunRecord) -> Result<()> {
        self.claims.check(&run.run_id, run.fence)?;
        let (run_id, fence, status) = (run.run_id.clone(), run.fence, run.status);
        let mut inner = self.lock();
        let key = match inner.run_keys.get(&run.run_id) {
            Some(key) => key.clone(),
            None => {
                let key = (run.session_id.clone(), inner.next_run);
                inner.next_run += 1;
                inner.run_keys.insert(run.run_id.clone(), key.clone());
                key
            }
        };
        inner.runs.insert(key, run);
        drop(inner);
        // After the record is in: a claim released first could let a resume in between,
        // whose record this one would then overwrite.
        match status {
            RunStatus::Running => {}
            RunStatus::Interrupted | RunStatus::Paused => self.claims.release(&run_id, fence),
            _ => self.claims.end(&run_id, fence),
        }
        Ok(())
    }
}

/// How many bytes `value`'s JSON takes, without building it.
fn json_len<T: serde::Serialize>(value: &T) -> Result<usize> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    Ok(count.0)
}

impl WorkflowStorage for MemoryStorage {
    fn read_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<WorkflowSession>>> {
        future::ready(Ok(self.lock().sessions.get(session_id).cloned())).boxed()
    }

    fn upsert_session(&self, session: WorkflowSession) -> BoxFuture<'_, Result<WorkflowSession>> {
        future::ready(self.upsert_now(session)).boxed()
    }

    fn delete_session<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<bool>> {
        let mut inner = self.lock();
        let existed = inner.sessions.remove(session_id).is_some();
        let keys: Vec<(String, u64)> = inner
            .runs
            .range((session_id.to_string(), 0)..=(session_id.to_string(), u64::MAX))
            .map(|(key, _)| key.clone())
            .collect();
        let mut deleted = Vec::new();
        for key in keys {
            if let Some(run) = inner.runs.remove(&key) {
                inner.run_keys.remove(&run.run_id);
                inner.events.remove(&run.run_id);
                inner.journals.remove(&run.run_id);
                deleted.push(run.run_id);
            }
        }
        drop(inner);
        self.claims.forget(&deleted);
        future::ready(Ok(existed)).boxed()
    }

    fn list_sessions(&self, filter: SessionFilter) -> BoxFuture<'_, Result<Vec<WorkflowSession>>> {
        let inner = self.lock();
        let mut sessions: Vec<WorkflowSession> = inner
            .sessions
            .values()
            .filter(|s| {
                filter
                    .workflow_id
                    .as_ref()
                    .is_none_or(|w| &s.workflow_id == w)
            })
            .filter(|s| filter.user_id.is_none() || s.user_id == filter.user_id)
            .cloned()
            .collect();
        sessions.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.session_id.cmp(&b.session_id))
        });
        let sessions = sessions
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.unwrap_or(usize::MAX))
            .collect();
        future::ready(Ok(sessions)).boxed()
    }

    fn put_run(&self, run: RunRecord) -> BoxFuture<'_, Result<()>> {
        future::ready(self.put_run_now(run)).boxed()
    }

    fn read_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        let inner = self.lock();
        let runs = inner
            .runs
            .range((session_id.to_string(), 0)..=(session_id.to_string(), u64::MAX))
            .map(|(_, run)| run.clone())
            .collect();
        future::ready(Ok(runs)).boxed()
    }

    fn read_run<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>>> {
        let inner = self.lock();
        let run = inner
            .run_keys
            .get(run_id)
            .and_then(|key| inner.runs.get(key))
            .cloned();
        future::ready(Ok(run)).boxed()
    }

    fn append_log<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        events: Vec<LoggedEvent>,
        journal: Vec<JournalEntry>,
    ) -> BoxFuture<'a, Result<()>> {
        future::ready(self.append_log_now(run_id, fence, events, journal)).boxed()
    }

    fn reserve_seqs<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        seq: u64,
    ) -> BoxFuture<'a, Result<u64>> {
        // Every append is kept as long as the process: nothing to reserve.
        future::ready(self.claims.check(run_id, fence).map(|()| seq)).boxed()
    }

    fn log_head<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<LogHead>> {
        let last_seq = self
            .lock()
            .events
            .get(run_id)
            .and_then(|log| log.last())
            .map_or(0, |event| event.seq);
        future::ready(Ok(LogHead {
            last_seq,
            reserved_seq: 0,
        }))
        .boxed()
    }

    fn read_events<'a>(
        &'a self,
        run_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>>> {
        let inner = self.lock();
        let events = inner.events.get(run_id).map_or_else(Vec::new, |log| {
            // In seq order (with at most a jump across a crash: not in this store).
            let start = log.partition_point(|event| event.seq <= after_seq);
            log[start..].iter().take(limit).cloned().collect()
        });
        future::ready(Ok(events)).boxed()
    }

    fn read_journal<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<JournalEntry>>> {
        let journal = self
            .lock()
            .journals
            .get(run_id)
            .cloned()
            .unwrap_or_default();
        future::ready(Ok(journal)).boxed()
    }

    fn interrupted_runs<'a>(
        &'a self,
        workflow_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        let inner = self.lock();
        let mut runs: Vec<RunRecord> = inner
            .runs
            .values()
            .filter(|run| run.status == RunStatus::Interrupted)
            .filter(|run| workflow_id.is_none_or(|id| run.workflow_id == id))
            .cloned()
            .collect();
        runs.sort_by_key(|run| run.created_at);
        future::ready(Ok(runs)).boxed()
    }

    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a str,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, Result<Option<RunClaim>>> {
        future::ready(Ok(self.claims.claim(run_id, owner, lease))).boxed()
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

    fn save_blocking(
        &self,
        session: Option<WorkflowSession>,
        run: RunRecord,
    ) -> Result<Option<WorkflowSession>> {
        self.claims.check(&run.run_id, run.fence)?;
        self.put_run_now(run)?;
        session.map(|s| self.upsert_now(s)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use serde_json::json;

    fn session(id: &str, version: u64) -> WorkflowSession {
        WorkflowSession {
            session_id: id.into(),
            workflow_id: "wf".into(),
            workflow_name: "Wf".into(),
            session_name: None,
            user_id: None,
            session_state: json!({}),
            version,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn upsert_is_compare_and_swap() {
        let store = MemoryStorage::new();
        let first = block_on(store.upsert_session(session("s", 0))).unwrap();
        assert_eq!(first.version, 1);
        let stale = block_on(store.upsert_session(session("s", 0)));
        assert!(matches!(stale, Err(Error::Conflict { .. })));
        assert_eq!(
            block_on(store.upsert_session(session("s", 1)))
                .unwrap()
                .version,
            2
        );
    }
}
