//! `/v1/runs/{run_id}`: a run's record, its events (SSE), cancel, resume, continue.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;
use serde_json::json;
use weft_runtime::{Error, RunHandle, RunRecord, RunStatus, RunStream, StorageRef};

use super::workflows::{self, Mode};
use super::{json_body, PathId, Shared};
use crate::error::{ApiError, ApiResult};
use crate::{ids, sse};

/// How many logged items a stream reads from the store at a time.
const PAGE: usize = 256;

/// The record of `run_id`, or `404`.
async fn record(state: &Shared, run_id: &str) -> ApiResult<RunRecord> {
    ids::check("run id", run_id)?;
    state
        .storage
        .read_run(run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("run", run_id))
}

pub(super) async fn show(
    State(state): State<Shared>,
    PathId(run_id): PathId,
) -> ApiResult<Json<serde_json::Value>> {
    let mut run = record(&state, &run_id).await?;
    if run.status == RunStatus::Running {
        // The record's content is written when the run ends: the answer so far is the log's.
        let items = read_all(&state.storage, &run_id).await?;
        run.content = weft_runtime::durable::answer(&items);
        run.last_seq = items
            .last()
            .and_then(|item| item.seq)
            .unwrap_or(run.last_seq);
    }
    Ok(Json(json!({ "run": run })))
}

async fn read_all(
    storage: &StorageRef,
    run_id: &str,
) -> weft_runtime::Result<Vec<weft_runtime::RunResponse>> {
    let mut items = Vec::new();
    let mut cursor = 0;
    loop {
        let page = storage.read_events(run_id, cursor, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(items);
        };
        cursor = last.seq;
        items.extend(page.into_iter().map(|event| event.item));
    }
}

pub(super) async fn events(
    State(state): State<Shared>,
    PathId(run_id): PathId,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    ids::check("run id", &run_id)?;
    let query =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let after = sse::cursor(&headers, query.get("after").map(String::as_str))?;
    if let Some(handle) = state.runs.get(&run_id) {
        if handle.is_finished() && after >= handle.last_seq() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        return Ok(sse::respond(
            handle.events(after),
            end_marker(handle.clone()),
            state.keep_alive,
            &run_id,
        ));
    }
    let run = record(&state, &run_id).await?;
    if elsewhere(&state, &run) {
        // Another server runs it (or will take it over): its items reach the store, and this
        // stream reads them from there as they come.
        let end = {
            let state = Arc::clone(&state);
            let run_id = run_id.clone();
            async move {
                let cancelled = matches!(
                    state.storage.read_run(&run_id).await,
                    Ok(Some(run)) if run.status == RunStatus::Cancelled
                );
                cancelled.then(|| sse::cancelled(&run_id))
            }
        };
        return Ok(sse::respond(
            polled(
                state.storage.clone(),
                run_id.clone(),
                after,
                state.poll_interval,
            ),
            end,
            state.keep_alive,
            &run_id,
        ));
    }
    if after >= run.last_seq {
        // No run here will add to it (ended, or interrupted and not resumed): `204` tells a
        // browser's EventSource to stop reconnecting.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let end = {
        let run_id = run_id.clone();
        let cancelled = run.status == RunStatus::Cancelled;
        async move { cancelled.then(|| sse::cancelled(&run_id)) }
    };
    Ok(sse::respond(
        stored(state.storage.clone(), run_id.clone(), after),
        end,
        state.keep_alive,
        &run_id,
    ))
}

/// Whether a run no handle here follows goes on elsewhere: `running` (in another server), or
/// on a store shared by many servers, `interrupted` (one of them takes it over).
fn elsewhere(state: &Shared, run: &RunRecord) -> bool {
    match run.status {
        RunStatus::Running => true,
        RunStatus::Interrupted => state.storage.lease().is_some(),
        _ => false,
    }
}

/// The items of a run no handle here follows, read from the store after `after`.
fn stored(storage: StorageRef, run_id: String, after: u64) -> RunStream<'static> {
    Box::pin(async_stream::try_stream! {
        let mut cursor = after;
        loop {
            let page = storage.read_events(&run_id, cursor, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for event in page {
                cursor = event.seq;
                yield event.item;
            }
        }
    })
}

/// The items of a run that another server runs: read from the store after `after`, then
/// every `interval` while the run goes on; the stream ends once the run has ended and its
/// last items are read (a run logs its last item before it records its end).
fn polled(
    storage: StorageRef,
    run_id: String,
    after: u64,
    interval: std::time::Duration,
) -> RunStream<'static> {
    Box::pin(async_stream::try_stream! {
        let mut cursor = after;
        let mut ended = false;
        loop {
            let page = storage.read_events(&run_id, cursor, PAGE).await?;
            if page.is_empty() {
                if ended {
                    break;
                }
                ended = storage.read_run(&run_id).await?.is_none_or(|run| {
                    !matches!(run.status, RunStatus::Running | RunStatus::Interrupted)
                });
                if !ended {
                    tokio::time::sleep(interval).await;
                }
                continue;
            }
            for event in page {
                cursor = event.seq;
                yield event.item;
            }
        }
    })
}

/// What ends the stream of a run followed through `handle` when its log has no last item of
/// its own: the `RunCancelled` marker for a cancelled run; a `RunError` event (without an id)
/// for a run that failed before it logged anything (its session could not be read, say).
pub(super) fn end_marker(handle: RunHandle) -> BoxFuture<'static, Option<Event>> {
    async move {
        match handle.wait().await {
            // Taken over by another server: no end here, the client reconnects and follows
            // the run from the store.
            Ok(_) | Err(Error::Interrupted { .. } | Error::Fenced { .. }) => None,
            Err(Error::Cancelled) => Some(sse::cancelled(handle.run_id())),
            Err(err) => Some(sse::run_failed(handle.run_id(), &err)),
        }
    }
    .boxed()
}

pub(super) async fn cancel(
    State(state): State<Shared>,
    PathId(run_id): PathId,
) -> ApiResult<Response> {
    ids::check("run id", &run_id)?;
    if let Some(handle) = state.runs.get(&run_id) {
        if !handle.is_finished() {
            handle.cancel();
            return Ok((
                StatusCode::ACCEPTED,
                Json(json!({"run_id": run_id, "status": "cancelling"})),
            )
                .into_response());
        }
    }
    let run = record(&state, &run_id).await?;
    // Another server runs it (a store many servers share): ask it through the store.
    if run.status == RunStatus::Running
        && state.storage.lease().is_some()
        && state.storage.request_cancel(&run_id).await?
    {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"run_id": run_id, "status": "cancelling"})),
        )
            .into_response());
    }
    Err(ApiError::conflict(
        "run_not_in_flight",
        format!(
            "run `{run_id}` is {}, not running here: only a run in flight can be cancelled",
            run.status
        ),
    ))
}

pub(super) async fn resume(
    State(state): State<Shared>,
    PathId(run_id): PathId,
) -> ApiResult<Response> {
    ids::check("run id", &run_id)?;
    if state.runs.get(&run_id).is_some() {
        return Err(ApiError::conflict(
            "not_resumable",
            format!("run `{run_id}` is running here already: follow its events"),
        ));
    }
    let run = record(&state, &run_id).await?;
    // On a store shared by many servers a `running` run whose worker died is resumable too:
    // the run's claim decides (a live one is `409 not_resumable`).
    let shared_running = run.status == RunStatus::Running && state.storage.lease().is_some();
    if run.status != RunStatus::Interrupted && !shared_running {
        return Err(ApiError::conflict(
            "not_resumable",
            format!(
                "run `{run_id}` is {}: only an interrupted run can be resumed",
                run.status
            ),
        ));
    }
    let handle = start_resume(&state, run, None).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"run_id": handle.run_id(), "status": "running"})),
    )
        .into_response())
}

/// Resumes an interrupted run of a hosted workflow (with an `answer`: continues a paused
/// one) and follows it. The claim, the resume and the run table's entry happen in a task of
/// their own, so a client that goes away while the run begins again cannot leave it running
/// untracked.
pub(crate) async fn start_resume(
    state: &Shared,
    run: RunRecord,
    answer: Option<serde_json::Value>,
) -> ApiResult<RunHandle> {
    state.accepting()?;
    let hosted = state.workflow(&run.workflow_id)?.clone();
    let state = Arc::clone(state);
    let task = tokio::spawn(async move {
        let claim = state.runs.claim(&run.session_id)?;
        let started = hosted.resume(run.run_id.clone(), answer, state.storage.clone())?;
        match started.await {
            Ok(handle) => {
                state
                    .runs
                    .insert(handle.clone(), run.session_id, Some(claim));
                Ok(handle)
            }
            Err(Error::NotResumable { run_id, reason }) => Err(ApiError::conflict(
                "not_resumable",
                format!("run `{run_id}` cannot be resumed: {reason}"),
            )),
            Err(err @ Error::NotPaused { .. }) => {
                Err(ApiError::conflict("not_paused", err.to_string()))
            }
            Err(err @ Error::InvalidAnswer { .. }) => {
                Err(ApiError::unprocessable("invalid_answer", err.to_string()))
            }
            Err(err) => Err(ApiError::internal(&err)),
        }
    });
    task.await.unwrap_or_else(|err| {
        Err(ApiError::internal(&Error::Config(format!(
            "resuming the run stopped: {err}"
        ))))
    })
}

/// The body of `POST /v1/runs/{run_id}/continue`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContinueRequest {
    /// The answer to the run's pause (checked against its `answer_schema`).
    answer: serde_json::Value,
    #[serde(default)]
    mode: Mode,
}

pub(super) async fn continue_run(
    State(state): State<Shared>,
    PathId(run_id): PathId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    // The run first (`404`, `409`), then the answer: an unknown or unpaused run is refused
    // whatever the body says.
    let run = record(&state, &run_id).await?;
    if run.status != RunStatus::Paused {
        return Err(ApiError::conflict(
            "not_paused",
            format!(
                "run `{run_id}` is {}, not paused: only a paused run can be continued",
                run.status
            ),
        ));
    }
    let request: ContinueRequest = json_body(body)?;
    let (session_id, paused_at) = (run.session_id.clone(), run.last_seq);
    let handle = start_resume(&state, run, Some(request.answer)).await?;
    // The client has the run up to its pause: the stream goes on from there.
    workflows::answer(&state, handle, &session_id, request.mode, paused_at).await
}
