//! `#[workflow]` end to end against `weft-testkit`'s fake LLM server: ids on every item,
//! session state across instances, typed state, nothing lost on drop or failure, JSON input,
//! concurrent instances, durable runs (event log, journal, resume, run handles).

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../common/drain.rs"]
mod drain;
mod fixtures;

mod approval_example;
mod concurrency;
mod durable;
mod faults;
mod handles;
mod interrupts;
mod panics;
mod persistence;
mod runs;
