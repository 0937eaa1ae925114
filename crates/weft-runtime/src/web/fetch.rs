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
    limits: FetchLimits,
    resolve: Vec<(String, std::net::SocketAddr)>,
}

impl Client {
    pub fn new(limits: FetchLimits) -> Client {
        Client::build(limits, Vec::new())
    }

    fn build(limits: FetchLimits, resolve: Vec<(String, std::net::SocketAddr)>) -> Client {
        let mut builder = reqwest::Client::builder()
            .timeout(limits.timeout)
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION"), " (web tools)"));
        for (host, addr) in &resolve {
            builder = builder.resolve(host, *addr);
        }
        let http = builder.build().map_err(|err| err.to_string());
        Client {
            http,
            limits,
            resolve,
        }
    }

    /// The same client with other limits.
    pub fn with_limits(&self, limits: FetchLimits) -> Client {
        Client::build(limits, self.resolve.clone())
    }

    /// The same client, sending requests for `host` to `addr` (its port is used when a URL
    /// names none).
    pub fn with_resolve(&self, host: &str, addr: std::net::SocketAddr) -> Client {
        let mut resolve = self.resolve.clone();
        resolve.push((host.to_string(), addr));
        Client::build(self.limits, resolve)
    }

    /// A `GET` of `url` (with `query` pairs), read as HTML within the limits.
    pub async fn get_html(
        &self,
        url: &reqwest::Url,
        query: &[(&str, &str)],
    ) -> Result<(String, String), FetchError> {
        let shown = url.to_string();
        let http = self.http.as_ref().map_err(|message| FetchError::Network {
            url: shown.clone(),
            message: message.clone(),
        })?;
        let mut request = http.get(url.clone());
        if !query.is_empty() {
            request = request.query(query);
        }
        html(request, &shown, self.limits).await
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
            FetchError::Network {
                url: url.to_string(),
                message: err.without_url().to_string(),
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

/// `url` if it is an absolute http(s) URL.
pub(crate) fn http_url(url: &str) -> Result<reqwest::Url, FetchError> {
    match reqwest::Url::parse(url.trim()) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(parsed),
        _ => Err(FetchError::BadUrl {
            url: url.to_string(),
        }),
    }
}
