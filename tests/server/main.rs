//! weft-server over real HTTP: routes and status codes, event streams that resume with
//! `Last-Event-ID`, API keys, bad input, and the playground in a real browser.

mod api;
mod crash;
mod browser;
mod support;
