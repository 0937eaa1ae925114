//! weft-server over real HTTP: routes and status codes, event streams that resume with
//! `Last-Event-ID`, API keys, bad input, the playground in a real browser, and three servers
//! sharing one PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod api;
mod browser;
mod crash;
mod metrics;
mod pauses;
mod postgres;
mod support;
