//! weft-server over real HTTP: routes and status codes, event streams that resume with
//! `Last-Event-ID`, API keys, bad input, and the playground in a real browser.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod api;
mod browser;
mod crash;
mod support;
