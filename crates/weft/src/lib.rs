//! # weft
//!
//! Deterministic, stateful, streaming multi-agent workflows for Rust: what you would build
//! with Python's Agno or LangGraph, with per-instance agents, typed errors and streams that
//! never lose what a run already did.
//!
//! This crate is the facade: depend on it alone and `use weft::prelude::*;`.
//!
//! ## An agent that streams
//! ```no_run
//! use weft::prelude::*;
//!
//! #[tokio::main]
//! async fn main() -> weft::Result<()> {
//!     let mut agent = Agent::builder()
//!         .name("Writer")
//!         .model(weft::model_from_env()?) // WEFT_MODEL, OpenAI, Anthropic, else offline
//!         .instructions(["Answer in one short paragraph."])
//!         .build()?;
//!     let mut events = agent.run_stream("Explain quantum computing");
//!     while let Some(event) = events.next().await {
//!         print!("{}", event?.content_text());
//!     }
//!     Ok(())
//! }
//! ```
//!
//! ## Tools
//! ```
//! use weft::prelude::*;
//! use serde_json::json;
//!
//! let weather = FunctionTool::new(
//!     "get_weather",
//!     "Current weather in a city.",
//!     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
//!     |args| async move { Ok::<_, ToolError>(format!("Sunny in {}", args["city"])) },
//! );
//! let agent = Agent::builder()
//!     .model("openai:gpt-4o") // a model spec; the key is read when the agent first runs
//!     .tools([weather])
//!     .tool_call_limit(5)
//!     .build()?;
//! # Ok::<(), weft::Error>(())
//! ```
//!
//! ## What is where
//! - Agents, models, providers, tools, events, errors: [`weft_runtime`], re-exported here.
//! - Providers: [`OpenAIChat`], [`Claude`], [`Ollama`], [`Offline`]; spec strings
//!   (`"anthropic:claude-sonnet-4-5"`) via [`model_from_spec`]; [`model_from_env`] for examples.
//! - Streams: [`RunResponse::content_text`] concatenated over a stream is the whole answer,
//!   exactly once.
//! - Pauses for a person: [`RunContext::interrupt`] pauses a run with a question,
//!   `continue_run(run_id, answer)` takes it up through the journal ([`Pause`]); tools that
//!   need approval: `#[tool(confirm)]`, [`FunctionTool::confirm`], [`Confirmed`].
//! - Storage: [`MemoryStorage`] (always there); `SledStorage`, embedded on disk (feature
//!   `sled`, default); `PostgresStorage` and `PostgresStorageBuilder`, a PostgreSQL database
//!   many processes share, with claims that fence each run to one worker (feature
//!   `postgres`, not default: `weft = { version = "0.1", features = ["postgres"] }`).
//! - MCP: `weft::mcp::McpTools` turns a Model Context Protocol server's tools (over stdio or
//!   streamable HTTP) into tools of an agent, through [`AgentBuilder::toolset`] (feature
//!   `mcp`, not default).
//! - Observability: `weft::otel::init()` exports weft's GenAI spans and metrics to any
//!   OpenTelemetry backend (Langfuse, Arize Phoenix, Jaeger, a Collector) over OTLP/HTTP
//!   (feature `otel`, not default).

// The public surface, by name: a new runtime item is public here only when listed.
#[cfg(feature = "mcp")]
pub use weft_mcp as mcp;
#[cfg(feature = "otel")]
pub use weft_otel as otel;
#[cfg(feature = "web")]
pub use weft_runtime::web;
pub use weft_runtime::{
    agent, durable, error, message, model, providers, response, schema, storage, telemetry,
};
pub use weft_runtime::{tool, workflow};
#[cfg(feature = "server")]
pub use weft_server as serve;

#[cfg(feature = "postgres")]
pub use weft_postgres::{PostgresStorage, PostgresStorageBuilder};
#[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
pub use weft_runtime::ApiKey;
#[cfg(feature = "anthropic")]
pub use weft_runtime::Claude;
#[cfg(feature = "ollama")]
pub use weft_runtime::Ollama;
#[cfg(feature = "openai")]
pub use weft_runtime::OpenAIChat;
#[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
pub use weft_runtime::ResponseLimits;
pub use weft_runtime::{
    model_from_env, model_from_spec, schema_for, Agent, AgentBuilder, AgentUsage, Approval,
    Confirmed, Content, Error, FinishReason, FunctionTool, IntoModel, IntoStorage, IntoTools,
    JournalEntry, JournalKind, LogHead, LoggedEvent, MemoryStorage, Message, Metrics, Model,
    ModelEvent, ModelRef, ModelRequest, ModelResponse, ModelStream, Offline, Pause, Result,
    RetryPolicy, Role, RunContext, RunEvent, RunHandle, RunRecord, RunResponse, RunStatus,
    RunStream, SessionFilter, SessionState, StepOutput, StorageRef, Tool, ToolApproval, ToolCall,
    ToolChoice, ToolError, ToolExecution, ToolOutput, ToolSpec, Toolset, Usage, Workflow,
    WorkflowBuilder, WorkflowDefinition, WorkflowInput, WorkflowSession, WorkflowState,
    WorkflowStorage,
};
#[cfg(feature = "sled")]
pub use weft_runtime::{Durability, SledStorage};

mod dsl;
pub use dsl::{tool, workflow};

/// schemars, for `#[derive(JsonSchema)]` on structured-output and tool-argument types (add
/// `schemars = "1"` to your dependencies to use the derive).
pub use schemars;

/// `stream!`/`try_stream!` from async-stream, for generator-style streams.
pub use async_stream::{stream, try_stream};
/// The futures crate, for `StreamExt` and friends.
pub use futures;

/// Everything a file that uses weft needs.
pub mod prelude {
    pub use crate::{stream, tool, try_stream, workflow};
    pub use futures::StreamExt;
    #[cfg(feature = "anthropic")]
    pub use weft_runtime::Claude;
    #[cfg(feature = "ollama")]
    pub use weft_runtime::Ollama;
    #[cfg(feature = "openai")]
    pub use weft_runtime::OpenAIChat;
    #[cfg(feature = "sled")]
    pub use weft_runtime::SledStorage;
    pub use weft_runtime::{
        Agent, Content, Error, FunctionTool, MemoryStorage, Model, Offline, RunContext, RunEvent,
        RunHandle, RunResponse, RunStream, SessionState, Tool, ToolError, ToolOutput, Workflow,
        WorkflowStorage,
    };
}

/// Support for code `#[workflow]` and `#[tool]` generate, and for weft's benchmarks. Not a
/// public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;
    use std::sync::Arc;

    pub use futures;
    pub use schemars;
    pub use serde;
    pub use serde_json;
    #[cfg(feature = "openai")]
    pub use weft_runtime::__private::decode_openai_stream;
    pub use weft_runtime::__private::{
        delete_session, initial_state, load_session, new_session, output_of, output_of_result,
        parse_arguments, rename_session, runs, sessions, set_fault_hook, WorkflowMeta,
    };

    /// A fresh session id.
    pub fn new_session_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// The default store of a workflow instance.
    pub fn memory_storage() -> crate::StorageRef {
        Arc::new(crate::MemoryStorage::new())
    }

    /// Autoref specialisation: `(&&DefaultProbe::<T>::new()).default_value()` is
    /// `Some(T::default())` when `T: Default`, else `None`, for a builder field left unset.
    pub struct DefaultProbe<T>(PhantomData<T>);

    impl<T> DefaultProbe<T> {
        /// A probe for `T`.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            DefaultProbe(PhantomData)
        }
    }

    /// Chosen when `T: Default`.
    pub trait ViaDefault<T> {
        /// `Some(T::default())`.
        fn default_value(&self) -> Option<T>;
    }

    impl<T: Default> ViaDefault<T> for &DefaultProbe<T> {
        fn default_value(&self) -> Option<T> {
            Some(T::default())
        }
    }

    /// Chosen otherwise.
    pub trait ViaNone<T> {
        /// `None`.
        fn default_value(&self) -> Option<T>;
    }

    impl<T> ViaNone<T> for DefaultProbe<T> {
        fn default_value(&self) -> Option<T> {
            None
        }
    }
}

/// The README's code, compiled as doc tests so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
