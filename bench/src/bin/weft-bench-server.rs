//! The benchmark workflow (`bench_research`, see `weft_bench`) served over HTTP by
//! `weft::serve`, for `weft-load`: `weft-bench-server --base-url URL [--store memory|sled]`
//! binds 127.0.0.1 port 0 and prints `listening on http://127.0.0.1:PORT` when ready.
//!
//! `--bare-sse` serves no workflow: the two routes `weft-load idle` uses, answered by plain
//! axum (a run id; an SSE stream of one event that then stays open, with axum's keep-alive):
//! the memory floor of an idle event stream with axum and hyper's defaults.

use std::sync::Arc;

use clap::{Parser, ValueEnum};
use weft::serve::Server;
use weft::{MemoryStorage, SledStorage, StorageRef};
use weft_bench::{model, BenchResearch};

/// Where the server keeps its sessions, runs and event logs.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Store {
    /// One `MemoryStorage`.
    Memory,
    /// One `SledStorage` in a fresh temp dir (default durability).
    Sled,
}

#[derive(Parser)]
struct Args {
    /// The OpenAI-compatible base URL of the fake LLM (`.../v1`).
    #[arg(long)]
    base_url: String,
    #[arg(long, value_enum, default_value = "memory")]
    store: Store,
    /// Plain axum SSE instead of weft (the floor of an idle subscriber's memory).
    #[arg(long)]
    bare_sse: bool,
}

/// The routes `weft-load idle` uses, in plain axum: the floor of an idle event stream.
fn bare_sse() -> axum::Router {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::routing::{get, post};
    use futures::StreamExt;
    axum::Router::new()
        .route(
            "/v1/workflows/{id}/runs",
            post(|| async { axum::Json(serde_json::json!({"run_id": "bare"})) }),
        )
        .route(
            "/v1/runs/{id}/events",
            get(|| async {
                let first = Event::default().id("1").event("WorkflowStarted").data("{}");
                let events =
                    futures::stream::once(async move { Ok::<_, std::convert::Infallible>(first) })
                        .chain(futures::stream::pending());
                Sse::new(events)
                    .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
            }),
        )
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let args = Args::parse();
    if args.bare_sse {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|err| weft::Error::Config(format!("could not listen: {err}")))?;
        println!(
            "listening on http://{}",
            listener
                .local_addr()
                .map_err(|err| weft::Error::Config(err.to_string()))?
        );
        return axum::serve(listener, bare_sse())
            .await
            .map_err(|err| weft::Error::Config(err.to_string()));
    }
    let model = model(&args.base_url);
    let (storage, _dir): (StorageRef, Option<std::path::PathBuf>) = match args.store {
        Store::Memory => (Arc::new(MemoryStorage::new()), None),
        Store::Sled => {
            let dir =
                std::env::temp_dir().join(format!("weft-bench-server-{}", std::process::id()));
            (Arc::new(SledStorage::open(&dir)?), Some(dir))
        }
    };
    let server =
        Server::new(storage).workflow(move || BenchResearch::builder().model(Some(model.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| weft::Error::Config(format!("could not listen: {err}")))?;
    let bound = server.bind(listener).await?;
    println!("listening on http://{}", bound.local_addr()?);
    let served = bound.serve().await;
    if let Some(dir) = _dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    served
}
