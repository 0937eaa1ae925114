//! The one error type of weft, and what a caller can do about each variant.

use std::time::Duration;

/// Shorthand for `std::result::Result<T, weft::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error weft returns. Match on the variant to decide what to do; the `Display` text says
/// it in words. No variant ever carries an API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider answered with an HTTP error status (429, 5xx, 4xx).
    ///
    /// 429 and 5xx were already retried (see `AgentBuilder::retries`) before this reached you.
    #[error("{provider} returned HTTP {status}: {message}")]
    Provider {
        /// Which provider answered (`openai`, `anthropic`, `ollama`).
        provider: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The provider's own error message, or the start of the response body.
        message: String,
        /// How long the provider asked us to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },

    /// No API key was configured for a provider that needs one.
    #[error("no API key for {provider}: set the {var} environment variable or pass `.api_key(..)` to the model")]
    MissingApiKey {
        /// The provider that needs the key.
        provider: &'static str,
        /// The environment variable weft read, e.g. `OPENAI_API_KEY`.
        var: &'static str,
    },

    /// The provider could not be reached, or the connection broke before the answer started.
    #[error("could not reach {provider}: {message}")]
    Network {
        /// Which provider.
        provider: &'static str,
        /// What the HTTP client reported.
        message: String,
    },

    /// The provider sent nothing for longer than the model's timeout.
    #[error(
        "{provider} sent nothing for {after:?}; raise the model's `.timeout(..)` if it is slow"
    )]
    Timeout {
        /// Which provider.
        provider: &'static str,
        /// The timeout that elapsed.
        after: Duration,
    },

    /// The stream broke after text had already reached you. It is not retried, because a retry
    /// would repeat text you already have; the partial answer is in `Agent::last_response`.
    #[error("{provider} stream broke after the answer had started: {message}")]
    StreamInterrupted {
        /// Which provider.
        provider: &'static str,
        /// What went wrong.
        message: String,
    },

    /// The provider sent something weft could not understand.
    #[error("{provider} sent a response weft could not read: {message}")]
    InvalidResponse {
        /// Which provider.
        provider: &'static str,
        /// What was wrong with it.
        message: String,
    },

    /// A model spec string such as `"openai:gpt-4o"` could not be used.
    #[error("invalid model spec `{spec}`: {reason}")]
    ModelSpec {
        /// The spec as written.
        spec: String,
        /// Why it was refused, with the accepted forms.
        reason: String,
    },

    /// An agent or model was configured in a way that cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The model kept calling tools after the run's `tool_call_limit` was reached and it had
    /// been told to answer in text.
    #[error("the model kept calling tools after the limit of {limit} tool calls was reached; raise `tool_call_limit` or tell the agent to answer with what it has")]
    ToolCallLimit {
        /// The agent's `tool_call_limit`.
        limit: usize,
    },

    /// A structured answer (`Agent::run_typed`) did not fit its type, even after the error was
    /// sent back to the model for one repair.
    #[error("the model's answer does not fit `{type_name}`: {error}; the raw answer is in this error's `raw`")]
    InvalidOutput {
        /// The Rust type the answer had to fit.
        type_name: &'static str,
        /// The answer as the model gave it.
        raw: String,
        /// Why it does not fit.
        error: String,
    },

    /// A tool failed in a way that could not be reported back to the model.
    #[error("tool `{name}` failed: {message}")]
    Tool {
        /// The tool's name.
        name: String,
        /// What went wrong.
        message: String,
    },

    /// Input given to a run could not be used: `path` names the field (`email`,
    /// `items[2].name`, or `.` for the whole input).
    #[error("invalid input at `{path}`: {message}")]
    InvalidInput {
        /// Where in the input the problem is.
        path: String,
        /// What is wrong there.
        message: String,
    },

    /// A storage backend failed.
    #[error("storage error: {0}")]
    Storage(String),

    /// The store is open in another process (sled allows one process per store).
    #[error(
        "store `{path}` is in use by another process; close it (or use another path) and try again"
    )]
    StoreLocked {
        /// The store's path.
        path: String,
    },

    /// A stored record could not be read: damaged bytes, or a format this version of weft
    /// does not know. Nothing was changed; other records are still readable.
    #[error("stored record `{key}` is unreadable: {reason}")]
    Corrupt {
        /// Which record (tree and key).
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Another writer updated the session since this instance read it; nothing was
    /// overwritten. Reload the session and run again.
    #[error("session `{session_id}` was changed by another writer since it was read; nothing was overwritten")]
    Conflict {
        /// The session that changed.
        session_id: String,
    },

    /// JSON (de)serialisation failed.
    #[error("JSON error: {0}")]
    Serde(#[from] serde_json::Error),

    /// The run was cancelled before it finished.
    #[error("the run was cancelled")]
    Cancelled,
}

impl Error {
    /// Whether retrying the same request may succeed: HTTP 408, 409, 429 and 5xx, network
    /// errors and timeouts. Anything else would fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Provider { status, .. } => {
                matches!(status, 408 | 409 | 429) || (500..=599).contains(status)
            }
            Error::Network { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// The wait the provider asked for, if this is a provider error that said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Provider { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_key_names_the_variable() {
        let err = Error::MissingApiKey {
            provider: "openai",
            var: "OPENAI_API_KEY",
        };
        assert!(err.to_string().contains("OPENAI_API_KEY"));
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let status = |status| Error::Provider {
            provider: "openai",
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(status(429).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(401).is_retryable());
        assert!(!Error::Cancelled.is_retryable());
    }
}
