//! [`McpTool`]: one of a server's tools, as a weft [`Tool`].

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use weft_runtime::{Tool, ToolError, ToolOutput};

use crate::connection::Connection;
use crate::content;
use crate::McpError;

/// A server's tool: the model calls it by its (prefixed) name, weft calls the server's.
pub(crate) struct McpTool {
    /// The name the model calls it by.
    name: String,
    /// The name the server calls it by.
    remote: String,
    description: String,
    parameters: Value,
    connection: Arc<Connection>,
}

impl McpTool {
    pub fn new(listed: rmcp::model::Tool, connection: Arc<Connection>) -> McpTool {
        let remote = listed.name.to_string();
        let description = listed
            .description
            .map(|description| description.to_string())
            .or(listed.title)
            .unwrap_or_default();
        McpTool {
            name: connection.config().model_name(&remote),
            remote,
            description,
            parameters: Value::Object((*listed.input_schema).clone()),
            connection,
        }
    }
}

impl Tool for McpTool {
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
        Box::pin(async move {
            let arguments = match arguments {
                Value::Object(arguments) => Some(arguments),
                Value::Null => None,
                other => {
                    return Err(McpError::InvalidArguments {
                        tool: self.name.clone(),
                        found: kind(&other),
                    }
                    .into())
                }
            };
            let result = self.connection.call(&self.remote, arguments).await?;
            let text = content::text_of(&result);
            if result.is_error == Some(true) {
                return Err(McpError::ToolFailed {
                    tool: self.remote.clone(),
                    text,
                }
                .into());
            }
            Ok(ToolOutput::Text(text))
        })
    }

    fn timeout(&self) -> Option<Duration> {
        self.connection.config().timeout
    }

    fn needs_approval(&self) -> bool {
        self.connection.config().confirm.contains(&self.remote)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
