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

    /// One of the agent's toolsets (an MCP server, say) could not give its tools when the run
    /// needed them, so the run stopped before its first model call. Nothing was sent to the
    /// model; the next run asks the toolset again.
    #[error("the tools of {toolset} are unavailable: {message}")]
    ToolsetUnavailable {
        /// Which toolset, in words (its `Toolset::label`).
        toolset: String,
        /// What went wrong, and what to do about it.
        message: String,
    },

    /// The model kept calling tools after one of the run's tool-loop limits was reached (the
    /// agent's `tool_call_limit`, or its `max_turns`, 10 by default) and it had been told to
    /// answer in text.
    #[error("the model kept calling tools after the run's `{setting}` of {limit} was reached; raise `{setting}` or tell the agent to answer with what it has")]
    ToolCallLimit {
        /// The limit's value.
        limit: usize,
        /// Which agent setting it is: `"tool_call_limit"` (tool calls) or `"max_turns"` (model
        /// turns).
        setting: &'static str,
    },

    /// The provider sent more than weft keeps in memory for one part of a response: an SSE
    /// line, an SSE event, a whole non-streamed body, or, added up over a model call's events,
    /// its text or its tool calls. The limits are process-wide (`weft::ResponseLimits`); past
    /// one, reading stops instead of growing without bound.
    #[error("{provider} sent {what} over weft's limit of {max} bytes; if the provider is trusted, raise `ResponseLimits::{limit}`")]
    ResponseTooLarge {
        /// Which provider.
        provider: &'static str,
        /// What was too large, in words (`an SSE line`, `an SSE event`, `a response body`,
        /// `the text of one answer`, `the tool calls of one answer`).
        what: &'static str,
        /// The field of `ResponseLimits` that caps it.
        limit: &'static str,
        /// The limit in bytes.
        max: usize,
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

    /// Input given to a run could not be used: `path` names the field (`email`,
    /// `items[2].name`, or `.` for the whole input).
    #[error("invalid input at `{path}`: {message}")]
    InvalidInput {
        /// Where in the input the problem is.
        path: String,
        /// What is wrong there.
        message: String,
    },

    /// A storage backend failed, or a store could not be used (missing, read-only). `message`
    /// says what was being done and what to do; `source` is the backend's own error, when
    /// there is one (`std::error::Error::source` returns it too).
    #[error("storage error: {message}{}", source_suffix(source.as_deref()))]
    Storage {
        /// What failed, and what to do about it.
        message: String,
        /// The backend's error (sled's, or an I/O error), if one caused this.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

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

    /// One item of a run's event log, or one journal entry, is larger than the store takes
    /// (its `LogLimits`). Nothing of the append it came in was stored.
    #[error("{what} `{name}` of run `{run_id}` is {size} bytes, over the store's limit of {max} bytes (`LogLimits::{limit}`); nothing of it was stored: make it smaller, or raise the limit with the store's `log_limits(..)`")]
    LogRecordTooLarge {
        /// The run whose log or journal it was for.
        run_id: String,
        /// What it is: `"logged event"` or `"journal entry"`.
        what: &'static str,
        /// Which one: `seq <n>` for an event, the journal key for an entry.
        name: String,
        /// Its size as stored (JSON), in bytes.
        size: usize,
        /// The limit, in bytes.
        max: usize,
        /// The field of `LogLimits` that sets it: `max_event_bytes` or
        /// `max_journal_entry_bytes`.
        limit: &'static str,
    },

    /// Another writer updated the session since this instance read it, and nothing stored
    /// was overwritten.
    ///
    /// From a store's compare-and-swap, `keys` is empty: re-read the session and write again.
    /// From a workflow (a run, `load_session`, `rename_session`), `keys` names the state keys
    /// that both this instance and the other writer changed, to different values; the
    /// instance's changes were not saved and it now holds the stored version, so apply them
    /// again and run again.
    #[error("session `{session_id}` was changed by another writer since this instance read it{}; nothing stored was overwritten: apply the change again to the stored version", conflict_keys(keys))]
    Conflict {
        /// The session that changed.
        session_id: String,
        /// The state keys both writers changed (empty when not known).
        keys: Vec<String>,
    },

    /// JSON (de)serialisation failed.
    #[error("JSON error: {0}")]
    Serde(#[from] serde_json::Error),

    /// The run was cancelled before it finished (`RunHandle::cancel`): its state was saved and
    /// it is recorded `cancelled`. What `RunHandle::wait` returns for such a run.
    #[error("the run was cancelled before it finished (its state is saved, the run recorded `cancelled`)")]
    Cancelled,

    /// The run was stopped by `RunHandle::interrupt` (a server shutting down, say) and is
    /// recorded `interrupted`: resume it with `Workflow::resume` (a server resumes it when it
    /// starts again); nothing it journaled will be redone.
    #[error("run `{run_id}` was interrupted before it finished: resume it to finish it (nothing journaled is redone)")]
    Interrupted {
        /// The run.
        run_id: String,
    },

    /// The run paused at an interrupt (`ctx.interrupt`, or a tool call waiting for approval)
    /// and waits for a person's answer. `ctx.interrupt` returns it so that `?` ends the run
    /// there; the run is recorded `paused`, not failed. Continue it with
    /// `Workflow::continue_run(run_id, answer)` (HTTP: `POST /v1/runs/{id}/continue`).
    #[error("run `{run_id}` paused at the interrupt `{interrupt}` and waits for an answer: continue it with `continue_run(run_id, answer)`")]
    Paused {
        /// The run.
        run_id: String,
        /// The interrupt's name.
        interrupt: String,
    },

    /// `continue_run` on a run that is not paused (HTTP `409 not_paused`).
    #[error("run `{run_id}` is {status}, not paused: only a paused run can be continued")]
    NotPaused {
        /// The run.
        run_id: String,
        /// What it is instead (`running`, `completed`, …, or `not found`).
        status: String,
    },

    /// `continue_run` with an answer that does not fit the schema the interrupt asked for
    /// (HTTP `422 invalid_answer`). Nothing was written: the run is still paused.
    #[error("the answer does not fit what the interrupt `{interrupt}` of run `{run_id}` asked for: {message}; the run is still paused, continue it with an answer that fits the schema in its `pause`")]
    InvalidAnswer {
        /// The run.
        run_id: String,
        /// The interrupt's name.
        interrupt: String,
        /// Where and how the answer does not fit.
        message: String,
    },

    /// Another worker took the run over (its claim's lease ran out and the run was claimed
    /// again, with a higher fencing token): this worker's writes to the run are refused, so
    /// it can never overwrite its successor. Nothing to do: the run goes on, once, in the
    /// worker that holds the current claim.
    #[error("run `{run_id}` was taken over by another worker (fencing token {current}; this worker holds {fence}): its writes to the run are refused, the run goes on there")]
    Fenced {
        /// The run.
        run_id: String,
        /// The fencing token this worker wrote with.
        fence: u64,
        /// The run's current fencing token.
        current: u64,
    },

    /// `Workflow::resume` was given a run that cannot be resumed: only a run of this workflow
    /// left `interrupted` (by a process that died, or a shutdown), or on a shared store left
    /// `running` by a worker whose claim lapsed, can be (`WorkflowStorage::interrupted_runs`
    /// lists them). A run another worker holds a live claim on is refused.
    #[error("run `{run_id}` cannot be resumed: {reason}")]
    NotResumable {
        /// The run asked for.
        run_id: String,
        /// Why not: no such run, another workflow's, or its status (`completed`, `running`, …).
        reason: String,
    },

    /// A workflow's `run` panicked. The run was recorded `failed` with this message and its
    /// state saved as for any other failure; the panic is a bug in the workflow's code.
    #[error("the workflow's `run` panicked: {message}; fix the workflow's code (the run is recorded `failed`, its state saved)")]
    RunPanicked {
        /// The panic's message (`"the run panicked"` if it was not a string).
        message: String,
    },
}

/// `: <source>` when a storage error has a source, for its `Display`.
fn source_suffix(source: Option<&(dyn std::error::Error + Send + Sync)>) -> String {
    source.map_or_else(String::new, |source| format!(": {source}"))
}

/// ` (both changed `a`, `b`)` when a conflict names keys, for its `Display`.
fn conflict_keys(keys: &[String]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let named: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
    format!(" (both changed {})", named.join(", "))
}

impl Error {
    /// A copy of this error for another waiter on the same run: the same variant and fields;
    /// a storage error's `source` becomes part of its message, and a JSON error keeps its
    /// message only.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Provider {
                provider,
                status,
                message,
                retry_after,
            } => Error::Provider {
                provider,
                status: *status,
                message: message.clone(),
                retry_after: *retry_after,
            },
            Error::MissingApiKey { provider, var } => Error::MissingApiKey { provider, var },
            Error::Network { provider, message } => Error::Network {
                provider,
                message: message.clone(),
            },
            Error::Timeout { provider, after } => Error::Timeout {
                provider,
                after: *after,
            },
            Error::StreamInterrupted { provider, message } => Error::StreamInterrupted {
                provider,
                message: message.clone(),
            },
            Error::InvalidResponse { provider, message } => Error::InvalidResponse {
                provider,
                message: message.clone(),
            },
            Error::ModelSpec { spec, reason } => Error::ModelSpec {
                spec: spec.clone(),
                reason: reason.clone(),
            },
            Error::Config(message) => Error::Config(message.clone()),
            Error::ToolsetUnavailable { toolset, message } => Error::ToolsetUnavailable {
                toolset: toolset.clone(),
                message: message.clone(),
            },
            Error::ToolCallLimit { limit, setting } => Error::ToolCallLimit {
                limit: *limit,
                setting,
            },
            Error::ResponseTooLarge {
                provider,
                what,
                limit,
                max,
            } => Error::ResponseTooLarge {
                provider,
                what,
                limit,
                max: *max,
            },
            Error::InvalidOutput {
                type_name,
                raw,
                error,
            } => Error::InvalidOutput {
                type_name,
                raw: raw.clone(),
                error: error.clone(),
            },
            Error::InvalidInput { path, message } => Error::InvalidInput {
                path: path.clone(),
                message: message.clone(),
            },
            Error::Storage { message, source } => Error::Storage {
                message: format!("{message}{}", source_suffix(source.as_deref())),
                source: None,
            },
            Error::StoreLocked { path } => Error::StoreLocked { path: path.clone() },
            Error::Corrupt { key, reason } => Error::Corrupt {
                key: key.clone(),
                reason: reason.clone(),
            },
            Error::LogRecordTooLarge {
                run_id,
                what,
                name,
                size,
                max,
                limit,
            } => Error::LogRecordTooLarge {
                run_id: run_id.clone(),
                what,
                name: name.clone(),
                size: *size,
                max: *max,
                limit,
            },
            Error::Conflict { session_id, keys } => Error::Conflict {
                session_id: session_id.clone(),
                keys: keys.clone(),
            },
            Error::Serde(err) => Error::Serde(<serde_json::Error as serde::de::Error>::custom(err)),
            Error::Cancelled => Error::Cancelled,
            Error::Interrupted { run_id } => Error::Interrupted {
                run_id: run_id.clone(),
            },
            Error::Fenced {
                run_id,
                fence,
                current,
            } => Error::Fenced {
                run_id: run_id.clone(),
                fence: *fence,
                current: *current,
            },
            Error::Paused { run_id, interrupt } => Error::Paused {
                run_id: run_id.clone(),
                interrupt: interrupt.clone(),
            },
            Error::NotPaused { run_id, status } => Error::NotPaused {
                run_id: run_id.clone(),
                status: status.clone(),
            },
            Error::InvalidAnswer {
                run_id,
                interrupt,
                message,
            } => Error::InvalidAnswer {
                run_id: run_id.clone(),
                interrupt: interrupt.clone(),
                message: message.clone(),
            },
            Error::NotResumable { run_id, reason } => Error::NotResumable {
                run_id: run_id.clone(),
                reason: reason.clone(),
            },
            Error::RunPanicked { message } => Error::RunPanicked {
                message: message.clone(),
            },
        }
    }

    /// The error's kind as a stable snake_case name (`"timeout"`, `"provider"`, …): the
    /// `error.type` of a failed span or metric, low-cardinality by design.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Provider { .. } => "provider",
            Error::MissingApiKey { .. } => "missing_api_key",
            Error::Network { .. } => "network",
            Error::Timeout { .. } => "timeout",
            Error::StreamInterrupted { .. } => "stream_interrupted",
            Error::InvalidResponse { .. } => "invalid_response",
            Error::ModelSpec { .. } => "model_spec",
            Error::Config(_) => "config",
            Error::ToolsetUnavailable { .. } => "toolset_unavailable",
            Error::ToolCallLimit { .. } => "tool_call_limit",
            Error::ResponseTooLarge { .. } => "response_too_large",
            Error::InvalidOutput { .. } => "invalid_output",
            Error::InvalidInput { .. } => "invalid_input",
            Error::Storage { .. } => "storage",
            Error::StoreLocked { .. } => "store_locked",
            Error::Corrupt { .. } => "corrupt",
            Error::LogRecordTooLarge { .. } => "log_record_too_large",
            Error::Conflict { .. } => "conflict",
            Error::Serde(_) => "serde",
            Error::Cancelled => "cancelled",
            Error::Interrupted { .. } => "interrupted",
            Error::Paused { .. } => "paused",
            Error::NotPaused { .. } => "not_paused",
            Error::InvalidAnswer { .. } => "invalid_answer",
            Error::Fenced { .. } => "fenced",
            Error::NotResumable { .. } => "not_resumable",
            Error::RunPanicked { .. } => "run_panicked",
        }
    }

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
        assert!(!Error::Config(String::new()).is_retryable());
        assert!(!Error::Cancelled.is_retryable());
    }

    #[test]
    fn a_duplicate_says_the_same() {
        let io = std::io::Error::other("disk full");
        let errors = [
            Error::Storage {
                message: "could not append".into(),
                source: Some(Box::new(io)),
            },
            Error::Cancelled,
            Error::NotResumable {
                run_id: "r".into(),
                reason: "it is `completed`".into(),
            },
            Error::Serde(serde_json::from_str::<u8>("x").unwrap_err()),
        ];
        for err in errors {
            assert_eq!(err.duplicate().to_string(), err.to_string());
        }
    }

    #[test]
    fn storage_errors_keep_their_source_and_conflicts_name_their_keys() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let err = Error::Storage {
            message: "could not open the store `x`; check its permissions".into(),
            source: Some(Box::new(io)),
        };
        assert_eq!(
            err.to_string(),
            "storage error: could not open the store `x`; check its permissions: denied"
        );
        let source = err
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            source.map(std::io::Error::kind),
            Some(std::io::ErrorKind::PermissionDenied)
        );
        let conflict = Error::Conflict {
            session_id: "s".into(),
            keys: vec!["colour".into(), "size".into()],
        };
        assert!(
            conflict
                .to_string()
                .contains("(both changed `colour`, `size`)"),
            "{conflict}"
        );
    }
}
