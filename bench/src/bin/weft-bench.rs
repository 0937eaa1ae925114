//! `weft-bench`: the end-to-end benchmark of the research-shaped workflow against a running
//! `weft-fake-llm`, printing one JSON object (the shape `bench/agno/bench_agno.py` prints, so
//! `bench/compare.sh` can put them side by side).
//!
//! ```text
//! weft-bench sequential --base-url http://127.0.0.1:8089/v1 --runs 500 [--floor]
//! weft-bench concurrent --base-url http://127.0.0.1:8090/v1 --concurrency 1000 [--floor]
//! weft-bench construction --iterations 100000
//! ```
//! `--floor` makes the same HTTP calls with bare reqwest instead of weft.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use clap::{Parser, Subcommand};
use serde_json::json;
use weft_bench::*;

#[derive(Parser)]
#[command(name = "weft-bench")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// N runs one after the other: runs/s, p50/p99 latency, CPU per run.
    Sequential {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 500)]
        runs: usize,
        /// Bare reqwest instead of weft.
        #[arg(long)]
        floor: bool,
    },
    /// C runs at once: wall time, peak memory, memory per run in flight.
    Concurrent {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        /// Bare reqwest instead of weft.
        #[arg(long)]
        floor: bool,
    },
    /// Building agents and workflows: time per build.
    Construction {
        #[arg(long, default_value_t = 100_000)]
        iterations: usize,
    },
}

/// One run of whichever side is measured.
#[derive(Clone)]
enum Side {
    Weft(weft::ModelRef),
    Floor(reqwest::Client, String),
}

impl Side {
    fn new(base_url: &str, floor: bool) -> Side {
        if floor {
            Side::Floor(reqwest::Client::new(), base_url.to_string())
        } else {
            Side::Weft(model(base_url))
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Side::Weft(_) => "weft",
            Side::Floor(..) => "bare reqwest",
        }
    }

    async fn run(&self) -> usize {
        match self {
            Side::Weft(model) => run_weft(model).await.expect("weft run"),
            Side::Floor(client, base) => run_bare(client, base).await.expect("bare run"),
        }
    }
}

async fn sequential(base_url: &str, runs: usize, floor: bool) -> serde_json::Value {
    let side = Side::new(base_url, floor);
    let stats = reqwest::Client::new();
    for _ in 0..runs.min(20) {
        side.run().await; // warm-up: connections, lazy statics
    }
    let before = server_requests(&stats, base_url).await.unwrap();
    let cpu = cpu_time();
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(runs);
    for _ in 0..runs {
        let run = Instant::now();
        assert!(side.run().await > 0, "a run streamed no text");
        latencies.push(run.elapsed());
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    let requests = server_requests(&stats, base_url).await.unwrap() - before;
    latencies.sort();
    json!({
        "framework": side.name(),
        "mode": "sequential",
        "runs": runs,
        "runs_per_sec": runs as f64 / wall.as_secs_f64(),
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "cpu_ms_per_run": cpu.as_secs_f64() * 1000.0 / runs as f64,
        "requests": requests,
    })
}

async fn concurrent(base_url: &str, concurrency: usize, floor: bool) -> serde_json::Value {
    let side = Side::new(base_url, floor);
    let stats = reqwest::Client::new();
    side.run().await; // warm-up
    let before = server_requests(&stats, base_url).await.unwrap();
    let rss_before = rss_kib();
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let side = side.clone();
            tokio::spawn(async move {
                let run = Instant::now();
                assert!(side.run().await > 0, "a run streamed no text");
                run.elapsed()
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(concurrency);
    for task in tasks {
        latencies.push(task.await.unwrap());
    }
    let wall = started.elapsed();
    latencies.sort();
    let peak = peak_rss_kib();
    let requests = server_requests(&stats, base_url).await.unwrap() - before;
    json!({
        "framework": side.name(),
        "mode": "concurrent",
        "concurrency": concurrency,
        "wall_ms": wall.as_secs_f64() * 1000.0,
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p90_ms": percentile_ms(&latencies, 90.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "max_ms": percentile_ms(&latencies, 100.0),
        "peak_rss_mb": peak as f64 / 1024.0,
        "rss_per_run_kb": peak.saturating_sub(rss_before) as f64 / concurrency as f64,
        "requests": requests,
    })
}

fn construction(iterations: usize) -> serde_json::Value {
    let time = |build: &dyn Fn()| {
        for _ in 0..iterations / 10 {
            build();
        }
        let started = Instant::now();
        for _ in 0..iterations {
            build();
        }
        started.elapsed().as_secs_f64() * 1e9 / iterations as f64
    };
    let agent_ns = time(&|| {
        std::hint::black_box(agent_with_tool());
    });
    let fake = model("http://127.0.0.1:9/v1");
    let workflow_ns = time(&|| {
        let workflow = BenchResearch::builder()
            .model(Some(fake.clone()))
            .build()
            .unwrap();
        std::hint::black_box(workflow);
    });
    json!({
        "framework": "weft",
        "mode": "construction",
        "iterations": iterations,
        "agent_ns": agent_ns,
        "workflow_ns": workflow_ns,
    })
}

fn main() {
    let args = Args::parse();
    // One client making one run at a time gains nothing from worker threads but cross-thread
    // wake-ups (Agno's side, likewise, is one asyncio loop); many runs at once use them all.
    let runtime = match args.command {
        Command::Sequential { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Runtime::new(),
    }
    .expect("a tokio runtime");
    let report = match args.command {
        Command::Sequential {
            base_url,
            runs,
            floor,
        } => runtime.block_on(sequential(&base_url, runs, floor)),
        Command::Concurrent {
            base_url,
            concurrency,
            floor,
        } => runtime.block_on(concurrent(&base_url, concurrency, floor)),
        Command::Construction { iterations } => construction(iterations),
    };
    println!("{report}");
}
