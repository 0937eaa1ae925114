//! [`ArticleReader`]: fetches a page and extracts its article (what Newspaper4k does for Agno).

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dns::DnsResolver;
use super::fetch::{http_url, Client, FetchLimits};
use crate::tool::{schema_for, Tool, ToolError, ToolOutput};

/// The most characters of article text returned by default.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 20_000;

/// Reads a web page's article: the `read_article` tool, `{url}` to an [`Article`] with title,
/// authors, publish date and main text, boilerplate (menus, ads, comments) removed. Pages that
/// are not HTML, error statuses, bodies over the size limit, timeouts and pages without an
/// article are tool errors the model reads. Local and private addresses are refused (in the
/// URL, on each redirect, and after DNS resolution, so a name that resolves to `127.0.0.1` is
/// refused too) unless [`allow_private_addresses`](Self::allow_private_addresses) or
/// [`allow_private_host`](Self::allow_private_host) says otherwise.
///
/// ```
/// use weft_runtime::web::ArticleReader;
/// use weft_runtime::Tool;
///
/// let reader = ArticleReader::new().max_text_chars(5_000);
/// assert_eq!(reader.name(), "read_article");
/// ```
#[derive(Clone, Debug)]
pub struct ArticleReader {
    client: Client,
    max_text_chars: usize,
}

/// The arguments the model gives.
#[derive(Deserialize, JsonSchema)]
struct ReadArgs {
    /// The address of the page to read (http or https).
    url: String,
}

/// An article read from a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Article {
    /// The page's address (after redirects).
    pub url: String,
    /// The article's title.
    pub title: String,
    /// Its authors, as the page names them.
    pub authors: Vec<String>,
    /// When it was published, as the page states it (usually ISO 8601).
    pub published: Option<String>,
    /// The site's name, if the page gives one.
    pub site_name: Option<String>,
    /// The main text, paragraphs separated by blank lines.
    pub text: String,
    /// Whether `text` was cut at the reader's limit.
    pub truncated: bool,
}

impl Default for ArticleReader {
    fn default() -> Self {
        ArticleReader::new()
    }
}

impl ArticleReader {
    /// A reader with the default [`FetchLimits`] and [`DEFAULT_MAX_TEXT_CHARS`].
    pub fn new() -> Self {
        ArticleReader {
            client: Client::new(FetchLimits::default()),
            max_text_chars: DEFAULT_MAX_TEXT_CHARS,
        }
    }

    /// Timeout and size limit of a page.
    pub fn limits(mut self, limits: FetchLimits) -> Self {
        self.client = self.client.with_limits(limits);
        self
    }

    /// Lets the reader fetch every local and private address (`localhost`, `127.0.0.1`,
    /// `192.168.…`, cloud metadata at `169.254.169.254`, …), which it refuses by default:
    /// the URLs it reads come from web pages and model output. The guard checks IP addresses
    /// in URLs, every redirect, and what each host name resolves to (pinned
    /// [`resolve`](Self::resolve) addresses included). For local mirrors and tests; to allow
    /// one host only, use [`allow_private_host`](Self::allow_private_host).
    pub fn allow_private_addresses(mut self, allow: bool) -> Self {
        self.client = self.client.with_private(allow);
        self
    }

    /// Lets the reader fetch `host` (a host name, or an IP address) even though it is, or
    /// resolves to, a local or private address; every other host is still checked. For one
    /// local mirror or test server, e.g. with [`resolve`](Self::resolve).
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
    /// which the reader ignores by default while it refuses private addresses: the proxy then
    /// resolves host names itself, so the guard can only check addresses written in URLs and
    /// redirects, and a name that resolves to a private address is no longer refused. Turn it
    /// on only where the proxy itself refuses private networks. With
    /// [`allow_private_addresses(true)`](Self::allow_private_addresses) the proxy settings are
    /// used anyway: there is no guard to bypass.
    pub fn system_proxy(mut self, use_it: bool) -> Self {
        self.client = self.client.with_system_proxy(use_it);
        self
    }

    /// Looks host names up with `resolver` instead of the system's DNS (custom DNS, or a test
    /// that makes a name resolve to a chosen address). Its answers are checked like the
    /// system's: local and private addresses are dropped unless allowed.
    pub fn dns_resolver(mut self, resolver: Arc<dyn DnsResolver>) -> Self {
        self.client = self.client.with_dns(resolver);
        self
    }

    /// The most characters of text an article carries (the model's context is not free).
    pub fn max_text_chars(mut self, max: usize) -> Self {
        self.max_text_chars = max;
        self
    }

    /// Fetches `url` and extracts its article.
    pub async fn read(&self, url: &str) -> Result<Article, ToolError> {
        let url = http_url(url)?;
        let (final_url, html) = self.client.get_html(&url, &[]).await?;
        let max = self.max_text_chars;
        tokio::task::spawn_blocking(move || extract(&html, &final_url, max))
            .await
            .map_err(|err| format!("reading the page failed: {err}"))?
    }
}

impl Tool for ArticleReader {
    fn name(&self) -> &str {
        "read_article"
    }

    fn description(&self) -> &str {
        "Reads the article at a URL: returns its title, authors, publish date and main text."
    }

    fn parameters(&self) -> Value {
        schema_for::<ReadArgs>()
    }

    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        async move {
            let args: ReadArgs = serde_json::from_value(arguments).map_err(|err| {
                format!("bad arguments: {err}; expected {{\"url\": \"https://…\"}}")
            })?;
            let article = self.read(&args.url).await?;
            Ok(ToolOutput::Json(serde_json::to_value(article)?))
        }
        .boxed()
    }
}

/// The article of a page, or why there is none.
pub(crate) fn extract(html: &str, url: &str, max_text_chars: usize) -> Result<Article, ToolError> {
    let mut readability = dom_smoothie::Readability::new(html, Some(url), None)
        .map_err(|err| format!("could not read {url}: {err}"))?;
    let parsed = readability
        .parse()
        .map_err(|_| format!("{url} has no article text to read"))?;
    let authors = parsed.byline.as_deref().map(authors).unwrap_or_default();
    let text = without_byline(paragraphs(&parsed.text_content), &authors);
    if text.split_whitespace().count() < 20 {
        return Err(format!("{url} has no article text to read").into());
    }
    let (text, truncated) = cut(text, max_text_chars);
    Ok(Article {
        url: url.to_string(),
        title: parsed.title.trim().to_string(),
        authors,
        published: parsed.published_time.filter(|t| !t.trim().is_empty()),
        site_name: parsed.site_name.filter(|s| !s.trim().is_empty()),
        text,
        truncated,
    })
}

/// Names from a byline: "By Ada Lovelace and Grace Hopper", "Ada, Grace & Barbara", …
fn authors(byline: &str) -> Vec<String> {
    let byline = byline.trim();
    let byline = ["By ", "by ", "Written by ", "written by "]
        .iter()
        .find_map(|prefix| byline.strip_prefix(prefix))
        .unwrap_or(byline);
    byline
        .split([',', '&', ';', '|'])
        .flat_map(|part| part.split(" and "))
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// The text with whitespace tidied: one blank line between paragraphs.
fn paragraphs(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The text without a first paragraph that only repeats the byline ("By Ada and Grace").
fn without_byline(text: String, authors: &[String]) -> String {
    let Some((first, rest)) = text.split_once("\n\n") else {
        return text;
    };
    let is_byline = first.chars().count() < 120
        && !authors.is_empty()
        && authors.iter().all(|name| first.contains(name.as_str()));
    if is_byline {
        rest.to_string()
    } else {
        text
    }
}

/// At most `max` characters, cut at a character boundary.
fn cut(text: String, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((end, _)) => (text[..end].to_string(), true),
        None => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bylines_become_author_lists() {
        assert_eq!(
            authors("By Ada Lovelace and Grace Hopper"),
            ["Ada Lovelace", "Grace Hopper"]
        );
        assert_eq!(authors("Ada, Grace & Barbara"), ["Ada", "Grace", "Barbara"]);
        assert_eq!(authors("Written by Barbara Liskov"), ["Barbara Liskov"]);
    }

    #[test]
    fn text_is_cut_at_a_character_boundary() {
        assert_eq!(cut("héllo wörld".into(), 4), ("héll".to_string(), true));
        assert_eq!(cut("short".into(), 10), ("short".to_string(), false));
    }
}
