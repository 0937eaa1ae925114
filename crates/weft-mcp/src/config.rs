//! What an [`McpTools`](crate::McpTools) was configured with: the server, and which of its
//! tools the model gets under which names.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

/// How long connecting and listing the tools may take by default (a stdio server started
/// through `npx` or `uvx` may first download its package).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// Every setting of one MCP server's tools.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub server: Server,
    /// How errors and logs name the server.
    pub label: String,
    pub prefix: String,
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
    /// Tools (by the server's names) whose every call waits for a person's approval.
    pub confirm: Vec<String>,
    /// The limit of one tool call (reconnecting included), if set.
    pub timeout: Option<Duration>,
    pub connect_timeout: Duration,
    /// A setting that does not fit the transport, reported when the server is first used.
    pub misuse: Option<String>,
}

/// Where the server is.
#[derive(Clone, Debug)]
pub(crate) enum Server {
    /// A child process speaking MCP on its stdin and stdout.
    Stdio(StdioServer),
    /// A streamable HTTP endpoint.
    Http(HttpServer),
}

/// The command that starts a stdio server (again, after it died).
#[derive(Clone)]
pub(crate) struct StdioServer {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Variables set (`Some`) or removed (`None`) for the child.
    pub envs: Vec<(OsString, Option<OsString>)>,
    pub current_dir: Option<PathBuf>,
}

impl std::fmt::Debug for StdioServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Variables' values may be secrets.
        let keys: Vec<_> = self.envs.iter().map(|(key, _)| key).collect();
        f.debug_struct("StdioServer")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &keys)
            .field("current_dir", &self.current_dir)
            .finish()
    }
}

/// A streamable HTTP server's address and the headers sent with every request.
#[derive(Clone)]
pub(crate) struct HttpServer {
    pub url: String,
    pub bearer: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values and the token may be secrets.
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("HttpServer")
            .field("url", &url_label(&self.url))
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field("headers", &names)
            .finish()
    }
}

impl Config {
    pub fn new(server: Server) -> Config {
        let label = match &server {
            Server::Stdio(stdio) => format!("MCP server `{}`", stdio.command_line()),
            Server::Http(http) => format!("MCP server <{}>", url_label(&http.url)),
        };
        Config {
            server,
            label,
            prefix: String::new(),
            allow: None,
            deny: Vec::new(),
            confirm: Vec::new(),
            timeout: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            misuse: None,
        }
    }

    /// The name the model calls a server's tool by: the prefix, then the server's name with
    /// every character a model API refuses (anything but ASCII letters, digits, `_` and `-`)
    /// replaced by `_`.
    pub fn model_name(&self, remote: &str) -> String {
        let mut name = self.prefix.clone();
        name.extend(remote.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        }));
        name
    }

    /// `text` (an error's) with the server's URL shown as its label: no user info, query
    /// or fragment, which may hold secrets.
    pub fn scrub(&self, text: &str) -> String {
        let Server::Http(http) = &self.server else {
            return text.to_string();
        };
        let shown = url_label(&http.url);
        let mut text = text.replace(&http.url, &shown);
        if let Ok(parsed) = reqwest_mcp::Url::parse(&http.url) {
            text = text.replace(parsed.as_str(), &shown);
        }
        text
    }

    /// Whether the model gets the server's tool `remote` (by the server's own name).
    pub fn admits(&self, remote: &str) -> bool {
        self.allow
            .as_ref()
            .is_none_or(|allow| allow.iter().any(|name| name == remote))
            && !self.deny.iter().any(|name| name == remote)
    }
}

impl StdioServer {
    pub fn new<I, S>(program: impl AsRef<OsStr>, args: I) -> StdioServer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        StdioServer {
            program: program.as_ref().to_owned(),
            args: args
                .into_iter()
                .map(|arg| arg.as_ref().to_owned())
                .collect(),
            envs: Vec::new(),
            current_dir: None,
        }
    }

    /// What `std::process::Command` exposes of itself: program, arguments, environment
    /// changes and working directory.
    pub fn from_command(command: &std::process::Command) -> StdioServer {
        StdioServer {
            program: command.get_program().to_owned(),
            args: command.get_args().map(OsStr::to_owned).collect(),
            envs: command
                .get_envs()
                .map(|(key, value)| (key.to_owned(), value.map(OsStr::to_owned)))
                .collect(),
            current_dir: command.get_current_dir().map(PathBuf::from),
        }
    }

    /// The program and its arguments, space-separated, for labels.
    pub fn command_line(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|part| part.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A fresh command that starts the server.
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command.args(&self.args);
        for (key, value) in &self.envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command.kill_on_drop(true);
        command
    }
}

/// A URL as labels show it: scheme, host, port and path; no user info, query or fragment
/// (they may hold secrets).
pub(crate) fn url_label(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = &rest[..end];
    let rest = match rest.split_once('/') {
        Some((authority, path)) => {
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{host}/{path}")
        }
        None => rest
            .rsplit_once('@')
            .map_or(rest, |(_, host)| host)
            .to_string(),
    };
    if scheme.is_empty() {
        rest
    } else {
        format!("{scheme}://{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_hide_what_may_be_secret() {
        assert_eq!(
            url_label("https://user:pw@mcp.example.com:8443/mcp?token=x#y"),
            "https://mcp.example.com:8443/mcp"
        );
        assert_eq!(url_label("http://127.0.0.1:3001"), "http://127.0.0.1:3001");
    }

    #[test]
    fn errors_show_the_url_without_its_secrets() {
        let config = Config::new(Server::Http(HttpServer {
            url: "http://127.0.0.1:9/mcp?token=s3cret".into(),
            bearer: Some("t0ken".into()),
            headers: vec![("x-api-key".into(), "k3y".into())],
        }));
        let error = "error sending request for url (http://127.0.0.1:9/mcp?token=s3cret)";
        assert_eq!(
            config.scrub(error),
            "error sending request for url (http://127.0.0.1:9/mcp)"
        );
        let debug = format!("{config:?}");
        for secret in ["s3cret", "t0ken", "k3y"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn model_names_are_prefixed_and_safe_for_model_apis() {
        let mut config = Config::new(Server::Stdio(StdioServer::new("srv", ["a"])));
        config.prefix = "fs_".into();
        assert_eq!(config.model_name("read_file"), "fs_read_file");
        assert_eq!(config.model_name("files.read/all"), "fs_files_read_all");
        assert_eq!(config.label, "MCP server `srv a`");
    }

    #[test]
    fn allow_and_deny_filter_by_the_servers_names() {
        let mut config = Config::new(Server::Stdio(StdioServer::new("srv", [""; 0])));
        assert!(config.admits("echo"));
        config.allow = Some(vec!["echo".into(), "add".into()]);
        config.deny = vec!["add".into()];
        assert!(config.admits("echo"));
        assert!(!config.admits("add"));
        assert!(!config.admits("other"));
    }
}
