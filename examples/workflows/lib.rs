//! Workflows shared by the runnable examples and the integration tests that run them end to
//! end. Each example file (`cargo run --example NAME`) is the program around one of them.

pub mod research;
