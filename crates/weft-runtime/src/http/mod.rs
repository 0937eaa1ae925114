//! HTTP plumbing shared by the providers: sending a request, turning failures into typed
//! errors, reading `Retry-After`, and decoding server-sent events ([`sse`]).

pub mod sse;

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
    let body = error_body(response).await;
    Err(Error::Provider {
        provider,
        status: status.as_u16(),
        message: error_message(&body),
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

/// An endpoint as it may appear in logs: without user info (`https://user:pass@…`) or query
/// string, where some gateways put keys.
pub(crate) fn loggable_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                let _ = parsed.set_username("redacted");
                let _ = parsed.set_password(None);
            }
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "(unparsable URL)".to_string(),
    }
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
/// causes but never headers, so no key can leak through it.
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
        assert!(secret_header("openai", "sk\nbad").is_err());
        assert!(secret_header("openai", "sk-fine").unwrap().is_sensitive());
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
