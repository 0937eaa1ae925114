//! Reading a whole run stream in a test (shared by the test binaries through `#[path]`).

use futures::StreamExt;
use weft::prelude::*;

/// Every item of a run, and the error that ended it, if any.
pub async fn drain(mut events: RunStream<'_>) -> (Vec<RunResponse>, Option<weft::Error>) {
    let mut items = Vec::new();
    while let Some(item) = events.next().await {
        match item {
            Ok(item) => items.push(item),
            Err(err) => return (items, Some(err)),
        }
    }
    (items, None)
}
