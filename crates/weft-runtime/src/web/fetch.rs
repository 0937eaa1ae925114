//! One bounded way to fetch a web page: a total timeout, a size limit enforced while reading,
//! HTTP errors and non-HTML bodies reported as typed errors, local and private addresses
//! refused (before the request, on each redirect, and after DNS resolution).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::dns::{normalize, DnsResolver, Guard, GuardedDns, Refused, SystemDns};

/// Limits on one fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchLimits {
    /// The whole request, connection to last byte (default 15 s).
    pub timeout: Duration,
    /// The most bytes of body read (default 2 MiB); a longer body is an error.
    pub max_bytes: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_secs(15),
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

/// Why a page could not be fetched. Its `Display` text is what the model reads.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not an absolute `http`/`https` URL.
    #[error("`{url}` is not an http(s) URL")]
    BadUrl {
        /// The URL as given.
        url: String,
    },
    /// No complete answer within the timeout.
    #[error("{url} did not answer within {after:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        after: Duration,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is not HTML.
    #[error("{url} is not an HTML page (content type `{content_type}`)")]
    NotHtml {
        /// The URL.
        url: String,
        /// The content type it declared.
        content_type: String,
    },
    /// The body is larger than the limit.
    #[error("{url} is larger than the {limit}-byte limit")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The URL, a redirect, or the addresses its host name resolves to are this machine or a
    /// private network, which the tool may not fetch unless allowed.
    #[error("refusing to fetch {url}: it is a local or private address")]
    Blocked {
        /// The URL; after a redirect, `<where it led> (redirected from <the URL>)`.
        url: String,
    },
    /// The connection failed.
    #[error("could not fetch {url}: {message}")]
    Network {
        /// The URL.
        url: String,
        /// What the HTTP client reported.
        message: String,
    },
}

/// The HTTP client of a web tool (connection pooling), with the total timeout baked in and
/// the SSRF guard in its DNS resolver and redirect policy (see [`super::dns`]).
#[derive(Clone, Debug)]
pub(crate) struct Client {
    http: Result<reqwest::Client, String>,
    config: ClientConfig,
}

#[derive(Clone)]
struct ClientConfig {
    limits: FetchLimits,
    resolve: Vec<(String, std::net::SocketAddr)>,
    guard: Guard,
    dns: Option<Arc<dyn DnsResolver>>,
    /// Whether the system's proxy settings (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) are
    /// used while the guard is on; see [`Client::with_system_proxy`].
    system_proxy: bool,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("limits", &self.limits)
            .field("resolve", &self.resolve)
            .field("guard", &self.guard)
            .field("system_proxy", &self.system_proxy)
            .field(
                "dns",
                &if self.dns.is_some() {
                    "custom"
                } else {
                    "system"
                },
            )
            .finish()
    }
}

/// How many redirects a fetch follows.
const MAX_REDIRECTS: usize = 10;

impl Client {
    /// A client that refuses local and private addresses.
    pub fn new(limits: FetchLimits) -> Client {
        Client::build(ClientConfig {
            limits,
            resolve: Vec::new(),
            guard: Guard::default(),
            dns: None,
            system_proxy: false,
        })
    }

    /// Whether requests may go through the system's proxy: when asked for, or when the guard
    /// is off altogether (then there is nothing a proxy could bypass). A proxy resolves the
    /// names it is asked for itself, out of the DNS guard's sight.
    fn uses_system_proxy(config: &ClientConfig) -> bool {
        config.system_proxy || config.guard.allow_private
    }

    fn build(config: ClientConfig) -> Client {
        let guard = config.guard.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if guard.refuses_url(attempt.url()) {
                let target = attempt.url().to_string();
                attempt.error(Refused { target })
            } else {
                attempt.follow()
            }
        });
        // Every name, pinned or looked up, goes through the guard: reqwest's own `resolve`
        // overrides would skip a custom resolver.
        let lookup = config.dns.clone().unwrap_or_else(|| Arc::new(SystemDns));
        let dns = GuardedDns::new(lookup, &config.resolve, config.guard.clone());
        let mut http = reqwest::Client::builder()
            .timeout(config.limits.timeout)
            .redirect(redirects)
            .dns_resolver(Arc::new(dns))
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION"), " (web tools)"));
        if !Client::uses_system_proxy(&config) {
            // Through a proxy, the proxy would look host names up, not the guarded resolver.
            http = http.no_proxy();
        }
        let http = http.build().map_err(|err| err.to_string());
        Client { http, config }
    }

    /// The same client with other limits.
    pub fn with_limits(&self, limits: FetchLimits) -> Client {
        Client::build(ClientConfig {
            limits,
            ..self.config.clone()
        })
    }

    /// The same client, allowing (or not) every local and private address.
    pub fn with_private(&self, allow_private: bool) -> Client {
        let mut config = self.config.clone();
        config.guard.allow_private = allow_private;
        Client::build(config)
    }

    /// The same client, allowing `host` (a name or an IP address) to be local or private.
    pub fn with_private_host(&self, host: &str) -> Client {
        let mut config = self.config.clone();
        config.guard.private_hosts.push(normalize(host));
        Client::build(config)
    }

    /// The same client, using (or not) the system's proxy settings while the guard is on.
    pub fn with_system_proxy(&self, use_it: bool) -> Client {
        Client::build(ClientConfig {
            system_proxy: use_it,
            ..self.config.clone()
        })
    }

    /// The same client, looking names up with `dns`.
    pub fn with_dns(&self, dns: Arc<dyn DnsResolver>) -> Client {
        Client::build(ClientConfig {
            dns: Some(dns),
            ..self.config.clone()
        })
    }

    /// The same client, sending requests for `host` to `addr` (its port is used when a URL
    /// names none). The address is checked like a looked-up one.
    pub fn with_resolve(&self, host: &str, addr: std::net::SocketAddr) -> Client {
        let mut config = self.config.clone();
        config.resolve.push((host.to_string(), addr));
        Client::build(config)
    }

    /// A `GET` of `url` (with `query` pairs), read as HTML within the limits.
    pub async fn get_html(
        &self,
        url: &reqwest::Url,
        query: &[(&str, &str)],
    ) -> Result<(String, String), FetchError> {
        let shown = url.to_string();
        if self.config.guard.refuses_url(url) {
            return Err(FetchError::Blocked { url: shown });
        }
        let http = self.http.as_ref().map_err(|message| FetchError::Network {
            url: shown.clone(),
            message: message.clone(),
        })?;
        let mut request = http.get(url.clone());
        if !query.is_empty() {
            request = request.query(query);
        }
        html(request, &shown, self.config.limits).await
    }
}

/// Fetches an HTML page within `limits`: its final URL (after redirects) and its text.
async fn html(
    request: reqwest::RequestBuilder,
    url: &str,
    limits: FetchLimits,
) -> Result<(String, String), FetchError> {
    let failed = |err: reqwest::Error| {
        if err.is_timeout() {
            FetchError::Timeout {
                url: url.to_string(),
                after: limits.timeout,
            }
        } else if let Some(refused) = Refused::in_chain(&err) {
            FetchError::Blocked {
                url: blocked_url(url, refused),
            }
        } else {
            let err = err.without_url();
            let mut message = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            FetchError::Network {
                url: url.to_string(),
                message,
            }
        }
    };
    let response = request.send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !content_type.is_empty() && !content_type.contains("html") {
        return Err(FetchError::NotHtml {
            url: url.to_string(),
            content_type,
        });
    }
    let too_large = || FetchError::TooLarge {
        url: url.to_string(),
        limit: limits.max_bytes,
    };
    if response
        .content_length()
        .is_some_and(|len| len > limits.max_bytes as u64)
    {
        return Err(too_large());
    }
    let final_url = response.url().to_string();
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(failed)?;
        if body.len() + chunk.len() > limits.max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((final_url, String::from_utf8_lossy(&body).into_owned()))
}

/// What a refusal names: the URL asked for, or, when a redirect led elsewhere, where it led
/// (a URL, or a host name refused after DNS) and from where.
fn blocked_url(requested: &str, refused: &Refused) -> String {
    let requested_host = reqwest::Url::parse(requested)
        .ok()
        .and_then(|url| url.host_str().map(normalize));
    if refused.target == requested || requested_host.as_deref() == Some(refused.target.as_str()) {
        requested.to_string()
    } else {
        format!("{} (redirected from {requested})", refused.target)
    }
}

/// `url` if it is an absolute http(s) URL.
pub(crate) fn http_url(url: &str) -> Result<reqwest::Url, FetchError> {
    match reqwest::Url::parse(url.trim()) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(parsed),
        _ => Err(FetchError::BadUrl {
            url: url.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// reqwest lists a client's proxies in its `Debug` output, the system's included (it
    /// reads the environment when it sends).
    fn has_proxies(client: &Client) -> bool {
        let http = client.http.as_ref().map(|http| format!("{http:?}"));
        http.unwrap_or_default().contains("proxies")
    }

    #[test]
    fn system_proxies_are_off_while_the_guard_is_on() {
        let client = Client::new(FetchLimits::default());
        assert!(client.http.is_ok());
        assert!(!has_proxies(&client), "{:?}", client.http);
        assert!(!has_proxies(&client.with_private_host("localhost")));
        assert!(has_proxies(&client.with_system_proxy(true)));
        assert!(!has_proxies(
            &client.with_system_proxy(true).with_system_proxy(false)
        ));
        assert!(
            has_proxies(&client.with_private(true)),
            "with the guard off there is nothing to bypass"
        );
    }
}
