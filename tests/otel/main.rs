//! weft's OpenTelemetry spans, as `weft::otel` exports them, against `weft-testkit`'s fake
//! LLM: the span tree of each kind of run rendered to sorted text (ids, timings and input
//! token counts left out) and compared to a golden, plus what the text cannot show: parents
//! across spawned tasks, one trace per run, token sums, content capture off by default, no
//! API key anywhere.
//!
//! Each test sets its own subscriber with `tracing::subscriber::set_default` (the tests run on
//! current-thread runtimes, so spawned tasks see it too) and exports to its own
//! `InMemorySpanExporter`: nothing global is shared but `capture_content`, which the tests
//! take turns with (`serial`).

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../common/drain.rs"]
mod drain;
mod fixtures;
mod golden;
mod tree;
