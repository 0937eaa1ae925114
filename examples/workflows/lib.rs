//! Workflows shared by the runnable examples and the integration tests that run them end to
//! end. Each example file (`cargo run --example NAME`) is the program around one of them.

pub mod approval;
pub mod cache;
pub mod research;
pub mod review;
pub mod simple;
pub mod validation;

/// The command-line arguments joined into one prompt, or `default` when there are none.
pub fn prompt_from_args(default: &str) -> String {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        default.to_string()
    } else {
        prompt
    }
}
