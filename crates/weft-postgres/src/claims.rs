//! Claims on runs, timed by the database's clock (`now()`), so workers whose clocks disagree
//! still agree on when a claim lapses.
//!
//! A claim is one row of `weft_claims`: its owner, its fencing token and when it lapses
//! (`'infinity'`: held until released; the epoch: released by an `interrupted` record). The
//! claim of a run that ended is deleted with the run's final record, after which its token is
//! refused. Tokens come from one sequence (`weft_fences`), so they only ever grow, for a run
//! claimed again after its claim was deleted too.
//! Taking one is a single `INSERT … ON CONFLICT DO UPDATE … WHERE` the held claim lapsed:
//! atomic, one round trip, and a concurrent taker waits on the row, then finds it live.

use std::time::Duration;

use tokio_postgres::{GenericClient, Statement};
use weft_runtime::storage::{check_fence, RunClaim};
use weft_runtime::Error;

use crate::error::{lease_millis, to_db, Outcome};

/// The expiry of a claim taken or renewed now with the lease in `$3` (milliseconds, null:
/// until released).
macro_rules! expiry {
    () => {
        "CASE WHEN $3::bigint IS NULL THEN 'infinity'::timestamptz
              ELSE now() + $3::bigint * interval '1 millisecond' END"
    };
}

/// A claim's expiry in milliseconds since the Unix epoch (null: never).
macro_rules! expiry_millis {
    () => {
        "CASE WHEN c.expires_at = 'infinity' THEN NULL
              ELSE floor(extract(epoch FROM c.expires_at) * 1000)::bigint END"
    };
}

/// Takes the claim on `$1` for `$2` when nobody holds it (never claimed, ended, lapsed or
/// released), with a new token from `weft_fences`: returns its token and expiry, or no row
/// while another claim is live. (A refused claim uses up a token: tokens only need to grow.)
pub(crate) const CLAIM: &str = concat!(
    "INSERT INTO weft_claims AS c (run_id, owner, fence, expires_at)
     VALUES ($1, $2, nextval('weft_fences'), ",
    expiry!(),
    ") ON CONFLICT (run_id) DO UPDATE
       SET owner = excluded.owner, fence = excluded.fence, expires_at = excluded.expires_at,
           cancel_requested = false
       WHERE c.expires_at <= now()
     RETURNING c.fence, ",
    expiry_millis!()
);

/// Extends the claim on `$1` with token `$2` (a released one stays released); no row when
/// the token is not the run's.
pub(crate) const RENEW: &str = concat!(
    "UPDATE weft_claims c SET expires_at = CASE WHEN c.expires_at = 'epoch'::timestamptz
         THEN c.expires_at ELSE ",
    expiry!(),
    " END WHERE c.run_id = $1 AND c.fence = $2 RETURNING c.fence"
);

/// The run's current fencing token (no row: never claimed).
pub(crate) const FENCE: &str = "SELECT fence FROM weft_claims WHERE run_id = $1";

/// Marks the live claim on `$1` as asked to cancel its run; a row when there was one.
pub(crate) const REQUEST_CANCEL: &str = "UPDATE weft_claims SET cancel_requested = true
     WHERE run_id = $1 AND expires_at > now() RETURNING fence";

/// Whether the claim on `$1` with token `$2` was asked to cancel its run (no row: not the
/// run's claim any more).
pub(crate) const CANCEL_REQUESTED: &str =
    "SELECT cancel_requested FROM weft_claims WHERE run_id = $1 AND fence = $2";

/// Takes the claim on `run_id` for `owner`, or `None` while another is live.
pub(crate) async fn claim<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
    owner: &str,
    lease: Option<Duration>,
) -> Outcome<Option<RunClaim>> {
    let row = client
        .query_opt(statement, &[&run_id, &owner, &lease_millis(lease)])
        .await?;
    Ok(row.map(|row| {
        let fence: i64 = row.get(0);
        let expires_at: Option<i64> = row.get(1);
        RunClaim {
            run_id: run_id.to_string(),
            owner: owner.to_string(),
            fence: u64::try_from(fence).unwrap_or(0),
            expires_at: expires_at.map_or(u64::MAX, |millis| u64::try_from(millis).unwrap_or(0)),
        }
    }))
}

/// Extends the claim with `fence`; [`Error::Fenced`] if the run was claimed again since (or
/// never claimed).
pub(crate) async fn renew<C: GenericClient + Sync>(
    client: &C,
    renew: &Statement,
    read_fence: &Statement,
    run_id: &str,
    fence: u64,
    lease: Option<Duration>,
) -> Outcome<()> {
    let renewed = client
        .query_opt(renew, &[&run_id, &to_db(fence), &lease_millis(lease)])
        .await?;
    if renewed.is_some() {
        return Ok(());
    }
    // Refused: read the current token (a statement of its own sees the latest claim).
    let current = current_fence(client, read_fence, run_id)
        .await?
        .unwrap_or(0);
    Err(Error::Fenced {
        run_id: run_id.to_string(),
        fence,
        current,
    }
    .into())
}

/// The run's current fencing token, if it was ever claimed.
pub(crate) async fn current_fence<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
) -> Outcome<Option<u64>> {
    let row = client.query_opt(statement, &[&run_id]).await?;
    Ok(row.map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)))
}

/// Refuses a write of `run_id` with `fence` when its claim has another token.
pub(crate) async fn check<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
    fence: u64,
) -> Outcome<()> {
    let current = current_fence(client, statement, run_id).await?;
    Ok(check_fence(run_id, fence, current)?)
}
