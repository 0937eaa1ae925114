//! One bounded way to fetch a web page: a total timeout, a size limit enforced while reading,
//! HTTP errors and non-HTML bodies reported as typed errors.

use std::time::Duration;

use futures::StreamExt;

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
    /// The URL names this machine or a private network, which the tool may not fetch.
    #[error("refusing to fetch {url}: it is a local or private address")]
    Blocked {
        /// The URL.
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

/// The HTTP client of a web tool (connection pooling), with the total timeout baked in.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    http: Result<reqwest::Client, String>,
    config: ClientConfig,
}

#[derive(Clone, Debug)]
struct ClientConfig {
    limits: FetchLimits,
    resolve: Vec<(String, std::net::SocketAddr)>,
    allow_private: bool,
}

/// How many redirects a fetch follows.
const MAX_REDIRECTS: usize = 10;

impl Client {
    /// A client; `allow_private` lets it fetch local and private addresses.
    pub fn new(limits: FetchLimits, allow_private: bool) -> Client {
        Client::build(ClientConfig {
            limits,
            resolve: Vec::new(),
            allow_private,
        })
    }

    fn build(config: ClientConfig) -> Client {
        let allow_private = config.allow_private;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if !allow_private && is_private(attempt.url()) {
                attempt.error("a redirect to a local or private address")
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .timeout(config.limits.timeout)
            .redirect(redirects)
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION"), " (web tools)"));
        for (host, addr) in &config.resolve {
            builder = builder.resolve(host, *addr);
        }
        let http = builder.build().map_err(|err| err.to_string());
        Client { http, config }
    }

    /// The same client with other limits.
    pub fn with_limits(&self, limits: FetchLimits) -> Client {
        Client::build(ClientConfig {
            limits,
            ..self.config.clone()
        })
    }

    /// The same client, allowing (or not) local and private addresses.
    pub fn with_private(&self, allow_private: bool) -> Client {
        Client::build(ClientConfig {
            allow_private,
            ..self.config.clone()
        })
    }

    /// The same client, sending requests for `host` to `addr` (its port is used when a URL
    /// names none).
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
        if !self.config.allow_private && is_private(url) {
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

/// Whether a URL names this machine or a private network by address (`127.0.0.1`, `[::1]`,
/// `10.…`, `192.168.…`, link-local such as cloud metadata at `169.254.169.254`) or as
/// `localhost`. Host names are not resolved here: a name that resolves to such an address
/// is not caught.
pub(crate) fn is_private(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return true;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => is_private_ip(ip),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

fn is_private_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || (a == 100 && (b & 0xc0) == 64) // carrier-grade NAT
        }
        std::net::IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private_ip(std::net::IpAddr::V4(v4)))
        }
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

    #[test]
    fn local_and_private_addresses_are_recognised() {
        let private = |url: &str| is_private(&reqwest::Url::parse(url).unwrap());
        for url in [
            "http://127.0.0.1:8080/",
            "http://localhost/",
            "http://api.localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
        ] {
            assert!(private(url), "{url}");
        }
        for url in [
            "https://example.com/",
            "http://93.184.216.34/",
            "http://[2001:db8::1]/",
        ] {
            assert!(!private(url), "{url}");
        }
    }
}
