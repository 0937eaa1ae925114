//! Each run's event log and journal: fenced appends checked against the run's head
//! (`weft_append_log`), read back in `seq` and written order.
//!
//! An append is one round trip: the batch is encoded, measured against the store's
//! [`LogLimits`] and checked on its own here ([`prepare`]: its seqs follow each other and its
//! journal entries name only seqs of the log or of the batch, for the one head it can
//! continue), and the database function checks the fence and that head under the head row's
//! lock, then writes it all in one statement. Every commit is durable, so a run never holds a
//! seq reservation: `reserve_seqs` writes nothing (and returns `u64::MAX`: every seq is
//! covered) and the log never jumps.

use tokio_postgres::{GenericClient, Row, Statement};
use weft_runtime::storage::{
    check_append, check_fence, JournalEntry, LogHead, LogLimits, LoggedEvent,
};
use weft_runtime::{Error, Result};

use crate::error::{corrupt, to_db, Outcome};

/// The fenced, checked append, see `weft_append_log` in the migration.
pub(crate) const APPEND: &str =
    "SELECT o_outcome, o_fence, o_last FROM weft_append_log($1, $2, $3, $4, $5, $6, $7, $8)";

/// A run's claim token and last logged seq (nulls: none), for the exact refusal of a batch
/// that fits no head.
pub(crate) const FENCE_AND_HEAD: &str = "SELECT (SELECT fence FROM weft_claims WHERE run_id = $1), (SELECT last_seq FROM weft_log_heads WHERE run_id = $1)";

/// A run's last logged seq.
pub(crate) const HEAD: &str = "SELECT last_seq FROM weft_log_heads WHERE run_id = $1";

/// Up to `$3` items of a run's log after seq `$2`, in seq order.
pub(crate) const READ_EVENTS: &str =
    "SELECT seq, event FROM weft_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// A run's journal in the order written.
pub(crate) const READ_JOURNAL: &str =
    "SELECT position, entry FROM weft_journal WHERE run_id = $1 ORDER BY position";

/// A batch encoded for `weft_append_log`.
pub(crate) struct Batch {
    /// With no items: the lowest last seq of the log the journal entries fit.
    min_last: i64,
    seqs: Vec<i64>,
    identities: Vec<String>,
    events: Vec<String>,
    keys: Vec<String>,
    entries: Vec<String>,
}

/// What [`prepare`] made of a batch.
pub(crate) enum Prepared {
    /// Ready to append, if the run's head fits it.
    Batch(Batch),
    /// It fits no head: the append reads the run's head to refuse it with the exact reason.
    Unfit,
}

/// Encodes a batch, refusing records over the limits; [`Prepared::Unfit`] when no log could
/// take it.
pub(crate) fn prepare(
    run_id: &str,
    limits: &LogLimits,
    events: &[LoggedEvent],
    journal: &[JournalEntry],
) -> Result<Prepared> {
    let mut batch = Batch {
        min_last: 0,
        seqs: Vec::with_capacity(events.len()),
        identities: Vec::with_capacity(events.len()),
        events: Vec::with_capacity(events.len()),
        keys: Vec::with_capacity(journal.len()),
        entries: Vec::with_capacity(journal.len()),
    };
    for event in events {
        // Measured as the other stores measure it: the record's JSON, as stored.
        let json = serde_json::to_string(event)?;
        limits.check_event(run_id, event, json.len())?;
        batch.events.push(json);
    }
    for entry in journal {
        let json = serde_json::to_string(entry)?;
        limits.check_entry(run_id, entry, json.len())?;
        batch.entries.push(json);
    }
    // The one head the batch can continue: right before its first item, or (no items) one
    // holding every seq its journal names.
    let last = match events.first() {
        Some(first) => match first.seq.checked_sub(1) {
            Some(last) => last,
            None => return Ok(Prepared::Unfit),
        },
        None => journal
            .iter()
            .flat_map(|entry| entry.seqs.iter().copied())
            .max()
            .unwrap_or(0),
    };
    let head = LogHead {
        last_seq: last,
        reserved_seq: 0,
    };
    if check_append(run_id, head, events, journal).is_err() {
        return Ok(Prepared::Unfit);
    }
    let too_large = |seq: u64| {
        Error::Storage {
        message: format!(
            "refused an append to the log of run `{run_id}`: seq {seq} is larger than PostgreSQL's bigint holds"
        ),
        source: None,
    }
    };
    batch.min_last = i64::try_from(last).map_err(|_| too_large(last))?;
    for event in events {
        batch
            .seqs
            .push(i64::try_from(event.seq).map_err(|_| too_large(event.seq))?);
        batch.identities.push(event.identity.clone());
    }
    batch.keys = journal.iter().map(|entry| entry.key.clone()).collect();
    Ok(Prepared::Batch(batch))
}

/// Appends a prepared batch, fenced by `fence`; `events` and `journal` are the batch as
/// given, for the exact refusal when the run's head does not fit it.
pub(crate) async fn append<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
    fence: u64,
    batch: &Batch,
    events: &[LoggedEvent],
    journal: &[JournalEntry],
) -> Outcome<()> {
    let row = client
        .query_one(
            statement,
            &[
                &run_id,
                &to_db(fence),
                &batch.min_last,
                &batch.seqs,
                &batch.identities,
                &batch.events,
                &batch.keys,
                &batch.entries,
            ],
        )
        .await?;
    let outcome: i32 = row.get(0);
    match outcome {
        0 => Ok(()),
        1 => {
            let current: Option<i64> = row.get(1);
            Err(Error::Fenced {
                run_id: run_id.to_string(),
                fence,
                current: unsigned(current),
            }
            .into())
        }
        _ => {
            let last: Option<i64> = row.get(2);
            Err(refusal(run_id, unsigned(last), events, journal).into())
        }
    }
}

/// Refuses a batch that fits no head, after the fence (as every store checks it first).
pub(crate) async fn refuse_unfit<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
    fence: u64,
    events: &[LoggedEvent],
    journal: &[JournalEntry],
) -> Outcome<()> {
    let row = client.query_one(statement, &[&run_id]).await?;
    let current: Option<i64> = row.get(0);
    check_fence(run_id, fence, current.map(|c| unsigned(Some(c))))?;
    let last: Option<i64> = row.get(1);
    Err(refusal(run_id, unsigned(last), events, journal).into())
}

/// Why the log with last seq `last` cannot take the batch, as `check_append` says it.
fn refusal(run_id: &str, last: u64, events: &[LoggedEvent], journal: &[JournalEntry]) -> Error {
    let head = LogHead {
        last_seq: last,
        reserved_seq: 0,
    };
    match check_append(run_id, head, events, journal) {
        Err(err) => err,
        // The head moved between the checks (another writer of the run): refuse all the same.
        Ok(()) => Error::Storage {
            message: format!(
                "refused an append to the log of run `{run_id}`: its log changed during the append (another writer?); nothing of it was written"
            ),
            source: None,
        },
    }
}

/// A nullable `bigint` as weft's `u64` (null and negatives: 0).
fn unsigned(value: Option<i64>) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// The run's head: its last logged seq, and no reservation (none is ever needed).
pub(crate) async fn head<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
) -> Outcome<LogHead> {
    let row = client.query_opt(statement, &[&run_id]).await?;
    Ok(LogHead {
        last_seq: unsigned(row.map(|row| row.get(0))),
        reserved_seq: 0,
    })
}

/// Up to `limit` items after `after_seq`, in seq order.
pub(crate) async fn read_events<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
    after_seq: u64,
    limit: usize,
) -> Outcome<Vec<LoggedEvent>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query(statement, &[&run_id, &to_db(after_seq), &limit])
        .await?;
    rows.iter()
        .map(|row| decode(row, |seq| format!("weft_events/{run_id}/{seq}")))
        .collect()
}

/// The journal in the order written.
pub(crate) async fn read_journal<C: GenericClient + Sync>(
    client: &C,
    statement: &Statement,
    run_id: &str,
) -> Outcome<Vec<JournalEntry>> {
    let rows = client.query(statement, &[&run_id]).await?;
    rows.iter()
        .map(|row| decode(row, |position| format!("weft_journal/{run_id}/{position}")))
        .collect()
}

/// A `number, json` row's record; `key` names it from its number.
fn decode<T: serde::de::DeserializeOwned>(row: &Row, key: impl Fn(i64) -> String) -> Outcome<T> {
    let number: i64 = row.get(0);
    let json: &str = row.get(1);
    serde_json::from_str(json).map_err(|err| corrupt(key(number), err).into())
}
