//! Integration tests of the runtime core against `weft-testkit`'s fake LLM server on
//! 127.0.0.1. No test reaches a real provider.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/drain.rs"]
mod drain;
mod support;

mod environment;
mod faults;
mod limits;
mod offline;
mod providers;
mod secrets;
mod tool_macro;
mod tools;
mod typed;
mod web;
