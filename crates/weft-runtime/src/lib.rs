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
//! - [`agent`]: [`Agent`], its builder, the tool loop and retries.
//! - [`model`]: the [`Model`] trait, model events, model specs and [`model_from_env`].
//! - [`providers`]: [`OpenAIChat`], [`Claude`], [`Ollama`], [`Offline`].
//! - [`tool`]: the [`Tool`] trait and [`FunctionTool`].
//! - [`response`]: [`RunResponse`] and [`RunEvent`], what runs yield.
//! - [`http`]: request sending, error mapping and the one SSE decoder.
//! - [`error`]: [`Error`], the one error type.

pub mod agent;
pub mod error;
pub mod http;
pub mod message;
pub mod model;
pub mod providers;
pub mod response;
pub mod tool;

pub use agent::{Agent, AgentBuilder, AgentUsage, RetryPolicy};
pub use error::{Error, Result};
pub use message::{Message, Role, ToolCall};
pub use model::{
    model_from_env, model_from_spec, FinishReason, IntoModel, Model, ModelEvent, ModelRef,
    ModelRequest, ModelResponse, ModelStream, ToolChoice, ToolSpec, Usage,
};
pub use providers::{ApiKey, Claude, Offline, Ollama, OpenAIChat};
pub use response::{Content, Metrics, RunEvent, RunResponse, RunStream, ToolExecution};
pub use tool::{schema_for, FunctionTool, IntoTools, Tool, ToolError, ToolOutput};
pub mod storage;
#[cfg(feature = "web")]
pub mod web;
pub mod workflow;

pub use storage::{
    Durability, IntoStorage, MemoryStorage, RunRecord, RunStatus, SessionFilter, SledStorage,
    StorageRef, WorkflowSession, WorkflowStorage,
};
pub use workflow::{SessionState, Workflow, WorkflowDefinition, WorkflowInput, WorkflowState};
