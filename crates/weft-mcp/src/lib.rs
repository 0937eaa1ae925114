//! # weft-mcp
//!
//! A [Model Context Protocol](https://modelcontextprotocol.io) server's tools as tools of a
//! weft agent, through the official Rust SDK ([`rmcp`](https://docs.rs/rmcp)). Most users
//! reach it as `weft::mcp` (the `weft` crate's feature `mcp`).
//!
//! [`McpTools::stdio`] starts a server as a child process; [`McpTools::http`] talks to one
//! at a streamable HTTP endpoint. Either is a [`Toolset`](weft_runtime::Toolset): give it to
//! an agent with `.toolset(..)`.
//!
//! ```no_run
//! use std::time::Duration;
//! use weft_mcp::McpTools;
//! use weft_runtime::Agent;
//!
//! # async fn demo() -> weft_runtime::Result<()> {
//! let everything = McpTools::stdio("npx", ["-y", "@modelcontextprotocol/server-everything"])
//!     .prefix("demo_")
//!     .deny(["trigger-long-running-operation"])
//!     .timeout(Duration::from_secs(30));
//! let mut agent = Agent::builder()
//!     .model(weft_runtime::model_from_env()?) // WEFT_MODEL, OpenAI, Anthropic or offline
//!     .toolset(everything) // nothing is started yet
//!     .build()?;
//! // The first run starts the server, lists its tools and gives them to the model.
//! let answer = agent.run("Add 2 and 3 with your tools.").await?;
//! println!("{}", answer.content_text());
//! # Ok(()) }
//! ```
//!
//! ## What happens when
//! - **Lazy connect**: building the agent starts nothing. Its first run connects and lists
//!   the tools before its first model call; if that fails (the command is missing, the URL
//!   does not answer, `allow` names a tool the server lacks), the run fails with
//!   `weft::Error::ToolsetUnavailable` naming the server and why, and the next run tries
//!   again. [`McpTools::connect`] connects up front instead, to fail at startup.
//! - **Names**: the model sees [`prefix`](McpTools::prefix) + the server's name, with
//!   characters model APIs refuse replaced by `_`; [`allow`](McpTools::allow) and
//!   [`deny`](McpTools::deny) take the server's names. The list is taken once per agent (the
//!   server's `tools/list_changed` notifications are not followed).
//! - **Calls**: arguments go as they are; the result's text parts, joined, are the tool's
//!   output, other content is described in a line (`[image: image/png, 1024 bytes]`). A
//!   result marked `isError`, a protocol error, a call past its
//!   [`timeout`](McpTools::timeout) and a server that cannot be reached are all tool errors
//!   the model reads: the run never hangs on, or dies of, a server.
//! - **Reconnecting**: a call on a connection that broke (a stdio server that died, an HTTP
//!   server that restarted and forgot the session, a reset connection) starts the server again
//!   or opens a new session, and sends the call once more. A call cut off while the server was
//!   working on it may so run twice: keep that in mind for tools with side effects. If the
//!   second try fails too, the model is told the server is unreachable.
//! - **Stopping**: a stdio server runs in its own process group (on Unix), killed when it is
//!   replaced or when the last clone of its [`McpTools`] and its tools are dropped.

mod config;
mod connection;
mod content;
mod error;
mod guard;
mod tool;
mod tools;
mod transport;

pub use config::DEFAULT_CONNECT_TIMEOUT;
pub use error::McpError;
pub use tools::McpTools;
