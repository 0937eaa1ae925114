//! `GET /metrics`: the process's metrics in the Prometheus text format.

use axum::http::header;
use axum::response::IntoResponse;
use weft_runtime::telemetry::metrics;

/// The content type of the Prometheus text exposition format 0.0.4.
pub(crate) const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `200` with every metric of this process (`weft_runtime::telemetry::metrics`): the GenAI
/// operation duration and token usage histograms and the workflow runs by status.
pub(crate) async fn prometheus() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        metrics::render_prometheus(),
    )
}
