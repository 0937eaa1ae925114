//! `SledStorage` and the workflow session layer on it: layout, compare-and-swap, corruption,
//! locking, crash recovery, session operations.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../common/drain.rs"]
mod drain;
mod fixtures;

mod conflicts;
mod crash;
mod panics;
mod records;
mod sessions;
