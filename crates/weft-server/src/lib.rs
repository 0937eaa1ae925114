//! # weft-server
//!
//! weft workflows over HTTP (also `weft::serve` with the `server` feature): any number of
//! workflow types, one line each; runs that outlive the request that started them; event
//! streams a client (a stock browser `EventSource` too) picks up again after a dropped
//! connection or a server crash, every event exactly once; API keys; a playground page.
//!
//! ```no_run
//! # use weft_runtime as weft;
//! # fn doc<B>(research: fn() -> B) where B: weft::WorkflowBuilder + 'static, B::Workflow: weft::Workflow + 'static, <B::Workflow as weft::Workflow>::Input: schemars::JsonSchema {
//! # async {
//! let store = weft::MemoryStorage::new(); // or SledStorage::open(path)?
//! weft_server::Server::new(store)
//!     .workflow(research) // e.g. `ResearchWorkflow::builder`
//!     .api_keys(["secret-key"])
//!     .serve("127.0.0.1:8080")
//!     .await?;
//! # Ok::<(), weft::Error>(()) };
//! # }
//! ```
//!
//! ## HTTP API v1
//! Errors are `{"error": {"code": "...", "message": "..."}}` with a 4xx or 5xx status.
//!
//! | route | what |
//! |---|---|
//! | `GET /health` | `200 {"status":"ok"}` (no key needed) |
//! | `GET /v1/workflows`, `GET /v1/workflows/{id}` | `id`, `name`, `description`, `input_schema` |
//! | `POST /v1/workflows/{id}/runs` | body `{"input": …, "session_id"?, "user_id"?, "mode"?: "stream" \| "wait" \| "background"}`: `stream` (default) answers `200 text/event-stream` (header `X-Weft-Run-Id`), `wait` `200 {"run": RunRecord}` when the run ends, `background` `202 {"run_id", "session_id", "status": "running"}`; `422` when the input does not fit (the message names the field), `404` for an unknown workflow, `409 session_busy` when the session has a run in flight |
//! | `GET /v1/runs/{run_id}` | `{"run": RunRecord}` (`content` is the answer so far, discarded text removed) |
//! | `GET /v1/runs/{run_id}/events` | SSE: the logged events after `Last-Event-ID` (or `?after=N`; none: from the start), then the live run until it ends; `204` when nothing is left to send |
//! | `POST /v1/runs/{run_id}/cancel` | `202`; `409` unless the run is in flight (here, or on a store many servers share, on any of them: asked through the store) |
//! | `POST /v1/runs/{run_id}/resume` | `202 {"run_id", "status": "running"}` for an `interrupted` run; `409` otherwise |
//! | `POST /v1/runs/{run_id}/continue` | body `{"answer": …, "mode"?}` for a `paused` run (its record's `pause` holds the question and `answer_schema`): continues it, answering like a new run in `mode` (`stream` by default); `422 invalid_answer` when the answer does not fit the schema (the run stays paused), `409 not_paused` when the run is not paused, `409 session_busy` when its session has a run in flight here |
//! | `GET /v1/sessions?workflow_id=&user_id=&limit=&offset=` | `{"sessions": [...], "skipped": n}` |
//! | `GET /v1/sessions/{id}`, `DELETE /v1/sessions/{id}` | `{"session", "runs"}`; `204` (`409` while a run is in flight) |
//! | `GET /metrics` | the process's metrics in the Prometheus text format 0.0.4 (`text/plain; version=0.0.4`): `gen_ai_client_operation_duration_seconds` and `gen_ai_client_token_usage` histograms (model and tool calls), `weft_workflow_runs_total` by workflow and status (see `weft_runtime::telemetry::metrics`); needs the API key when keys are set |
//! | `GET /` | the playground |
//!
//! ## Event streams
//! Every event is `id: <seq>`, `event: <RunEvent>` (`RunContent`, `ToolCallStarted`, …),
//! `data: <the item as compact JSON, with "seq">`. A `: ping` comment comes at least every
//! 15 s; the stream ends after the run's last item (`WorkflowCompleted`, `RunError`,
//! `RunPaused`, or a `RunCancelled` marker without an id). A paused run's events go on after
//! its `RunPaused` item once it is continued: reconnect with `Last-Event-ID` then. Reconnecting with `Last-Event-ID` (a browser's
//! `EventSource` does it by itself) gives the events after it, exactly once, also across a
//! server restart: the answer is the `RunContent` deltas in seq order, minus the ranges a
//! `ContentDiscarded {"from_seq": N}` withdraws (`weft::durable::answer`).
//!
//! ## Many servers on one store
//! On a store many servers share (one with a lease: `weft::PostgresStorage`), any server
//! answers for any run: events of a run another server runs come from the store, read every
//! [`Server::poll_interval`] (50 ms); a cancel is asked through the store; runs whose server
//! died, stalled past its lease or shut down are taken over by another (every
//! [`Server::takeover_interval`], half the lease by default) and resumed from their journal.

mod api;
mod auth;
mod error;
mod hosted;
mod ids;
mod runs;
mod server;
mod sse;

pub use auth::ApiKeys;
pub use error::ApiError;
pub use hosted::WorkflowInfo;
pub use server::{
    shutdown_signal, Bound, Server, DEFAULT_BODY_LIMIT, DEFAULT_KEEP_ALIVE, DEFAULT_POLL_INTERVAL,
    DEFAULT_SHUTDOWN_GRACE,
};
/// tower-http's CORS layer, for [`Server::cors`].
pub use tower_http::cors;
