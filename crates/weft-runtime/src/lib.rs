//! # weft-runtime
//!
//! The runtime under [`weft`](https://docs.rs/weft): agents, model providers, tools, streaming
//! run events and typed errors. Most users depend on the `weft` facade instead, which
//! re-exports everything here.
//!
//! ```no_run
//! use futures::StreamExt;
//! use weft_runtime::{Agent, OpenAIChat};
//!
//! # async fn demo() -> weft_runtime::Result<()> {
//! let mut agent = Agent::builder()
//!     .name("Writer")
//!     .model(OpenAIChat::new("gpt-4o")) // key from OPENAI_API_KEY
//!     .instructions(["Answer in one paragraph."])
//!     .build()?;
//! let mut events = agent.run_stream("Explain quantum computing");
//! while let Some(event) = events.next().await {
//!     print!("{}", event?.content_text());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Map
//! Modules import downward only: each uses the ones above it, never one below, except
//! [`durable`], which ties the layers together for durable runs (agents journal through its
//! run scope, the run driver logs through its writer, its handles drive workflows).
//! - [`error`], [`message`], [`time`], [`schema`]: the one error type, chat messages,
//!   timestamps, JSON schemas from Rust types.
//! - [`telemetry`]: the spans' names and GenAI attributes, content capture, and the GenAI
//!   client metrics registry (`telemetry::metrics`).
//! - [`model`]: the [`Model`] trait, model events, tool-call assembly, output schemas.
//! - [`tool`]: the [`Tool`] trait, [`FunctionTool`], and [`Toolset`] (tools listed at run
//!   time, such as an MCP server's).
//! - [`response`]: [`RunResponse`] and [`RunEvent`], what agents and workflows yield.
//! - `http` (internal): request sending, typed HTTP errors, bounded bodies
//!   (`ResponseLimits`), the one SSE decoder.
//! - [`providers`]: `OpenAIChat`, `Claude`, `Ollama` (each behind its Cargo feature),
//!   [`Offline`]; model spec strings and [`model_from_env`].
//! - [`agent`]: [`Agent`], its builder, the tool loop, limits and retries.
//! - [`storage`]: sessions and runs: [`MemoryStorage`], `SledStorage` (feature `sled`).
//! - [`workflow`]: what `#[workflow]` builds on: session state, the run driver.
//! - [`durable`]: each run's event log and journal, resuming interrupted runs, run handles
//!   ([`RunHandle`]), journaled steps ([`RunContext`]).
//! - `web` (feature `web`): DuckDuckGo search and the article reader.
//!
//! ## Extending weft
//! Four traits are the extension surface: [`Model`] (a provider of your own), [`Tool`]
//! (anything a model may call), [`Toolset`] (tools found at run time, such as an MCP
//! server's) and [`WorkflowStorage`] (a store of your own). Wire formats,
//! stream decoders, record envelopes and the workflow driver are private; `__private` holds
//! what generated code calls and is not a public API.

/// Items that exist only when an HTTP provider (`openai`, `anthropic` or `ollama`) is
/// compiled in, as tokio's `cfg_rt!` does for its runtime.
macro_rules! cfg_http {
    ($($item:item)*) => {
        $(
            #[cfg(any(feature = "openai", feature = "anthropic", feature = "ollama"))]
            $item
        )*
    };
}
pub(crate) use cfg_http;

pub mod agent;
pub mod durable;
pub mod error;
#[cfg(test)]
mod fuzz;
cfg_http! {
    mod http;
}
pub mod message;
pub mod model;
pub mod providers;
pub mod response;
pub mod schema;
pub mod telemetry;
pub mod time;
pub mod tool;

pub use agent::{Agent, AgentBuilder, AgentUsage, RetryPolicy};
pub use durable::{Approval, Pause, RunContext, RunHandle, StepOutput, ToolApproval};
pub use error::{Error, Result};
pub use message::{Message, Role, ToolCall};
pub use model::{
    FinishReason, Model, ModelEvent, ModelRef, ModelRequest, ModelResponse, ModelStream,
    ToolChoice, ToolSpec, Usage,
};
#[cfg(feature = "anthropic")]
pub use providers::Claude;
#[cfg(feature = "ollama")]
pub use providers::Ollama;
#[cfg(feature = "openai")]
pub use providers::OpenAIChat;
pub use providers::{model_from_env, model_from_spec, IntoModel, Offline};
cfg_http! {
    pub use http::ResponseLimits;
    pub use providers::ApiKey;
}
pub use response::{Content, Metrics, RunEvent, RunResponse, RunStream, ToolExecution};
pub use tool::{
    schema_for, Confirmed, FunctionTool, IntoTools, Tool, ToolError, ToolOutput, Toolset,
};
pub mod storage;
#[cfg(feature = "web")]
pub mod web;
pub mod workflow;

#[cfg(feature = "sled")]
pub use storage::{Durability, SledStorage};
pub use storage::{
    IntoStorage, JournalEntry, JournalKind, LogHead, LoggedEvent, MemoryStorage, RunRecord,
    RunStatus, SessionFilter, StorageRef, WorkflowSession, WorkflowStorage,
};
pub use workflow::{
    SessionState, Workflow, WorkflowBuilder, WorkflowDefinition, WorkflowInput, WorkflowState,
};

/// Support for the code `#[workflow]` and `#[tool]` generate (through the `weft` facade), and
/// for weft's own benchmarks. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::durable::faults::set_fault_hook;
    #[cfg(feature = "openai")]
    pub use crate::providers::openai::streamer::decode as decode_openai_stream;
    pub use crate::tool::macro_support::{output_of, output_of_result, parse_arguments};
    pub use crate::workflow::session::{
        delete_session, load_session, new_session, rename_session, runs, sessions,
    };
    pub use crate::workflow::{initial_state, WorkflowMeta};
}
