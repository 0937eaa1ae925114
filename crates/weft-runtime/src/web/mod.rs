//! Built-in web tools (cargo feature `web`): [`DuckDuckGo`] search and [`ArticleReader`],
//! Agno's `DuckDuckGoTools` and `Newspaper4kTools` done as typed, bounded tools.
//!
//! Both return structured JSON, and turn every failure (timeout, HTTP error status, a body
//! that is not HTML, a body over the size limit, a page with no article) into a tool error the
//! model reads, never a panic. Fetching is one shared, bounded HTTP path ([`FetchLimits`]); HTML is
//! parsed with `dom_query` (html5ever) and articles are extracted with `dom_smoothie`, a port
//! of Mozilla's Readability. Parsing runs on tokio's blocking pool.
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

mod article;
mod duckduckgo;
mod fetch;

pub use article::{Article, ArticleReader, DEFAULT_MAX_TEXT_CHARS};
pub use duckduckgo::{DuckDuckGo, SearchResult, SearchResults, DEFAULT_BASE_URL};
pub use fetch::{FetchError, FetchLimits};
