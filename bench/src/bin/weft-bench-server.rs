//! The benchmark workflow (`bench_research`, see `weft_bench`) served over HTTP by
//! `weft::serve`, for `weft-load`: `weft-bench-server --base-url URL [--store memory|sled]`
//! binds 127.0.0.1 port 0 and prints `listening on http://127.0.0.1:PORT` when ready.

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
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let args = Args::parse();
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
