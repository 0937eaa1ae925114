//! Starting a session with a server: a child process over stdio, or a streamable HTTP
//! session. Each call makes a new one (the first connection, or a reconnection).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;

use reqwest_mcp::header::{HeaderName, HeaderValue};
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use tokio::io::AsyncBufReadExt;

use crate::config::{Config, HttpServer, Server, StdioServer};
use crate::error::with_causes;
use crate::guard::EndOnUnaddressedError;
use crate::McpError;

/// A running MCP client session.
pub(crate) type Session = RunningService<RoleClient, ClientConfig>;

/// A new session with the server, and the process id of a stdio server.
pub(crate) async fn open(config: &Config) -> Result<(Session, Option<u32>), McpError> {
    if let Some(message) = &config.misuse {
        return Err(McpError::Config {
            server: config.label.clone(),
            message: message.clone(),
        });
    }
    match &config.server {
        Server::Stdio(stdio) => open_stdio(config, stdio).await,
        Server::Http(http) => Ok((open_http(config, http).await?, None)),
    }
}

/// How weft introduces itself to servers.
fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("weft", env!("CARGO_PKG_VERSION")),
    )
}

fn connect_error(config: &Config, error: impl std::error::Error + 'static) -> McpError {
    McpError::Connect {
        server: config.label.clone(),
        message: config.scrub(&with_causes(&error)),
    }
}

async fn open_stdio(
    config: &Config,
    stdio: &StdioServer,
) -> Result<(Session, Option<u32>), McpError> {
    let command = process_wrap::tokio::CommandWrap::from(stdio.command());
    // In its own process group, so that stopping it stops what it started too (a server run
    // through `npx` or a shell script is several processes).
    #[cfg(unix)]
    let command = {
        let mut command = command;
        command.wrap(process_wrap::tokio::ProcessGroup::leader());
        command
    };
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| McpError::Spawn {
            server: config.label.clone(),
            source,
        })?;
    let pid = transport.id();
    if let Some(stderr) = stderr {
        tokio::spawn(log_stderr(config.label.clone(), stderr));
    }
    tracing::debug!(server = %config.label, pid, "started the MCP server");
    let session = client_config()
        .serve(transport)
        .await
        .map_err(|error| connect_error(config, error))?;
    Ok((session, pid))
}

/// Logs what a stdio server writes to its stderr, line by line (`debug`, target
/// `weft_mcp::server`), until it closes it. Reading it keeps the server from blocking on a
/// full pipe.
async fn log_stderr(server: String, stderr: tokio::process::ChildStderr) {
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "weft_mcp::server", server = %server, "{line}");
    }
}

async fn open_http(config: &Config, http: &HttpServer) -> Result<Session, McpError> {
    let mut transport_config = StreamableHttpClientTransportConfig::with_uri(http.url.as_str());
    if let Some(token) = &http.bearer {
        transport_config = transport_config.auth_header(token.clone());
    }
    let mut headers = HashMap::new();
    for (name, value) in &http.headers {
        let bad = |what: &str| McpError::Config {
            server: config.label.clone(),
            message: format!("the header `{name}` has an invalid {what}"),
        };
        let name = HeaderName::try_from(name.as_str()).map_err(|_| bad("name"))?;
        let value = HeaderValue::try_from(value.as_str()).map_err(|_| bad("value"))?;
        headers.insert(name, value);
    }
    let transport = EndOnUnaddressedError::new(
        StreamableHttpClientTransport::with_client(
            http_client(config)?,
            transport_config.custom_headers(headers),
        ),
        &config.label,
    );
    client_config()
        .serve(transport)
        .await
        .map_err(|error| connect_error(config, error))
}

/// An HTTP client with rustls on the `ring` provider and the webpki roots (as the rest of
/// weft), following no redirects (a JSON-RPC POST redirected elsewhere would lose its body or
/// carry the session to another host).
fn http_client(config: &Config) -> Result<reqwest_mcp::Client, McpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| connect_error(config, error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest_mcp::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest_mcp::redirect::Policy::none())
        // As rmcp's own client: no idle pooling, whose reuse stalls on delayed ACKs.
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|error| connect_error(config, error))
}
