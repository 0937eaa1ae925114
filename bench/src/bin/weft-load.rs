//! A load client for workflow servers: streamed runs at a given concurrency against weft's
//! server (`weft-bench-server`, `weft::serve`) or Agno's AgentOS (`bench/agno/serve_agno.py`),
//! and idle event-stream subscribers held on one weft run. Prints one JSON line.
//!
//! ```text
//! weft-load runs --target weft --url http://127.0.0.1:PORT --concurrency 100 --runs 2000 --server-pid PID
//! weft-load idle --url http://127.0.0.1:PORT --subscribers 10000 --server-pid PID
//! ```

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use serde_json::json;
use weft_bench::{cpu_time_of, peak_rss_kib_of, percentile_ms, rss_kib_of, server_requests, TOPIC};

/// Which server speaks at `--url`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    /// weft's `POST /v1/workflows/{id}/runs` (JSON body, SSE answer).
    Weft,
    /// AgentOS's `POST /workflows/{id}/runs` (form body with `stream=true`, SSE answer).
    Agentos,
}

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// `--runs` streamed runs, `--concurrency` at a time: runs/s, time to first event, server
    /// CPU per run, the server's peak RSS.
    Runs {
        #[arg(long, value_enum)]
        target: Target,
        /// The server's base URL (`http://127.0.0.1:PORT`).
        #[arg(long)]
        url: String,
        /// The workflow id (weft: `bench_research`).
        #[arg(long)]
        workflow: String,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        #[arg(long, default_value_t = 300)]
        runs: usize,
        /// Runs before measuring (at the same concurrency).
        #[arg(long, default_value_t = 10)]
        warmup: usize,
        /// The server's process ids (repeat for a server of several processes), for their
        /// CPU time and memory.
        #[arg(long = "server-pid", required = true)]
        server_pids: Vec<u32>,
        /// The fake LLM's base URL (`.../v1`): checks that every run made 3 requests.
        #[arg(long)]
        llm_url: Option<String>,
        /// The ideal wall time of one run in ms (printed beside the measured wall time).
        #[arg(long)]
        ideal_ms: Option<f64>,
        /// The `mode` of the JSON line (`server`; `server-paced` against the paced fake LLM).
        #[arg(long, default_value = "server")]
        label: String,
    },
    /// One weft run held in flight (its model answers after a long time) and `--subscribers`
    /// clients following its events: the server's memory with all of them connected.
    Idle {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "bench_research")]
        workflow: String,
        #[arg(long, default_value_t = 10_000)]
        subscribers: usize,
        #[arg(long)]
        server_pid: u32,
        /// The `framework` of the JSON line (`bare axum` for `weft-bench-server --bare-sse`).
        #[arg(long, default_value = "weft")]
        framework: String,
    },
}

/// What one streamed run took.
struct RunTiming {
    first_event: Duration,
    total: Duration,
    events: usize,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Runs {
            target,
            url,
            workflow,
            concurrency,
            runs,
            warmup,
            server_pids,
            llm_url,
            ideal_ms,
            label,
        } => {
            let load = Load {
                target,
                url,
                workflow,
                concurrency,
            };
            runs_mode(
                &load,
                runs,
                warmup,
                &server_pids,
                llm_url.as_deref(),
                ideal_ms,
                &label,
            )
            .await
        }
        Command::Idle {
            url,
            workflow,
            subscribers,
            server_pid,
            framework,
        } => idle_mode(&url, &workflow, subscribers, server_pid, &framework).await,
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(err) => {
            eprintln!("weft-load: {err}");
            std::process::exit(1);
        }
    }
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|err| err.to_string())
}

/// Starts one streamed run and reads its events to the end.
async fn one_run(
    client: &reqwest::Client,
    target: Target,
    url: &str,
    workflow: &str,
) -> Result<RunTiming, String> {
    let start = Instant::now();
    let request = match target {
        Target::Weft => client
            .post(format!("{url}/v1/workflows/{workflow}/runs"))
            .json(&json!({"input": TOPIC})),
        Target::Agentos => client
            .post(format!("{url}/workflows/{workflow}/runs"))
            .form(&[("message", TOPIC), ("stream", "true")]),
    };
    let response = request.send().await.map_err(|err| err.to_string())?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "{status}: {}",
            body.chars().take(300).collect::<String>()
        ));
    }
    let mut body = response.bytes_stream();
    let mut first_event = None;
    let mut events = 0;
    let mut pending: Vec<u8> = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| err.to_string())?;
        pending.extend_from_slice(&chunk);
        // Count whole events (blocks ending in a blank line) that carry data.
        while let Some(end) = find(&pending, b"\n\n") {
            let block = &pending[..end];
            if block
                .split(|b| *b == b'\n')
                .any(|line| line.starts_with(b"data:"))
            {
                events += 1;
                first_event.get_or_insert_with(|| start.elapsed());
            }
            pending.drain(..end + 2);
        }
    }
    Ok(RunTiming {
        first_event: first_event.ok_or("the stream ended without an event")?,
        total: start.elapsed(),
        events,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Where the runs go, and how many at a time.
struct Load {
    target: Target,
    url: String,
    workflow: String,
    concurrency: usize,
}

async fn runs_mode(
    load: &Load,
    runs: usize,
    warmup: usize,
    server_pids: &[u32],
    llm_url: Option<&str>,
    ideal_ms: Option<f64>,
    label: &str,
) -> Result<String, String> {
    let Load {
        target,
        url,
        workflow,
        concurrency,
    } = load;
    let (target, url, workflow, concurrency) =
        (*target, url.as_str(), workflow.as_str(), *concurrency);
    let client = client()?;
    let pids: Vec<String> = server_pids.iter().map(u32::to_string).collect();
    let cpu = || pids.iter().map(|pid| cpu_time_of(pid)).sum::<Duration>();
    let llm_before = match llm_url {
        Some(llm) => Some(server_requests(&client, llm).await?),
        None => None,
    };
    let batch = |count: usize| {
        let client = client.clone();
        async move {
            futures::stream::iter(0..count)
                .map(|_| {
                    let client = client.clone();
                    async move { one_run(&client, target, url, workflow).await }
                })
                .buffer_unordered(concurrency.max(1))
                .collect::<Vec<_>>()
                .await
        }
    };
    for result in batch(warmup).await {
        result.map_err(|err| format!("a warm-up run failed: {err}"))?;
    }
    let cpu_before = cpu();
    let started = Instant::now();
    let results = batch(runs).await;
    let wall = started.elapsed();
    let cpu = cpu().saturating_sub(cpu_before);
    let llm_requests = match (llm_url, llm_before) {
        (Some(llm), Some(before)) => Some(server_requests(&client, llm).await? - before),
        _ => None,
    };
    let mut errors = Vec::new();
    let mut first = Vec::new();
    let mut totals = Vec::new();
    let mut events = Vec::new();
    for result in results {
        match result {
            Ok(timing) => {
                first.push(timing.first_event);
                totals.push(timing.total);
                events.push(timing.events);
            }
            Err(err) => errors.push(err),
        }
    }
    first.sort();
    totals.sort();
    let ok = totals.len();
    let wall_ms = wall.as_secs_f64() * 1000.0;
    Ok(json!({
        "mode": label,
        "framework": match target {
            Target::Weft => "weft",
            Target::Agentos => "agno",
        },
        "server": match target {
            Target::Weft => "weft::serve",
            Target::Agentos => "AgentOS",
        },
        "concurrency": concurrency,
        "runs": runs,
        "ok": ok,
        "errors": errors.len(),
        "first_error": errors.first(),
        "events_per_run": events.first(),
        "wall_ms": wall_ms,
        "runs_per_sec": ok as f64 / wall.as_secs_f64(),
        "ttfe_p50_ms": percentile_ms(&first, 50.0),
        "ttfe_p99_ms": percentile_ms(&first, 99.0),
        "run_p50_ms": percentile_ms(&totals, 50.0),
        "run_p99_ms": percentile_ms(&totals, 99.0),
        "server_cpu_ms_per_run": cpu.as_secs_f64() * 1000.0 / ok.max(1) as f64,
        "server_peak_rss_mb": pids.iter().map(|pid| peak_rss_kib_of(pid)).sum::<u64>() as f64 / 1024.0,
        "server_processes": pids.len(),
        "llm_requests_per_run": llm_requests.map(|requests| requests as f64 / (warmup + runs) as f64),
        "ideal_ms": ideal_ms,
        "wall_over_ideal": ideal_ms.map(|ideal| wall_ms / ideal),
    })
    .to_string())
}

async fn idle_mode(
    url: &str,
    workflow: &str,
    subscribers: usize,
    server_pid: u32,
    framework: &str,
) -> Result<String, String> {
    let client = client()?;
    let pid = server_pid.to_string();
    let started: serde_json::Value = client
        .post(format!("{url}/v1/workflows/{workflow}/runs"))
        .json(&json!({"input": TOPIC, "mode": "background"}))
        .send()
        .await
        .map_err(|err| err.to_string())?
        .json()
        .await
        .map_err(|err| err.to_string())?;
    let run_id = started["run_id"]
        .as_str()
        .ok_or_else(|| format!("no run id in {started}"))?
        .to_string();
    let rss_before = rss_kib_of(&pid);
    let events_url = format!("{url}/v1/runs/{run_id}/events");
    // Each subscriber connects and reads until its first event (the run's first item is
    // logged before its model call, which the slow fake server holds): then it is idle.
    let held: Vec<Result<_, String>> = futures::stream::iter(0..subscribers)
        .map(|_| {
            let client = client.clone();
            let events_url = events_url.clone();
            async move {
                let response = client
                    .get(&events_url)
                    .send()
                    .await
                    .map_err(|err| err.to_string())?;
                if response.status() != reqwest::StatusCode::OK {
                    return Err(format!("{}", response.status()));
                }
                let mut body = response.bytes_stream();
                match body.next().await {
                    Some(Ok(_)) => Ok(body),
                    Some(Err(err)) => Err(err.to_string()),
                    None => Err("the stream ended".to_string()),
                }
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let connected = held.iter().filter(|held| held.is_ok()).count();
    let first_error = held.iter().find_map(|held| held.as_ref().err().cloned());
    let rss_after = rss_kib_of(&pid);
    let line = json!({
        "mode": "idle",
        "framework": framework,
        "subscribers": subscribers,
        "connected": connected,
        "first_error": first_error,
        "server_rss_before_mb": rss_before as f64 / 1024.0,
        "server_rss_mb": rss_after as f64 / 1024.0,
        "server_kb_per_subscriber": (rss_after.saturating_sub(rss_before)) as f64 / connected.max(1) as f64,
    })
    .to_string();
    drop(held);
    Ok(line)
}
