//! Settings every HTTP provider shares: model id, key, endpoint, sampling, timeout, and the one
//! pooled HTTP client of the instance.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Result};

/// An API key. It never appears in `Debug` output, error messages or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Arc::from(key.into()))
    }

    /// The key itself, for the one place that puts it in a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The default for [`Settings::timeout`]: connect and per-read timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Provider settings; the public setters live on each provider type.
#[derive(Clone)]
pub(crate) struct Settings {
    pub model_id: String,
    pub api_key: Option<ApiKey>,
    pub base_url: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub timeout: Duration,
}

impl Settings {
    pub fn new(model_id: impl Into<String>) -> Self {
        Settings {
            model_id: model_id.into(),
            api_key: None,
            base_url: None,
            temperature: None,
            max_tokens: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The pooled client for this timeout, shared with every other provider instance.
    pub fn client(&self) -> Result<reqwest::Client> {
        crate::http::client(self.timeout)
    }

    /// The key set on the model, else the environment variable `var`.
    pub fn key(&self, provider: &'static str, var: &'static str) -> Result<ApiKey> {
        if let Some(key) = &self.api_key {
            return Ok(key.clone());
        }
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(ApiKey::new(key.trim())),
            _ => Err(Error::MissingApiKey { provider, var }),
        }
    }

    /// The endpoint set on the model, else the environment variable `var`, else `default`;
    /// without a trailing slash.
    pub fn base_url(&self, var: &str, default: &str) -> String {
        let from_env = std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let base = self
            .base_url
            .clone()
            .or(from_env)
            .unwrap_or_else(|| default.to_string());
        base.trim().trim_end_matches('/').to_string()
    }
}

/// `path` appended to the path of the endpoint `base`, before its query string and fragment
/// (`https://gw/v1?key=k` and `/chat/completions` give `https://gw/v1/chat/completions?key=k`,
/// where a gateway that takes its key in the query wants it).
pub(crate) fn endpoint(base: &str, path: &str) -> String {
    let split = base.find(['?', '#']).unwrap_or(base.len());
    let (address, rest) = base.split_at(split);
    format!("{}{path}{rest}", address.trim_end_matches('/'))
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("model_id", &self.model_id)
            .field("api_key", &self.api_key)
            .field(
                "base_url",
                &self.base_url.as_deref().map(crate::http::loggable_url),
            )
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The setters every HTTP provider offers, generated once. `$($field).+` is the path to the
/// provider's [`Settings`].
macro_rules! provider_setters {
    ($($field:ident).+) => {
        /// Uses this API key instead of the environment's.
        pub fn api_key(mut self, key: impl Into<String>) -> Self {
            self.$($field).+.api_key = Some($crate::providers::ApiKey::new(key));
            self
        }

        /// Uses this endpoint instead of the environment's (see the provider table in
        /// [`crate::providers`]).
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.$($field).+.base_url = Some(url.into());
            self
        }

        /// Sampling temperature.
        pub fn temperature(mut self, temperature: f32) -> Self {
            self.$($field).+.temperature = Some(temperature);
            self
        }

        /// The most tokens the answer may have.
        pub fn max_tokens(mut self, max_tokens: u32) -> Self {
            self.$($field).+.max_tokens = Some(max_tokens);
            self
        }

        /// Connect timeout, and the longest the provider may stay silent while answering
        /// (default 120 s). A stall longer than this ends the call with `Error::Timeout`.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.$($field).+.set_timeout(timeout);
            self
        }
    };
}
pub(crate) use provider_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_show_in_debug() {
        let mut settings = Settings::new("m");
        settings.api_key = Some(ApiKey::new("sk-very-secret"));
        let shown = format!("{settings:?} {:?}", ApiKey::new("sk-very-secret"));
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn endpoints_in_debug_output_lose_their_credentials_and_query() {
        let mut settings = Settings::new("m");
        settings.base_url = Some("http://me:sk-in-url@127.0.0.1:9/v1?api-key=sk-in-query".into());
        let shown = format!("{settings:?} {settings:#?}");
        assert!(!shown.contains("sk-in-"), "{shown}");
        assert!(shown.contains("http://redacted@127.0.0.1:9/v1"), "{shown}");
    }

    #[test]
    fn paths_go_before_the_query_of_an_endpoint() {
        assert_eq!(
            endpoint("https://gw.test/v1?api-key=k#x", "/chat/completions"),
            "https://gw.test/v1/chat/completions?api-key=k#x"
        );
        assert_eq!(
            endpoint("https://api.anthropic.com/", "/v1/messages"),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            endpoint("http://h:1/?k=v", "/v1/messages"),
            "http://h:1/v1/messages?k=v"
        );
    }

    #[test]
    fn base_url_prefers_the_setter_and_drops_the_trailing_slash() {
        let mut settings = Settings::new("m");
        settings.base_url = Some("http://127.0.0.1:9/v1/".into());
        assert_eq!(
            settings.base_url("WEFT_TEST_UNSET_VAR", "https://x"),
            "http://127.0.0.1:9/v1"
        );
        assert_eq!(
            Settings::new("m").base_url("WEFT_TEST_UNSET_VAR", "https://x/"),
            "https://x"
        );
    }
}
