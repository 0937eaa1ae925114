//! [`DuckDuckGo`]: web search through DuckDuckGo's HTML endpoint, no API key needed.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dns::DnsResolver;
use super::fetch::{http_url, Client, FetchLimits};
use crate::tool::{schema_for, Tool, ToolError, ToolOutput};

/// Where DuckDuckGo serves its HTML results.
pub const DEFAULT_BASE_URL: &str = "https://html.duckduckgo.com";

/// Web search: the `duckduckgo_search` tool, `{query, max_results?}` to
/// `{query, results: [{title, url, snippet}]}`. Ads are skipped and DuckDuckGo's redirect
/// links resolved to the real URL; no results is an empty list, not an error. Like
/// [`ArticleReader`](super::ArticleReader), it refuses local and private addresses unless
/// allowed.
///
/// ```
/// use weft_runtime::web::DuckDuckGo;
/// use weft_runtime::Tool;
///
/// let search = DuckDuckGo::new().max_results(3);
/// assert_eq!(search.name(), "duckduckgo_search");
/// assert_eq!(search.parameters()["required"][0], "query");
/// ```
#[derive(Clone, Debug)]
pub struct DuckDuckGo {
    base_url: String,
    max_results: usize,
    client: Client,
}

/// The arguments the model gives.
#[derive(Deserialize, JsonSchema)]
struct SearchArgs {
    /// What to search the web for.
    query: String,
    /// How many results to return (at most the tool's own limit).
    max_results: Option<u32>,
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SearchResult {
    /// The page title.
    pub title: String,
    /// The page's URL (DuckDuckGo's redirect resolved).
    pub url: String,
    /// The text DuckDuckGo shows under the title.
    pub snippet: String,
}

/// What the tool returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SearchResults {
    /// The query searched.
    pub query: String,
    /// The results, best first.
    pub results: Vec<SearchResult>,
}

impl Default for DuckDuckGo {
    fn default() -> Self {
        DuckDuckGo::new()
    }
}

impl DuckDuckGo {
    /// Searches duckduckgo.com, at most 5 results, with the default [`FetchLimits`].
    pub fn new() -> Self {
        DuckDuckGo {
            base_url: DEFAULT_BASE_URL.to_string(),
            max_results: 5,
            client: Client::new(FetchLimits::default()),
        }
    }

    /// Another endpoint serving DuckDuckGo's HTML (a proxy, or a test server).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into().trim_end_matches('/').to_string();
        self
    }

    /// The most results a search returns (default 5).
    pub fn max_results(mut self, max: usize) -> Self {
        self.max_results = max.max(1);
        self
    }

    /// Timeout and size limit of the results page.
    pub fn limits(mut self, limits: FetchLimits) -> Self {
        self.client = self.client.with_limits(limits);
        self
    }

    /// Lets the search reach every local and private address (a [`base_url`](Self::base_url)
    /// on `localhost` or `127.0.0.1`, a mirror on a private network), which it refuses by
    /// default, redirects and what host names resolve to included. For local mirrors and
    /// tests; to allow one host only, use [`allow_private_host`](Self::allow_private_host).
    pub fn allow_private_addresses(mut self, allow: bool) -> Self {
        self.client = self.client.with_private(allow);
        self
    }

    /// Lets the search reach `host` (a host name, or an IP address) even though it is, or
    /// resolves to, a local or private address; every other host is still checked.
    pub fn allow_private_host(mut self, host: &str) -> Self {
        self.client = self.client.with_private_host(host);
        self
    }

    /// Sends requests for `host` to `addr` instead of looking it up (like curl's `--resolve`;
    /// `addr`'s port is used when a URL names none). For local mirrors and tests. A local or
    /// private `addr` is refused unless allowed
    /// ([`allow_private_host`](Self::allow_private_host)).
    pub fn resolve(mut self, host: &str, addr: std::net::SocketAddr) -> Self {
        self.client = self.client.with_resolve(host, addr);
        self
    }

    /// Uses the system's proxy settings (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`),
    /// which the search ignores by default while it refuses private addresses: the proxy then
    /// resolves host names itself, so the guard can only check addresses written in URLs and
    /// redirects, and a name that resolves to a private address is no longer refused. Turn it
    /// on only where the proxy itself refuses private networks. With
    /// [`allow_private_addresses(true)`](Self::allow_private_addresses) the proxy settings are
    /// used anyway: there is no guard to bypass.
    pub fn system_proxy(mut self, use_it: bool) -> Self {
        self.client = self.client.with_system_proxy(use_it);
        self
    }

    /// Looks host names up with `resolver` instead of the system's DNS. Its answers are
    /// checked like the system's: local and private addresses are dropped unless allowed.
    pub fn dns_resolver(mut self, resolver: Arc<dyn DnsResolver>) -> Self {
        self.client = self.client.with_dns(resolver);
        self
    }

    /// Searches for `query`.
    pub async fn search(&self, query: &str, max: usize) -> Result<SearchResults, ToolError> {
        let query = query.trim();
        if query.is_empty() {
            return Err("the query is empty; give the words to search for".into());
        }
        let endpoint = http_url(&format!("{}/html/", self.base_url))?;
        let (_, html) = self.client.get_html(&endpoint, &[("q", query)]).await?;
        let max = max.clamp(1, self.max_results);
        let mut results = tokio::task::spawn_blocking(move || parse_results(&html))
            .await
            .map_err(|err| format!("parsing the results failed: {err}"))??;
        results.truncate(max);
        Ok(SearchResults {
            query: query.to_string(),
            results,
        })
    }
}

impl Tool for DuckDuckGo {
    fn name(&self) -> &str {
        "duckduckgo_search"
    }

    fn description(&self) -> &str {
        "Searches the web with DuckDuckGo. Returns the title, URL and snippet of each result."
    }

    fn parameters(&self) -> Value {
        schema_for::<SearchArgs>()
    }

    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        async move {
            let args: SearchArgs = serde_json::from_value(arguments)
                .map_err(|err| format!("bad arguments: {err}; expected {{\"query\": \"…\"}}"))?;
            let max = args.max_results.map_or(self.max_results, |m| m as usize);
            let found = self.search(&args.query, max).await?;
            Ok(ToolOutput::Json(serde_json::to_value(found)?))
        }
        .boxed()
    }
}

/// The organic results of a DuckDuckGo HTML page, in order; an error for a page that is not
/// a results page at all (DuckDuckGo answers clients it suspects of being bots with a
/// challenge page, status 202), which must not pass for "no results".
pub(crate) fn parse_results(html: &str) -> Result<Vec<SearchResult>, String> {
    let document = dom_query::Document::from(html);
    let blocks = document.select("div.result");
    if blocks.is_empty() {
        if document.select(".no-results").exists() {
            return Ok(Vec::new());
        }
        return Err(
            "DuckDuckGo answered with a page that is not a results page (a bot check?); try again later"
                .to_string(),
        );
    }
    let mut results = Vec::new();
    for result in blocks.iter() {
        if result.has_class("result--ad") {
            continue;
        }
        let link = result.select("a.result__a").first();
        let Some(href) = link.attr("href") else {
            continue;
        };
        let Some(url) = target_url(&href) else {
            continue;
        };
        let title = squash(&link.text());
        if title.is_empty() {
            continue;
        }
        results.push(SearchResult {
            title,
            url,
            snippet: squash(&result.select(".result__snippet").first().text()),
        });
    }
    Ok(results)
}

/// The page a result links to: DuckDuckGo's `//duckduckgo.com/l/?uddg=<url>` redirect
/// resolved, ad and relative links dropped.
fn target_url(href: &str) -> Option<String> {
    let absolute = match href {
        h if h.starts_with("//") => format!("https:{h}"),
        h => h.to_string(),
    };
    let parsed = reqwest::Url::parse(&absolute).ok()?;
    let is_ddg = parsed
        .host_str()
        .is_some_and(|host| host == "duckduckgo.com" || host.ends_with(".duckduckgo.com"));
    if !is_ddg {
        return matches!(parsed.scheme(), "http" | "https").then_some(absolute);
    }
    if parsed.path() != "/l/" {
        return None; // ads (`/y.js`) and other internal links
    }
    let target = parsed
        .query_pairs()
        .find(|(key, _)| key == "uddg")
        .map(|(_, value)| value.into_owned())?;
    http_url(&target).ok().map(|url| url.to_string())
}

/// Text with runs of whitespace collapsed.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_resolved_and_ads_dropped() {
        assert_eq!(
            target_url("//duckduckgo.com/l/?uddg=https%3A%2F%2Fsled.rs%2Fdocs%3Fa%3D1&rut=x")
                .as_deref(),
            Some("https://sled.rs/docs?a=1")
        );
        assert_eq!(
            target_url("https://example.com/a").as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(
            target_url("https://duckduckgo.com/y.js?ad_provider=x"),
            None
        );
        assert_eq!(target_url("/relative"), None);
        assert_eq!(target_url("javascript:alert(1)"), None);
    }

    #[test]
    fn no_results_is_empty_and_a_challenge_page_an_error() {
        let none = parse_results("<html><div class=\"no-results\">No results.</div></html>");
        assert_eq!(none, Ok(Vec::new()));
        let challenge =
            "<html><body><form id=\"challenge-form\">Select all ducks</form></body></html>";
        assert!(parse_results(challenge)
            .unwrap_err()
            .contains("not a results page"));
        assert!(parse_results("not html at all").is_err());
    }
}
