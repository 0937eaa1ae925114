//! `SledStorage` and the workflow session layer on it: layout, compare-and-swap, corruption,
//! locking, crash recovery, session operations; the event log and journal contract on both
//! stores (`conformance`), and the migration of a store written by weft 0.1.0.

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
mod records;
mod sessions;
