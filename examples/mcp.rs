//! An agent with an MCP server's tools: the server given on the command line (a command to
//! start over stdio, or a streamable HTTP URL), the answer streamed, each tool call shown.
//!
//! ```text
//! cargo run --example mcp -- npx -y @modelcontextprotocol/server-everything
//! cargo run --example mcp -- --prompt "What time is it in Tokyo?" uvx mcp-server-time
//! cargo run --example mcp -- http://127.0.0.1:3001/mcp
//! WEFT_MCP_SERVER="npx -y @modelcontextprotocol/server-everything" cargo run --example mcp
//! ```
//!
//! The model comes from `weft::model_from_env()`; without a key it is the offline model,
//! which needs no network: it calls the first of the server's tools whose arguments it can
//! fill from the prompt, then restates what came back. The server is started (or connected
//! to) when the agent first runs, and stopped when the program ends.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use weft::mcp::McpTools;
use weft::prelude::*;

const USAGE: &str = "usage: cargo run --example mcp -- [--prompt TEXT] SERVER...
  SERVER is an MCP server: a command that starts one over stdio (its arguments follow it),
  or the URL of a streamable HTTP endpoint. Without one on the command line, WEFT_MCP_SERVER
  is read (the same, space-separated). For example:
    cargo run --example mcp -- npx -y @modelcontextprotocol/server-everything
    cargo run --example mcp -- http://127.0.0.1:3001/mcp";

/// The prompt and the server's words (command and arguments, or a URL).
fn args() -> (String, Vec<String>) {
    let mut prompt = "Echo the word loom with your tools.".to_string();
    let mut server = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--prompt" if server.is_empty() => prompt = args.next().unwrap_or_default(),
            _ => server.push(arg),
        }
    }
    if server.is_empty() {
        server = std::env::var("WEFT_MCP_SERVER")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
    }
    (prompt, server)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (prompt, server) = args();
    let Some((program, server_args)) = server.split_first() else {
        eprintln!("weft: no MCP server given\n{USAGE}");
        return ExitCode::from(2);
    };
    let tools = if program.starts_with("http://") || program.starts_with("https://") {
        McpTools::http(program.as_str())
    } else {
        McpTools::stdio(program, server_args)
    }
    .timeout(Duration::from_secs(30));
    match run(tools, prompt).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("weft: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(tools: McpTools, prompt: String) -> weft::Result<()> {
    let mut agent = Agent::builder()
        .name("Assistant")
        .model(weft::model_from_env()?)
        .instructions(["Use your tools when they help; say what they returned."])
        .toolset(tools.clone()) // nothing is started yet
        .build()?;

    // Not needed (the first run connects), but it shows what the model will be offered.
    match tools.list().await {
        Ok(listed) => {
            let names: Vec<&str> = listed.iter().map(|tool| tool.name()).collect();
            eprintln!(
                "[{}: {} tools: {}]",
                tools.label(),
                names.len(),
                names.join(", ")
            );
        }
        Err(error) => {
            return Err(weft::Error::ToolsetUnavailable {
                toolset: tools.label().to_string(),
                message: error.to_string(),
            })
        }
    }

    let mut stdout = std::io::stdout();
    let mut events = agent.run_stream(prompt);
    while let Some(event) = events.next().await {
        let event = event?;
        for call in &event.tools {
            match event.event {
                RunEvent::ToolCallStarted => {
                    eprintln!("[calling {}({})]", call.name, call.arguments)
                }
                RunEvent::ToolCallCompleted => eprintln!(
                    "[{} {}: {}]",
                    call.name,
                    if call.is_error { "failed" } else { "returned" },
                    call.result.as_deref().unwrap_or_default()
                ),
                _ => {}
            }
        }
        // A closed pipe (`| head`) ends the output, not the program with a panic.
        if write!(stdout, "{}", event.content_text())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
    }
    drop(events);
    let _ = writeln!(stdout);
    Ok(())
}
