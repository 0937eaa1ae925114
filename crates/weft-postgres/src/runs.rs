//! Run records: fenced inserts-or-replaces (`weft_put_run`), a session's runs in the order
//! first written, and the runs waiting to be resumed.

use tokio_postgres::{GenericClient, Row, Statement};
use weft_runtime::storage::RunRecord;
use weft_runtime::Error;

use crate::error::{corrupt, to_db, Outcome};

/// The fenced insert-or-replace, see `weft_put_run` in the migration: null when written,
/// else the run's current fencing token.
pub(crate) const PUT: &str = "SELECT weft_put_run($1, $2, $3, $4, $5, $6, $7, $8)";

/// A session's runs, in the order they were first written.
pub(crate) const READ_RUNS: &str =
    "SELECT run_id, record FROM weft_runs WHERE session_id = $1 ORDER BY position";

/// How many runs a session has.
pub(crate) const COUNT: &str = "SELECT count(*) FROM weft_runs WHERE session_id = $1";

/// One run by id.
pub(crate) const READ_RUN: &str = "SELECT run_id, record FROM weft_runs WHERE run_id = $1";

/// The condition of a run waiting to be resumed: left `interrupted`, or `running` with no
/// live claim (its worker died or stalled past its lease), by the database's clock.
macro_rules! waiting {
    () => {
        "r.status IN ('running', 'interrupted')
         AND (r.status = 'interrupted' OR c.run_id IS NULL OR c.expires_at <= now())"
    };
}

/// Every run waiting to be resumed, oldest first.
pub(crate) const INTERRUPTED: &str = concat!(
    "SELECT r.run_id, r.record FROM weft_runs r LEFT JOIN weft_claims c ON c.run_id = r.run_id WHERE ",
    waiting!(),
    " ORDER BY r.created_at, r.position"
);

/// [`INTERRUPTED`] of one workflow (`$1`).
pub(crate) const INTERRUPTED_OF: &str = concat!(
    "SELECT r.run_id, r.record FROM weft_runs r LEFT JOIN weft_claims c ON c.run_id = r.run_id WHERE ",
    waiting!(),
    " AND r.workflow_id = $1 ORDER BY r.created_at, r.position"
);

/// A run read back from a `run_id, record` row.
pub(crate) fn from_row(row: &Row) -> Outcome<RunRecord> {
    let run_id: &str = row.get(0);
    let record: &str = row.get(1);
    serde_json::from_str(record).map_err(|err| {
        corrupt(
            format!("weft_runs/{run_id}"),
            format!("invalid run record: {err}"),
        )
        .into()
    })
}

/// Runs read back from their rows.
pub(crate) fn from_rows(rows: &[Row]) -> Outcome<Vec<RunRecord>> {
    rows.iter().map(from_row).collect()
}

/// Inserts or replaces `run`, fenced by `run.fence`; a record with a status other than
/// `running` releases its claim.
pub(crate) async fn put<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run: &RunRecord,
) -> Outcome<()> {
    let record = serde_json::to_string(run)?;
    let row = client
        .query_one(
            statement,
            &[
                &run.run_id,
                &to_db(run.fence),
                &run.session_id,
                &run.workflow_id,
                &run.status.as_str(),
                &to_db(run.created_at),
                &to_db(run.updated_at),
                &record,
            ],
        )
        .await?;
    match row.get::<_, Option<i64>>(0) {
        None => Ok(()),
        Some(current) => Err(Error::Fenced {
            run_id: run.run_id.clone(),
            fence: run.fence,
            current: u64::try_from(current).unwrap_or(0),
        }
        .into()),
    }
}
