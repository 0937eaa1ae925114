//! API keys: with keys configured, every `/v1` route and `/metrics` need
//! `Authorization: Bearer <key>`.
//! Keys are compared in constant time and never logged or echoed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The keys a server accepts (none: every request is let in).
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Arc<Vec<Vec<u8>>>,
}

impl ApiKeys {
    /// These keys (blank ones are ignored).
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        let keys = keys
            .into_iter()
            .map(|key| key.trim().to_string())
            .filter(|key| !key.is_empty())
            .map(String::into_bytes)
            .collect();
        ApiKeys {
            keys: Arc::new(keys),
        }
    }

    /// The keys in `WEFT_API_KEYS` (comma-separated), if it is set.
    pub fn from_env() -> Self {
        let value = std::env::var("WEFT_API_KEYS").unwrap_or_default();
        ApiKeys::new(value.split(',').map(str::to_string))
    }

    /// These keys and `other`'s.
    pub fn merged(&self, other: &ApiKeys) -> Self {
        let mut keys = (*self.keys).clone();
        keys.extend(other.keys.iter().cloned());
        ApiKeys {
            keys: Arc::new(keys),
        }
    }

    /// Whether any key is configured (then every `/v1` and `/metrics` request needs one).
    pub fn required(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether `given` is one of the keys. Every key is compared, each in constant time, so
    /// the time taken does not tell which bytes matched.
    pub fn accepts(&self, given: &[u8]) -> bool {
        let mut found = subtle::Choice::from(0u8);
        for key in self.keys.iter() {
            found |= key.as_slice().ct_eq(given);
        }
        bool::from(found)
    }
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &format_args!("[{} redacted]", self.keys.len()))
            .finish()
    }
}

/// The middleware: `401` with a JSON error (and `WWW-Authenticate: Bearer`) unless the
/// request carries a configured key.
pub(crate) async fn require_key(
    State(keys): State<ApiKeys>,
    request: Request,
    next: Next,
) -> Response {
    if !keys.required() {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim);
    match given {
        Some(key) if keys.accepts(key.as_bytes()) => next.run(request).await,
        Some(_) => unauthorized("the API key is not valid: send one of the server's keys as `Authorization: Bearer <key>`"),
        None => unauthorized("this server needs an API key: send `Authorization: Bearer <key>`"),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::ApiKeys;

    #[test]
    fn only_configured_keys_are_accepted() {
        let keys = ApiKeys::new(["alpha-key".to_string(), " beta ".to_string(), String::new()]);
        assert!(keys.required());
        assert!(keys.accepts(b"alpha-key"));
        assert!(keys.accepts(b"beta"));
        assert!(!keys.accepts(b"alpha"));
        assert!(!keys.accepts(b"alpha-key2"));
        assert!(!keys.accepts(b""));
        assert!(!format!("{keys:?}").contains("alpha"));
    }

    #[test]
    fn no_keys_means_open() {
        assert!(!ApiKeys::new(Vec::<String>::new()).required());
    }
}
