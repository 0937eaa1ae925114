//! `weft::mcp` against a real MCP server weft did not write: the reference
//! `@modelcontextprotocol/server-everything` from npm, over stdio and streamable HTTP, with
//! agents on `weft-testkit`'s fake LLM. `.ci/run` installs the server and sets
//! `WEFT_TEST_MCP_SERVER`; without it the tests that need it say they were skipped.
//!
//! The peers' bugs these tests prevent: Agno's MCP tools never reconnect when the server
//! restarts (agno #3724) and end the run on a connection reset (agno #5493).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

mod approvals;
mod calls;
mod lazy;
mod restarts;
