//! [`FunctionTool`]: a tool made from a name, a description, a schema and an async closure.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;

use super::{Tool, ToolError, ToolOutput};

type Handler = dyn Fn(Value) -> BoxFuture<'static, Result<ToolOutput, ToolError>> + Send + Sync;

/// A tool backed by an async closure. Cloning is cheap. A panic in the closure, whether it
/// happens before it returns its future or while the future runs, is a tool error the model
/// sees, never the end of the run.
///
/// ```
/// use serde_json::json;
/// use weft_runtime::FunctionTool;
///
/// let weather = FunctionTool::new(
///     "get_weather",
///     "Current weather in a city.",
///     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
///     |args| async move {
///         let city = args["city"].as_str().ok_or("`city` must be a string")?;
///         Ok::<_, weft_runtime::ToolError>(format!("Sunny in {city}"))
///     },
/// )
/// // The agent's `tool_timeout` (60 s by default) unless set here:
/// .with_timeout(std::time::Duration::from_secs(10));
/// ```
#[derive(Clone)]
pub struct FunctionTool {
    name: String,
    description: String,
    parameters: Value,
    handler: Arc<Handler>,
    timeout: Option<Duration>,
    confirm: bool,
}

impl FunctionTool {
    /// A tool named `name` that runs `handler` with the model's arguments.
    pub fn new<F, Fut, O, E>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: Into<ToolOutput>,
        E: Into<ToolError>,
    {
        let handler = move |arguments: Value| {
            handler(arguments)
                .map(|result| result.map(Into::into).map_err(Into::into))
                .boxed()
        };
        FunctionTool {
            name: name.into(),
            description: description.into(),
            parameters,
            handler: Arc::new(handler),
            timeout: None,
            confirm: false,
        }
    }

    /// How long one call may take (overrides the agent's `tool_timeout`); past it the call is
    /// stopped and the model gets an error result saying so.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Every call waits for a person's approval first (see [`Tool::needs_approval`]).
    pub fn confirm(mut self) -> Self {
        self.confirm = true;
        self
    }
}

impl Tool for FunctionTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> Value {
        self.parameters.clone()
    }

    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        (self.handler)(arguments)
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn needs_approval(&self) -> bool {
        self.confirm
    }
}

impl std::fmt::Debug for FunctionTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionTool")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("confirm", &self.confirm)
            .finish_non_exhaustive()
    }
}
