//! Servers that die mid-run: started again (stdio) or reached in a new session (HTTP), and
//! the call sent once more; servers that stay dead: a tool error the model reads, and the
//! run completes. Each test kills the server between two tool calls of one run, when the
//! first call's `ToolCallCompleted` arrives (the next model call starts only when the stream
//! is polled again), so nothing depends on timing.

use futures::StreamExt;
use serde_json::json;
use weft::mcp::McpTools;
use weft::prelude::*;
use weft_testkit::mcp::HttpServer;
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

/// Two echo calls, one per turn, then an answer.
fn script(llm: &FakeLlm) {
    llm.push(Reply::tool_call("echo", json!({"message": "one"})));
    llm.push(Reply::tool_call("echo", json!({"message": "two"})));
    llm.push(Reply::text("Both done."));
}

/// Runs `agent` to its end, calling `between` when the first tool call completed.
async fn run_killing_between(agent: &mut Agent, mut between: impl FnMut()) -> RunResponse {
    let mut events = agent.run_stream("Echo one, then two.");
    let mut done = false;
    while let Some(item) = events.next().await {
        let item = item.unwrap();
        if item.event == RunEvent::ToolCallCompleted && !done {
            done = true;
            between();
        }
    }
    drop(events);
    assert!(done, "the first tool call never completed");
    agent.last_response().clone()
}

/// agno #3724: Agno's MCP tools never reconnect after the server restarts.
#[tokio::test]
async fn a_stdio_server_killed_mid_run_is_started_again_and_the_call_retried() {
    let Some(server) =
        server("a_stdio_server_killed_mid_run_is_started_again_and_the_call_retried")
    else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    script(&llm);
    let everything = stdio(&server);
    let mut agent = agent(&llm).toolset(everything.clone()).build().unwrap();

    let mut killed = None;
    let response = run_killing_between(&mut agent, || {
        let pid = everything.server_pid().unwrap();
        kill(pid);
        killed = Some(pid);
    })
    .await;

    assert_eq!(response.content_text(), "Both done.");
    let results: Vec<_> = response.tools.iter().map(|t| t.result.as_deref()).collect();
    assert_eq!(results, [Some("Echo: one"), Some("Echo: two")]);
    assert!(response.tools.iter().all(|tool| !tool.is_error));
    let restarted = everything.server_pid().unwrap();
    assert_ne!(Some(restarted), killed, "a new server process answered");
}

/// agno #5493: a connection reset ends Agno's run. Here the server stays dead: the second
/// call is an error result saying so, and the run completes.
#[cfg(unix)]
#[tokio::test]
async fn a_stdio_server_that_stays_dead_is_a_tool_error_and_the_run_completes() {
    let Some(server) =
        server("a_stdio_server_that_stays_dead_is_a_tool_error_and_the_run_completes")
    else {
        return;
    };
    let dir = scratch_dir("stays-dead");
    let link = linked_server(&server, &dir);
    let llm = FakeLlm::start().await.unwrap();
    script(&llm);
    let everything = McpTools::stdio(&link, ["stdio"]);
    let mut agent = agent(&llm).toolset(everything.clone()).build().unwrap();

    let response = run_killing_between(&mut agent, || {
        // Killed, and impossible to start again.
        std::fs::remove_file(&link).unwrap();
        kill(everything.server_pid().unwrap());
    })
    .await;

    assert_eq!(response.content_text(), "Both done.");
    assert_eq!(response.tools[0].result.as_deref(), Some("Echo: one"));
    assert!(response.tools[1].is_error);
    let result = response.tools[1].result.as_deref().unwrap();
    assert!(result.contains("is unreachable"), "{result}");
    assert!(result.contains("could not start"), "{result}");
    // The model read it, and answered.
    assert_eq!(tool_results(&llm.requests()[2]).len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

/// agno #3724 over HTTP: the restarted server does not know the old session; a new one is
/// opened and the call sent again.
#[tokio::test]
async fn an_http_server_restarted_mid_run_gets_a_new_session_and_the_call_retried() {
    let Some(server) =
        server("an_http_server_restarted_mid_run_gets_a_new_session_and_the_call_retried")
    else {
        return;
    };
    let mut http = HttpServer::start(&server).unwrap();
    let port = http.port();
    let llm = FakeLlm::start().await.unwrap();
    script(&llm);
    let mut agent = agent(&llm)
        .toolset(McpTools::http(http.url()))
        .build()
        .unwrap();

    let response = run_killing_between(&mut agent, || {
        http.kill().unwrap();
        http = HttpServer::start_on(&server, port).unwrap();
    })
    .await;

    assert_eq!(response.content_text(), "Both done.");
    let results: Vec<_> = response.tools.iter().map(|t| t.result.as_deref()).collect();
    assert_eq!(results, [Some("Echo: one"), Some("Echo: two")]);
    assert!(response.tools.iter().all(|tool| !tool.is_error));
}

/// agno #5493 over HTTP: the server is gone (connections refused); the model is told, and
/// the run completes.
#[tokio::test]
async fn an_http_server_that_went_away_is_a_tool_error_and_the_run_completes() {
    let Some(server) =
        server("an_http_server_that_went_away_is_a_tool_error_and_the_run_completes")
    else {
        return;
    };
    let mut http = HttpServer::start(&server).unwrap();
    let llm = FakeLlm::start().await.unwrap();
    script(&llm);
    let mut agent = agent(&llm)
        .toolset(McpTools::http(http.url()))
        .build()
        .unwrap();

    let response = run_killing_between(&mut agent, || http.kill().unwrap()).await;

    assert_eq!(response.content_text(), "Both done.");
    assert_eq!(response.tools[0].result.as_deref(), Some("Echo: one"));
    assert!(response.tools[1].is_error);
    let result = response.tools[1].result.as_deref().unwrap();
    assert!(result.contains("is unreachable"), "{result}");
}

/// Calls of one turn that all find the server dead share one restart.
#[cfg(unix)]
#[tokio::test]
async fn concurrent_calls_on_a_dead_server_all_succeed_after_one_restart() {
    let Some(server) = server("concurrent_calls_on_a_dead_server_all_succeed_after_one_restart")
    else {
        return;
    };
    let dir = scratch_dir("concurrent");
    let starts = dir.join("starts");
    let wrapper = counting_wrapper(&server, &dir, &starts);
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("echo", json!({"message": "warm-up"})));
    llm.push(Reply::tool_calls([
        ("echo", json!({"message": "a"})),
        ("echo", json!({"message": "b"})),
        ("get-sum", json!({"a": 1, "b": 2})),
    ]));
    llm.push(Reply::text("All done."));
    let everything = McpTools::stdio(&wrapper, ["stdio"]);
    let mut agent = agent(&llm).toolset(everything.clone()).build().unwrap();

    let response = run_killing_between(&mut agent, || kill(everything.server_pid().unwrap())).await;

    let results: Vec<_> = response.tools.iter().map(|t| t.result.as_deref()).collect();
    assert_eq!(
        results,
        [
            Some("Echo: warm-up"),
            Some("Echo: a"),
            Some("Echo: b"),
            Some("The sum of 1 and 2 is 3.")
        ]
    );
    let started = std::fs::read_to_string(&starts).unwrap();
    assert_eq!(
        started.lines().count(),
        2,
        "the first start and one restart"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A script that notes each start in `starts`, then becomes the server (same process).
#[cfg(unix)]
fn counting_wrapper(
    server: &std::path::Path,
    dir: &std::path::Path,
    starts: &std::path::Path,
) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let wrapper = dir.join("server.sh");
    let script = format!(
        "#!/bin/sh\necho started >> '{}'\nexec '{}' \"$@\"\n",
        starts.display(),
        std::fs::canonicalize(server).unwrap().display()
    );
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}
