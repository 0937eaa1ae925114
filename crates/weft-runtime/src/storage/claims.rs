//! Claims on runs: which worker may write a run, and the fencing token its writes carry.
//!
//! [`RunClaim`] is what [`WorkflowStorage::claim_run`](super::WorkflowStorage::claim_run)
//! hands out. [`ClaimTable`] keeps the claims of a store that lives in one process (memory,
//! sled): a claim there needs no lease, since a process that dies takes its claims with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::response::now_millis;
use crate::{Error, Result};

/// A worker's claim on a run: while it holds it, only its writes to the run are taken.
///
/// Every write of a run ([`put_run`](super::WorkflowStorage::put_run) through
/// [`RunRecord::fence`](super::RunRecord::fence), [`append_log`](super::WorkflowStorage::append_log),
/// [`reserve_seqs`](super::WorkflowStorage::reserve_seqs)) carries the claim's `fence`; a store
/// refuses it with [`Error::Fenced`] once the run was claimed again with a higher one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunClaim {
    /// The run claimed.
    pub run_id: String,
    /// Who holds it (a worker id: host and process, for people reading it).
    pub owner: String,
    /// The fencing token: 1 for a run's first claim, one more for every claim after.
    pub fence: u64,
    /// When the claim lapses unless renewed, in milliseconds since the Unix epoch
    /// (`u64::MAX`: held until released).
    pub expires_at: u64,
}

/// When a claim taken or renewed now with this lease lapses (`None`: never).
fn expiry(lease: Option<Duration>) -> u64 {
    match lease {
        Some(lease) => {
            now_millis().saturating_add(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX))
        }
        None => u64::MAX,
    }
}

/// The claims of an in-process store, shared by its clones. Fencing tokens come from one
/// counter for all runs, so they only ever grow, and a run that ended is forgotten (a write
/// with its old token then finds no claim and is refused): the table holds the runs in
/// flight and those left interrupted, not every run ever made.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClaimTable {
    claims: Arc<Mutex<Claims>>,
}

#[derive(Debug, Default)]
struct Claims {
    by_run: HashMap<String, RunClaim>,
    /// The last fencing token handed out.
    last_fence: u64,
}

impl ClaimTable {
    fn lock(&self) -> MutexGuard<'_, Claims> {
        // Every change is one insert: a poisoned lock holds nothing half-written.
        self.claims
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the claim when nobody holds it (never claimed, lapsed or released), with the
    /// next fencing token.
    pub(crate) fn claim(
        &self,
        run_id: &str,
        owner: &str,
        lease: Option<Duration>,
    ) -> Option<RunClaim> {
        let mut claims = self.lock();
        if claims
            .by_run
            .get(run_id)
            .is_some_and(|held| held.expires_at > now_millis())
        {
            return None;
        }
        claims.last_fence = claims.last_fence.saturating_add(1);
        let claim = RunClaim {
            run_id: run_id.to_string(),
            owner: owner.to_string(),
            fence: claims.last_fence,
            expires_at: expiry(lease),
        };
        claims.by_run.insert(run_id.to_string(), claim.clone());
        Some(claim)
    }

    /// Extends the claim with `fence`, if it is still the run's current one (a released claim
    /// is left released).
    pub(crate) fn renew(&self, run_id: &str, fence: u64, lease: Option<Duration>) -> Result<()> {
        let mut claims = self.lock();
        let current = claims.by_run.get(run_id).map_or(0, |claim| claim.fence);
        match claims.by_run.get_mut(run_id) {
            Some(claim) if claim.fence == fence => {
                // A released claim stays released: a renewal racing the run's last write
                // cannot hold the run again.
                if claim.expires_at != 0 {
                    claim.expires_at = expiry(lease);
                }
                Ok(())
            }
            _ => Err(fenced(run_id, fence, current)),
        }
    }

    /// Refuses a write of `run_id` made with `fence` when the run's claim has another fence
    /// ([`check_fence`]).
    pub(crate) fn check(&self, run_id: &str, fence: u64) -> Result<()> {
        check_fence(
            run_id,
            fence,
            self.lock().by_run.get(run_id).map(|c| c.fence),
        )
    }

    /// Releases the claim with `fence` (the run was interrupted): the next
    /// [`claim`](Self::claim) takes it at once.
    pub(crate) fn release(&self, run_id: &str, fence: u64) {
        if let Some(claim) = self.lock().by_run.get_mut(run_id) {
            if claim.fence == fence {
                claim.expires_at = 0;
            }
        }
    }

    /// Forgets the claim with `fence` of a run that ended (completed, failed, cancelled).
    pub(crate) fn end(&self, run_id: &str, fence: u64) {
        let mut claims = self.lock();
        if claims
            .by_run
            .get(run_id)
            .is_some_and(|claim| claim.fence == fence)
        {
            claims.by_run.remove(run_id);
        }
    }

    /// Lets the run's claim lapse, whoever holds it (its worker died): the next claim takes
    /// it with a higher fencing token.
    pub(crate) fn lapse(&self, run_id: &str) {
        if let Some(claim) = self.lock().by_run.get_mut(run_id) {
            claim.expires_at = 0;
        }
    }

    /// Forgets the claims of deleted runs.
    pub(crate) fn forget(&self, run_ids: &[String]) {
        let mut claims = self.lock();
        for run_id in run_ids {
            claims.by_run.remove(run_id);
        }
    }
}

/// The fencing rule every store applies to a write of `run_id` made with `fence`, given the
/// run's current claim's token (`None`: the store holds no claim on the run): refused when
/// the run's claim has another token, or when it has none and the write carries one (the
/// claim ended with the run, or the run was deleted). A write without a token (`fence` 0) of
/// a run nobody claims is taken: records written before claims existed, or by tools that
/// write runs directly.
pub fn check_fence(run_id: &str, fence: u64, current: Option<u64>) -> Result<()> {
    match current {
        Some(current) if current != fence => Err(fenced(run_id, fence, current)),
        None if fence != 0 => Err(fenced(run_id, fence, 0)),
        _ => Ok(()),
    }
}

fn fenced(run_id: &str, fence: u64, current: u64) -> Error {
    Error::Fenced {
        run_id: run_id.to_string(),
        fence,
        current,
    }
}

/// This process's worker id, as claims name their owner: `host:pid`.
pub fn worker_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "localhost".to_string());
        format!("{host}:{}", std::process::id())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_taken_once_until_it_lapses_or_is_released() {
        let table = ClaimTable::default();
        let first = table.claim("r", "a", None).unwrap();
        assert_eq!(first.fence, 1);
        assert!(table.claim("r", "b", None).is_none(), "held");
        table.release("r", 1);
        let second = table.claim("r", "b", Some(Duration::ZERO)).unwrap();
        assert_eq!(second.fence, 2);
        // A zero lease lapses at once: the next claim takes over.
        let third = table.claim("r", "c", None).unwrap();
        assert_eq!(third.fence, 3);
        assert_eq!(
            table.claim("other", "c", None).unwrap().fence,
            4,
            "one counter"
        );
        assert!(matches!(
            table.check("r", 2),
            Err(Error::Fenced {
                fence: 2,
                current: 3,
                ..
            })
        ));
        assert!(table.renew("r", 2, None).is_err());
        table.check("r", 3).unwrap();
        table.check("never-claimed", 0).unwrap();
        // A run that ended is forgotten: its token is refused from then on.
        table.end("r", 3);
        assert!(table.check("r", 3).is_err());
        table.check("r", 0).unwrap();
        assert_eq!(table.claim("r", "d", None).unwrap().fence, 5);
    }
}
