//! `GET /v1/sessions`, `GET /v1/sessions/{id}`, `DELETE /v1/sessions/{id}`.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use weft_runtime::SessionFilter;

use super::{PathId, Shared};
use crate::error::{ApiError, ApiResult};
use crate::ids;

/// Sessions listed when no `limit` is given, and the most one page may hold.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub(super) async fn list(
    State(state): State<Shared>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let number = |name: &str, default: usize| -> ApiResult<usize> {
        match query.get(name) {
            None => Ok(default),
            Some(text) => text.trim().parse::<usize>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_query",
                    format!(
                        "`{name}` must be a whole number, not {:?}",
                        text.chars().take(32).collect::<String>()
                    ),
                )
            }),
        }
    };
    let limit = number("limit", DEFAULT_LIMIT)?.min(MAX_LIMIT);
    let offset = number("offset", 0)?;
    let workflow_id = query.get("workflow_id").cloned();
    if let Some(id) = &workflow_id {
        state.workflow(id)?;
    }
    let user_id = query.get("user_id").cloned();
    if let Some(id) = &user_id {
        ids::check("user_id", id)?;
    }
    let listing = state
        .storage
        .list_sessions_counted(SessionFilter {
            workflow_id,
            user_id,
            offset,
            limit: Some(limit),
        })
        .await?;
    Ok(Json(
        json!({"sessions": listing.sessions, "skipped": listing.skipped}),
    ))
}

pub(super) async fn show(
    State(state): State<Shared>,
    PathId(id): PathId,
) -> ApiResult<Json<Value>> {
    ids::check("session id", &id)?;
    let session = state
        .storage
        .read_session(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("session", &id))?;
    let runs = state.storage.read_runs(&id).await?;
    Ok(Json(json!({"session": session, "runs": runs})))
}

pub(super) async fn delete(State(state): State<Shared>, PathId(id): PathId) -> ApiResult<Response> {
    ids::check("session id", &id)?;
    // Held while deleting: no run can start in the session meanwhile (409 if one is in flight).
    let _claim = state.runs.claim(&id)?;
    if state.storage.delete_session(&id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("session", &id))
    }
}
