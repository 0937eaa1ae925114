//! Tools: functions the model may call.
//!
//! A [`Tool`] has a name, a description, a JSON schema of its parameters and an async `call`
//! taking the arguments as JSON. The agent sends the schemas with every model call, runs the
//! calls of one turn concurrently and feeds each result (or error) back to the model.
//!
//! [`FunctionTool`] makes a tool from a closure. (The `#[tool]` macro, which derives the schema
//! from Rust types, builds on this trait.)

mod function;
pub(crate) mod toolset;
pub use toolset::Toolset;
pub(crate) mod macro_support;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::model::ToolSpec;

pub use crate::schema::schema_for;
pub use function::FunctionTool;

/// The error a tool returns; its `Display` text is sent to the model as the result.
pub type ToolError = Box<dyn std::error::Error + Send + Sync>;

/// What a tool returns to the model.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolOutput {
    /// Text, sent as is.
    Text(String),
    /// JSON, sent as its compact text.
    Json(Value),
}

impl ToolOutput {
    /// The text sent to the model.
    pub fn into_text(self) -> String {
        match self {
            ToolOutput::Text(text) => text,
            ToolOutput::Json(json) => json.to_string(),
        }
    }
}

impl From<String> for ToolOutput {
    fn from(text: String) -> Self {
        ToolOutput::Text(text)
    }
}

impl From<&str> for ToolOutput {
    fn from(text: &str) -> Self {
        ToolOutput::Text(text.to_string())
    }
}

impl From<Value> for ToolOutput {
    fn from(json: Value) -> Self {
        ToolOutput::Json(json)
    }
}

/// A function the model may call.
pub trait Tool: Send + Sync {
    /// The name the model calls it by (letters, digits, `_` and `-`).
    fn name(&self) -> &str;

    /// What the tool does, written for the model.
    fn description(&self) -> &str;

    /// JSON schema of the arguments object.
    fn parameters(&self) -> Value;

    /// Runs the tool with the model's arguments. An `Err` is not fatal: its text goes back to
    /// the model as the tool result, marked as an error.
    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>>;

    /// How long one call may take before it is stopped and the model is told it did not
    /// finish; `None` (the default) uses the agent's `tool_timeout`.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Whether every call waits for a person's approval before it runs (`#[tool(confirm)]`,
    /// [`FunctionTool::confirm`], or any tool wrapped in [`Confirmed`]; `false` by default).
    ///
    /// Inside a workflow run, such a call pauses the run like
    /// [`RunContext::interrupt`](crate::RunContext::interrupt), asking a
    /// [`ToolApproval`](crate::durable::ToolApproval) (the tool and the call's arguments)
    /// answered by an [`Approval`](crate::durable::Approval). Approved, the call runs; rejected,
    /// the model gets "the user rejected this call" (with the reason) as the call's result and
    /// the run goes on. An agent run outside a workflow run cannot pause: there the call is
    /// not run, and the model is told it needs approval that only a workflow run can ask for.
    fn needs_approval(&self) -> bool {
        false
    }

    /// The tool as the model sees it.
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name().to_string(),
            description: self.description().to_string(),
            parameters: self.parameters(),
        }
    }
}

impl<T: Tool + ?Sized> Tool for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn description(&self) -> &str {
        (**self).description()
    }
    fn parameters(&self) -> Value {
        (**self).parameters()
    }
    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        (**self).call(arguments)
    }
    fn timeout(&self) -> Option<Duration> {
        (**self).timeout()
    }
    fn needs_approval(&self) -> bool {
        (**self).needs_approval()
    }
}

impl<T: Tool + ?Sized> Tool for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn description(&self) -> &str {
        (**self).description()
    }
    fn parameters(&self) -> Value {
        (**self).parameters()
    }
    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        (**self).call(arguments)
    }
    fn timeout(&self) -> Option<Duration> {
        (**self).timeout()
    }
    fn needs_approval(&self) -> bool {
        (**self).needs_approval()
    }
}

/// Any tool whose every call waits for a person's approval first
/// ([`Tool::needs_approval`]): `Confirmed(send_email)`.
///
/// ```
/// use weft_runtime::tool::{Confirmed, FunctionTool, Tool, ToolError};
/// let send = FunctionTool::new("send", "Sends the draft.", serde_json::json!({}), |_| async {
///     Ok::<_, ToolError>("sent")
/// });
/// assert!(Confirmed(send).needs_approval());
/// ```
#[derive(Clone, Debug)]
pub struct Confirmed<T>(pub T);

impl<T: Tool> Tool for Confirmed<T> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn description(&self) -> &str {
        self.0.description()
    }
    fn parameters(&self) -> Value {
        self.0.parameters()
    }
    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        self.0.call(arguments)
    }
    fn timeout(&self) -> Option<Duration> {
        self.0.timeout()
    }
    fn needs_approval(&self) -> bool {
        true
    }
}

/// Anything an agent's `.tool(..)` / `.tools(..)` accepts: a single [`Tool`], or a toolkit
/// (`#[tool]` on an impl block) that provides several.
pub trait IntoTools {
    /// The tools, shared.
    fn into_tools(self) -> Vec<Arc<dyn Tool>>;
}

impl<T: Tool + 'static> IntoTools for T {
    fn into_tools(self) -> Vec<Arc<dyn Tool>> {
        vec![Arc::new(self)]
    }
}

impl fmt::Debug for dyn Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tool({})", self.name())
    }
}
