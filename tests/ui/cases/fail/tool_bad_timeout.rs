use weft::prelude::*;

/// No time at all.
#[tool(timeout_secs = 0)]
fn zero() -> String {
    String::new()
}

/// Seconds as text.
#[tool(timeout_secs = "30")]
fn text() -> String {
    String::new()
}

fn main() {}
