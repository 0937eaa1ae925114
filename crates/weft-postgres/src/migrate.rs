//! Embedded, versioned migrations, applied when a store connects.
//!
//! `weft_schema_version` records every version applied. [`run`] holds a transaction-scoped
//! advisory lock (one per schema) while it reads it and applies what is missing, so processes
//! connecting at once apply each migration once; the others wait, then find nothing to do. A
//! database at a version newer than this build knows is refused, and left as it is.

use tokio_postgres::Client;
use weft_runtime::{Error, Result};

use crate::error::{database, Target};

/// One migration: its version and the SQL that brings the schema from the version before.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, oldest first.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "delete_session",
        sql: include_str!("migrations/0002_delete_session.sql"),
    },
    Migration {
        version: 3,
        name: "cancel_requests",
        sql: include_str!("migrations/0003_cancel_requests.sql"),
    },
    Migration {
        version: 4,
        name: "paused_runs",
        sql: include_str!("migrations/0004_paused_runs.sql"),
    },
];

/// The schema version this build creates and understands: 1, the tables and the checked
/// writes; 2, `weft_delete_session` (deleting a session safely while its runs write); 3,
/// cancel requests on claims (cancelling a run another server runs); 4, `paused` run records
/// release their claim (runs that wait for a person).
pub const SCHEMA_VERSION: i32 = 4;

/// Brings the store's schema (`schema`, or the connection's default one) to
/// [`SCHEMA_VERSION`]; refuses a newer one, changing nothing.
pub(crate) async fn run(client: &mut Client, schema: Option<&str>, target: &Target) -> Result<()> {
    let failed = |err| database(target, "prepare weft's tables (migrations)", err);
    let tx = client.transaction().await.map_err(failed)?;
    // One lock per schema: processes connecting at once take turns.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('weft-migrate:' || coalesce($1::text, current_schema(), ''), 0))",
        &[&schema],
    )
    .await
    .map_err(failed)?;
    let table = match schema {
        Some(schema) => format!("\"{schema}\".weft_schema_version"),
        None => "weft_schema_version".to_string(),
    };
    let exists: bool = tx
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .map_err(failed)?
        .get(0);
    let current: i32 = if exists {
        tx.query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {table}"),
            &[],
        )
        .await
        .map_err(failed)?
        .get(0)
    } else {
        0
    };
    if current > SCHEMA_VERSION {
        // Nothing was written: the rollback only lets the lock go.
        tx.rollback().await.map_err(failed)?;
        let place = match schema {
            Some(schema) => format!("schema `{schema}` of {target}"),
            None => target.to_string(),
        };
        return Err(Error::Storage {
            message: format!(
                "the database schema is version {current} ({place}), this weft knows up to {SCHEMA_VERSION}: upgrade weft (weft-postgres) to use it; this weft changed nothing"
            ),
            source: None,
        });
    }
    if current == SCHEMA_VERSION {
        return tx.commit().await.map_err(failed);
    }
    if let Some(schema) = schema {
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET LOCAL search_path TO \"{schema}\""
        ))
        .await
        .map_err(failed)?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS weft_schema_version (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(failed)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(migration.sql).await.map_err(failed)?;
        tx.execute(
            "INSERT INTO weft_schema_version (version, name) VALUES ($1, $2)",
            &[&migration.version, &migration.name],
        )
        .await
        .map_err(failed)?;
        tracing::info!(version = migration.version, name = migration.name, target = %target, "applied a weft schema migration");
    }
    tx.commit().await.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_up_to_the_schema_version() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i32 + 1);
            assert!(!migration.sql.trim().is_empty());
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }
}
