//! `GET /v1/workflows`, `GET /v1/workflows/{id}`, `POST /v1/workflows/{id}/runs`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use weft_runtime::RunHandle;

use super::{json_body, runs, PathId, Shared};
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

/// How the answer to a new (or continued) run comes back.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Mode {
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
    PathId(id): PathId,
) -> ApiResult<Json<Value>> {
    let hosted = state.workflow(&id)?;
    Ok(Json(json!(hosted.info())))
}

pub(super) async fn start_run(
    State(state): State<Shared>,
    PathId(id): PathId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    state.accepting()?;
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
    if let Some(session) = state.storage.read_session(&session_id).await? {
        if session.workflow_id != id {
            return Err(ApiError::conflict(
                "session_of_another_workflow",
                format!(
                    "session `{session_id}` belongs to workflow `{}`, not `{id}`: use another session id",
                    session.workflow_id
                ),
            ));
        }
    }
    let owner = Owner {
        session_id: Some(session_id.clone()),
        user_id: request.user_id,
    };
    let handle = hosted.start(request.input, owner, state.storage.clone())?;
    state
        .runs
        .insert(handle.clone(), session_id.clone(), Some(claim));
    answer(&state, handle, &session_id, request.mode, 0).await
}

/// The answer to a request that started (or continued) a run, in the request's mode; a
/// stream sends the run's items after seq `after` (a continued run's: after its pause).
pub(super) async fn answer(
    state: &Shared,
    handle: RunHandle,
    session_id: &str,
    mode: Mode,
    after: u64,
) -> ApiResult<Response> {
    match mode {
        Mode::Background => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"run_id": handle.run_id(), "session_id": session_id, "status": "running"})),
        )
            .into_response()),
        Mode::Wait => {
            let record = ended_record(state, &handle).await?;
            Ok(Json(json!({ "run": record })).into_response())
        }
        Mode::Stream => Ok(sse::respond(
            handle.events(after),
            runs::end_marker(handle.clone()),
            state.keep_alive,
            handle.run_id(),
        )),
    }
}

/// The record of a run once it has ended, however it ended; the run's error when it ended
/// before it had a record (its session could not be read, say).
async fn ended_record(state: &Shared, handle: &RunHandle) -> ApiResult<weft_runtime::RunRecord> {
    let outcome = handle.wait().await;
    if let Ok(record) = outcome {
        return Ok(record);
    }
    match state.storage.read_run(handle.run_id()).await? {
        Some(record) => Ok(record),
        None => Err(match outcome {
            Err(err) => ApiError::internal(&err),
            Ok(_) => ApiError::not_found("run", handle.run_id()),
        }),
    }
}
