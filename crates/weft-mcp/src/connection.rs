//! One server's connection: opened when first needed, shared by its tools, opened again
//! once when it broke.
//!
//! A request on a connection that broke (the stdio server died, the HTTP server restarted
//! and forgot the session, the network reset) opens a new session and is sent once more; if
//! that fails too, the request fails with [`McpError::Unreachable`]. A protocol error (the
//! server refused the request) is not retried. Connecting happens under a lock, so calls
//! that fail at once reconnect once between them, not once each.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::service::{Peer, ServiceError};
use rmcp::RoleClient;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::error::with_causes;
use crate::transport::{self, Session};
use crate::McpError;

/// A server's connection, shared by the toolset and its tools.
pub(crate) struct Connection {
    config: Config,
    state: Mutex<State>,
    /// The process id of the last stdio server started, 0 if none.
    pid: AtomicU32,
}

#[derive(Default)]
struct State {
    session: Option<Session>,
    /// Counts sessions opened, so a caller that saw one break can tell whether another
    /// caller has replaced it already.
    generation: u64,
}

/// A peer to send requests to, and which session it belongs to.
struct Live {
    peer: Peer<RoleClient>,
    generation: u64,
    /// Whether the session was opened for this request (then it is not opened again).
    fresh: bool,
}

/// Why a request failed.
enum Failure {
    /// No session could be opened (the error says why).
    Open(McpError),
    /// The connection broke, and what was tried.
    Broken(String),
    /// The server answered with an error.
    Server(String),
}

impl Connection {
    pub fn new(config: Config) -> Connection {
        Connection {
            config,
            state: Mutex::new(State::default()),
            pid: AtomicU32::new(0),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::SeqCst)).filter(|pid| *pid != 0)
    }

    /// The current session's peer, opening a session if there is none or it broke.
    async fn live(&self) -> Result<Live, McpError> {
        let mut state = self.state.lock().await;
        if let Some(session) = &state.session {
            if !session.peer().is_transport_closed() {
                return Ok(Live {
                    peer: session.peer().clone(),
                    generation: state.generation,
                    fresh: false,
                });
            }
        }
        self.open(&mut state).await
    }

    /// A new session in place of `broken`, unless another caller replaced it already.
    async fn reopen(&self, broken: u64) -> Result<Live, McpError> {
        let mut state = self.state.lock().await;
        if state.generation != broken {
            if let Some(session) = &state.session {
                if !session.peer().is_transport_closed() {
                    return Ok(Live {
                        peer: session.peer().clone(),
                        generation: state.generation,
                        fresh: true,
                    });
                }
            }
        }
        self.open(&mut state).await
    }

    async fn open(&self, state: &mut State) -> Result<Live, McpError> {
        // Dropping the old session stops it (and kills a stdio server's process group).
        state.session = None;
        let limit = self.config.connect_timeout;
        let (session, pid) = tokio::time::timeout(limit, transport::open(&self.config))
            .await
            .map_err(|_| McpError::ConnectTimeout {
                server: self.config.label.clone(),
                after: limit,
            })??;
        self.pid.store(pid.unwrap_or(0), Ordering::SeqCst);
        state.generation += 1;
        let peer = session.peer().clone();
        state.session = Some(session);
        tracing::debug!(server = %self.config.label, generation = state.generation, "connected to the MCP server");
        Ok(Live {
            peer,
            generation: state.generation,
            fresh: true,
        })
    }

    /// Connects if not connected (for listing tools up front).
    pub async fn connect(&self) -> Result<(), McpError> {
        self.live().await.map(drop)
    }

    /// Sends `request` on the current session; if the connection broke, once more on a new
    /// one. `what` names the request in logs.
    async fn request<T, F, Fut>(&self, what: &str, request: F) -> Result<T, Failure>
    where
        F: Fn(Peer<RoleClient>) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let text = |error: &ServiceError| self.config.scrub(&with_causes(error));
        let live = self.live().await.map_err(Failure::Open)?;
        let first = match request(live.peer).await {
            Ok(value) => return Ok(value),
            Err(error) if is_broken(&error) => text(&error),
            Err(error) => return Err(Failure::Server(text(&error))),
        };
        if live.fresh {
            return Err(Failure::Broken(first));
        }
        tracing::info!(server = %self.config.label, %what, error = %first, "the MCP connection broke; reconnecting once");
        let live = self
            .reopen(live.generation)
            .await
            .map_err(|error| Failure::Broken(format!("{first}; reconnecting failed: {error}")))?;
        request(live.peer).await.map_err(|error| {
            if is_broken(&error) {
                Failure::Broken(format!("{first}; after reconnecting: {}", text(&error)))
            } else {
                Failure::Server(text(&error))
            }
        })
    }

    /// Every tool the server lists, in its order.
    pub async fn list_tools(&self) -> Result<Vec<rmcp::model::Tool>, McpError> {
        self.request(
            "tools/list",
            |peer| async move { peer.list_all_tools().await },
        )
        .await
        .map_err(|failure| match failure {
            Failure::Open(error) => error,
            Failure::Broken(message) | Failure::Server(message) => McpError::List {
                server: self.config.label.clone(),
                message,
            },
        })
    }

    /// Calls the server's tool `tool`.
    pub async fn call(
        &self,
        tool: &str,
        arguments: Option<JsonObject>,
    ) -> Result<CallToolResult, McpError> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = arguments;
        self.request(tool, |peer| {
            let params = params.clone();
            async move { peer.call_tool(params).await }
        })
        .await
        .map_err(|failure| match failure {
            Failure::Open(error) => McpError::Unreachable {
                server: self.config.label.clone(),
                tool: tool.to_string(),
                message: error.to_string(),
            },
            Failure::Broken(message) => McpError::Unreachable {
                server: self.config.label.clone(),
                tool: tool.to_string(),
                message,
            },
            Failure::Server(message) => McpError::Refused {
                server: self.config.label.clone(),
                tool: tool.to_string(),
                message,
            },
        })
    }
}

/// Whether a request failed because the connection broke (rather than the server saying no).
fn is_broken(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::TransportClosed | ServiceError::TransportSend(_)
    )
}
