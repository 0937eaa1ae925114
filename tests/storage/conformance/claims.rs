//! The claims and fencing contract of `WorkflowStorage`: who may write a run, and that a
//! worker that lost its claim writes nothing; generic checks the `conformance!` macro runs
//! against every store.

use std::time::Duration;

use serde_json::json;
use weft::{RunRecord, RunStatus, WorkflowSession, WorkflowStorage};

use super::{entry, everything, items};
use crate::fixtures::*;

/// Milliseconds since the Unix epoch.
fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Asserts `result` is `Error::Fenced` for run `run_id`, written with `fence` while the run's
/// token is `current`.
fn assert_fenced<T: std::fmt::Debug>(
    result: weft::Result<T>,
    run_id: &str,
    fence: u64,
    current: u64,
    what: &str,
) {
    match result {
        Err(weft::Error::Fenced {
            run_id: id,
            fence: f,
            current: c,
        }) => assert_eq!((id.as_str(), f, c), (run_id, fence, current), "{what}"),
        other => panic!("{what}: expected Fenced, got {other:?}"),
    }
}

/// A run record written under a claim.
fn fenced_run(run_id: &str, status: RunStatus, fence: u64) -> RunRecord {
    let mut record = run(run_id, "s", status);
    record.fence = fence;
    record
}

/// The first claim of a fresh store has fencing token 1 and, without a lease, is held until
/// released (`u64::MAX`); with one, until the lease from now. While a claim is live no other
/// claim of its run is taken. A run need not be stored to be claimed. Tokens only grow.
pub async fn the_first_claim_has_fence_one_and_a_live_claim_refuses_another(
    store: &dyn WorkflowStorage,
) {
    let claim = store
        .claim_run("r", "worker-a", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            claim.run_id.as_str(),
            claim.owner.as_str(),
            claim.fence,
            claim.expires_at
        ),
        ("r", "worker-a", 1, u64::MAX)
    );
    assert!(store.read_run("r").await.unwrap().is_none(), "never stored");
    for lease in [None, Some(Duration::ZERO), Some(Duration::from_secs(60))] {
        assert!(
            store
                .claim_run("r", "worker-b", lease)
                .await
                .unwrap()
                .is_none(),
            "held: {lease:?}"
        );
    }
    let before = now_millis();
    let leased = store
        .claim_run("s", "worker-a", Some(Duration::from_secs(60)))
        .await
        .unwrap()
        .unwrap();
    assert!(leased.fence > claim.fence, "{leased:?}");
    // (A database's clock may differ a little from this process's.)
    assert!(
        leased.expires_at >= before + 55_000 && leased.expires_at <= now_millis() + 65_000,
        "{} vs now {before}",
        leased.expires_at
    );
    assert!(store
        .claim_run("s", "worker-b", None)
        .await
        .unwrap()
        .is_none());
}

/// A claim with a zero lease lapses at once: the next claim takes the run with the next
/// fencing token (2, in a fresh store), and holds it.
pub async fn a_zero_lease_lapses_at_once_and_the_next_claim_gets_the_next_fence(
    store: &dyn WorkflowStorage,
) {
    let first = store
        .claim_run("r", "worker-a", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.fence, 1);
    let second = store
        .claim_run("r", "worker-b", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.fence, second.owner.as_str()), (2, "worker-b"));
    assert!(store
        .claim_run("r", "worker-c", None)
        .await
        .unwrap()
        .is_none());
}

/// What a run and its session hold, to show a refused write changed nothing.
async fn snapshot(
    store: &dyn WorkflowStorage,
) -> (
    Option<RunRecord>,
    Vec<RunRecord>,
    (Vec<weft::LoggedEvent>, Vec<weft::JournalEntry>),
    Option<WorkflowSession>,
    weft::LogHead,
) {
    (
        store.read_run("r").await.unwrap(),
        store.read_runs("s").await.unwrap(),
        everything(store, "r").await,
        store.read_session("s").await.unwrap(),
        store.log_head("r").await.unwrap(),
    )
}

/// Every write of a run made with a fencing token that is no longer the run's —
/// `put_run`, `append_log`, `reserve_seqs`, `upsert_session_for_run`, `save_blocking` — is
/// `Error::Fenced` and writes nothing; the current token's writes go through. A run nobody
/// claims takes a write without a token, and refuses one with a token.
pub async fn every_fenced_write_with_a_stale_fence_is_refused_and_writes_nothing(
    store: &dyn WorkflowStorage,
) {
    let old = store
        .claim_run("r", "worker-a", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    let record = fenced_run("r", RunStatus::Running, old.fence);
    store.put_run(record.clone()).await.unwrap();
    store
        .append_log(
            "r",
            old.fence,
            items("r", 1..=2),
            vec![entry("tool:a:1", vec![1])],
        )
        .await
        .unwrap();
    let saved = store
        .upsert_session_for_run(session("s", "wf", None, 1), "r", old.fence)
        .await
        .unwrap();
    assert_eq!(saved.version, 1);

    let new = store
        .claim_run("r", "worker-b", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((old.fence, new.fence), (1, 2), "a fresh store");
    let (stale_fence, current_fence) = (old.fence, new.fence);
    let before = snapshot(store).await;

    let mut stale = record.clone();
    stale.content = "written by a worker that lost the run".into();
    assert_fenced(
        store.put_run(stale.clone()).await,
        "r",
        stale_fence,
        current_fence,
        "put_run",
    );
    let mut stale_end = stale.clone();
    stale_end.status = RunStatus::Completed;
    assert_fenced(
        store.put_run(stale_end.clone()).await,
        "r",
        stale_fence,
        current_fence,
        "put_run (an end status)",
    );
    assert_fenced(
        store
            .append_log("r", stale_fence, items("r", 3..=3), Vec::new())
            .await,
        "r",
        stale_fence,
        current_fence,
        "append_log (items)",
    );
    assert_fenced(
        store
            .append_log(
                "r",
                stale_fence,
                Vec::new(),
                vec![entry("tool:b:1", vec![1])],
            )
            .await,
        "r",
        stale_fence,
        current_fence,
        "append_log (a journal entry)",
    );
    assert_fenced(
        store
            .append_log("r", stale_fence, Vec::new(), Vec::new())
            .await,
        "r",
        stale_fence,
        current_fence,
        "append_log (nothing)",
    );
    assert_fenced(
        store.reserve_seqs("r", stale_fence, 3).await,
        "r",
        stale_fence,
        current_fence,
        "reserve_seqs",
    );
    let mut changed = saved.clone();
    changed.session_state = json!({"by": "the worker that lost the run"});
    assert_fenced(
        store
            .upsert_session_for_run(changed.clone(), "r", stale_fence)
            .await,
        "r",
        stale_fence,
        current_fence,
        "upsert_session_for_run",
    );
    assert_fenced(
        store.save_blocking(Some(changed.clone()), stale_end.clone()),
        "r",
        stale_fence,
        current_fence,
        "save_blocking (session and run)",
    );
    assert_fenced(
        store.save_blocking(None, stale_end),
        "r",
        stale_fence,
        current_fence,
        "save_blocking (run)",
    );
    assert_eq!(snapshot(store).await, before, "nothing was written");
    assert!(
        store
            .claim_run("r", "worker-c", None)
            .await
            .unwrap()
            .is_none(),
        "the refused end record released nothing"
    );

    // The current token writes.
    let mut current = record.clone();
    current.fence = new.fence;
    current.content = "the successor's".into();
    store.put_run(current.clone()).await.unwrap();
    store
        .append_log("r", new.fence, items("r", 3..=3), Vec::new())
        .await
        .unwrap();
    assert!(store.reserve_seqs("r", new.fence, 3).await.unwrap() >= 3);
    let stored = store
        .upsert_session_for_run(changed, "r", new.fence)
        .await
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(store.read_run("r").await.unwrap().unwrap(), current);
    // A run nobody claims: a write without a token is taken, one with a token refused.
    assert_fenced(
        store
            .put_run(fenced_run("free", RunStatus::Running, 7))
            .await,
        "free",
        7,
        0,
        "a token for a run nobody claims",
    );
    assert_fenced(
        store
            .append_log("free", 3, items("free", 1..=1), Vec::new())
            .await,
        "free",
        3,
        0,
        "a token for a run nobody claims",
    );
    assert!(store.read_run("free").await.unwrap().is_none());
    store
        .put_run(fenced_run("free", RunStatus::Running, 0))
        .await
        .unwrap();
    store
        .append_log("free", 0, items("free", 1..=1), Vec::new())
        .await
        .unwrap();
}

/// Renewing with a token that is no longer the run's (or for a run never claimed) is
/// `Error::Fenced`; the current token's renewal keeps the claim live.
pub async fn renewing_with_a_stale_fence_is_fenced(store: &dyn WorkflowStorage) {
    store
        .claim_run("r", "worker-a", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    let new = store
        .claim_run("r", "worker-b", None)
        .await
        .unwrap()
        .unwrap();
    assert_fenced(
        store
            .renew_claim("r", 1, Some(Duration::from_secs(60)))
            .await,
        "r",
        1,
        new.fence,
        "renew",
    );
    store
        .renew_claim("r", new.fence, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_fenced(
        store.renew_claim("never-claimed", 1, None).await,
        "never-claimed",
        1,
        0,
        "renew of a run never claimed",
    );
    // A renewal before anyone took the lapsed claim over keeps it.
    let short = store
        .claim_run("x", "worker-a", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    store
        .renew_claim("x", short.fence, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(
        store
            .claim_run("x", "worker-b", None)
            .await
            .unwrap()
            .is_none(),
        "renewed"
    );
}

/// A run record written with a status other than `running` releases (`interrupted`,
/// `paused`) or ends (`completed`, `failed`, `cancelled`) the claim it was written with: the
/// next claim takes the run at once, with a higher token, and a renewal after the release does
/// not hold the run again. A `running` record keeps the claim. A paused run waits for an
/// answer, not for a resume: `interrupted_runs` does not list it.
pub async fn a_final_run_record_releases_its_claim(store: &dyn WorkflowStorage) {
    for (run_id, status) in [
        ("completed", RunStatus::Completed),
        ("failed", RunStatus::Failed),
        ("cancelled", RunStatus::Cancelled),
        ("interrupted", RunStatus::Interrupted),
        ("paused", RunStatus::Paused),
    ] {
        let claim = store
            .claim_run(run_id, "worker-a", None)
            .await
            .unwrap()
            .unwrap();
        store
            .put_run(fenced_run(run_id, RunStatus::Running, claim.fence))
            .await
            .unwrap();
        store
            .put_run(fenced_run(run_id, status, claim.fence))
            .await
            .unwrap();
        let next = store
            .claim_run(run_id, "worker-b", None)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{run_id}: released"));
        assert!(next.fence > claim.fence, "{run_id}: {next:?}");
    }
    store
        .put_run(fenced_run("paused-alone", RunStatus::Paused, 0))
        .await
        .unwrap();
    let waiting: Vec<String> = store
        .interrupted_runs(None)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.run_id)
        .collect();
    assert!(
        !waiting.iter().any(|run_id| run_id.starts_with("paused")),
        "{waiting:?}"
    );

    let claim = store
        .claim_run("ended", "worker-a", None)
        .await
        .unwrap()
        .unwrap();
    store
        .put_run(fenced_run("ended", RunStatus::Completed, claim.fence))
        .await
        .unwrap();
    // A renewal racing the run's last write: it may be taken or refused, never holds the run.
    let renewed = store.renew_claim("ended", claim.fence, None).await;
    assert!(
        matches!(renewed, Ok(()) | Err(weft::Error::Fenced { .. })),
        "{renewed:?}"
    );
    let next = store
        .claim_run("ended", "worker-b", None)
        .await
        .unwrap()
        .expect("a renewal after the release does not revive the claim");
    assert!(next.fence > claim.fence, "{next:?}");

    let busy = store
        .claim_run("busy", "worker-a", None)
        .await
        .unwrap()
        .unwrap();
    store
        .put_run(fenced_run("busy", RunStatus::Running, busy.fence))
        .await
        .unwrap();
    assert!(
        store
            .claim_run("busy", "worker-b", None)
            .await
            .unwrap()
            .is_none(),
        "a running record keeps the claim"
    );
}

/// A worker paused past its lease (a GC pause, a stalled VM, a debugger) cannot write after
/// its successor claimed the run: every write it makes on waking is `Fenced`, its renewal
/// too, and the successor's work stands.
pub async fn a_worker_paused_past_its_lease_cannot_write_after_its_successor_claimed_the_run(
    store: &dyn WorkflowStorage,
) {
    let lease = Duration::from_secs(60);
    let a = store
        .claim_run("r", "worker-a", Some(lease))
        .await
        .unwrap()
        .unwrap();
    store
        .put_run(fenced_run("r", RunStatus::Running, a.fence))
        .await
        .unwrap();
    store
        .append_log(
            "r",
            a.fence,
            items("r", 1..=2),
            vec![entry("model:a:h:1", vec![1, 2])],
        )
        .await
        .unwrap();
    let a_session = store
        .upsert_session_for_run(session("s", "wf", None, 1), "r", a.fence)
        .await
        .unwrap();
    assert!(
        store
            .claim_run("r", "worker-b", Some(lease))
            .await
            .unwrap()
            .is_none(),
        "a's claim is live"
    );

    // Worker a pauses past its lease. (No clock in the test: the lease running out is what
    // a renewal to a zero lease leaves, a claim that has lapsed by now.)
    store
        .renew_claim("r", a.fence, Some(Duration::ZERO))
        .await
        .unwrap();

    let b = store
        .claim_run("r", "worker-b", Some(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("the lapsed claim is taken over");
    assert!(b.fence > a.fence, "{b:?}");
    let mut b_session = a_session.clone();
    b_session.session_state = json!({"by": "b"});
    let b_session = store
        .upsert_session_for_run(b_session, "r", b.fence)
        .await
        .unwrap();
    let mut b_record = fenced_run("r", RunStatus::Running, b.fence);
    b_record.content = "b's".into();
    store.put_run(b_record.clone()).await.unwrap();
    store
        .append_log(
            "r",
            b.fence,
            items("r", 3..=3),
            vec![entry("model:a:h:2", vec![3])],
        )
        .await
        .unwrap();
    let b_state = snapshot(store).await;

    // Worker a wakes up and carries on.
    assert_fenced(
        store.renew_claim("r", a.fence, Some(lease)).await,
        "r",
        a.fence,
        b.fence,
        "a renews",
    );
    let mut a_record = fenced_run("r", RunStatus::Completed, a.fence);
    a_record.content = "a's".into();
    assert_fenced(
        store.put_run(a_record.clone()).await,
        "r",
        a.fence,
        b.fence,
        "a writes its run",
    );
    assert_fenced(
        store
            .append_log("r", a.fence, items("r", 3..=3), Vec::new())
            .await,
        "r",
        a.fence,
        b.fence,
        "a appends",
    );
    assert_fenced(
        store.reserve_seqs("r", a.fence, 3).await,
        "r",
        a.fence,
        b.fence,
        "a reserves",
    );
    let mut a_state = a_session.clone();
    a_state.session_state = json!({"by": "a"});
    assert_fenced(
        store
            .upsert_session_for_run(a_state.clone(), "r", a.fence)
            .await,
        "r",
        a.fence,
        b.fence,
        "a saves the session",
    );
    assert_fenced(
        store.save_blocking(Some(a_state), a_record),
        "r",
        a.fence,
        b.fence,
        "a's dropped stream saves",
    );
    assert_eq!(snapshot(store).await, b_state, "b's work stands");
    assert_eq!(store.read_session("s").await.unwrap().unwrap(), b_session);
    assert_eq!(store.read_run("r").await.unwrap().unwrap(), b_record);
}

/// Deleting a session ends the claims of its runs: a worker still holding one is refused
/// (`Fenced`, no claim) on every write it makes after, writing nothing (its run does not
/// come back), and the next claim of the run id takes it at once, with a higher token.
pub async fn deleting_a_session_ends_the_claims_of_its_runs(store: &dyn WorkflowStorage) {
    let claim = store
        .claim_run("r", "worker-a", Some(Duration::from_secs(60)))
        .await
        .unwrap()
        .unwrap();
    store
        .upsert_session_for_run(session("s", "wf", None, 1), "r", claim.fence)
        .await
        .unwrap();
    store
        .put_run(fenced_run("r", RunStatus::Running, claim.fence))
        .await
        .unwrap();
    store
        .append_log(
            "r",
            claim.fence,
            items("r", 1..=2),
            vec![entry("tool:a:1", vec![1])],
        )
        .await
        .unwrap();
    assert!(store.delete_session("s").await.unwrap());

    let fence = claim.fence;
    // (The log is gone with the run: the batch that fits it starts at 1.)
    assert_fenced(
        store
            .append_log("r", fence, items("r", 1..=1), Vec::new())
            .await,
        "r",
        fence,
        0,
        "append_log after the delete",
    );
    assert_fenced(
        store
            .put_run(fenced_run("r", RunStatus::Completed, fence))
            .await,
        "r",
        fence,
        0,
        "put_run after the delete",
    );
    assert_fenced(
        store.reserve_seqs("r", fence, 3).await,
        "r",
        fence,
        0,
        "reserve_seqs after the delete",
    );
    assert_fenced(
        store
            .renew_claim("r", fence, Some(Duration::from_secs(60)))
            .await,
        "r",
        fence,
        0,
        "renew_claim after the delete",
    );
    assert_fenced(
        store
            .upsert_session_for_run(session("s", "wf", None, 2), "r", fence)
            .await,
        "r",
        fence,
        0,
        "upsert_session_for_run after the delete",
    );
    assert_fenced(
        store.save_blocking(
            Some(session("s", "wf", None, 2)),
            fenced_run("r", RunStatus::Cancelled, fence),
        ),
        "r",
        fence,
        0,
        "save_blocking after the delete",
    );
    assert!(store.read_session("s").await.unwrap().is_none());
    assert!(store.read_run("r").await.unwrap().is_none());
    assert_eq!(everything(store, "r").await, (Vec::new(), Vec::new()));
    assert_eq!(store.log_head("r").await.unwrap(), weft::LogHead::default());
    let next = store
        .claim_run("r", "worker-b", None)
        .await
        .unwrap()
        .expect("the deleted claim no longer holds the run");
    assert!(next.fence > fence, "{next:?}");
}
