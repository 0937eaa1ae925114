//! Checks: every rule of the DSL, each error at the span of the mistake and saying what to
//! write instead. Nothing here stops at the first error.

pub mod tool;
mod workflow;

pub use workflow::*;
