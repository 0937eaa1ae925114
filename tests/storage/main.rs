//! `SledStorage` and the workflow session layer on it: layout, compare-and-swap, corruption,
//! locking, crash recovery, session operations; the `WorkflowStorage` contract (sessions,
//! runs, event log and journal, claims and fencing) on every store: memory, sled and
//! PostgreSQL (`conformance`); what only PostgreSQL has (`postgres`: skipped, saying so,
//! unless `WEFT_TEST_POSTGRES_URL` names a database); and the migration of a store written by
//! weft 0.1.0.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../common/drain.rs"]
mod drain;
mod fixtures;

mod conflicts;
mod conformance;
mod crash;
mod migration;
mod panics;
mod postgres;
mod records;
mod sessions;
