//! [`McpError`]: what can go wrong between weft and an MCP server.

use std::time::Duration;

/// An MCP server could not be started, reached or used, or one of its tools failed.
///
/// While an agent lists its tools (its first run), one of these fails the run as
/// `weft::Error::ToolsetUnavailable` with this text. During a tool call it goes back to the
/// model as the tool's error result, and the run goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The server's command could not be started (not installed, not executable, bad
    /// working directory).
    #[error("could not start {server}: {source}; check that the command is installed and on PATH")]
    Spawn {
        /// The server (`McpTools::label`).
        server: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The server was started (or the URL answered) but the MCP handshake failed.
    #[error("could not connect to {server}: {message}")]
    Connect {
        /// The server.
        server: String,
        /// What the MCP client reported.
        message: String,
    },

    /// Starting or reaching the server and the MCP handshake took longer than its
    /// `connect_timeout`.
    #[error("{server} did not complete the MCP handshake within {after:?}; check that it is an MCP server, or raise `connect_timeout`")]
    ConnectTimeout {
        /// The server.
        server: String,
        /// The limit that passed.
        after: Duration,
    },

    /// The server was connected but could not list its tools.
    #[error("{server} could not list its tools: {message}")]
    List {
        /// The server.
        server: String,
        /// What the server or the transport reported.
        message: String,
    },

    /// `allow` names tools the server does not have.
    #[error(
        "{server} has no tool named {}; it has: {}",
        quoted(missing),
        quoted(available)
    )]
    UnknownTools {
        /// The server.
        server: String,
        /// The allowed names it lacks.
        missing: Vec<String>,
        /// The names it has.
        available: Vec<String>,
    },

    /// The server could not be reached for a call, even after reconnecting once (a stdio
    /// server is started again, an HTTP server gets a new session).
    #[error("{server} is unreachable ({message}); `{tool}` was not run, or its result was lost; answer without it or try again later")]
    Unreachable {
        /// The server.
        server: String,
        /// The tool, as the server names it.
        tool: String,
        /// What failed, the first time and on reconnecting.
        message: String,
    },

    /// The server refused the call with a protocol error (an unknown tool, arguments that do
    /// not fit its schema).
    #[error("{server} refused `{tool}`: {message}")]
    Refused {
        /// The server.
        server: String,
        /// The tool, as the server names it.
        tool: String,
        /// The server's error.
        message: String,
    },

    /// The tool ran and reported an error (`isError`); its text is the tool's own.
    #[error("{text}")]
    ToolFailed {
        /// The tool, as the server names it.
        tool: String,
        /// What the tool returned.
        text: String,
    },

    /// The model's arguments are not a JSON object, which MCP requires.
    #[error("the arguments of `{tool}` must be a JSON object, not {found}")]
    InvalidArguments {
        /// The tool, as the model names it.
        tool: String,
        /// The kind of JSON value given (`an array`, `a string`, …).
        found: &'static str,
    },

    /// `McpTools` was configured in a way that cannot work (a bad header, a bearer token
    /// for a stdio server).
    #[error("invalid MCP configuration for {server}: {message}")]
    Config {
        /// The server.
        server: String,
        /// What is wrong, and what to do.
        message: String,
    },
}

/// An error's text followed by its causes' (`a: b: c`), each left out when the text before
/// already says it: the MCP client's errors often keep the root cause (a refused connection)
/// in their sources only.
pub(crate) fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let said = next.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = next.source();
    }
    text
}

/// `` `a`, `b` `` for a list of names, `none` for an empty one.
fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
