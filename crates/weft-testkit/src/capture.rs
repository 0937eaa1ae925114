//! Requests the fake server received, for assertions.

use std::collections::BTreeMap;

use serde_json::Value;

/// Which wire format a request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFormat {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAI,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
}

/// One request as received.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedRequest {
    /// The wire format, from the path.
    pub format: WireFormat,
    /// The request path.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`Value::Null` if it was not JSON).
    pub body: Value,
}

impl CapturedRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Whether the request asked for a streamed answer.
    pub fn is_streaming(&self) -> bool {
        self.body["stream"] == Value::Bool(true)
    }

    /// The request's messages (`body.messages`).
    pub fn messages(&self) -> &[Value] {
        self.body["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Names of the tools offered to the model.
    pub fn tool_names(&self) -> Vec<String> {
        let tools = self.body["tools"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        tools
            .iter()
            .filter_map(|tool| {
                tool.pointer("/function/name")
                    .or_else(|| tool.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect()
    }
}
