//! The workflows the span tests run, on agents pointed at the fake LLM with a key that must
//! never reach a span.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

/// The API key of every agent here: no span may carry it.
pub const API_KEY: &str = "sk-otel-test-9f2c41d7-never-in-a-span";

/// An agent named `name` on the fake server, without retries, with `tools`.
pub fn agent_on(server: &FakeLlm, name: &str, tools: Vec<FunctionTool>) -> Agent {
    Agent::builder()
        .name(name)
        .model(
            OpenAIChat::new("gpt-4o")
                .base_url(server.openai_base_url())
                .api_key(API_KEY),
        )
        .tools(tools)
        .retries(0)
        .build()
        .unwrap()
}

/// `lookup(id)`: answers `found <id>`.
pub fn lookup() -> FunctionTool {
    FunctionTool::new(
        "lookup",
        "Looks a source up by id.",
        json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        |args: Value| async move {
            Ok::<_, ToolError>(format!("found {}", args["id"].as_str().unwrap_or("?")))
        },
    )
}

/// One agent, streamed: the smallest workflow run.
#[workflow]
pub struct Teller {
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
}

#[workflow]
impl Teller {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            for await chunk in self.writer.run_stream(format!("Tell me a story about {topic}")) {
                yield chunk?;
            }
        }
    }
}

pub fn teller(server: &FakeLlm, storage: &weft::StorageRef) -> Teller {
    Teller::builder()
        .session_id("teller")
        .storage(storage.clone())
        .writer(agent_on(server, "writer", Vec::new()))
        .build()
        .unwrap()
}

/// A journaled step, three reads in spawned tasks (each a tool call), then a streamed
/// summary: the research workflow's shape.
#[workflow]
pub struct Desk {
    #[agent(model = "openai:gpt-4o")]
    pub reader: Agent,
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
    /// How many times the `stamp` step really ran.
    pub step_runs: Arc<AtomicUsize>,
}

#[workflow]
impl Desk {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            yield RunResponse::step_started("read", format!("Reading about {topic}"));
            let ctx = self.ctx();
            let runs = Arc::clone(&self.step_runs);
            let stamp: u64 = ctx
                .step("stamp", async move { 100 + runs.fetch_add(1, Ordering::SeqCst) as u64 })
                .await?;
            let mut reads = tokio::task::JoinSet::new();
            for id in ["A", "B", "C"] {
                let mut reader = self.reader.clone();
                reads.spawn(async move {
                    reader.run(format!("read {id}")).await.map(|read| read.content_text().to_string())
                });
            }
            let mut notes = Vec::new();
            while let Some(joined) = reads.join_next().await {
                notes.push(joined.map_err(|err| weft::Error::Config(err.to_string()))??);
            }
            notes.sort();
            yield RunResponse::step_completed("read", format!("stamp {stamp}: {}", notes.join(" ")));
            for await chunk in self.writer.run_stream(format!("Summarise: {}", notes.join(" "))) {
                yield chunk?;
            }
        }
    }
}

/// Scripts the fake server for one whole `Desk` run.
pub fn script_desk(server: &FakeLlm) {
    for id in ["A", "B", "C"] {
        server.route(
            &format!("read {id}"),
            Reply::tool_call("lookup", json!({ "id": id })),
        );
        server.route(
            &format!("found {id}"),
            Reply::text(&format!("{id} is fine.")),
        );
    }
    server.push(Reply::text("All three are fine."));
}

pub fn desk(server: &FakeLlm, storage: &weft::StorageRef, step_runs: &Arc<AtomicUsize>) -> Desk {
    Desk::builder()
        .session_id("desk")
        .storage(storage.clone())
        .reader(agent_on(server, "reader", vec![lookup()]))
        .writer(agent_on(server, "writer", Vec::new()))
        .step_runs(Arc::clone(step_runs))
        .build()
        .unwrap()
}

/// The answer the `approve` interrupt takes.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Go on?
    pub ok: bool,
}

/// A draft (a model call), then a pause for a person's approval.
#[workflow]
pub struct Approval {
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
}

#[workflow]
impl Approval {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            for await chunk in self.writer.run_stream(format!("Draft {topic}")) {
                yield chunk?;
            }
            let verdict: Verdict = self.ctx().interrupt("approve", json!({"draft": true})).await?;
            yield RunResponse::text(format!(" approved={}", verdict.ok));
        }
    }
}

pub fn approval(server: &FakeLlm, storage: &weft::StorageRef) -> Approval {
    Approval::builder()
        .session_id("approval")
        .storage(storage.clone())
        .writer(agent_on(server, "writer", Vec::new()))
        .build()
        .unwrap()
}
