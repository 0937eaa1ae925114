//! HTTP plumbing shared by the providers: sending a request, turning failures into typed
//! errors, reading `Retry-After`, and decoding server-sent events ([`sse`]).

mod limits;
pub(crate) mod sse;

pub use limits::ResponseLimits;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::Error;

/// The `reqwest::Client` providers use: one per timeout for the whole process, so every
/// agent shares one connection pool and one TLS configuration (building a client loads the
/// root certificates: far too slow to do per agent). `timeout` bounds connecting and every
/// read, so a stalled stream ends instead of hanging.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    static CLIENTS: OnceLock<Mutex<HashMap<Duration, reqwest::Client>>> = OnceLock::new();
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(client) = clients.get(&timeout) {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .build()
        .map_err(|err| Error::Config(format!("could not build the HTTP client: {err}")))?;
    clients.insert(timeout, client.clone());
    Ok(client)
}

/// Sends `request` and returns the response if its status is a success, else a typed
/// [`Error::Provider`] carrying the provider's message and `Retry-After`.
pub(crate) async fn send(
    provider: &'static str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<reqwest::Response, Error> {
    let response = request
        .send()
        .await
        .map_err(|err| transport_error(provider, &err, timeout))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = retry_after(response.headers());
    let url = response.url().clone();
    let body = error_body(response).await;
    Err(Error::Provider {
        provider,
        status: status.as_u16(),
        // A gateway may echo the request URL, and with it a key in its query.
        message: redact_url_secrets(error_message(&body), &url),
        retry_after,
    })
}

/// The most of an error body weft reads: enough for any provider's message, and bounded
/// whatever a misbehaving server sends.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error response (lossy UTF-8).
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// Reads a whole non-streamed response body, at most [`ResponseLimits::body`] bytes: past that it is
/// [`Error::ResponseTooLarge`], read no further (a `Content-Length` over the limit fails
/// before reading). A transport failure is mapped by [`transport_error`].
pub(crate) async fn read_body(
    provider: &'static str,
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, Error> {
    let max = ResponseLimits::current().body;
    let too_large = || limits::too_large(provider, "a response body", "body", max);
    let announced = response.content_length().unwrap_or(0);
    if announced > max as u64 {
        return Err(too_large());
    }
    // `announced` is at most `max` here, so the capacity is bounded too.
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| transport_error(provider, &err, timeout))?
    {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An endpoint as it may appear in logs, errors and `Debug` output: without user info
/// (`https://user:key@…`), query string or fragment, where some gateways put keys. An endpoint
/// without a scheme (`OLLAMA_HOST=box:11434`) is read as `http://`.
pub(crate) fn loggable_url(url: &str) -> String {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|parsed| parsed.has_host())
        .or_else(|| reqwest::Url::parse(&format!("http://{url}")).ok());
    match parsed {
        Some(mut parsed) => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                let _ = parsed.set_username("redacted");
                let _ = parsed.set_password(None);
            }
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        None => "(unparsable URL)".to_string(),
    }
}

/// `text` with every secret-looking part of `url` replaced: the whole URL by its
/// [`loggable_url`], then its user name, password, query and query values wherever they still
/// appear. Parts shorter than 6 characters are left alone: no key is that short, and
/// replacing them would garble ordinary words.
fn redact_url_secrets(text: String, url: &reqwest::Url) -> String {
    let mut text = text.replace(url.as_str(), &loggable_url(url.as_str()));
    let mut secrets: Vec<String> = vec![url.username().to_string()];
    secrets.extend(url.password().map(str::to_string));
    secrets.extend(url.query().map(str::to_string));
    secrets.extend(url.query_pairs().map(|(_, value)| value.into_owned()));
    for secret in secrets.iter().filter(|secret| secret.len() >= 6) {
        text = text.replace(secret.as_str(), "<redacted>");
    }
    text
}

/// A header value for a secret: marked sensitive, so HTTP tooling never prints it.
pub(crate) fn secret_header(
    provider: &'static str,
    secret: &str,
) -> Result<reqwest::header::HeaderValue, Error> {
    let mut value = reqwest::header::HeaderValue::from_str(secret).map_err(|_| {
        Error::Config(format!(
            "the {provider} API key contains characters an HTTP header cannot carry (a newline?)"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Maps a transport failure (connect, read, timeout) to a typed error. The text includes the
/// causes but never headers, and never the URL's user info or query (where some gateways take
/// a key): reqwest writes the URL into its message, so it is redacted there and in every cause.
pub(crate) fn transport_error(
    provider: &'static str,
    err: &reqwest::Error,
    timeout: Duration,
) -> Error {
    if err.is_timeout() {
        return Error::Timeout {
            provider,
            after: timeout,
        };
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if let Some(url) = err.url() {
        message = redact_url_secrets(message, url);
    }
    Error::Network { provider, message }
}

/// The wait a response asks for: `retry-after-ms` (OpenAI), then `Retry-After` in seconds or as
/// an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return duration_from_secs(ms / 1000.0);
    }
    let value = header("retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return duration_from_secs(secs);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn duration_from_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The human part of an error body: `error.message` (OpenAI, Anthropic), `message`, or the
/// start of the body.
fn error_message(body: &str) -> String {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let found = json.as_ref().and_then(|json| {
        json.pointer("/error/message")
            .or_else(|| json.get("message"))
            .or_else(|| json.get("error"))
            .and_then(|value| value.as_str())
    });
    match found {
        Some(message) => message.to_string(),
        None if body.trim().is_empty() => "(empty response body)".to_string(),
        None => body.chars().take(500).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));

        let mut headers = HeaderMap::new();
        let past = httpdate::fmt_http_date(std::time::UNIX_EPOCH);
        headers.insert("retry-after", HeaderValue::from_str(&past).unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn urls_are_logged_without_credentials_or_query() {
        assert_eq!(
            loggable_url("https://me:sk-secret@gateway.example/v1?key=sk-2"),
            "https://redacted@gateway.example/v1"
        );
        assert_eq!(
            loggable_url("http://127.0.0.1:8080/v1/chat/completions"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            loggable_url("box:11434/v1#k=sk-3"),
            "http://box:11434/v1",
            "no scheme means http; the fragment goes too"
        );
        assert!(secret_header("openai", "sk\nbad").is_err());
        assert!(secret_header("openai", "sk-fine").unwrap().is_sensitive());
    }

    #[test]
    fn url_secrets_are_redacted_wherever_they_appear() {
        let url = reqwest::Url::parse("http://me:pw-secret@gw.test/v1?api-key=qs-secret").unwrap();
        let text = format!("error sending request for url ({url}): bad key qs-secret, pw-secret");
        let shown = redact_url_secrets(text, &url);
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            shown.contains("url (http://redacted@gw.test/v1)"),
            "{shown}"
        );
        let short = reqwest::Url::parse("http://a:b@gw.test/?k=v").unwrap();
        assert_eq!(
            redact_url_secrets("a bad value".into(), &short),
            "a bad value",
            "parts too short to be keys leave the text alone"
        );
    }

    #[test]
    fn error_messages_come_from_either_provider_format() {
        assert_eq!(
            error_message(r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#),
            "Rate limit reached"
        );
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            "Overloaded"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(""), "(empty response body)");
    }
}
