//! # weft-testkit
//!
//! An in-process fake LLM server for tests, examples and benchmarks. It speaks the OpenAI Chat
//! Completions and Anthropic Messages wire formats, streamed (SSE) and not, answers with
//! scripted [`Reply`]s, injects faults (error statuses with `Retry-After`, connection resets
//! mid-stream, streams cut before their end marker, malformed chunks, stalls), and records
//! every request for assertions. It also serves web pages on `GET` ([`Page`], with saved
//! search-result and article pages in [`fixtures`]) for testing web tools offline. Like the real Anthropic API, it refuses (HTTP 400) a Messages
//! request whose conversation holds tool blocks but which defines no tools. It binds
//! `127.0.0.1:0`, so tests never collide on a port and never leave the machine.
//!
//! ```
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! use weft_testkit::{FakeLlm, Reply};
//!
//! let server = FakeLlm::start().await?;
//! server.push(Reply::status(429).retry_after("0"));
//! server.push(Reply::text("Hello from the fake"));
//! // Point a provider at it: OpenAIChat::new("gpt-4o").base_url(server.openai_base_url())
//! assert!(server.openai_base_url().starts_with("http://127.0.0.1:"));
//! assert_eq!(server.request_count(), 0);
//! # Ok(()) }
//! ```

mod capture;
pub mod fixtures;
pub mod mcp;
pub mod postgres;
mod reply;
mod server;
mod web;
mod wire;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use capture::{CapturedRequest, WireFormat};
pub use reply::{FakeToolCall, Fault, Gate, Reply};
pub use web::Page;

/// The text the server answers with when its script is empty and no default was set.
pub const DEFAULT_REPLY_TEXT: &str = "Hello from the fake LLM.";

/// A running fake server. It stops when dropped.
pub struct FakeLlm {
    addr: SocketAddr,
    state: Arc<server::State>,
    task: tokio::task::JoinHandle<()>,
}

/// Configures a [`FakeLlm`] before it starts.
#[derive(Debug)]
#[must_use = "call `.start().await` to run the server"]
pub struct FakeLlmBuilder {
    port: u16,
    ttft: Duration,
    chunk_delay: Duration,
    default_reply: Reply,
    capture: bool,
}

impl Default for FakeLlmBuilder {
    fn default() -> Self {
        FakeLlmBuilder {
            port: 0,
            ttft: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            default_reply: Reply::text(DEFAULT_REPLY_TEXT),
            capture: true,
        }
    }
}

impl FakeLlmBuilder {
    /// The port on 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Delay before the first byte of every reply.
    pub fn ttft(mut self, delay: Duration) -> Self {
        self.ttft = delay;
        self
    }

    /// Delay before every content chunk after the first.
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// The reply used when the script is empty.
    pub fn default_reply(mut self, reply: Reply) -> Self {
        self.default_reply = reply;
        self
    }

    /// Whether to keep every request for [`FakeLlm::requests`] (default on; benchmarks turn it
    /// off).
    pub fn capture_requests(mut self, capture: bool) -> Self {
        self.capture = capture;
        self
    }

    /// Binds `127.0.0.1:port` and serves in a background task.
    pub async fn start(self) -> std::io::Result<FakeLlm> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(server::State {
            script: Mutex::new(VecDeque::new()),
            routes: Mutex::default(),
            default_reply: self.default_reply,
            ttft: self.ttft,
            chunk_delay: self.chunk_delay,
            capture: self.capture,
            requests: Mutex::new(Vec::new()),
            count: Default::default(),
            pages: Mutex::default(),
            page_requests: Mutex::default(),
        });
        let app = server::router(Arc::clone(&state));
        // Small SSE chunks must leave at once: without TCP_NODELAY, Nagle's algorithm and the
        // client's delayed ACK add ~40 ms to every streamed reply.
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
            let _ = stream.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("weft-testkit: the fake server stopped: {err}");
            }
        });
        Ok(FakeLlm { addr, state, task })
    }
}

impl FakeLlm {
    /// Starts a server with default settings on a free port.
    pub async fn start() -> std::io::Result<FakeLlm> {
        FakeLlm::builder().start().await
    }

    /// Configures a server.
    pub fn builder() -> FakeLlmBuilder {
        FakeLlmBuilder::default()
    }

    /// Queues a reply for the next request that has none yet.
    pub fn push(&self, reply: Reply) -> &Self {
        match self.state.script.lock() {
            Ok(mut script) => script.push_back(reply),
            Err(poisoned) => poisoned.into_inner().push_back(reply),
        }
        self
    }

    /// Queues a reply for the first request whose body contains `needle` (checked before the
    /// plain queue, routes in the order given, each used once): for agents running
    /// concurrently, where arrival order is not fixed.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// use weft_testkit::{FakeLlm, Reply};
    /// let server = FakeLlm::start().await?;
    /// server.route("https://a.test", Reply::text("about a"));
    /// server.route("https://b.test", Reply::text("about b"));
    /// # Ok(()) }
    /// ```
    pub fn route(&self, needle: &str, reply: Reply) -> &Self {
        match self.state.routes.lock() {
            Ok(mut routes) => routes.push((needle.to_string(), reply)),
            Err(poisoned) => poisoned.into_inner().push((needle.to_string(), reply)),
        }
        self
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: the value for `ANTHROPIC_BASE_URL` and `OLLAMA_HOST`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/v1`: the value for `OPENAI_BASE_URL`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The base URL for Anthropic (`/v1/messages` is appended by the client).
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// Every request received so far, oldest first (empty when capture is off).
    pub fn requests(&self) -> Vec<CapturedRequest> {
        match self.state.requests.lock() {
            Ok(requests) => requests.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// How many requests arrived (counted even when capture is off).
    pub fn request_count(&self) -> usize {
        self.state.count.load(Ordering::SeqCst)
    }

    /// Serves `page` on `GET path` (`/articles/a`, or `/html/?q=x` for one query only).
    pub fn serve(&self, path: &str, page: Page) -> &Self {
        match self.state.pages.lock() {
            Ok(mut pages) => pages.insert(path.to_string(), page),
            Err(poisoned) => poisoned.into_inner().insert(path.to_string(), page),
        };
        self
    }

    /// The pages fetched so far (path and query), oldest first.
    pub fn page_requests(&self) -> Vec<String> {
        match self.state.page_requests.lock() {
            Ok(seen) => seen.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// How many scripted replies are still queued.
    pub fn pending_replies(&self) -> usize {
        match self.state.script.lock() {
            Ok(script) => script.len(),
            Err(poisoned) => poisoned.into_inner().len(),
        }
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLlm")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
