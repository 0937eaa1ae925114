//! `SledStorage` and the workflow session layer on it: layout, compare-and-swap, corruption,
//! locking, crash recovery, session operations.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fixtures;

mod conflicts;
mod crash;
mod records;
mod sessions;
