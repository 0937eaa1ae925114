//! `GET /v1/workflows`, `GET /v1/workflows/{id}`, `POST /v1/workflows/{id}/runs`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use weft_runtime::{Error, RunHandle};

use super::{json_body, runs, Shared};
use crate::error::{ApiError, ApiResult};
use crate::hosted::Owner;
use crate::ids;
use crate::sse;

/// The body of `POST /v1/workflows/{id}/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    /// The workflow's input (checked against its input type).
    input: Value,
    session_id: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    mode: Mode,
}

/// How the answer to a new run comes back.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// `200 text/event-stream` of the run.
    #[default]
    Stream,
    /// `200 {"run": RunRecord}` when it ends.
    Wait,
    /// `202 {"run_id", "session_id", "status": "running"}` at once.
    Background,
}

pub(super) async fn list(State(state): State<Shared>) -> Json<Value> {
    let workflows: Vec<_> = state
        .workflows
        .values()
        .map(|hosted| hosted.info())
        .collect();
    Json(json!({ "workflows": workflows }))
}

pub(super) async fn show(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let hosted = state.workflow(&id)?;
    Ok(Json(json!(hosted.info())))
}

pub(super) async fn start_run(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let hosted = state.workflow(&id)?.clone();
    let request: RunRequest = json_body(body)?;
    if let Some(session_id) = &request.session_id {
        ids::check("session_id", session_id)?;
    }
    if let Some(user_id) = &request.user_id {
        ids::check("user_id", user_id)?;
    }
    let session_id = request
        .session_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let claim = state.runs.claim(&session_id)?;
    let owner = Owner {
        session_id: Some(session_id.clone()),
        user_id: request.user_id,
    };
    let handle = hosted.start(request.input, owner, state.storage.clone())?;
    state
        .runs
        .insert(handle.clone(), session_id.clone(), Some(claim));
    match request.mode {
        Mode::Background => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"run_id": handle.run_id(), "session_id": session_id, "status": "running"})),
        )
            .into_response()),
        Mode::Wait => {
            let record = ended_record(&state, &handle).await?;
            Ok(Json(json!({ "run": record })).into_response())
        }
        Mode::Stream => Ok(sse::respond(
            handle.events(0),
            runs::end_marker(handle.clone()),
            state.keep_alive,
            handle.run_id(),
        )),
    }
}

/// The record of a run once it has ended, however it ended.
async fn ended_record(state: &Shared, handle: &RunHandle) -> ApiResult<weft_runtime::RunRecord> {
    match handle.wait().await {
        Ok(record) => Ok(record),
        Err(Error::Storage { message, .. }) => Err(ApiError::internal(&Error::Storage {
            message,
            source: None,
        })),
        Err(_) => state
            .storage
            .read_run(handle.run_id())
            .await?
            .ok_or_else(|| ApiError::not_found("run", handle.run_id())),
    }
}
