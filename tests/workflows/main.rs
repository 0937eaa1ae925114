//! `#[workflow]` end to end against `weft-testkit`'s fake LLM server: ids on every item,
//! session state across instances, typed state, nothing lost on drop or failure, JSON input,
//! concurrent instances.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../common/drain.rs"]
mod drain;
mod fixtures;

mod concurrency;
mod panics;
mod persistence;
mod runs;
