//! The HTTP API v1: the router and what its handlers share.

mod metrics;
mod runs;
pub(crate) use runs::start_resume as resume_run;
mod sessions;
mod workflows;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde::de::DeserializeOwned;
use weft_runtime::StorageRef;

use crate::auth::{self, ApiKeys};
use crate::error::{ApiError, ApiResult};
use crate::hosted::Hosted;
use crate::runs::RunTable;

/// What every handler can reach.
pub(crate) struct AppState {
    pub storage: StorageRef,
    pub workflows: BTreeMap<String, Arc<dyn Hosted>>,
    pub runs: RunTable,
    pub keep_alive: Duration,
    /// How often a stream of a run another server runs reads the store.
    pub poll_interval: Duration,
    /// Set when a shutdown begins: no new run starts or resumes from then on.
    pub shutting_down: AtomicBool,
}

impl AppState {
    /// `503 shutting_down` once a shutdown has begun (runs started now could not finish).
    pub fn accepting(&self) -> ApiResult<()> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down: start the run again when it is back",
            ));
        }
        Ok(())
    }

    /// The hosted workflow `id`, or `404`.
    pub fn workflow(&self, id: &str) -> ApiResult<&Arc<dyn Hosted>> {
        self.workflows
            .get(id)
            .ok_or_else(|| ApiError::not_found("workflow", id))
    }
}

/// The shared state handlers get.
pub(crate) type Shared = Arc<AppState>;

/// The page at `GET /`.
const PLAYGROUND: &str = include_str!("../playground/index.html");

/// Every route: `/health` and `/` open, `/v1/...` and `/metrics` behind the API keys (when
/// any is set), a body limit of `body_limit` bytes.
pub(crate) fn router(state: Shared, keys: ApiKeys, body_limit: usize) -> Router {
    let v1 = Router::new()
        .route("/workflows", get(workflows::list))
        .route("/workflows/{id}", get(workflows::show))
        .route("/workflows/{id}/runs", post(workflows::start_run))
        .route("/runs/{run_id}", get(runs::show))
        .route("/runs/{run_id}/events", get(runs::events))
        .route("/runs/{run_id}/cancel", post(runs::cancel))
        .route("/runs/{run_id}/resume", post(runs::resume))
        .route("/runs/{run_id}/continue", post(runs::continue_run))
        .route("/sessions", get(sessions::list))
        .route(
            "/sessions/{id}",
            get(sessions::show).delete(sessions::delete),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Prometheus scrapes `/metrics` at the root; it tells about the runs, so it takes a key.
    let metrics = Router::new().route("/metrics", get(metrics::prometheus));
    // Without keys every request is let in: no middleware to pass through.
    let (v1, metrics) = if keys.required() {
        let guard = middleware::from_fn_with_state(keys, auth::require_key);
        (v1.layer(guard.clone()), metrics.layer(guard))
    } else {
        (v1, metrics)
    };
    Router::new()
        .route("/health", get(health))
        .route("/", get(playground))
        .merge(metrics)
        .nest("/v1", v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn playground() -> Response {
    let mut response = Html(PLAYGROUND).into_response();
    response.headers_mut().insert(
        "cache-control",
        axum::http::HeaderValue::from_static("no-cache"),
    );
    response
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {} {}: see GET /v1/workflows",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// A path parameter (a run, session or workflow id); a path that is not UTF-8 is a JSON `400`.
pub(crate) struct PathId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(PathId(id)),
            Err(rejection) => Err(ApiError::bad_request("invalid_id", rejection.body_text())),
        }
    }
}

/// A JSON request body: `413` over the limit, `400 invalid_json` when it is not JSON, `422
/// invalid_request` (naming the field) when it does not fit `T`.
pub(crate) fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than this server accepts: send less (the limit is the server's `body_limit`)",
            )
        } else {
            ApiError::bad_request("invalid_body", rejection.body_text())
        }
    })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|err| {
        ApiError::bad_request(
            "invalid_json",
            format!("the request body is not valid JSON: {err}"),
        )
    })?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let field = match crate::error::field_path("", &err).as_str() {
            "the body" => "the body".to_string(),
            path => format!("`{path}`"),
        };
        ApiError::unprocessable(
            "invalid_request",
            format!("{field} does not fit: {}", err.inner()),
        )
    })
}
