//! The runs this server process drives: their handles by run id, and which session each
//! keeps busy (one run in flight per session).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use weft_runtime::RunHandle;

use crate::error::ApiError;

/// The runs in flight in this process.
#[derive(Clone, Default)]
pub(crate) struct RunTable {
    inner: Arc<Mutex<Tables>>,
}

#[derive(Default)]
struct Tables {
    /// Run id -> its handle, while the run is in flight.
    runs: HashMap<String, RunHandle>,
    /// Session id -> the run id keeping it busy (`None`: a run being started).
    sessions: HashMap<String, Option<String>>,
}

/// A session claimed for a run about to start; released on drop unless the run took it.
pub(crate) struct SessionClaim {
    table: RunTable,
    session_id: String,
    taken: bool,
}

impl RunTable {
    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claims `session_id` for a new run: `409 session_busy` when a run of it is in flight.
    pub fn claim(&self, session_id: &str) -> Result<SessionClaim, ApiError> {
        let mut tables = self.lock();
        tables.forget_if_finished(session_id);
        if let Some(holder) = tables.sessions.get(session_id) {
            let busy_with = holder.as_deref().unwrap_or("a run being started");
            return Err(ApiError::conflict(
                "session_busy",
                format!(
                    "session `{session_id}` already has a run in flight ({busy_with}): wait for it to end, cancel it, or use another session"
                ),
            ));
        }
        tables.sessions.insert(session_id.to_string(), None);
        Ok(SessionClaim {
            table: self.clone(),
            session_id: session_id.to_string(),
            taken: false,
        })
    }

    /// Records a run that started (or resumed) under `claim` (or without one, for a resume
    /// whose session is not claimed yet), and forgets it when it ends.
    pub fn insert(&self, handle: RunHandle, session_id: String, claim: Option<SessionClaim>) {
        let run_id = handle.run_id().to_string();
        {
            let mut tables = self.lock();
            tables.runs.insert(run_id.clone(), handle.clone());
            tables
                .sessions
                .insert(session_id.clone(), Some(run_id.clone()));
        }
        if let Some(mut claim) = claim {
            claim.taken = true;
        }
        let table = self.clone();
        tokio::spawn(async move {
            // The outcome is the run's record (or error): the table only needs the end.
            let _ = handle.wait().await;
            let mut tables = table.lock();
            if tables
                .runs
                .get(&run_id)
                .is_some_and(|handle| handle.is_finished())
            {
                tables.runs.remove(&run_id);
            }
            if tables.sessions.get(&session_id) == Some(&Some(run_id)) {
                tables.sessions.remove(&session_id);
            }
        });
    }

    /// The handle of run `run_id`, if it is in flight here.
    pub fn get(&self, run_id: &str) -> Option<RunHandle> {
        // A run another server took over goes on there: this handle no longer follows it.
        self.lock()
            .runs
            .get(run_id)
            .filter(|handle| !handle.taken_over())
            .cloned()
    }

    /// Every run in flight.
    pub fn handles(&self) -> Vec<RunHandle> {
        self.lock().runs.values().cloned().collect()
    }
}

impl Tables {
    /// Frees `session_id` if the run holding it has ended (its cleanup task may not have run
    /// yet: a client that starts its next run right after the last one ended is not refused).
    fn forget_if_finished(&mut self, session_id: &str) {
        let finished = match self.sessions.get(session_id) {
            Some(Some(run_id)) => self
                .runs
                .get(run_id)
                .is_none_or(|handle| handle.is_finished()),
            _ => false,
        };
        if finished {
            if let Some(Some(run_id)) = self.sessions.remove(session_id) {
                self.runs.remove(&run_id);
            }
        }
    }
}

impl Drop for SessionClaim {
    fn drop(&mut self) {
        if !self.taken {
            let mut tables = self.table.lock();
            if tables.sessions.get(&self.session_id) == Some(&None) {
                tables.sessions.remove(&self.session_id);
            }
        }
    }
}
