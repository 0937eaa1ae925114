//! `weft-bench`: the end-to-end benchmark of the research-shaped workflow against a running
//! `weft-fake-llm`, printing one JSON object (the shape `bench/agno/bench_agno.py` prints, so
//! `bench/compare.sh` can put them side by side).
//!
//! ```text
//! weft-bench sequential --base-url http://127.0.0.1:8089/v1 --runs 500 [--floor]
//! weft-bench sequential --base-url http://127.0.0.1:8089/v1 --runs 500 --store sled [--durability every-step]
//! weft-bench resume --base-url http://127.0.0.1:8089/v1 --rounds 100 [--durability every-step]
//! weft-bench concurrent --base-url http://127.0.0.1:8090/v1 --concurrency 1000 [--floor]
//! weft-bench construction --iterations 100000
//! ```
//! `--floor` makes the same HTTP calls with bare reqwest instead of weft. `--store sled` runs
//! on a fresh sled store in a temp dir (`TMPDIR`), removed at the end, instead of each
//! instance's in-memory store; the event log and the journal are on either way (they are for
//! every workflow run).
//!
//! `resume` measures taking up a run a dead process left: in each round a child process
//! (`weft-bench interrupt`, this binary) runs the workflow on a fresh sled store, stops
//! reading it once the last model call is journaled (the writer agent's `RunCompleted`), forgets
//! the stream (nothing more runs, nothing is saved: its record stays `running`), flushes the
//! store and exits without running a destructor; this process then opens the store (which
//! marks the run `interrupted`: timed as the store open) and resumes the run to completion
//! (timed as the resume: a new workflow instance, the log and journal read back, the three
//! model calls replayed from the journal, the last item logged, the state and the final
//! record written).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use serde_json::json;
use weft::prelude::*;
use weft::{Durability, RunStatus, StorageRef};
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
        /// Where weft's runs are stored: each instance's own in-memory store, or one sled
        /// store on disk (fresh, in a temp dir).
        #[arg(long, value_enum, default_value_t = Store::Memory)]
        store: Store,
        /// When the sled store forces its writes to disk (`--store sled` only).
        #[arg(long, value_enum, default_value_t = DurabilityArg::EveryStep)]
        durability: DurabilityArg,
    },
    /// Resuming runs interrupted after their last model call: store open and resume times.
    Resume {
        #[arg(long)]
        base_url: String,
        /// Rounds: each a fresh store, a child process that leaves runs interrupted, one open,
        /// then every run resumed.
        #[arg(long, default_value_t = 100)]
        rounds: usize,
        /// Runs each child process leaves interrupted.
        #[arg(long, default_value_t = 1)]
        runs_per_round: usize,
        #[arg(long, value_enum, default_value_t = DurabilityArg::EveryStep)]
        durability: DurabilityArg,
    },
    /// (For `resume`.) Runs the workflow `runs` times on the sled store at `store`, each run
    /// stopped after its last model call and forgotten, prints their run ids, flushes the
    /// store and exits at once, as a process that died there.
    #[command(hide = true)]
    Interrupt {
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        store: PathBuf,
        #[arg(long, default_value_t = 1)]
        runs: usize,
        #[arg(long, value_enum, default_value_t = DurabilityArg::EveryStep)]
        durability: DurabilityArg,
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

/// Where weft's runs are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Store {
    /// Each workflow instance's own `MemoryStorage` (the default of a workflow).
    Memory,
    /// One `SledStorage` on disk for every run.
    Sled,
}

/// `weft::Durability`, as named on the command line and in the JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DurabilityArg {
    EveryEvent,
    EveryStep,
    RunEnd,
    Os,
}

impl DurabilityArg {
    fn mode(self) -> Durability {
        match self {
            DurabilityArg::EveryEvent => Durability::EveryEvent,
            DurabilityArg::EveryStep => Durability::EveryStep,
            DurabilityArg::RunEnd => Durability::RunEnd,
            DurabilityArg::Os => Durability::Os,
        }
    }

    fn name(self) -> &'static str {
        match self {
            DurabilityArg::EveryEvent => "every-event",
            DurabilityArg::EveryStep => "every-step",
            DurabilityArg::RunEnd => "run-end",
            DurabilityArg::Os => "os",
        }
    }
}

/// One run of whichever side is measured.
#[derive(Clone)]
enum Side {
    /// weft; with a store, every run on it, else each instance on its own in-memory store.
    Weft(weft::ModelRef, Option<StorageRef>),
    Floor(reqwest::Client, String),
}

impl Side {
    fn new(base_url: &str, floor: bool) -> Side {
        if floor {
            Side::Floor(reqwest::Client::new(), base_url.to_string())
        } else {
            Side::Weft(model(base_url), None)
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Side::Weft(..) => "weft",
            Side::Floor(..) => "bare reqwest",
        }
    }

    async fn run(&self) -> usize {
        match self {
            Side::Weft(model, storage) => {
                run_weft(model, storage.as_ref()).await.expect("weft run")
            }
            Side::Floor(client, base) => run_bare(client, base).await.expect("bare run"),
        }
    }
}

/// A sled store in a fresh temp dir, removed when this is dropped.
struct TempStore {
    dir: PathBuf,
    storage: Option<StorageRef>,
}

impl TempStore {
    fn open(label: &str, durability: Durability) -> TempStore {
        let dir = fresh_store_dir(label);
        let storage: StorageRef = Arc::new(open_sled(&dir, durability).expect("a sled store"));
        TempStore {
            dir,
            storage: Some(storage),
        }
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        self.storage = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

async fn sequential(
    base_url: &str,
    runs: usize,
    floor: bool,
    store: Store,
    durability: DurabilityArg,
) -> serde_json::Value {
    let mut side = Side::new(base_url, floor);
    let sled = match (&mut side, store) {
        (Side::Weft(_, storage), Store::Sled) => {
            let temp = TempStore::open("sequential", durability.mode());
            *storage = temp.storage.clone();
            Some(temp)
        }
        (Side::Floor(..), Store::Sled) => panic!("--floor makes no run that could be stored"),
        _ => None,
    };
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
    let mut report = json!({
        "framework": side.name(),
        "mode": "sequential",
        "runs": runs,
        "runs_per_sec": runs as f64 / wall.as_secs_f64(),
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "cpu_ms_per_run": cpu.as_secs_f64() * 1000.0 / runs as f64,
        "requests": requests,
    });
    if !floor {
        report["store"] = json!(match store {
            Store::Memory => "memory",
            Store::Sled => "sled",
        });
    }
    if let Some(temp) = &sled {
        report["durability"] = json!(durability.name());
        report["store_kib"] = json!(dir_bytes(&temp.dir) as f64 / 1024.0);
        report["tmpdir"] = json!(std::env::temp_dir());
    }
    drop(side);
    drop(sled);
    report
}

/// The `interrupt` child: leaves `runs` runs interrupted after their last model call in the
/// sled store at `dir`, prints their ids, and exits as a process that died there would.
async fn interrupt(base_url: &str, dir: &Path, runs: usize, durability: DurabilityArg) -> ! {
    let sled = open_sled(dir, durability.mode()).expect("a sled store");
    let storage: StorageRef = Arc::new(sled.clone()); // clones share one database
    let model = model(base_url);
    let mut ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut workflow = research(&model, Some(&storage)).expect("the workflow builds");
        let mut stream = workflow.run_stream(TOPIC.to_string());
        let mut run_id = None;
        let mut deltas = 0;
        while let Some(item) = stream.next().await {
            let item = item.expect("a run item");
            run_id.get_or_insert_with(|| item.run_id.clone());
            match item.event {
                RunEvent::RunContent => deltas += 1,
                // The writer's call ended: its journal entry is written (before this item
                // was yielded), and so are those of the two calls before it.
                RunEvent::RunCompleted => break,
                _ => {}
            }
        }
        assert_eq!(deltas, 20, "the summary streams 20 chunks");
        // "The process dies here": nothing more of the run runs, nothing is saved, its record
        // stays `running`.
        std::mem::forget(stream);
        std::mem::forget(workflow);
        ids.push(run_id.expect("the run yielded items"));
    }
    // Every durability mode leaves the same store: all that was written until the last model
    // call was journaled (and its `RunCompleted` logged) is on disk.
    sled.flush().expect("a flush");
    println!("{}", ids.join("\n"));
    use std::io::Write as _;
    std::io::stdout().flush().expect("stdout");
    std::process::exit(0)
}

/// One round of `resume`: a child leaves `runs` runs interrupted in a fresh store, then the
/// store is opened (timed) and each run resumed to completion (timed).
struct Round {
    open: Duration,
    resumes: Vec<Duration>,
    /// Requests the fake server got while the runs were resumed (journaled calls: none).
    requests_during_resume: u64,
    /// Resumed runs that began with a `ContentDiscarded` item.
    discards: usize,
}

async fn round(
    base_url: &str,
    model: &weft::ModelRef,
    stats: &reqwest::Client,
    runs: usize,
    durability: DurabilityArg,
    expected: &str,
) -> Round {
    let dir = fresh_store_dir("resume");
    let child = Process::new(std::env::current_exe().expect("this binary's path"))
        .arg("interrupt")
        .args(["--base-url", base_url, "--durability", durability.name()])
        .arg("--store")
        .arg(&dir)
        .args(["--runs", &runs.to_string()])
        .output()
        .expect("the interrupt child runs");
    assert!(
        child.status.success(),
        "the interrupt child failed: {}",
        String::from_utf8_lossy(&child.stderr)
    );
    let ids: Vec<String> = String::from_utf8(child.stdout)
        .expect("run ids")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), runs);
    let before = server_requests(stats, base_url).await.unwrap();

    // The process that resumes: it opens the store, which marks the runs `interrupted`.
    let started = Instant::now();
    let sled = open_sled(&dir, durability.mode()).expect("the store opens");
    let open = started.elapsed();
    let storage: StorageRef = Arc::new(sled);
    let mut interrupted: Vec<String> = storage
        .interrupted_runs(Some("bench_research"))
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.run_id)
        .collect();
    interrupted.sort();
    let mut left = ids.clone();
    left.sort();
    assert_eq!(
        interrupted, left,
        "the store open marks the runs interrupted"
    );

    let mut resumes = Vec::with_capacity(runs);
    let mut discards = 0;
    for run_id in &ids {
        let started = Instant::now();
        let mut workflow = research(model, Some(&storage)).expect("the workflow builds");
        let mut stream = workflow.resume(run_id);
        let mut yielded = Vec::new();
        while let Some(item) = stream.next().await {
            yielded.push(item.expect("a resumed run's item").event);
        }
        drop(stream);
        resumes.push(started.elapsed());
        // What the interrupted try had not logged: the last item; before it, a
        // `ContentDiscarded` when the store's seq reservation is above the log's last seq
        // (the engine cannot tell whether items up to the reservation were shown; here it
        // withdraws nothing).
        assert_eq!(
            yielded.last(),
            Some(&RunEvent::WorkflowCompleted),
            "{yielded:?}"
        );
        assert!(
            yielded[..yielded.len() - 1]
                .iter()
                .all(|event| *event == RunEvent::ContentDiscarded),
            "a resumed run yields only what its interrupted try had not logged: {yielded:?}"
        );
        discards += usize::from(yielded.len() > 1);
        let record = storage.read_run(run_id).await.unwrap().expect("its record");
        assert_eq!(record.status, RunStatus::Completed);
        assert_eq!(
            record.content, expected,
            "the answer of an uninterrupted run"
        );
        let logged: Vec<RunResponse> = storage
            .read_events(run_id, 0, usize::MAX)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.item)
            .collect();
        assert_eq!(
            weft::durable::answer(&logged),
            expected,
            "a client's answer over the log"
        );
    }
    let requests_during_resume = server_requests(stats, base_url).await.unwrap() - before;
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
    Round {
        open,
        resumes,
        requests_during_resume,
        discards,
    }
}

async fn resume(
    base_url: &str,
    rounds: usize,
    runs_per_round: usize,
    durability: DurabilityArg,
) -> serde_json::Value {
    let model = model(base_url);
    let stats = reqwest::Client::new();
    // The answer of an uninterrupted run, which every resumed run must end with.
    let mut workflow = research(&model, None).expect("the workflow builds");
    let expected = workflow
        .run(TOPIC.to_string())
        .await
        .expect("an uninterrupted run")
        .content_text()
        .to_string();
    drop(workflow);
    round(
        base_url,
        &model,
        &stats,
        runs_per_round,
        durability,
        &expected,
    )
    .await; // warm-up
    let before = server_requests(&stats, base_url).await.unwrap();
    let mut opens = Vec::with_capacity(rounds);
    let mut resumes = Vec::with_capacity(rounds * runs_per_round);
    let mut open_plus_first = Vec::with_capacity(rounds);
    let mut requests_during_resume = 0;
    let mut discards = 0;
    for _ in 0..rounds {
        let round = round(
            base_url,
            &model,
            &stats,
            runs_per_round,
            durability,
            &expected,
        )
        .await;
        opens.push(round.open);
        open_plus_first.push(round.open + round.resumes[0]);
        resumes.extend(round.resumes);
        requests_during_resume += round.requests_during_resume;
        discards += round.discards;
    }
    let requests = server_requests(&stats, base_url).await.unwrap() - before;
    assert_eq!(requests_during_resume, 0, "a resume called the model again");
    for samples in [&mut opens, &mut resumes, &mut open_plus_first] {
        samples.sort();
    }
    let runs = rounds * runs_per_round;
    json!({
        "framework": "weft",
        "mode": "resume",
        "store": "sled",
        "durability": durability.name(),
        "rounds": rounds,
        "runs_per_round": runs_per_round,
        "runs": runs,
        "resume_p50_ms": percentile_ms(&resumes, 50.0),
        "resume_p99_ms": percentile_ms(&resumes, 99.0),
        "resume_max_ms": percentile_ms(&resumes, 100.0),
        "open_p50_ms": percentile_ms(&opens, 50.0),
        "open_p99_ms": percentile_ms(&opens, 99.0),
        "open_max_ms": percentile_ms(&opens, 100.0),
        "open_plus_resume_p50_ms": percentile_ms(&open_plus_first, 50.0),
        "open_plus_resume_p99_ms": percentile_ms(&open_plus_first, 99.0),
        "open_plus_resume_max_ms": percentile_ms(&open_plus_first, 100.0),
        // The interrupted tries' calls, made by the child processes: 3 per run.
        "requests": requests,
        "requests_during_resume": requests_during_resume,
        "resumes_with_content_discarded": discards,
        "tmpdir": std::env::temp_dir(),
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
        Command::Sequential { .. } | Command::Resume { .. } | Command::Interrupt { .. } => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Runtime::new(),
    }
    .expect("a tokio runtime");
    let report = match args.command {
        Command::Sequential {
            base_url,
            runs,
            floor,
            store,
            durability,
        } => runtime.block_on(sequential(&base_url, runs, floor, store, durability)),
        Command::Resume {
            base_url,
            rounds,
            runs_per_round,
            durability,
        } => runtime.block_on(resume(&base_url, rounds, runs_per_round, durability)),
        Command::Interrupt {
            base_url,
            store,
            runs,
            durability,
        } => runtime.block_on(interrupt(&base_url, &store, runs, durability)),
        Command::Concurrent {
            base_url,
            concurrency,
            floor,
        } => runtime.block_on(concurrent(&base_url, concurrency, floor)),
        Command::Construction { iterations } => construction(iterations),
    };
    println!("{report}");
}
