//! Code generation: `structure` for the struct, `implementation` for the impl block.

pub mod implementation;
pub mod structure;
pub mod tool;
