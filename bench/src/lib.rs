//! What weft's benchmarks share: the research-shaped workflow they run (the same one
//! `bench/agno/bench_agno.py` runs with Agno), the same HTTP calls made with bare reqwest (the
//! floor), and the process measurements (CPU time, resident memory).
//!
//! The workload: three agents, each one model call; the first two calls are not streamed,
//! the third is streamed and its chunks consumed, against `weft-fake-llm`.

use std::sync::Arc;
use std::time::Duration;

pub mod otlp;

use futures::StreamExt;
use weft::prelude::*;
use weft::{Durability, ModelRef, StorageRef};

/// The topic of every benchmark run.
pub const TOPIC: &str = "embedded databases in Rust";

/// The research-shaped workflow: search and read (not streamed), then write (streamed).
#[workflow(name = "bench_research")]
pub struct BenchResearch {
    #[agent(model = model_of(&model)?, instructions = ["Find sources."])]
    searcher: Agent,
    #[agent(model = model_of(&model)?, instructions = ["Read the sources."])]
    reader: Agent,
    #[agent(model = model_of(&model)?, instructions = ["Write a summary."])]
    writer: Agent,
    /// The model of all three agents.
    pub model: Option<ModelRef>,
}

/// The model a [`BenchResearch`] was given.
pub fn model_of(model: &Option<ModelRef>) -> weft::Result<ModelRef> {
    model
        .clone()
        .ok_or_else(|| weft::Error::Config("give the benchmark workflow a model".into()))
}

#[workflow]
impl BenchResearch {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            let found = self.searcher.run(format!("Search: {topic}")).await?;
            let read = self.reader.run(format!("Read: {}", found.content_text())).await?;
            for await chunk in self.writer.run_stream(format!("Summarise: {}", read.content_text())) {
                yield chunk?;
            }
        }
    }
}

/// Current weather in a city (the tool of Agno's instantiation benchmark).
///
/// # Arguments
/// * `city` - The city, e.g. "Paris".
#[tool]
pub fn get_weather(city: String) -> String {
    format!("The weather in {city} is sunny.")
}

/// An agent as Agno's instantiation benchmark builds one:
/// `Agent(model=OpenAIChat(id="gpt-4o"), tools=[get_weather])`.
pub fn agent_with_tool() -> Agent {
    Agent::builder()
        .model(OpenAIChat::new("gpt-4o"))
        .tools([GetWeather])
        .build()
        .unwrap_or_else(|err| panic!("the benchmark agent must build: {err}"))
}

/// The OpenAI-compatible model at `base_url` (the fake server's `/v1`).
pub fn model(base_url: &str) -> ModelRef {
    Arc::new(
        OpenAIChat::new("gpt-4o")
            .base_url(base_url)
            .api_key("fake")
            .timeout(Duration::from_secs(60)),
    )
}

/// A new instance of the workflow on `model`: with `storage`, on that store; without, on the
/// instance's own in-memory store (the default).
pub fn research(model: &ModelRef, storage: Option<&StorageRef>) -> weft::Result<BenchResearch> {
    let builder = BenchResearch::builder().model(Some(model.clone()));
    match storage {
        Some(storage) => builder.storage(Arc::clone(storage)).build(),
        None => builder.build(),
    }
}

/// One run of the workflow, its streamed text consumed; returns the text's length. A new
/// instance per run (and so a new session), on `storage` or on its own in-memory store; the
/// event log and the journal are on for every run, whatever the store.
pub async fn run_weft(model: &ModelRef, storage: Option<&StorageRef>) -> weft::Result<usize> {
    let mut workflow = research(model, storage)?;
    let mut events = workflow.run_stream(TOPIC.to_string());
    let mut length = 0;
    while let Some(event) = events.next().await {
        length += event?.content_text().len();
    }
    Ok(length)
}

/// The same three HTTP calls with bare reqwest and no framework: two JSON completions, then
/// one streamed, its SSE `data:` lines parsed as JSON. The floor weft is measured against.
pub async fn run_bare(client: &reqwest::Client, base_url: &str) -> Result<usize, String> {
    let url = format!("{base_url}/chat/completions");
    let complete = |prompt: String, system: &'static str| {
        let body = serde_json::json!({
            "model": "gpt-4o",
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}],
        });
        let request = client.post(&url).bearer_auth("fake").json(&body);
        async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let value: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
            Ok::<String, String>(
                value["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        }
    };
    let found = complete(format!("Search: {TOPIC}"), "Find sources.").await?;
    let read = complete(format!("Read: {found}"), "Read the sources.").await?;
    let body = serde_json::json!({
        "model": "gpt-4o",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "Write a summary."},
                     {"role": "user", "content": format!("Summarise: {read}")}],
    });
    let response = client
        .post(&url)
        .bearer_auth("fake")
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut bytes = response.bytes_stream();
    let mut buffer = Vec::new();
    let mut length = 0;
    while let Some(chunk) = bytes.next().await {
        buffer.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buffer.drain(..end + 2).collect();
            let Some(data) = event.strip_prefix(b"data: ") else {
                continue;
            };
            let data = &data[..data.len() - 2];
            if data == b"[DONE]" {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_slice(data).map_err(|e| e.to_string())?;
            length += value["choices"][0]["delta"]["content"]
                .as_str()
                .map_or(0, str::len);
        }
    }
    Ok(length)
}

/// This process's CPU time (user + system) so far, from `/proc/self/stat` (Linux).
pub fn cpu_time() -> Duration {
    cpu_time_of("self")
}

/// The CPU time (user + system) so far of process `pid` (`"self"` for this one), from
/// `/proc/PID/stat` (Linux); zero if it cannot be read.
pub fn cpu_time_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the file: 11 and 12 after the state field;
    // /proc reports them in USER_HZ, which is 100 on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The CPU time (user + system) of every `postgres` process on this machine so far,
/// including the children its postmaster has reaped (backends that ended), from `/proc`:
/// what a PostgreSQL server running here spent, whoever it worked for. Zero when there is
/// none here (a server on another machine).
pub fn postgres_cpu_time() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    let mut ticks = 0u64;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_pid = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if !head.ends_with("(postgres") {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime, stime, cutime, cstime: fields 14 to 17, 11 to 14 after the state field.
        ticks += (11..=14)
            .filter_map(|i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
            .sum::<u64>();
    }
    Duration::from_millis(ticks * 10)
}

/// A `VmRSS`/`VmHWM` line of `/proc/PID/status`, in KiB.
fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resident memory now, in KiB.
pub fn rss_kib() -> u64 {
    rss_kib_of("self")
}

/// The most resident memory this process has had, in KiB.
pub fn peak_rss_kib() -> u64 {
    peak_rss_kib_of("self")
}

/// Resident memory of process `pid` now, in KiB.
pub fn rss_kib_of(pid: &str) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// The most resident memory process `pid` has had, in KiB.
pub fn peak_rss_kib_of(pid: &str) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// The `p`-th percentile (0–100) of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// The fake server's request count (`GET /_stats`).
pub async fn server_requests(client: &reqwest::Client, base_url: &str) -> Result<u64, String> {
    let root = base_url.trim_end_matches("/v1");
    let stats: serde_json::Value = client
        .get(format!("{root}/_stats"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    stats["requests"]
        .as_u64()
        .ok_or_else(|| format!("unexpected stats: {stats}"))
}

/// A fresh, empty directory for a benchmark's sled store, under the system's temp dir
/// (`TMPDIR`); the caller removes it.
pub fn fresh_store_dir(label: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "weft-bench-{label}-{}-{nanos}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Opens the sled store at `dir` with `durability`.
pub fn open_sled(dir: &std::path::Path, durability: Durability) -> weft::Result<SledStorage> {
    SledStorage::builder(dir).durability(durability).open()
}
