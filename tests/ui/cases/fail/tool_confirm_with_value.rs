use weft::prelude::*;

/// Sends the draft; `confirm` is a flag, not a value.
#[tool(confirm = true)]
fn send() -> String {
    String::new()
}

fn main() {}
