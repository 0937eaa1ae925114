//! [`McpTools`]: an MCP server's tools for an agent, and how they are picked and named.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use weft_runtime::{Tool, ToolError, Toolset};

use crate::config::{Config, HttpServer, Server, StdioServer};
use crate::connection::Connection;
use crate::tool::McpTool;
use crate::McpError;

/// An MCP server's tools, for an agent's [`toolset`](weft_runtime::AgentBuilder::toolset).
///
/// Nothing happens until an agent first runs: then weft starts the server (stdio) or opens a
/// session (HTTP), lists its tools and gives the model those that [`allow`](Self::allow) and
/// [`deny`](Self::deny) let through, named with the [`prefix`](Self::prefix). The tools share
/// the connection. A call on a connection that broke (the server died or restarted) opens a
/// new one and is sent once more; if that fails too, or the call outlives its
/// [`timeout`](Self::timeout), the model gets an error result saying so and the run goes on.
///
/// Clones share one connection (and one server process); changing a setting of a clone gives
/// it a connection of its own. The server stops when the last clone and the last of its
/// tools are dropped.
///
/// ```no_run
/// use std::time::Duration;
/// use weft_mcp::McpTools;
/// use weft_runtime::Agent;
///
/// let files = McpTools::stdio("npx", ["-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"])
///     .prefix("fs_")
///     .allow(["read_text_file", "list_directory"])
///     .timeout(Duration::from_secs(20));
/// let search = McpTools::http("https://mcp.example.com/mcp").bearer_token("my-token");
/// let agent = Agent::builder()
///     .model(weft_runtime::model_from_env()?) // WEFT_MODEL, OpenAI, Anthropic or offline
///     .toolset(files)
///     .toolset(search)
///     .build()?; // starts nothing yet
/// # Ok::<(), weft_runtime::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "give it to an agent with `.toolset(..)`"]
pub struct McpTools {
    connection: Arc<Connection>,
}

impl McpTools {
    /// A server weft starts as a child process and talks to over its stdin and stdout:
    /// `McpTools::stdio("uvx", ["mcp-server-time"])`. It is started when an agent first needs
    /// its tools, and again if it died. It runs in its own process group (on Unix), which is
    /// killed when the server is replaced or dropped; what it writes to stderr is logged
    /// (`debug`, target `weft_mcp::server`).
    pub fn stdio<I, S>(program: impl AsRef<OsStr>, args: I) -> McpTools
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        McpTools::with(Config::new(Server::Stdio(StdioServer::new(program, args))))
    }

    /// [`stdio`](Self::stdio) from a `Command`, for environment variables or a working
    /// directory. What weft reads of it: program, arguments, variables set or removed, and
    /// working directory (`env_clear`, stdio settings and other platform extensions are not
    /// readable from a `Command`, so they are not used).
    pub fn stdio_command(command: std::process::Command) -> McpTools {
        McpTools::with(Config::new(Server::Stdio(StdioServer::from_command(
            &command,
        ))))
    }

    /// A server at a streamable HTTP endpoint (`https://host/mcp`). A session is opened when
    /// an agent first needs its tools, and a new one if the server forgot it (restarted) or
    /// the connection broke. TLS is rustls with the webpki roots; redirects are not followed.
    pub fn http(url: impl Into<String>) -> McpTools {
        McpTools::with(Config::new(Server::Http(HttpServer {
            url: url.into(),
            bearer: None,
            headers: Vec::new(),
        })))
    }

    fn with(config: Config) -> McpTools {
        McpTools {
            connection: Arc::new(Connection::new(config)),
        }
    }

    /// A copy of the settings, changed by `change`, with a connection of its own.
    fn configure(self, change: impl FnOnce(&mut Config)) -> McpTools {
        let mut config = self.connection.config().clone();
        change(&mut config);
        McpTools::with(config)
    }

    /// How errors and logs name the server (default: `MCP server` and its command line, or
    /// its URL without user info and query). Set it when the command line holds a secret.
    pub fn name(self, name: impl Into<String>) -> McpTools {
        let name = name.into();
        self.configure(|config| config.label = format!("MCP server `{name}`"))
    }

    /// Put before every tool name the model sees (`"fs_"` makes `read_file` `fs_read_file`),
    /// to tell servers' tools apart. Characters a model API refuses in a name (anything but
    /// ASCII letters, digits, `_` and `-`) are replaced by `_` in the server's names.
    pub fn prefix(self, prefix: impl Into<String>) -> McpTools {
        let prefix = prefix.into();
        self.configure(|config| config.prefix = prefix)
    }

    /// Only these of the server's tools, by the server's names (without the prefix). Naming
    /// a tool the server does not have fails the agent's first run, saying which it has.
    pub fn allow<I, S>(self, names: I) -> McpTools
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = names.into_iter().map(Into::into).collect();
        self.configure(|config| config.allow = Some(names))
    }

    /// None of these of the server's tools, by the server's names (without the prefix).
    pub fn deny<I, S>(self, names: I) -> McpTools
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = names.into_iter().map(Into::into).collect();
        self.configure(|config| config.deny = names)
    }

    /// Every call of these tools (by the server's names) waits for a person's approval first,
    /// like a `#[tool(confirm)]` tool: inside a workflow run it pauses the run until the
    /// call is approved or rejected (see `Tool::needs_approval`).
    pub fn confirm<I, S>(self, names: I) -> McpTools
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = names.into_iter().map(Into::into).collect();
        self.configure(|config| config.confirm = names)
    }

    /// How long one tool call may take, reconnecting included (default: the agent's
    /// `tool_timeout`, 60 s unless set). A call past it is stopped, the server is told to
    /// cancel it, and the model gets an error result saying it did not finish in time.
    pub fn timeout(self, timeout: Duration) -> McpTools {
        self.configure(|config| config.timeout = Some(timeout))
    }

    /// How long starting or reaching the server and the MCP handshake may take (default
    /// [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT), 60 s).
    pub fn connect_timeout(self, timeout: Duration) -> McpTools {
        self.configure(|config| config.connect_timeout = timeout)
    }

    /// Sends `Authorization: Bearer <token>` with every request (HTTP servers only; on a
    /// stdio server it is reported as a configuration error when the server is first used).
    pub fn bearer_token(self, token: impl Into<String>) -> McpTools {
        let token = token.into();
        self.configure(|config| match &mut config.server {
            Server::Http(http) => http.bearer = Some(token),
            Server::Stdio(_) => {
                config.misuse =
                    Some("`bearer_token` is for HTTP servers; pass a stdio server's secrets in its environment (`stdio_command`)".into());
            }
        })
    }

    /// Sends this header with every request (HTTP servers only; on a stdio server it is
    /// reported as a configuration error when the server is first used). A name or value
    /// HTTP does not allow is reported when the server is first used.
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> McpTools {
        let (name, value) = (name.into(), value.into());
        self.configure(|config| match &mut config.server {
            Server::Http(http) => http.headers.push((name, value)),
            Server::Stdio(_) => {
                config.misuse = Some("`header` is for HTTP servers".into());
            }
        })
    }

    /// How errors and logs name the server.
    pub fn label(&self) -> &str {
        &self.connection.config().label
    }

    /// The process id of the stdio server weft started last, if it started one (it may have
    /// exited since); `None` for an HTTP server. For monitoring, or for stopping it by hand.
    pub fn server_pid(&self) -> Option<u32> {
        self.connection.pid()
    }

    /// Connects now instead of on first use (starting a stdio server), to fail early.
    pub async fn connect(&self) -> Result<(), McpError> {
        self.connection.connect().await
    }

    /// The tools the model gets: the server's, filtered by [`allow`](Self::allow) and
    /// [`deny`](Self::deny), named with the [`prefix`](Self::prefix), in the server's order.
    /// Connects first if needed. (What an agent calls through [`Toolset`].)
    pub async fn list(&self) -> Result<Vec<Arc<dyn Tool>>, McpError> {
        let config = self.connection.config();
        let listed = self.connection.list_tools().await?;
        if let Some(allow) = &config.allow {
            let missing: Vec<String> = allow
                .iter()
                .filter(|name| !listed.iter().any(|tool| tool.name == name.as_str()))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(McpError::UnknownTools {
                    server: config.label.clone(),
                    missing,
                    available: listed.iter().map(|tool| tool.name.to_string()).collect(),
                });
            }
        }
        for name in &config.deny {
            if !listed.iter().any(|tool| tool.name == name.as_str()) {
                tracing::warn!(server = %config.label, tool = %name, "`deny` names a tool the MCP server does not have");
            }
        }
        Ok(listed
            .into_iter()
            .filter(|tool| config.admits(&tool.name))
            .map(|tool| Arc::new(McpTool::new(tool, Arc::clone(&self.connection))) as Arc<dyn Tool>)
            .collect())
    }
}

impl Toolset for McpTools {
    fn label(&self) -> &str {
        McpTools::label(self)
    }

    fn tools(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Tool>>, ToolError>> {
        Box::pin(async move { self.list().await.map_err(ToolError::from) })
    }
}

impl std::fmt::Debug for McpTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = self.connection.config();
        f.debug_struct("McpTools")
            .field("server", &config.server)
            .field("label", &config.label)
            .field("prefix", &config.prefix)
            .field("allow", &config.allow)
            .field("deny", &config.deny)
            .field("timeout", &config.timeout)
            .field("connect_timeout", &config.connect_timeout)
            .finish()
    }
}
