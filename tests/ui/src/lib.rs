//! Compile-fail tests of `#[workflow]` live in `cases/`, driven by `ui.rs`.
