//! The real MCP server the MCP tests run against: the reference server
//! [`PACKAGE`] (`server-everything`, from npm), found through `WEFT_TEST_MCP_SERVER`, or a
//! skip with a clear message. `.ci/run` installs it from `.ci/mcp/` (pinned with its lock
//! file) and sets the variable.
//!
//! The server speaks stdio (`<executable> stdio`) and streamable HTTP
//! (`<executable> streamableHttp`, [`HttpServer`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The variable naming the server's executable (`…/node_modules/.bin/mcp-server-everything`).
pub const SERVER_VARIABLE: &str = "WEFT_TEST_MCP_SERVER";
/// Set to `1` (CI does) to make a missing server fail the test instead of skipping it.
pub const REQUIRE_VARIABLE: &str = "WEFT_REQUIRE_MCP";
/// The npm package and version the tests are written against.
pub const PACKAGE: &str = "@modelcontextprotocol/server-everything@2026.8.31";

/// The server's executable from `WEFT_TEST_MCP_SERVER`. Without it, prints why the test is
/// skipped and returns `None`, or panics when `WEFT_REQUIRE_MCP=1` (so CI cannot skip). A
/// variable naming no file panics: that is a broken setup, not a missing one.
///
/// ```
/// if let Some(server) = weft_testkit::mcp::test_server("my_test") {
///     // McpTools::stdio(&server, ["stdio"])
/// #   let _ = server;
/// }
/// ```
pub fn test_server(test: &str) -> Option<PathBuf> {
    match std::env::var_os(SERVER_VARIABLE) {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{test}: {SERVER_VARIABLE}={} names no file; point it at node_modules/.bin/mcp-server-everything of {PACKAGE}",
                path.display()
            );
            Some(path)
        }
        _ => {
            let message = format!(
                "{test}: skipped: set {SERVER_VARIABLE} to the `mcp-server-everything` executable of {PACKAGE} to run the MCP tests (`npm ci --prefix DIR` with .ci/mcp's package files in DIR, then DIR/node_modules/.bin/mcp-server-everything; `.ci/run` does this)"
            );
            if std::env::var(REQUIRE_VARIABLE).is_ok_and(|value| value == "1") {
                panic!("{message}; {REQUIRE_VARIABLE}=1 does not allow skipping");
            }
            eprintln!("{message}");
            None
        }
    }
}

/// The server over streamable HTTP, in a child process killed when this is dropped. It
/// listens on every address (the server takes no host), on the port the OS picked, which is
/// read from the OS once the server says it listens (Linux: `/proc`), so nothing races for a
/// port.
#[derive(Debug)]
pub struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    /// Starts the server on a port the OS picks. Blocks until it listens (a fraction of a
    /// second; it prints a line then).
    pub fn start(executable: &Path) -> std::io::Result<HttpServer> {
        HttpServer::start_on(executable, 0)
    }

    /// Starts the server on `port` (0: the OS picks): to start it again where a killed one
    /// listened, as a restarted server would.
    pub fn start_on(executable: &Path, port: u16) -> std::io::Result<HttpServer> {
        let mut child = Command::new(executable)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let Some(stderr) = child.stderr.take() else {
            return Err(std::io::Error::other("the server's stderr is not piped"));
        };
        let mut stderr = BufReader::new(stderr);
        let mut said = String::new();
        // The server prints this line once its socket is bound, or exits.
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line)? == 0 {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::other(format!(
                    "the MCP server exited before listening; it said: {said}"
                )));
            }
            said.push_str(&line);
            if line.contains("listening on port") {
                break;
            }
        }
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let port = match listening_port(child.id()) {
            Ok(port) => port,
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(err);
            }
        };
        Ok(HttpServer { child, port })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>/mcp`, its MCP endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// Kills the server and waits until it is gone (its port is free when this returns).
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill()?;
        self.child.wait().map(drop)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The TCP port process `pid` listens on: its sockets (`/proc/<pid>/fd`) matched against
/// the listening sockets of its network namespace (`/proc/<pid>/net/tcp6`, `tcp`).
#[cfg(target_os = "linux")]
pub fn listening_port(pid: u32) -> std::io::Result<u16> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let target = std::fs::read_link(entry?.path())?;
        if let Some(inode) = target
            .to_str()
            .and_then(|target| target.strip_prefix("socket:["))
            .and_then(|rest| rest.strip_suffix(']'))
        {
            inodes.push(inode.to_string());
        }
    }
    for table in ["tcp6", "tcp"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is fields[1] (`ADDR:PORT` in hex), st fields[3] (`0A`: LISTEN),
            // inode fields[9].
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if *state != "0A" || !inodes.iter().any(|own| own == inode) {
                continue;
            }
            if let Some(port) = local
                .rsplit_once(':')
                .and_then(|(_, port)| u16::from_str_radix(port, 16).ok())
            {
                return Ok(port);
            }
        }
    }
    Err(std::io::Error::other(format!(
        "process {pid} listens on no TCP port"
    )))
}

/// The TCP port process `pid` listens on (only Linux can tell).
#[cfg(not(target_os = "linux"))]
pub fn listening_port(pid: u32) -> std::io::Result<u16> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("finding the port process {pid} listens on needs Linux's /proc"),
    ))
}
