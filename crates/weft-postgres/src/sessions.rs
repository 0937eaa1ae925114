//! Sessions: compare-and-swap writes (`weft_upsert_session`, fenced when written for a run),
//! reads, listings newest first, and deletion with everything of the session.

use tokio_postgres::{GenericClient, Row, Statement};
use weft_runtime::storage::{SessionFilter, SessionListing, WorkflowSession};
use weft_runtime::{Error, Result};

use crate::error::{corrupt, from_db, to_db, Outcome};

/// The columns a session is read from, in [`from_row`]'s order.
macro_rules! columns {
    () => {
        "session_id, workflow_id, workflow_name, session_name, user_id, session_state, version, created_at, updated_at"
    };
}

/// One session by id.
pub(crate) const READ: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM weft_sessions WHERE session_id = $1"
);

/// The compare-and-swap write, see `weft_upsert_session` in the migration.
pub(crate) const UPSERT: &str = "SELECT o_outcome, o_fence, o_created_at FROM weft_upsert_session($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Deletes a session and its runs with their logs, journals, heads and claims, see
/// `weft_delete_session` in the second migration: the claims first (waiting for the runs'
/// writes in flight, which hold them), then the rest in later statements that see what those
/// writes committed. Returns whether the session existed.
pub(crate) const DELETE: &str = "SELECT weft_delete_session($1)";

/// Listings, newest first (ties by id): `$1` limit (null: none), `$2` offset, then the
/// filters.
pub(crate) const LIST_ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM weft_sessions ORDER BY updated_at DESC, session_id LIMIT $1 OFFSET $2"
);
/// [`LIST_ALL`] of one workflow (`$3`).
pub(crate) const LIST_WORKFLOW: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM weft_sessions WHERE workflow_id = $3 ORDER BY updated_at DESC, session_id LIMIT $1 OFFSET $2"
);
/// [`LIST_ALL`] of one user (`$3`).
pub(crate) const LIST_USER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM weft_sessions WHERE user_id = $3 ORDER BY updated_at DESC, session_id LIMIT $1 OFFSET $2"
);
/// [`LIST_ALL`] of one workflow (`$3`) and user (`$4`).
pub(crate) const LIST_BOTH: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM weft_sessions WHERE workflow_id = $3 AND user_id = $4 ORDER BY updated_at DESC, session_id LIMIT $1 OFFSET $2"
);

/// The listing statement for a filter.
pub(crate) fn list_statement(filter: &SessionFilter) -> &'static str {
    match (&filter.workflow_id, &filter.user_id) {
        (None, None) => LIST_ALL,
        (Some(_), None) => LIST_WORKFLOW,
        (None, Some(_)) => LIST_USER,
        (Some(_), Some(_)) => LIST_BOTH,
    }
}

/// How a session is named in errors and warnings.
fn key(session_id: &str) -> String {
    format!("weft_sessions/{session_id}")
}

/// A session read back from its row.
pub(crate) fn from_row(row: &Row) -> Result<WorkflowSession> {
    let session_id: String = row.get(0);
    let state: String = row.get(5);
    let session_state = serde_json::from_str(&state)
        .map_err(|err| corrupt(key(&session_id), format!("invalid session_state: {err}")))?;
    Ok(WorkflowSession {
        workflow_id: row.get(1),
        workflow_name: row.get(2),
        session_name: row.get(3),
        user_id: row.get(4),
        session_state,
        version: from_db(row.get(6), || key(&session_id))?,
        created_at: from_db(row.get(7), || key(&session_id))?,
        updated_at: from_db(row.get(8), || key(&session_id))?,
        session_id,
    })
}

/// Reads one session.
pub(crate) async fn read<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    session_id: &str,
) -> Outcome<Option<WorkflowSession>> {
    match client.query_opt(statement, &[&session_id]).await? {
        Some(row) => Ok(Some(from_row(&row)?)),
        None => Ok(None),
    }
}

/// What a compare-and-swap write came to.
pub(crate) enum Upserted {
    /// Written: the session as stored.
    Stored(WorkflowSession),
    /// Refused: the run's claim has another fencing token.
    Fenced(u64),
    /// Refused: the stored version is not the one the writer read.
    Conflict,
}

/// Writes `session` (compare-and-swap), for the run `run` (id and fencing token) when given.
pub(crate) async fn upsert<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    session: WorkflowSession,
    run: Option<(&str, u64)>,
) -> Outcome<Upserted> {
    let state = serde_json::to_string(&session.session_state)?;
    let (run_id, fence) = match run {
        Some((run_id, fence)) => (Some(run_id), to_db(fence)),
        None => (None, 0),
    };
    let Ok(version) = i64::try_from(session.version) else {
        // No stored version is this large: the writer read no session of this store.
        return Ok(Upserted::Conflict);
    };
    let row = client
        .query_one(
            statement,
            &[
                &run_id,
                &fence,
                &session.session_id,
                &session.workflow_id,
                &session.workflow_name,
                &session.session_name,
                &session.user_id,
                &state,
                &version,
                &to_db(session.created_at),
                &to_db(session.updated_at),
            ],
        )
        .await?;
    let outcome: i32 = row.get(0);
    Ok(match outcome {
        0 => {
            let created_at: Option<i64> = row.get(2);
            let mut stored = session;
            stored.version += 1;
            stored.created_at = from_db(created_at.unwrap_or(0), || key(&stored.session_id))?;
            Upserted::Stored(stored)
        }
        1 => {
            let current: Option<i64> = row.get(1);
            Upserted::Fenced(current.and_then(|c| u64::try_from(c).ok()).unwrap_or(0))
        }
        _ => Upserted::Conflict,
    })
}

impl Upserted {
    /// The stored session, or the refusal as an error.
    pub(crate) fn into_result(
        self,
        session_id: &str,
        run: Option<(&str, u64)>,
    ) -> Result<WorkflowSession> {
        match self {
            Upserted::Stored(stored) => Ok(stored),
            Upserted::Fenced(current) => {
                let (run_id, fence) = run.unwrap_or(("", 0));
                Err(Error::Fenced {
                    run_id: run_id.to_string(),
                    fence,
                    current,
                })
            }
            Upserted::Conflict => Err(Error::Conflict {
                session_id: session_id.to_string(),
                keys: Vec::new(),
            }),
        }
    }
}

/// The session of a listing's row, or `None` for one that cannot be read (logged with its
/// key: a listing skips it and counts it).
fn readable(row: &Row) -> Option<WorkflowSession> {
    match from_row(row) {
        Ok(session) => Some(session),
        Err(err) => {
            let session_id: String = row.get(0);
            tracing::warn!(key = %key(&session_id), error = %err, "skipping an unreadable session while listing");
            None
        }
    }
}

/// The sessions of a listing's rows; unreadable ones are skipped, counted and logged.
pub(crate) fn listing(rows: &[Row]) -> SessionListing {
    let mut listing = SessionListing::default();
    for row in rows {
        match readable(row) {
            Some(session) => listing.sessions.push(session),
            None => listing.skipped += 1,
        }
    }
    listing
}

/// A listing's rows read whole (no limit, no offset) and paged here, unreadable records
/// taking no place in the page: what a listing does when its page met one.
pub(crate) fn page(rows: &[Row], filter: &SessionFilter) -> SessionListing {
    let limit = filter.limit.unwrap_or(usize::MAX);
    let mut listing = SessionListing::default();
    let mut passed = 0;
    for row in rows {
        if listing.sessions.len() >= limit {
            break;
        }
        match readable(row) {
            Some(_) if passed < filter.offset => passed += 1,
            Some(session) => listing.sessions.push(session),
            None => listing.skipped += 1,
        }
    }
    listing
}
