//! [`ApiError`]: every error the API answers with, as `{"error": {"code", "message"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An HTTP error answer: a status, a stable machine-readable `code` and a message that says
/// what to do. Serialised as `{"error": {"code": "...", "message": "..."}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code, e.g. `session_busy`, `invalid_input`, `not_found`.
    pub code: &'static str,
    /// What went wrong and what to do, for people.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// `400`: the request itself is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `404`: no such workflow, run or session.
    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} `{id}` here"),
        )
    }

    /// `409`: the request conflicts with what the run or session is doing.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// `422`: well-formed JSON that does not fit (the message names the field).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// `500`: the store or the runtime failed; the message says how.
    pub fn internal(err: &weft_runtime::Error) -> Self {
        tracing::error!(error = %err, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            err.to_string(),
        )
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<weft_runtime::Error> for ApiError {
    fn from(err: weft_runtime::Error) -> Self {
        ApiError::internal(&err)
    }
}

/// A handler's result.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// Where in a JSON value a `serde_path_to_error` error is, under `root`: `root` itself for
/// the top level, else `root.the.path` (`root` empty: just the path).
pub(crate) fn field_path<E>(root: &str, err: &serde_path_to_error::Error<E>) -> String {
    let path = err.path().to_string();
    match (path.as_str(), root) {
        (".", "") => "the body".to_string(),
        (".", root) => root.to_string(),
        (path, "") => path.to_string(),
        (path, root) => format!("{root}.{path}"),
    }
}
