//! `#[tool(timeout_secs = N)]` gives the generated tool its own timeout, on free functions and
//! toolkit methods, with or without a name; without it the agent's `tool_timeout` applies.
use std::time::Duration;

use weft::prelude::*;
use weft::IntoTools;

/// Waits for a slow service.
#[tool(timeout_secs = 30)]
async fn slow_lookup(query: String) -> String {
    query
}

/// Answers at once.
#[tool]
fn quick(query: String) -> String {
    query
}

struct Kit;

#[tool]
impl Kit {
    /// Renders a long report.
    #[tool(name = "report", timeout_secs = 120)]
    fn render(&self) -> String {
        String::new()
    }
}

fn main() {
    assert_eq!(SlowLookup.timeout(), Some(Duration::from_secs(30)));
    assert_eq!(Quick.timeout(), None);
    let kit = Kit.into_tools();
    assert_eq!(kit[0].name(), "report");
    assert_eq!(kit[0].timeout(), Some(Duration::from_secs(120)));
}
