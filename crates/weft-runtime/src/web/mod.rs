//! Built-in web tools (cargo feature `web`): [`DuckDuckGo`] search and [`ArticleReader`],
//! Agno's `DuckDuckGoTools` and `Newspaper4kTools` done as typed, bounded tools.
//!
//! Both return structured JSON, and turn every failure (timeout, HTTP error status, a body
//! that is not HTML, a body over the size limit, a page with no article) into a tool error the
//! model reads, never a panic. Fetching is one shared, bounded HTTP path ([`FetchLimits`]); HTML is
//! parsed with `dom_query` (html5ever) and articles are extracted with `dom_smoothie`, a port
//! of Mozilla's Readability. Parsing runs on tokio's blocking pool.
//!
//! The URLs these tools fetch come from web pages and model output, so both refuse this
//! machine and private networks by default (SSRF): IP addresses in URLs and redirects are
//! checked before connecting, and host names after DNS resolution, on every connection, so
//! a name that resolves to `127.0.0.1` or `169.254.169.254` (or rebinds to it) is refused.
//! `allow_private_addresses(true)` (everything) and `allow_private_host(host)` (one host)
//! lift the guard explicitly, for local mirrors and tests. While the guard is on, the system's
//! proxy settings (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) are ignored, since a proxy
//! resolves names itself, out of the guard's sight; `system_proxy(true)` uses them anyway,
//! and then only the addresses written in URLs and redirects are checked.
//!
//! ```no_run
//! # fn main() -> weft_runtime::Result<()> {
//! use weft_runtime::web::{ArticleReader, DuckDuckGo};
//! use weft_runtime::{Agent, OpenAIChat};
//!
//! let researcher = Agent::builder()
//!     .model(OpenAIChat::new("gpt-4o"))
//!     .tool(DuckDuckGo::new().max_results(5))
//!     .tool(ArticleReader::new())
//!     .build()?;
//! # Ok(()) }
//! ```

mod address;
mod article;
mod dns;
mod duckduckgo;
mod fetch;

pub use article::{Article, ArticleReader, DEFAULT_MAX_TEXT_CHARS};
pub use dns::DnsResolver;
pub use duckduckgo::{DuckDuckGo, SearchResult, SearchResults, DEFAULT_BASE_URL};
pub use fetch::{FetchError, FetchLimits};
