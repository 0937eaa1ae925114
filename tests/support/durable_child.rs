//! A child process for the durable-run crash tests (`tests/crash`): runs the `Scout` workflow
//! (a typed search with a tool, a journaled step, three concurrent reads in spawned tasks, each
//! an agent call with a tool, then a streamed summary whose agent calls a tool too) on a sled
//! store, against the fake LLM server of the test process.
//!
//! - `weft-durable-child first DIR CLIENT`: runs the workflow, followed by `CLIENT`: `stream`
//!   (the process consumes `run_stream` itself and gets every item the moment it is logged)
//!   or `handle` (`start`, then a follower on `RunHandle::events(0)`, which reads the log
//!   when it gets a turn and may lag behind the run).
//! - `weft-durable-child resume DIR AFTER_SEQ`: opens the store (which marks the killed run
//!   `interrupted`), prints what the store holds of it, resumes it and follows it as a client
//!   that reconnects with the last seq it saw (`AFTER_SEQ`), then waits for its record.
//!
//! Environment: `WEFT_CRASH_LLM` (the fake server's OpenAI base URL), `WEFT_CRASH_DURABILITY`
//! (`every-event` or `every-step`), `WEFT_CRASH_TAG` (names the process: its API key is
//! `sk-<tag>`, its effects lines start with `<tag>`), and `WEFT_CRASH_FAULT` (`POINT K`,
//! optional): on the `K`-th hit of the fault point `POINT` the process prints `FAULT POINT K`
//! and stops there for good (the test then kills it with SIGKILL). The store is `DIR/db`;
//! every tool call and step that really runs appends a line to `DIR/effects`
//! (`<tag> tool search <query>`, `<tag> step pick`, …).
//!
//! Lines printed (stdout, flushed one by one):
//! `POINT <name> <n>` at every hit of a fault point (the engine's, and `tool.inside`: inside a
//! tool, after its side effect); `ITEM <seq> <json>` for every item the client receives;
//! `DISK_RUN <status>`, `DISK_LOG <json>` (seq, identity, event of each item),
//! `DISK_JOURNAL <json>` (key, kind, seqs, output of each entry) (resume: the store as the
//! killed process left it); `RECORD <json>` (the run's final record) or `RUN_ERROR <error>`;
//! `DONE`; `ERROR <error>` if the child itself fails.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::task::JoinSet;
use weft::prelude::*;
use weft::{Durability, RunHandle};

/// The session every run of the crash tests belongs to.
const SESSION: &str = "crash";
/// What every run researches.
const TOPIC: &str = "embedded databases";

/// What the searcher hands on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceList {
    /// The sources found, best first.
    pub sources: Vec<Source>,
}

/// One source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// Side effects of tools and steps, one line each in a file (appends survive a SIGKILL).
#[derive(Clone, Debug)]
pub struct Effects {
    path: PathBuf,
    tag: String,
}

impl Effects {
    fn record(&self, what: &str) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| file.write_all(format!("{} {what}\n", self.tag).as_bytes()));
        if let Err(err) = written {
            say(&format!(
                "ERROR could not record the effect `{what}`: {err}"
            ));
        }
    }
}

/// Search, pick, three concurrent reads, a streamed summary.
#[workflow]
pub struct Scout {
    /// Finds sources with its `search` tool.
    #[agent(model = "openai:gpt-4o")]
    pub searcher: Agent,
    /// Reads one source with its `read` tool.
    #[agent(model = "openai:gpt-4o")]
    pub reader: Agent,
    /// Streams the summary, after outlining it with its `outline` tool.
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
    /// Where tools and steps record what they really did.
    pub effects: Effects,
}

#[workflow]
impl Scout {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            // 1. A typed search, the searcher calling its tool.
            yield RunResponse::step_started("search", format!("Searching for {topic}"));
            let found: SourceList = self
                .searcher
                .run_typed(format!("Find sources about: {topic}"))
                .await?;
            let ids: Vec<String> = found.sources.iter().map(|source| source.id.clone()).collect();
            yield RunResponse::step_completed("search", format!("Found {}", ids.join(", ")));
            self.session_state.insert("sources", &found.sources)?;

            // 2. A journaled step of the workflow's own.
            let ctx = self.ctx();
            let effects = self.effects.clone();
            let picked: Vec<String> = ctx
                .step("pick", async move {
                    effects.record("step pick");
                    ids.into_iter().take(3).collect()
                })
                .await?;
            self.session_state.insert("picked", &picked)?;

            // 3. Three reads at once, each in a task of its own.
            yield RunResponse::step_started("read", format!("Reading {}", picked.join(", ")));
            let mut reads = JoinSet::new();
            for id in &picked {
                let mut reader = self.reader.clone();
                let prompt = format!("Read source {id} about {topic}");
                let id = id.clone();
                reads.spawn(async move {
                    reader
                        .run(prompt)
                        .await
                        .map(|read| (id, read.content_text().to_string()))
                });
            }
            let mut notes = BTreeMap::new();
            while let Some(joined) = reads.join_next().await {
                let (id, note) = joined
                    .map_err(|err| weft::Error::Config(format!("a read task failed: {err}")))??;
                notes.insert(id, note);
            }
            let notes: Vec<String> = notes.into_values().collect();
            self.session_state.insert("notes", &notes)?;
            yield RunResponse::step_completed("read", notes.join(" "));

            // 4. The summary, streamed; its agent calls a tool first.
            yield RunResponse::step_started("summary", "Writing the summary");
            for await chunk in self.writer.run_stream(format!("Summarise the notes: {}", notes.join(" "))) {
                yield chunk?;
            }
            let summary = self.writer.last_response().content_text().to_string();
            self.session_state.insert("summary", summary)?;
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The point to stop at, and how many hits each point has had.
static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

/// A hit of the fault point `point`: printed; the chosen hit stops the process's only thread
/// for good (the runtime is single-threaded, so nothing else of the run goes on).
fn hit(point: &str) {
    let n = {
        let mut hits = HITS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = hits
            .get_or_insert_with(HashMap::new)
            .entry(point.to_string())
            .or_insert(0);
        *count += 1;
        *count
    };
    say(&format!("POINT {point} {n}"));
    if let Some(Some((name, k))) = TARGET.get() {
        if name == point && *k == n {
            say(&format!("FAULT {point} {n}"));
            loop {
                std::thread::park();
            }
        }
    }
}

fn tool(
    name: &'static str,
    description: &str,
    parameters: Value,
    effects: &Effects,
    answer: fn(&Value) -> (String, String),
) -> FunctionTool {
    let effects = effects.clone();
    FunctionTool::new(name, description, parameters, move |args: Value| {
        let effects = effects.clone();
        async move {
            let (effect, result) = answer(&args);
            effects.record(&format!("tool {name} {effect}"));
            hit("tool.inside");
            Ok::<_, ToolError>(result)
        }
    })
}

fn search_tool(effects: &Effects) -> FunctionTool {
    tool(
        "search",
        "Searches the web.",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        effects,
        |args| {
            let query = args["query"].as_str().unwrap_or("?").to_string();
            let result = format!("RESULTS for {query}: A, B, C, D");
            (query, result)
        },
    )
}

fn read_tool(effects: &Effects) -> FunctionTool {
    tool(
        "read",
        "Reads a source by id.",
        json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        effects,
        |args| {
            let id = args["id"].as_str().unwrap_or("?").to_string();
            let result = format!("ARTICLE {id}: the text of source {id}");
            (id, result)
        },
    )
}

fn outline_tool(effects: &Effects) -> FunctionTool {
    tool(
        "outline",
        "Outlines a summary of some sources.",
        json!({"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"}}}, "required": ["ids"]}),
        effects,
        |args| {
            let ids: Vec<&str> = args["ids"]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let ids = ids.join(" ");
            let result = format!("OUTLINE: {ids}");
            (ids, result)
        },
    )
}

fn agent(base_url: &str, key: &str, name: &str, tools: Vec<FunctionTool>) -> weft::Result<Agent> {
    Agent::builder()
        .name(name)
        .model(OpenAIChat::new("gpt-4o").base_url(base_url).api_key(key))
        .tools(tools)
        .retries(0)
        .build()
}

fn usage(message: &str) -> weft::Error {
    weft::Error::Config(format!(
        "{message}; usage: weft-durable-child first DIR stream|handle | resume DIR AFTER_SEQ"
    ))
}

fn env(name: &str) -> weft::Result<String> {
    std::env::var(name).map_err(|_| weft::Error::Config(format!("{name} is not set")))
}

/// `WEFT_CRASH_FAULT`: `POINT K`, or nothing.
fn target() -> weft::Result<Option<(String, u64)>> {
    let Ok(fault) = std::env::var("WEFT_CRASH_FAULT") else {
        return Ok(None);
    };
    let parsed = fault
        .split_once(' ')
        .and_then(|(point, k)| Some((point.to_string(), k.parse().ok()?)));
    match parsed {
        Some(target) => Ok(Some(target)),
        None => Err(weft::Error::Config(format!(
            "WEFT_CRASH_FAULT is `POINT K`, not `{fault}`"
        ))),
    }
}

/// Follows `handle` from `after_seq` as a client, then waits for the run's record.
async fn follow(handle: RunHandle, after_seq: u64) -> weft::Result<()> {
    let mut events = handle.events(after_seq);
    while let Some(item) = events.next().await {
        let item = item?;
        let json = serde_json::to_string(&item)?;
        say(&format!("ITEM {} {json}", item.seq.unwrap_or(0)));
    }
    match handle.wait().await {
        Ok(record) => say(&format!("RECORD {}", serde_json::to_string(&record)?)),
        Err(err) => say(&format!("RUN_ERROR {err}")),
    }
    say("DONE");
    Ok(())
}

/// Runs the workflow, consuming its stream as the client, then reads its record.
async fn consume(mut scout: Scout, storage: &SledStorage) -> weft::Result<()> {
    let mut run_id = None;
    {
        let mut events = scout.run_stream(TOPIC.to_string());
        while let Some(item) = events.next().await {
            match item {
                Ok(item) => {
                    run_id = Some(item.run_id.clone());
                    let json = serde_json::to_string(&item)?;
                    say(&format!("ITEM {} {json}", item.seq.unwrap_or(0)));
                }
                Err(err) => say(&format!("RUN_ERROR {err}")),
            }
        }
    }
    let record = match &run_id {
        Some(run_id) => storage.read_run(run_id).await?,
        None => None,
    };
    match record {
        Some(record) => say(&format!("RECORD {}", serde_json::to_string(&record)?)),
        None => say("RUN_ERROR the run left no record"),
    }
    say("DONE");
    Ok(())
}

/// Prints what the store holds of the killed run.
async fn dump(storage: &SledStorage, run_id: &str) -> weft::Result<()> {
    let log: Vec<Value> = storage
        .read_events(run_id, 0, usize::MAX)
        .await?
        .into_iter()
        .map(|event| json!({"seq": event.seq, "identity": event.identity, "event": event.item.event}))
        .collect();
    let journal: Vec<Value> = storage
        .read_journal(run_id)
        .await?
        .into_iter()
        .map(|entry| json!({"key": entry.key, "kind": entry.kind, "seqs": entry.seqs, "output": entry.output}))
        .collect();
    say(&format!("DISK_LOG {}", Value::Array(log)));
    say(&format!("DISK_JOURNAL {}", Value::Array(journal)));
    Ok(())
}

async fn run(args: &[String]) -> weft::Result<()> {
    let [mode, dir, arg] = args else {
        return Err(usage("wrong arguments"));
    };
    let _ = TARGET.set(target()?);
    if !weft::__private::set_fault_hook(hit) {
        return Err(weft::Error::Config("the fault hook was set already".into()));
    }
    let base_url = env("WEFT_CRASH_LLM")?;
    let tag = env("WEFT_CRASH_TAG")?;
    let durability = match env("WEFT_CRASH_DURABILITY")?.as_str() {
        "every-event" => Durability::EveryEvent,
        "every-step" => Durability::EveryStep,
        other => {
            return Err(weft::Error::Config(format!(
                "WEFT_CRASH_DURABILITY is every-event or every-step, not {other}"
            )))
        }
    };
    let dir = Path::new(dir);
    // Opened after the hook is installed; a writable open marks a killed run `interrupted`.
    let storage = SledStorage::builder(dir.join("db"))
        .durability(durability)
        .open()?;
    let effects = Effects {
        path: dir.join("effects"),
        tag: tag.clone(),
    };
    // Each process its own key, so the test tells their requests apart.
    let key = format!("sk-{tag}");
    let scout = Scout::builder()
        .session_id(SESSION)
        .storage(storage.clone())
        .searcher(agent(
            &base_url,
            &key,
            "searcher",
            vec![search_tool(&effects)],
        )?)
        .reader(agent(&base_url, &key, "reader", vec![read_tool(&effects)])?)
        .writer(agent(
            &base_url,
            &key,
            "writer",
            vec![outline_tool(&effects)],
        )?)
        .effects(effects)
        .build()?;
    match (mode.as_str(), arg.as_str()) {
        ("first", "stream") => consume(scout, &storage).await,
        ("first", "handle") => {
            let handle = scout.start(TOPIC.to_string());
            follow(handle, 0).await
        }
        ("resume", after_seq) => {
            let after_seq: u64 = after_seq
                .parse()
                .map_err(|_| usage("AFTER_SEQ is not a number"))?;
            let runs = scout.interrupted_runs().await?;
            let [interrupted] = runs.as_slice() else {
                return Err(weft::Error::Config(format!(
                    "expected one interrupted run, found {}",
                    runs.len()
                )));
            };
            let run_id = interrupted.run_id.clone();
            say(&format!(
                "DISK_RUN {}",
                serde_json::to_string(&interrupted.status)?
            ));
            dump(&storage, &run_id).await?;
            let handle = scout.start_resume(&run_id).await?;
            follow(handle, after_seq).await
        }
        _ => Err(usage("unknown mode or client")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(err) = run(&args).await {
        say(&format!("ERROR {err}"));
        std::process::exit(1);
    }
}
