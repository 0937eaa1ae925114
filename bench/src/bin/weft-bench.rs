//! `weft-bench`: the end-to-end benchmark of the research-shaped workflow against a running
//! `weft-fake-llm`, printing one JSON object (the shape `bench/agno/bench_agno.py` prints, so
//! `bench/compare.sh` can put them side by side).
//!
//! ```text
//! weft-bench sequential --base-url http://127.0.0.1:8089/v1 --runs 500 [--floor]
//! weft-bench sequential --base-url http://127.0.0.1:8089/v1 --runs 500 --store sled [--durability every-step]
//! weft-bench sequential --base-url http://127.0.0.1:8089/v1 --runs 500 --store postgres [--postgres-url URL]
//! weft-bench resume --base-url http://127.0.0.1:8089/v1 --rounds 100 [--durability every-step]
//! weft-bench concurrent --base-url http://127.0.0.1:8090/v1 --concurrency 1000 [--floor] [--store ...]
//! weft-bench throughput --base-url http://127.0.0.1:8089/v1 --concurrency 100 --runs 1000 [--store ...]
//! weft-bench append --store postgres --events 2000 --batch 1 --runs 1
//! weft-bench session-save --base-url http://127.0.0.1:8089/v1 --store postgres --sizes 1,10,100,1000
//! weft-bench construction --iterations 100000
//! weft-bench tracing --base-url http://127.0.0.1:8089/v1 --runs 500 [--otlp-endpoint http://127.0.0.1:4318]
//! weft-bench otlp-sink --port 0                  # the OTLP/HTTP sink of `tracing --otlp-endpoint`
//! weft-bench pause-llm --port 0 --chunks 20     # the fake LLM of `pauses` (below)
//! weft-bench pauses --base-url http://127.0.0.1:8091/v1 --rounds 500 [--store sled [--durability every-step]]
//! ```
//! `--floor` makes the same HTTP calls with bare reqwest instead of weft. `--store sled` runs
//! on a fresh sled store in a temp dir (`TMPDIR`), removed at the end; `--store postgres` on a
//! `PostgresStorage` whose tables are in a fresh schema of their own (`weft_bench_<pid>`, or
//! `--schema`) of the database at `--postgres-url` (default: `$WEFT_BENCH_POSTGRES_URL`, else
//! `postgres://postgres:postgres@127.0.0.1:5432/weft_bench`; the database is created when
//! missing), dropped at the end unless `--keep-schema`; `--store memory` (the default) on each
//! instance's in-memory store. The event log and the journal are on either way (they are for
//! every workflow run).
//!
//! `throughput` makes `--runs` runs, `--concurrency` at a time (`concurrent` makes
//! `--concurrency` runs, all at once): runs/s. `append` appends `--events` items to each of
//! `--runs` runs at once, `--batch` items per `append_log` (1: as a run's log writer appends
//! them), straight to the store: events/s. `session-save` measures what saving one more run
//! costs (`put_run` of its record, then `upsert_session`) as a session's run count grows, and
//! what reading the session back (`read_session`) and all its runs (`read_runs`) costs.
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
//!
//! `pauses` measures a round of a person's approval, one round at a time: a new
//! `BenchMailer` instance runs (one model call, which asks for `send_email`, a tool that needs
//! approval), the run pauses (`RunPaused`, status `paused`), the caller approves
//! (`continue_run(run_id, {"approved": true})`), the run goes on through the journal (the
//! tool runs, a second model call streams the answer), to `WorkflowCompleted`. It needs the
//! fake LLM of `weft-bench pause-llm` (the `weft-fake-llm` server, `weft_testkit::FakeLlm`,
//! with two replies): a call to `send_email` for every request, except one carrying the tool's
//! result (`EMAIL-QUEUED`), which gets the streamed text. `bench_agno.py --mode pauses` makes
//! the same rounds with Agno against the same server.
//!
//! `tracing` is `sequential` (in memory) labelled for the tracing part of compare.sh: run by
//! a build with feature `tracing-off` it measures weft with every span compiled out
//! (`"tracing": "off"`); by the normal build, spans compiled in with no subscriber
//! (`"no-subscriber"`); with `--otlp-endpoint`, exported by `weft::otel` (installed as the
//! global subscriber, spans batched, metrics every 60 s) over OTLP/HTTP to that endpoint,
//! normally `weft-bench otlp-sink` (another process: its CPU is not counted), whose counts
//! of POSTs, bytes and spans after the export's shutdown go in the report (`"otlp"`).

use std::path::{Path, PathBuf};
use std::process::{Command as Process, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use futures::future::BoxFuture;
use futures::StreamExt;
use serde_json::json;
use weft::prelude::*;
use weft::storage::{JournalEntry, LogHead, RunClaim, SessionFilter, SessionListing};
use weft::{
    Durability, LoggedEvent, PostgresStorage, RunRecord, RunStatus, StorageRef, WorkflowSession,
    WorkflowStorage,
};
use weft_bench::*;

/// What a measurement returns: its report, or why it could not be made.
type Res<T> = Result<T, String>;

/// The database of `--store postgres` when neither `--postgres-url` nor
/// `$WEFT_BENCH_POSTGRES_URL` names one.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/weft_bench";

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
        #[command(flatten)]
        store: StoreArgs,
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
        #[command(flatten)]
        store: StoreArgs,
    },
    /// R runs, C at a time: runs/s, p50/p99 latency, CPU per run.
    Throughput {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        #[arg(long, default_value_t = 1000)]
        runs: usize,
        /// Bare reqwest instead of weft.
        #[arg(long)]
        floor: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Appends to runs' event logs straight through `WorkflowStorage::append_log`: events/s.
    Append {
        /// Items appended to each run.
        #[arg(long, default_value_t = 2000)]
        events: usize,
        /// Items per `append_log` call (1: one call per item, as a run's log writer makes).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Runs appended to at once, each by its own task.
        #[arg(long, default_value_t = 1)]
        runs: usize,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// What saving one more run to a session costs as its run count grows.
    SessionSave {
        /// The fake LLM: one real run of the workflow gives the session and a run record.
        #[arg(long)]
        base_url: String,
        /// The run counts measured, comma-separated.
        #[arg(long, default_value = "1,10,100,1000")]
        sizes: String,
        /// Saves (and reads) per size.
        #[arg(long, default_value_t = 20)]
        samples: usize,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rounds of a person's approval, one at a time: run to the pause, approve, continue to
    /// the end: rounds/s, p50/p99 latency, CPU per round (needs `weft-bench pause-llm`).
    Pauses {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 500)]
        rounds: usize,
        /// Untimed rounds first.
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The fake LLM of `pauses`: `weft_testkit::FakeLlm` (the server of `weft-fake-llm`)
    /// answering every request with a call to `send_email`, except a request that carries
    /// the tool's result, which gets `--chunks` text chunks. Prints `OPENAI_BASE_URL=…` and
    /// serves until killed.
    PauseLlm {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Text chunks of the answer after the tool's result.
        #[arg(long, default_value_t = 20)]
        chunks: usize,
    },
    /// Building agents and workflows: time per build.
    Construction {
        #[arg(long, default_value_t = 100_000)]
        iterations: usize,
    },
    /// `sequential` in memory, labelled by how weft's spans are handled: compiled out (a
    /// build with feature `tracing-off`), no subscriber, or exported over OTLP/HTTP.
    Tracing {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = 500)]
        runs: usize,
        /// Export spans and metrics with `weft::otel` to this OTLP/HTTP base URL (normally
        /// `weft-bench otlp-sink`'s).
        #[arg(long)]
        otlp_endpoint: Option<String>,
    },
    /// An OTLP/HTTP sink that counts and drops what it gets (for `tracing
    /// --otlp-endpoint`). Prints `OTLP_ENDPOINT=…` and serves until killed; `GET /stats`.
    OtlpSink {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

/// Where weft's runs are stored, and how.
#[derive(ClapArgs, Clone, Debug)]
struct StoreArgs {
    /// Each workflow instance's own in-memory store, one sled store on disk (fresh, in a temp
    /// dir), or one PostgreSQL store (a fresh schema).
    #[arg(long, value_enum, default_value_t = Store::Memory)]
    store: Store,
    /// When the sled store forces its writes to disk (`--store sled` only).
    #[arg(long, value_enum, default_value_t = DurabilityArg::EveryStep)]
    durability: DurabilityArg,
    /// `--store postgres`: the database (default: `$WEFT_BENCH_POSTGRES_URL`, else
    /// postgres://postgres:postgres@127.0.0.1:5432/weft_bench); created when missing.
    #[arg(long)]
    postgres_url: Option<String>,
    /// `--store postgres`: the schema of weft's tables (default: weft_bench_<pid>); dropped
    /// first if it exists.
    #[arg(long)]
    schema: Option<String>,
    /// `--store postgres`: leave the schema in the database at the end (dropped by default).
    #[arg(long)]
    keep_schema: bool,
    /// `--store postgres`: the most connections the store's pool opens (default: weft-postgres's
    /// default, 16).
    #[arg(long)]
    pool_size: Option<usize>,
}

/// Where weft's runs are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Store {
    /// Each workflow instance's own `MemoryStorage` (the default of a workflow).
    Memory,
    /// One `SledStorage` on disk for every run.
    Sled,
    /// One `PostgresStorage` for every run.
    Postgres,
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
    fn new(base_url: &str, floor: bool, storage: Option<StorageRef>) -> Res<Side> {
        match (floor, storage) {
            (true, None) => Ok(Side::Floor(reqwest::Client::new(), base_url.to_string())),
            (true, Some(_)) => Err("--floor makes no run that could be stored".to_string()),
            (false, storage) => Ok(Side::Weft(model(base_url), storage)),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Side::Weft(..) => "weft",
            Side::Floor(..) => "bare reqwest",
        }
    }

    /// One run; the length of its streamed text, which must not be empty.
    async fn run(&self) -> Res<usize> {
        let length = match self {
            Side::Weft(model, storage) => run_weft(model, storage.as_ref())
                .await
                .map_err(|err| format!("a weft run failed: {err}"))?,
            Side::Floor(client, base) => run_bare(client, base)
                .await
                .map_err(|err| format!("a bare run failed: {err}"))?,
        };
        if length == 0 {
            return Err("a run streamed no text".to_string());
        }
        Ok(length)
    }
}

/// The store of one measurement: none (each instance's own in-memory store), a sled store in
/// a fresh temp dir, or a `PostgresStorage` in a fresh schema. [`close`](Self::close) removes
/// it (a sled dir is also removed on drop).
struct OpenStore {
    storage: Option<StorageRef>,
    place: Place,
}

enum Place {
    Memory,
    Sled {
        dir: PathBuf,
        durability: DurabilityArg,
    },
    Postgres {
        url: String,
        schema: String,
        keep: bool,
        pool_size: Option<usize>,
    },
}

impl OpenStore {
    async fn open(args: &StoreArgs, label: &str) -> Res<OpenStore> {
        match args.store {
            Store::Memory => Ok(OpenStore {
                storage: None,
                place: Place::Memory,
            }),
            Store::Sled => {
                let dir = fresh_store_dir(label);
                let sled = open_sled(&dir, args.durability.mode())
                    .map_err(|err| format!("opening a sled store in {}: {err}", dir.display()))?;
                Ok(OpenStore {
                    storage: Some(Arc::new(sled)),
                    place: Place::Sled {
                        dir,
                        durability: args.durability,
                    },
                })
            }
            Store::Postgres => {
                let url = args
                    .postgres_url
                    .clone()
                    .or_else(|| std::env::var("WEFT_BENCH_POSTGRES_URL").ok())
                    .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string());
                let schema = args
                    .schema
                    .clone()
                    .unwrap_or_else(|| format!("weft_bench_{}", std::process::id()));
                let admin = pg_admin(&url).await?;
                admin
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await
                    .map_err(|err| format!("dropping the schema {schema}: {err}"))?;
                let mut builder = PostgresStorage::builder(&url).schema(schema.as_str());
                if let Some(size) = args.pool_size {
                    builder = builder.pool_size(size);
                }
                let storage = builder
                    .connect()
                    .await
                    .map_err(|err| format!("connecting the PostgreSQL store: {err}"))?;
                Ok(OpenStore {
                    storage: Some(Arc::new(storage)),
                    place: Place::Postgres {
                        url,
                        schema,
                        keep: args.keep_schema,
                        pool_size: args.pool_size,
                    },
                })
            }
        }
    }

    /// The shared store (none for `--store memory`).
    fn storage(&self) -> Option<StorageRef> {
        self.storage.clone()
    }

    /// The shared store; an error for `--store memory`, where each instance has its own.
    fn shared(&self) -> Res<StorageRef> {
        self.storage.clone().ok_or_else(|| {
            "this measurement needs one shared store: --store sled or --store postgres".to_string()
        })
    }

    fn name(&self) -> &'static str {
        match self.place {
            Place::Memory => "memory",
            Place::Sled { .. } => "sled",
            Place::Postgres { .. } => "postgres",
        }
    }

    /// Adds what the report says of the store: its kind, its settings and its size.
    async fn describe(&self, report: &mut serde_json::Value) -> Res<()> {
        report["store"] = json!(self.name());
        match &self.place {
            Place::Memory => {}
            Place::Sled { dir, durability } => {
                report["durability"] = json!(durability.name());
                report["store_kib"] = json!(dir_bytes(dir) as f64 / 1024.0);
                report["tmpdir"] = json!(std::env::temp_dir());
            }
            Place::Postgres {
                url,
                schema,
                pool_size,
                ..
            } => {
                let admin = pg_admin(url).await?;
                let row = admin
                    .query_one(
                        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint \
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = $1 AND c.relkind = 'r'",
                        &[schema],
                    )
                    .await
                    .map_err(|err| format!("measuring the schema {schema}: {err}"))?;
                let bytes: i64 = row.get(0);
                report["store_kib"] = json!(bytes as f64 / 1024.0);
                report["schema"] = json!(schema);
                report["pool_size"] = json!(pool_size.unwrap_or(weft_postgres_default_pool()));
            }
        }
        Ok(())
    }

    /// Closes the store and removes it (the sled dir; the schema, unless kept).
    async fn close(mut self) -> Res<()> {
        self.storage = None;
        match &self.place {
            Place::Memory => Ok(()),
            Place::Sled { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
                Ok(())
            }
            Place::Postgres { keep: true, .. } => Ok(()),
            Place::Postgres { url, schema, .. } => {
                let admin = pg_admin(url).await?;
                admin
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await
                    .map_err(|err| format!("dropping the schema {schema}: {err}"))
            }
        }
    }
}

impl Drop for OpenStore {
    fn drop(&mut self) {
        if let Place::Sled { dir, .. } = &self.place {
            self.storage = None;
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// weft-postgres's pool size when `--pool-size` is not given.
fn weft_postgres_default_pool() -> usize {
    16
}

/// A plain connection to the database at `url` (for the schema's creation, size and removal),
/// creating the database first when it does not exist.
async fn pg_admin(url: &str) -> Res<tokio_postgres::Client> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|err| format!("the PostgreSQL URL is not valid: {err}"))?;
    match pg_connect(&config).await {
        Ok(client) => Ok(client),
        Err(err) if err.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME) => {
            let database = config
                .get_dbname()
                .ok_or_else(|| format!("no database named in the URL: {err}"))?
                .to_string();
            let mut server = config.clone();
            server.dbname("postgres");
            let client = pg_connect(&server)
                .await
                .map_err(|err| format!("connecting to the postgres database: {err}"))?;
            client
                .batch_execute(&format!("CREATE DATABASE \"{database}\""))
                .await
                .map_err(|err| format!("creating the database {database}: {err}"))?;
            eprintln!("created the database {database}");
            pg_connect(&config)
                .await
                .map_err(|err| format!("connecting to {database}: {err}"))
        }
        Err(err) => Err(format!("connecting to PostgreSQL: {err}")),
    }
}

async fn pg_connect(
    config: &tokio_postgres::Config,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            eprintln!("the PostgreSQL admin connection ended: {err}");
        }
    });
    Ok(client)
}

/// A store that tallies the calls made to it (and the items appended) before passing them on:
/// what one run asks of its store. Every call of `PostgresStorage` is one round trip and one
/// transaction.
#[derive(Debug)]
struct Counting {
    inner: StorageRef,
    calls: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Counting {
    fn new(inner: StorageRef) -> Counting {
        Counting {
            inner,
            calls: std::sync::Mutex::default(),
        }
    }

    fn count(&self, name: &'static str, n: u64) {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *calls.entry(name).or_default() += n;
    }

    fn tally(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl WorkflowStorage for Counting {
    fn read_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, weft::Result<Option<WorkflowSession>>> {
        self.count("read_session", 1);
        self.inner.read_session(session_id)
    }

    fn upsert_session(
        &self,
        session: WorkflowSession,
    ) -> BoxFuture<'_, weft::Result<WorkflowSession>> {
        self.count("upsert_session", 1);
        self.inner.upsert_session(session)
    }

    fn delete_session<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, weft::Result<bool>> {
        self.count("delete_session", 1);
        self.inner.delete_session(session_id)
    }

    fn list_sessions(
        &self,
        filter: SessionFilter,
    ) -> BoxFuture<'_, weft::Result<Vec<WorkflowSession>>> {
        self.count("list_sessions", 1);
        self.inner.list_sessions(filter)
    }

    fn list_sessions_counted(
        &self,
        filter: SessionFilter,
    ) -> BoxFuture<'_, weft::Result<SessionListing>> {
        self.count("list_sessions_counted", 1);
        self.inner.list_sessions_counted(filter)
    }

    fn put_run(&self, run: RunRecord) -> BoxFuture<'_, weft::Result<()>> {
        self.count("put_run", 1);
        self.inner.put_run(run)
    }

    fn read_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, weft::Result<Vec<RunRecord>>> {
        self.count("read_runs", 1);
        self.inner.read_runs(session_id)
    }

    fn count_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, weft::Result<usize>> {
        self.count("count_runs", 1);
        self.inner.count_runs(session_id)
    }

    fn read_run<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, weft::Result<Option<RunRecord>>> {
        self.count("read_run", 1);
        self.inner.read_run(run_id)
    }

    fn append_log<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        events: Vec<LoggedEvent>,
        journal: Vec<JournalEntry>,
    ) -> BoxFuture<'a, weft::Result<()>> {
        self.count("append_log", 1);
        self.count("append_log: items", events.len() as u64);
        self.count("append_log: journal entries", journal.len() as u64);
        self.inner.append_log(run_id, fence, events, journal)
    }

    fn reserve_seqs<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        seq: u64,
    ) -> BoxFuture<'a, weft::Result<u64>> {
        self.count("reserve_seqs", 1);
        self.inner.reserve_seqs(run_id, fence, seq)
    }

    fn log_head<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, weft::Result<LogHead>> {
        self.count("log_head", 1);
        self.inner.log_head(run_id)
    }

    fn read_events<'a>(
        &'a self,
        run_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, weft::Result<Vec<LoggedEvent>>> {
        self.count("read_events", 1);
        self.inner.read_events(run_id, after_seq, limit)
    }

    fn read_journal<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, weft::Result<Vec<JournalEntry>>> {
        self.count("read_journal", 1);
        self.inner.read_journal(run_id)
    }

    fn interrupted_runs<'a>(
        &'a self,
        workflow_id: Option<&'a str>,
    ) -> BoxFuture<'a, weft::Result<Vec<RunRecord>>> {
        self.count("interrupted_runs", 1);
        self.inner.interrupted_runs(workflow_id)
    }

    fn lease(&self) -> Option<Duration> {
        self.inner.lease()
    }

    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a str,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, weft::Result<Option<RunClaim>>> {
        self.count("claim_run", 1);
        self.inner.claim_run(run_id, owner, lease)
    }

    fn renew_claim<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, weft::Result<()>> {
        self.count("renew_claim", 1);
        self.inner.renew_claim(run_id, fence, lease)
    }

    fn upsert_session_for_run<'a>(
        &'a self,
        session: WorkflowSession,
        run_id: &'a str,
        fence: u64,
    ) -> BoxFuture<'a, weft::Result<WorkflowSession>> {
        self.count("upsert_session_for_run", 1);
        self.inner.upsert_session_for_run(session, run_id, fence)
    }

    fn read_session_blocking(&self, session_id: &str) -> weft::Result<Option<WorkflowSession>> {
        self.count("read_session_blocking", 1);
        self.inner.read_session_blocking(session_id)
    }

    fn save_blocking(
        &self,
        session: Option<WorkflowSession>,
        run: RunRecord,
    ) -> weft::Result<Option<WorkflowSession>> {
        self.count("save_blocking", 1);
        self.inner.save_blocking(session, run)
    }
}

/// The calls one more run makes to `storage` (a store shared by every run), by name.
async fn calls_of_one_run(base_url: &str, storage: &StorageRef) -> Res<serde_json::Value> {
    let counting = Arc::new(Counting::new(Arc::clone(storage)));
    let counted: StorageRef = counting.clone();
    Side::Weft(model(base_url), Some(counted)).run().await?;
    let tally = counting.tally();
    let round_trips: u64 = tally
        .iter()
        .filter(|(name, _)| !name.contains(':'))
        .map(|(_, count)| count)
        .sum();
    Ok(json!({ "calls": tally, "total": round_trips }))
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

/// The fake server's request count.
async fn requests(stats: &reqwest::Client, base_url: &str) -> Res<u64> {
    server_requests(stats, base_url)
        .await
        .map_err(|err| format!("reading the fake server's request count: {err}"))
}

/// CPU time of the PostgreSQL server spent since `before`, per `per`, in ms (when the store is
/// a local PostgreSQL server).
fn db_cpu_ms(store: &OpenStore, before: Duration, per: usize) -> Option<f64> {
    matches!(store.place, Place::Postgres { .. }).then(|| {
        postgres_cpu_time().saturating_sub(before).as_secs_f64() * 1000.0 / per.max(1) as f64
    })
}

async fn sequential(
    base_url: &str,
    runs: usize,
    floor: bool,
    store_args: &StoreArgs,
) -> Res<serde_json::Value> {
    let store = OpenStore::open(store_args, "sequential").await?;
    let side = Side::new(base_url, floor, store.storage())?;
    let stats = reqwest::Client::new();
    for _ in 0..runs.min(20) {
        side.run().await?; // warm-up: connections, lazy statics
    }
    let before = requests(&stats, base_url).await?;
    let cpu = cpu_time();
    let db_cpu = postgres_cpu_time();
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(runs);
    for _ in 0..runs {
        let run = Instant::now();
        side.run().await?;
        latencies.push(run.elapsed());
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    let db_cpu_ms_per_run = db_cpu_ms(&store, db_cpu, runs);
    let requests = requests(&stats, base_url).await? - before;
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
    if let Some(ms) = db_cpu_ms_per_run {
        report["db_cpu_ms_per_run"] = json!(ms);
    }
    if let Some(storage) = store.storage() {
        // After the timed runs: what one run asks of the store.
        report["store_calls_per_run"] = calls_of_one_run(base_url, &storage).await?;
    }
    if !floor {
        store.describe(&mut report).await?;
    }
    drop(side);
    store.close().await?;
    Ok(report)
}

/// The `interrupt` child: leaves `runs` runs interrupted after their last model call in the
/// sled store at `dir`, prints their ids, and exits as a process that died there would.
async fn interrupt(base_url: &str, dir: &Path, runs: usize, durability: DurabilityArg) -> Res<()> {
    let sled = open_sled(dir, durability.mode()).map_err(|err| format!("a sled store: {err}"))?;
    let storage: StorageRef = Arc::new(sled.clone()); // clones share one database
    let model = model(base_url);
    let mut ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut workflow = research(&model, Some(&storage))
            .map_err(|err| format!("the workflow does not build: {err}"))?;
        let mut stream = workflow.run_stream(TOPIC.to_string());
        let mut run_id = None;
        let mut deltas = 0;
        while let Some(item) = stream.next().await {
            let item = item.map_err(|err| format!("a run item: {err}"))?;
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
        ids.push(run_id.ok_or("the run yielded no item")?);
    }
    // Every durability mode leaves the same store: all that was written until the last model
    // call was journaled (and its `RunCompleted` logged) is on disk.
    sled.flush().map_err(|err| format!("a flush: {err}"))?;
    println!("{}", ids.join("\n"));
    use std::io::Write as _;
    std::io::stdout()
        .flush()
        .map_err(|err| format!("stdout: {err}"))?;
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
) -> Res<Round> {
    let dir = fresh_store_dir("resume");
    let exe = std::env::current_exe().map_err(|err| format!("this binary's path: {err}"))?;
    let child = Process::new(exe)
        .arg("interrupt")
        .args(["--base-url", base_url, "--durability", durability.name()])
        .arg("--store")
        .arg(&dir)
        .args(["--runs", &runs.to_string()])
        .output()
        .map_err(|err| format!("the interrupt child did not run: {err}"))?;
    if !child.status.success() {
        return Err(format!(
            "the interrupt child failed: {}",
            String::from_utf8_lossy(&child.stderr)
        ));
    }
    let ids: Vec<String> = String::from_utf8(child.stdout)
        .map_err(|err| format!("run ids: {err}"))?
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), runs);
    let before = requests(stats, base_url).await?;

    // The process that resumes: it opens the store, which marks the runs `interrupted`.
    let started = Instant::now();
    let sled = open_sled(&dir, durability.mode())
        .map_err(|err| format!("the store does not open: {err}"))?;
    let open = started.elapsed();
    let storage: StorageRef = Arc::new(sled);
    let mut interrupted: Vec<String> = storage
        .interrupted_runs(Some("bench_research"))
        .await
        .map_err(|err| format!("interrupted runs: {err}"))?
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
        let mut workflow = research(model, Some(&storage))
            .map_err(|err| format!("the workflow does not build: {err}"))?;
        let mut stream = workflow.resume(run_id);
        let mut yielded = Vec::new();
        while let Some(item) = stream.next().await {
            yielded.push(
                item.map_err(|err| format!("a resumed run's item: {err}"))?
                    .event,
            );
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
        let record = storage
            .read_run(run_id)
            .await
            .map_err(|err| format!("reading run {run_id}: {err}"))?
            .ok_or_else(|| format!("run {run_id} has no record"))?;
        assert_eq!(record.status, RunStatus::Completed);
        assert_eq!(
            record.content, expected,
            "the answer of an uninterrupted run"
        );
        let logged: Vec<RunResponse> = storage
            .read_events(run_id, 0, usize::MAX)
            .await
            .map_err(|err| format!("reading the log of run {run_id}: {err}"))?
            .into_iter()
            .map(|event| event.item)
            .collect();
        assert_eq!(
            weft::durable::answer(&logged),
            expected,
            "a client's answer over the log"
        );
    }
    let requests_during_resume = requests(stats, base_url).await? - before;
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Round {
        open,
        resumes,
        requests_during_resume,
        discards,
    })
}

async fn resume(
    base_url: &str,
    rounds: usize,
    runs_per_round: usize,
    durability: DurabilityArg,
) -> Res<serde_json::Value> {
    let model = model(base_url);
    let stats = reqwest::Client::new();
    // The answer of an uninterrupted run, which every resumed run must end with.
    let mut workflow =
        research(&model, None).map_err(|err| format!("the workflow does not build: {err}"))?;
    let expected = workflow
        .run(TOPIC.to_string())
        .await
        .map_err(|err| format!("an uninterrupted run failed: {err}"))?
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
    .await?; // warm-up
    let before = requests(&stats, base_url).await?;
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
        .await?;
        opens.push(round.open);
        open_plus_first.push(round.open + round.resumes.first().copied().unwrap_or_default());
        resumes.extend(round.resumes);
        requests_during_resume += round.requests_during_resume;
        discards += round.discards;
    }
    let requests = requests(&stats, base_url).await? - before;
    assert_eq!(requests_during_resume, 0, "a resume called the model again");
    for samples in [&mut opens, &mut resumes, &mut open_plus_first] {
        samples.sort();
    }
    let runs = rounds * runs_per_round;
    Ok(json!({
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
    }))
}

/// `runs` runs, `concurrency` at a time: `concurrent` (all at once, `runs` = `concurrency`:
/// wall time and memory) or `throughput` (runs/s).
async fn concurrent(
    base_url: &str,
    concurrency: usize,
    runs: Option<usize>,
    floor: bool,
    store_args: &StoreArgs,
) -> Res<serde_json::Value> {
    let (mode, runs) = match runs {
        None => ("concurrent", concurrency),
        Some(runs) => ("throughput", runs),
    };
    let store = OpenStore::open(store_args, mode).await?;
    let side = Side::new(base_url, floor, store.storage())?;
    let stats = reqwest::Client::new();
    side.run().await?; // warm-up
    let before = requests(&stats, base_url).await?;
    let rss_before = rss_kib();
    let cpu = cpu_time();
    let db_cpu = postgres_cpu_time();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.min(runs))
        .map(|_| {
            let side = side.clone();
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < runs {
                    let run = Instant::now();
                    side.run().await?;
                    latencies.push(run.elapsed());
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(runs);
    for worker in workers {
        latencies.extend(
            worker
                .await
                .map_err(|err| format!("a run's task failed: {err}"))??,
        );
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    let db_cpu_ms_per_run = db_cpu_ms(&store, db_cpu, runs);
    latencies.sort();
    let peak = peak_rss_kib();
    let requests = requests(&stats, base_url).await? - before;
    let mut report = json!({
        "framework": side.name(),
        "mode": mode,
        "concurrency": concurrency,
        "runs": runs,
        "runs_per_sec": runs as f64 / wall.as_secs_f64(),
        "wall_ms": wall.as_secs_f64() * 1000.0,
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p90_ms": percentile_ms(&latencies, 90.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "max_ms": percentile_ms(&latencies, 100.0),
        "cpu_ms_per_run": cpu.as_secs_f64() * 1000.0 / runs as f64,
        "peak_rss_mb": peak as f64 / 1024.0,
        "rss_per_run_kb": peak.saturating_sub(rss_before) as f64 / concurrency as f64,
        "requests": requests,
    });
    if let Some(ms) = db_cpu_ms_per_run {
        report["db_cpu_ms_per_run"] = json!(ms);
    }
    // In-memory rows keep the shape they had before stores could be chosen (no `store`).
    if !floor && store.name() != "memory" {
        store.describe(&mut report).await?;
    }
    drop(side);
    store.close().await?;
    Ok(report)
}

/// A streamed delta of the writer agent, as the log writer logs it: item `seq` of `run_id`.
fn delta(run_id: &str, seq: u64) -> LoggedEvent {
    let mut item = RunResponse::text(format!("token{} ", seq.saturating_sub(1) % 20));
    item.run_id = run_id.to_string();
    item.seq = Some(seq);
    item.session_id = Some("5f0c6a52-8d0e-4f7e-9a57-3f1f8d2b6c11".to_string());
    item.workflow_id = Some("bench_research".to_string());
    item.agent_name = Some("writer".to_string());
    item.model = Some("openai:gpt-4o".to_string());
    item.created_at = 1_796_000_000_000 + seq;
    LoggedEvent {
        seq,
        identity: format!("call:model:writer:9c1e4f0a2b3d5e6f:1#{seq}"),
        item,
    }
}

/// Appends `events` deltas to `run_id`'s log, `batch` per `append_log`; the time of each call.
async fn append_run(
    storage: &StorageRef,
    run_id: &str,
    events: usize,
    batch: usize,
) -> Res<Vec<Duration>> {
    let batch = batch.max(1);
    let mut latencies = Vec::with_capacity(events.div_ceil(batch));
    let mut logged = 0;
    while logged < events {
        let count = batch.min(events - logged);
        let items: Vec<LoggedEvent> = (logged + 1..=logged + count)
            .map(|seq| delta(run_id, seq as u64))
            .collect();
        let started = Instant::now();
        // Fence 0: the run was never claimed (as `put_run` with `fence` 0).
        storage
            .append_log(run_id, 0, items, Vec::new())
            .await
            .map_err(|err| format!("append_log to run {run_id}: {err}"))?;
        latencies.push(started.elapsed());
        logged += count;
    }
    Ok(latencies)
}

async fn append(
    events: usize,
    batch: usize,
    runs: usize,
    store_args: &StoreArgs,
) -> Res<serde_json::Value> {
    let store = OpenStore::open(store_args, "append").await?;
    let storage = store.shared()?;
    let pid = std::process::id();
    append_run(&storage, &format!("warm-up-{pid}"), 200, batch).await?;
    let cpu = cpu_time();
    let db_cpu = postgres_cpu_time();
    let started = Instant::now();
    let tasks: Vec<_> = (0..runs)
        .map(|i| {
            let storage = Arc::clone(&storage);
            let run_id = format!("append-{pid}-{i}");
            tokio::spawn(async move { append_run(&storage, &run_id, events, batch).await })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(
            task.await
                .map_err(|err| format!("an append task failed: {err}"))??,
        );
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    let total = events * runs;
    let db_ms = db_cpu_ms(&store, db_cpu, total);
    // Every item is in its run's log, in order.
    for i in 0..runs {
        let run_id = format!("append-{pid}-{i}");
        let head = storage
            .log_head(&run_id)
            .await
            .map_err(|err| format!("the log head of {run_id}: {err}"))?;
        let logged = storage
            .read_events(&run_id, 0, usize::MAX)
            .await
            .map_err(|err| format!("the log of {run_id}: {err}"))?;
        if head.last_seq != events as u64 || logged.len() != events {
            return Err(format!(
                "run {run_id}: {} items logged, last seq {}, {events} appended",
                logged.len(),
                head.last_seq
            ));
        }
    }
    latencies.sort();
    let event_bytes = serde_json::to_string(&delta("append-0-0", 1))
        .map_err(|err| format!("encoding an item: {err}"))?
        .len();
    let mut report = json!({
        "framework": "weft",
        "mode": "append",
        "events": events,
        "batch": batch,
        "concurrency": runs,
        "events_per_sec": total as f64 / wall.as_secs_f64(),
        "appends_per_sec": latencies.len() as f64 / wall.as_secs_f64(),
        "append_p50_us": percentile_ms(&latencies, 50.0) * 1000.0,
        "append_p99_us": percentile_ms(&latencies, 99.0) * 1000.0,
        "cpu_us_per_event": cpu.as_secs_f64() * 1e6 / total as f64,
        "event_json_bytes": event_bytes,
    });
    if let Some(ms) = db_ms {
        report["db_cpu_us_per_event"] = json!(ms * 1000.0);
    }
    store.describe(&mut report).await?;
    drop(storage);
    store.close().await?;
    Ok(report)
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

fn median_us(samples: &mut [Duration]) -> f64 {
    samples.sort();
    percentile_ms(samples, 50.0) * 1000.0
}

async fn session_save(
    base_url: &str,
    sizes: &str,
    samples: usize,
    store_args: &StoreArgs,
) -> Res<serde_json::Value> {
    let mut sizes: Vec<usize> = sizes
        .split(',')
        .filter(|size| !size.trim().is_empty())
        .map(|size| {
            size.trim()
                .parse()
                .map_err(|err| format!("--sizes: `{size}`: {err}"))
        })
        .collect::<Res<_>>()?;
    sizes.sort_unstable();
    sizes.dedup();
    let top = sizes.last().copied().ok_or("--sizes names no size")? + samples.max(1);
    let store = OpenStore::open(store_args, "session-save").await?;
    let storage = store.shared()?;

    // One real run: its session and its run record, as the workflow stores them.
    let model = model(base_url);
    let mut workflow = research(&model, Some(&storage))
        .map_err(|err| format!("the workflow does not build: {err}"))?;
    let answer = workflow
        .run(TOPIC.to_string())
        .await
        .map_err(|err| format!("a run failed: {err}"))?;
    drop(workflow);
    let template: RunRecord = storage
        .read_run(&answer.run_id)
        .await
        .map_err(|err| format!("reading the run: {err}"))?
        .ok_or("the run was not stored")?;
    let session_id = template.session_id.clone();
    let mut session: WorkflowSession = storage
        .read_session(&session_id)
        .await
        .map_err(|err| format!("reading the session: {err}"))?
        .ok_or("the session was not stored")?;
    let record_bytes = serde_json::to_string(&template)
        .map_err(|err| format!("encoding the run record: {err}"))?
        .len();

    let mut saves: Vec<Duration> = Vec::with_capacity(top);
    let mut points = Vec::new();
    let mut count = storage
        .count_runs(&session_id)
        .await
        .map_err(|err| format!("counting runs: {err}"))?;
    if let Some(small) = sizes.iter().find(|size| **size < count) {
        return Err(format!(
            "--sizes: {small} is below the {count} run(s) the session starts with"
        ));
    }
    // saves[n]: the save made when the session held n runs (none below the first).
    saves.resize(count, Duration::ZERO);
    let mut reads = std::collections::HashMap::new();
    while count < top {
        if sizes.contains(&count) {
            let mut load = Vec::with_capacity(samples);
            let mut all = Vec::with_capacity(samples);
            for _ in 0..samples.max(1) {
                let started = Instant::now();
                storage
                    .read_session(&session_id)
                    .await
                    .map_err(|err| format!("reading the session: {err}"))?;
                load.push(started.elapsed());
                let started = Instant::now();
                let runs = storage
                    .read_runs(&session_id)
                    .await
                    .map_err(|err| format!("reading the runs: {err}"))?;
                all.push(started.elapsed());
                if runs.len() != count {
                    return Err(format!("read_runs gave {} runs, not {count}", runs.len()));
                }
            }
            reads.insert(count, (median_us(&mut load), median_us(&mut all)));
        }
        let mut record = template.clone();
        record.run_id = format!("{}-{count}", template.run_id);
        record.fence = 0;
        let now = now_ms();
        record.created_at = now;
        record.updated_at = now;
        let mut next = session.clone();
        next.updated_at = now;
        let started = Instant::now();
        storage
            .put_run(record)
            .await
            .map_err(|err| format!("put_run: {err}"))?;
        session = storage
            .upsert_session(next)
            .await
            .map_err(|err| format!("upsert_session: {err}"))?;
        saves.push(started.elapsed());
        count += 1;
    }
    for &size in &sizes {
        let mut window: Vec<Duration> = saves[size..size + samples.max(1)].to_vec();
        window.sort();
        let (load_us, read_runs_us) = reads.get(&size).copied().unwrap_or_default();
        points.push(json!({
            "runs": size,
            "saves": window.len(),
            "save_us": percentile_ms(&window, 50.0) * 1000.0,
            "save_p90_us": percentile_ms(&window, 90.0) * 1000.0,
            "load_us": load_us,
            "read_runs_us": read_runs_us,
        }));
    }
    let mut report = json!({
        "framework": "weft",
        "mode": "session-save",
        "sizes": sizes,
        "samples": samples,
        "run_json_bytes": record_bytes,
        "points": points,
        "method": "one more run saved: put_run of its record (a copy of a real run's) and \
                   upsert_session (compare-and-swap), median of the saves made at \
                   N..N+samples-1 runs; load: read_session at N runs; read_runs: all N records",
    });
    store.describe(&mut report).await?;
    drop(storage);
    store.close().await?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Pauses for a person: a tool call that needs approval, approved, and the run continued.
// ---------------------------------------------------------------------------------------------

/// What `send_email` returns (after `" to <address>"`): the mark by which `pause-llm` knows the
/// second request of a round. The first request of a round never holds it.
const TOOL_RESULT: &str = "EMAIL-QUEUED";
/// The request of every round.
const PAUSE_REQUEST: &str = "Email Ana that the report is ready.";
/// The address of the tool call `pause-llm` asks for.
const PAUSE_TO: &str = "ana@example.com";
/// The pause a call to `send_email` makes (`approve:<tool>`).
const PAUSE_NAME: &str = "approve:send_email";

/// `send_email` calls that really ran (after their approval).
static EMAILS_SENT: AtomicUsize = AtomicUsize::new(0);

/// Sends an email; every call waits for a person's approval.
///
/// # Arguments
/// * `to` - The address.
#[tool(confirm)]
fn send_email(to: String) -> String {
    EMAILS_SENT.fetch_add(1, Ordering::Relaxed);
    format!("{TOOL_RESULT} to {to}")
}

/// One assistant whose tool needs approval; its answer streamed.
#[workflow(name = "bench_mailer")]
struct BenchMailer {
    #[agent(
        model = model_of(&model)?,
        instructions = ["Send the emails you are asked to send."],
        tools = [SendEmail],
    )]
    assistant: Agent,
    /// The model of the agent (read by its initializer, through the builder).
    #[allow(dead_code)]
    model: Option<weft::ModelRef>,
}

#[workflow]
impl BenchMailer {
    fn run(&mut self, request: String) -> RunStream<'_> {
        try_stream! {
            for await item in self.assistant.run_stream(request) {
                yield item?;
            }
        }
    }
}

/// The times of one round: to the pause (the run, its model call, the pause recorded), and
/// from the approval to the end (the continue: the tool, the second model call streamed).
struct PauseRound {
    to_pause: Duration,
    to_end: Duration,
}

/// One round on a new instance (on `storage`, or on its own in-memory store): run to the
/// pause, approve, continue to the end; checks the pause and the answer.
async fn pause_round(
    model: &weft::ModelRef,
    storage: Option<&StorageRef>,
    expected: &str,
) -> Res<PauseRound> {
    let started = Instant::now();
    let builder = BenchMailer::builder().model(Some(model.clone()));
    let mut mailer = match storage {
        Some(storage) => builder.storage(Arc::clone(storage)).build(),
        None => builder.build(),
    }
    .map_err(|err| format!("the workflow does not build: {err}"))?;
    let mut stream = mailer.run_stream(PAUSE_REQUEST.to_string());
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item.map_err(|err| format!("a run item: {err}"))?);
    }
    drop(stream);
    let last = last.ok_or("the run yielded nothing")?;
    let pause = match (&last.event, &last.pause) {
        (RunEvent::RunPaused, Some(pause)) => pause,
        _ => {
            return Err(format!(
                "the run did not pause: it ended with {:?}",
                last.event
            ))
        }
    };
    if pause.name != PAUSE_NAME || pause.question["arguments"]["to"] != PAUSE_TO {
        return Err(format!(
            "an unexpected pause: {} {}",
            pause.name, pause.question
        ));
    }
    let run_id = last.run_id.clone();
    let to_pause = started.elapsed();

    let mut stream = mailer.continue_run(&run_id, json!({"approved": true}));
    let mut text = String::new();
    let mut end = None;
    while let Some(item) = stream.next().await {
        let item = item.map_err(|err| format!("a continued run's item: {err}"))?;
        if item.event == RunEvent::RunContent {
            text.push_str(item.content_text());
        }
        end = Some(item.event);
    }
    drop(stream);
    let to_end = started.elapsed() - to_pause;
    if end != Some(RunEvent::WorkflowCompleted) || text != expected {
        return Err(format!(
            "the continued run ended with {end:?} and streamed {text:?}, not {expected:?}"
        ));
    }
    Ok(PauseRound { to_pause, to_end })
}

/// The calls one more round makes to `storage`, by name (both halves: run and continue).
async fn calls_of_one_round(
    model: &weft::ModelRef,
    storage: &StorageRef,
    expected: &str,
) -> Res<serde_json::Value> {
    let counting = Arc::new(Counting::new(Arc::clone(storage)));
    let counted: StorageRef = counting.clone();
    pause_round(model, Some(&counted), expected).await?;
    let tally = counting.tally();
    let total: u64 = tally
        .iter()
        .filter(|(name, _)| !name.contains(':'))
        .map(|(_, count)| count)
        .sum();
    Ok(json!({ "calls": tally, "total": total }))
}

async fn pauses(
    base_url: &str,
    rounds: usize,
    warmup: usize,
    store_args: &StoreArgs,
) -> Res<serde_json::Value> {
    let store = OpenStore::open(store_args, "pauses").await?;
    let storage = store.storage();
    let model = model(base_url);
    let stats = reqwest::Client::new();
    let expected: String = (0..20).map(|i| format!("token{i} ")).collect();
    for _ in 0..warmup {
        pause_round(&model, storage.as_ref(), &expected).await?;
    }
    let sent = EMAILS_SENT.load(Ordering::Relaxed);
    let before = requests(&stats, base_url).await?;
    let cpu = cpu_time();
    let started = Instant::now();
    let mut totals = Vec::with_capacity(rounds);
    let mut to_pause = Vec::with_capacity(rounds);
    let mut to_end = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let round = pause_round(&model, storage.as_ref(), &expected).await?;
        totals.push(round.to_pause + round.to_end);
        to_pause.push(round.to_pause);
        to_end.push(round.to_end);
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    let requests = requests(&stats, base_url).await? - before;
    let tools_run = EMAILS_SENT.load(Ordering::Relaxed) - sent;
    if tools_run != rounds {
        return Err(format!(
            "send_email ran {tools_run} times in {rounds} rounds"
        ));
    }
    for samples in [&mut totals, &mut to_pause, &mut to_end] {
        samples.sort();
    }
    let mut report = json!({
        "framework": "weft",
        "mode": "pauses",
        "rounds": rounds,
        "warmup_rounds": warmup,
        "rounds_per_sec": rounds as f64 / wall.as_secs_f64(),
        "wall_ms": wall.as_secs_f64() * 1000.0,
        "p50_ms": percentile_ms(&totals, 50.0),
        "p99_ms": percentile_ms(&totals, 99.0),
        "to_pause_p50_ms": percentile_ms(&to_pause, 50.0),
        "to_pause_p99_ms": percentile_ms(&to_pause, 99.0),
        "continue_p50_ms": percentile_ms(&to_end, 50.0),
        "continue_p99_ms": percentile_ms(&to_end, 99.0),
        "cpu_ms_per_round": cpu.as_secs_f64() * 1000.0 / rounds as f64,
        "requests": requests,
        "requests_per_round": requests as f64 / rounds as f64,
        "tools_run": tools_run,
    });
    if let Some(storage) = &storage {
        // After the timed rounds: what one round asks of the store.
        report["store_calls_per_round"] = calls_of_one_round(&model, storage, &expected).await?;
    }
    store.describe(&mut report).await?;
    drop(storage);
    store.close().await?;
    Ok(report)
}

/// The fake LLM of `pauses`, until the process is killed.
async fn pause_llm(port: u16, chunks: usize) -> Res<serde_json::Value> {
    use weft_testkit::{FakeLlm, Reply};
    let server = FakeLlm::builder()
        .port(port)
        .default_reply(Reply::tool_call("send_email", json!({ "to": PAUSE_TO })))
        .capture_requests(false)
        .start()
        .await
        .map_err(|err| format!("the fake LLM does not start: {err}"))?;
    println!("weft-bench pause-llm listening on {}", server.url());
    println!("  OPENAI_BASE_URL={}", server.openai_base_url());
    // A route answers one request that holds the tool's result, then is gone: keep at least
    // ROUTES of them queued. A round makes two requests and uses one route, so there are
    // always `routed - requests / 2` left; a sequential round takes far longer than a tick.
    const ROUTES: usize = 32;
    let answer = Reply::chunks((0..chunks).map(|i| format!("token{i} ")));
    let mut routed = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    loop {
        tick.tick().await;
        while routed < server.request_count() / 2 + ROUTES {
            server.route(TOOL_RESULT, answer.clone());
            routed += 1;
        }
    }
}

/// The tracing part: `sequential` in memory with weft's spans compiled out, on with no
/// subscriber, or exported over OTLP/HTTP to `otlp_endpoint`.
async fn tracing_part(
    base_url: &str,
    runs: usize,
    otlp_endpoint: Option<&str>,
) -> Res<serde_json::Value> {
    let compiled_out = weft_bench::otlp::tracing_compiled_out();
    let label = match (compiled_out, otlp_endpoint) {
        (true, None) => "off",
        (false, None) => "no-subscriber",
        (false, Some(_)) => "otlp",
        (true, Some(_)) => {
            return Err("a build with tracing compiled out has no spans to export".into())
        }
    };
    // The sink serves every round: what it had before this measurement is subtracted.
    let before = match otlp_endpoint {
        Some(endpoint) => Some(weft_bench::otlp::sink_stats(endpoint).await?),
        None => None,
    };
    let guard = otlp_endpoint
        .map(weft_bench::otlp::install_otlp)
        .transpose()?;
    let store = StoreArgs {
        store: Store::Memory,
        durability: DurabilityArg::EveryStep,
        postgres_url: None,
        schema: None,
        keep_schema: false,
        pool_size: None,
    };
    let mut report = sequential(base_url, runs, false, &store).await?;
    report["mode"] = json!("tracing");
    report["tracing"] = json!(label);
    if let (Some(guard), Some(endpoint)) = (guard, otlp_endpoint) {
        // Every span of the measured runs (and of the warm-up) reaches the sink first.
        guard
            .shutdown()
            .map_err(|err| format!("shutting the OTLP export down: {err}"))?;
        report["otlp_endpoint"] = json!(endpoint);
        let after = weft_bench::otlp::sink_stats(endpoint).await?;
        report["otlp_received"] = weft_bench::otlp::stats_since(&after, before.as_ref());
    }
    Ok(report)
}

fn construction(iterations: usize) -> Res<serde_json::Value> {
    let time = |build: &dyn Fn() -> Res<()>| -> Res<f64> {
        for _ in 0..iterations / 10 {
            build()?;
        }
        let started = Instant::now();
        for _ in 0..iterations {
            build()?;
        }
        Ok(started.elapsed().as_secs_f64() * 1e9 / iterations as f64)
    };
    let agent_ns = time(&|| {
        std::hint::black_box(agent_with_tool());
        Ok(())
    })?;
    let fake = model("http://127.0.0.1:9/v1");
    let workflow_ns = time(&|| {
        let workflow = BenchResearch::builder()
            .model(Some(fake.clone()))
            .build()
            .map_err(|err| format!("the workflow does not build: {err}"))?;
        std::hint::black_box(workflow);
        Ok(())
    })?;
    Ok(json!({
        "framework": "weft",
        "mode": "construction",
        "iterations": iterations,
        "agent_ns": agent_ns,
        "workflow_ns": workflow_ns,
    }))
}

fn main() -> ExitCode {
    let args = Args::parse();
    // One client making one run at a time gains nothing from worker threads but cross-thread
    // wake-ups (Agno's side, likewise, is one asyncio loop); many runs at once use them all.
    let runtime = match args.command {
        Command::Sequential { .. }
        | Command::Resume { .. }
        | Command::Interrupt { .. }
        | Command::SessionSave { .. }
        | Command::Pauses { .. }
        | Command::Tracing { .. }
        | Command::OtlpSink { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("weft-bench: no tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let report = match args.command {
        Command::Sequential {
            base_url,
            runs,
            floor,
            store,
        } => runtime.block_on(sequential(&base_url, runs, floor, &store)),
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
        } => runtime
            .block_on(interrupt(&base_url, &store, runs, durability))
            .map(|()| json!(null)),
        Command::Concurrent {
            base_url,
            concurrency,
            floor,
            store,
        } => runtime.block_on(concurrent(&base_url, concurrency, None, floor, &store)),
        Command::Throughput {
            base_url,
            concurrency,
            runs,
            floor,
            store,
        } => runtime.block_on(concurrent(
            &base_url,
            concurrency,
            Some(runs),
            floor,
            &store,
        )),
        Command::Append {
            events,
            batch,
            runs,
            store,
        } => runtime.block_on(append(events, batch, runs, &store)),
        Command::SessionSave {
            base_url,
            sizes,
            samples,
            store,
        } => runtime.block_on(session_save(&base_url, &sizes, samples, &store)),
        Command::Pauses {
            base_url,
            rounds,
            warmup,
            store,
        } => runtime.block_on(pauses(&base_url, rounds, warmup, &store)),
        Command::PauseLlm { port, chunks } => runtime.block_on(pause_llm(port, chunks)),
        Command::Construction { iterations } => construction(iterations),
        Command::Tracing {
            base_url,
            runs,
            otlp_endpoint,
        } => runtime.block_on(tracing_part(&base_url, runs, otlp_endpoint.as_deref())),
        Command::OtlpSink { port } => runtime
            .block_on(weft_bench::otlp::serve_sink(port))
            .map(|()| json!(null))
            .map_err(|err| format!("the OTLP sink: {err}")),
    };
    match report {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("weft-bench: {err}");
            ExitCode::FAILURE
        }
    }
}
