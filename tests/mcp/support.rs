//! Agents on the fake LLM, the server under test, and reading what the model was sent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use weft::mcp::McpTools;
use weft::prelude::*;
use weft::{AgentBuilder, RetryPolicy};
use weft_testkit::{CapturedRequest, FakeLlm};

/// The server's executable, or `None` (the test then returns: skipped, and said so).
pub fn server(test: &str) -> Option<PathBuf> {
    weft_testkit::mcp::test_server(test)
}

/// The server over stdio.
pub fn stdio(executable: &Path) -> McpTools {
    McpTools::stdio(executable, ["stdio"])
}

/// An agent on the fake LLM (OpenAI wire format), with fast retries.
pub fn agent(llm: &FakeLlm) -> AgentBuilder {
    Agent::builder()
        .name("Tester")
        .model(Arc::new(
            OpenAIChat::new("gpt-4o")
                .base_url(llm.openai_base_url())
                .api_key("sk-test-mcp"),
        ) as weft::ModelRef)
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
}

/// The tool results a request carries (OpenAI format), in order.
pub fn tool_results(request: &CapturedRequest) -> Vec<String> {
    request
        .messages()
        .iter()
        .filter(|message| message["role"] == "tool")
        .map(|message| message["content"].as_str().unwrap().to_string())
        .collect()
}

/// The tool named `name` as the model was offered it.
pub fn offered<'a>(request: &'a CapturedRequest, name: &str) -> &'a serde_json::Value {
    request.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["function"]["name"] == name)
        .unwrap_or_else(|| panic!("`{name}` was not offered: {:?}", request.tool_names()))
}

/// Kills process `pid` (SIGKILL), as a crash would.
pub fn kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "could not kill {pid}");
}

/// A fresh directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mcp-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A link to the server's executable at a path the test controls: removing it makes the
/// server impossible to start again.
#[cfg(unix)]
pub fn linked_server(executable: &Path, dir: &Path) -> PathBuf {
    let link = dir.join("mcp-server-everything");
    let _ = std::fs::remove_file(&link);
    // The real file, so node resolves the package's modules from where they are.
    std::os::unix::fs::symlink(std::fs::canonicalize(executable).unwrap(), &link).unwrap();
    link
}
