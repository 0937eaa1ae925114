//! Nothing is started before a run needs the tools; a server that cannot be used fails that
//! run with a typed error naming it (before any model call), and the next run tries again;
//! tool names must stay unique across an agent's tools and its servers'.

use serde_json::json;
use weft::mcp::{McpError, McpTools};
use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

#[tokio::test]
async fn building_with_a_missing_command_succeeds_and_the_first_run_reports_it() {
    let llm = FakeLlm::start().await.unwrap();
    let missing = McpTools::stdio("weft-no-such-mcp-server", ["stdio"]);
    let mut agent = agent(&llm).toolset(missing.clone()).build().unwrap();
    assert_eq!(missing.server_pid(), None);

    let error = agent.run("Hello.").await.unwrap_err();

    match &error {
        Error::ToolsetUnavailable { toolset, message } => {
            assert_eq!(toolset, "MCP server `weft-no-such-mcp-server stdio`");
            assert!(message.contains("could not start"), "{message}");
            assert!(message.contains("installed"), "{message}");
        }
        other => panic!("expected ToolsetUnavailable, got {other:?}"),
    }
    assert!(
        error.to_string().contains("weft-no-such-mcp-server"),
        "{error}"
    );
    assert_eq!(
        llm.request_count(),
        0,
        "the model was promised tools it cannot have"
    );
}

#[tokio::test]
async fn an_http_server_that_does_not_answer_fails_the_run_naming_it() {
    let llm = FakeLlm::start().await.unwrap();
    // Port 1 on the loopback address: nothing listens there.
    let mut agent = agent(&llm)
        .toolset(McpTools::http("http://127.0.0.1:1/mcp?token=secret"))
        .build()
        .unwrap();

    let error = agent.run("Hello.").await.unwrap_err();

    let Error::ToolsetUnavailable { toolset, message } = &error else {
        panic!("expected ToolsetUnavailable, got {error:?}");
    };
    assert_eq!(toolset, "MCP server <http://127.0.0.1:1/mcp>");
    assert!(message.contains("could not connect"), "{message}");
    assert!(!error.to_string().contains("secret"), "{error}");
    assert_eq!(llm.request_count(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn a_run_after_a_failed_one_tries_the_server_again() {
    let Some(server) = server("a_run_after_a_failed_one_tries_the_server_again") else {
        return;
    };
    let dir = scratch_dir("later");
    let link = dir.join("mcp-server-everything");
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("echo", json!({"message": "at last"})));
    llm.push(Reply::text("It works now."));
    let mut agent = agent(&llm)
        .toolset(McpTools::stdio(&link, ["stdio"]))
        .build()
        .unwrap();

    // Not installed yet.
    let error = agent.run("Echo.").await.unwrap_err();
    assert!(
        matches!(error, Error::ToolsetUnavailable { .. }),
        "{error:?}"
    );
    // Installed.
    linked_server(&server, &dir);
    let response = agent.run("Echo.").await.unwrap();

    assert_eq!(response.tools[0].result.as_deref(), Some("Echo: at last"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn allowing_a_tool_the_server_lacks_fails_the_run_listing_what_it_has() {
    let Some(server) = server("allowing_a_tool_the_server_lacks_fails_the_run_listing_what_it_has")
    else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    let mut agent = agent(&llm)
        .toolset(stdio(&server).allow(["echo", "ecoh"]))
        .build()
        .unwrap();

    let error = agent.run("Echo.").await.unwrap_err();

    let Error::ToolsetUnavailable { message, .. } = &error else {
        panic!("expected ToolsetUnavailable, got {error:?}");
    };
    assert!(message.contains("no tool named `ecoh`"), "{message}");
    assert!(message.contains("`get-sum`"), "{message}");
    assert_eq!(llm.request_count(), 0);
}

#[tokio::test]
async fn a_name_shared_by_an_agent_tool_and_a_server_tool_is_a_config_error_naming_both() {
    let Some(server) =
        server("a_name_shared_by_an_agent_tool_and_a_server_tool_is_a_config_error_naming_both")
    else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    let own = FunctionTool::new(
        "echo",
        "My own echo.",
        json!({"type": "object"}),
        |_| async { Ok::<_, ToolError>("mine") },
    );
    let mut clashing = agent(&llm)
        .tool(own)
        .toolset(stdio(&server))
        .build()
        .unwrap();

    let error = clashing.run("Echo.").await.unwrap_err();

    let Error::Config(message) = &error else {
        panic!("expected Config, got {error:?}");
    };
    assert!(message.contains("two tools are named `echo`"), "{message}");
    assert!(message.contains("the agent's own tools"), "{message}");
    assert!(message.contains("MCP server `"), "{message}");
    // A prefix resolves it.
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::text("Fine."));
    let own = FunctionTool::new(
        "echo",
        "My own echo.",
        json!({"type": "object"}),
        |_| async { Ok::<_, ToolError>("mine") },
    );
    let mut prefixed = agent(&llm)
        .tool(own)
        .toolset(stdio(&server).prefix("mcp_"))
        .build()
        .unwrap();
    prefixed.run("Echo.").await.unwrap();
    let names = llm.requests()[0].tool_names();
    assert_eq!(names[0], "echo");
    assert!(names.contains(&"mcp_echo".to_string()), "{names:?}");
}

#[tokio::test]
async fn connect_starts_the_server_up_front_and_reports_a_missing_one() {
    let missing = McpTools::stdio("weft-no-such-mcp-server", [""; 0]);
    let error = missing.connect().await.unwrap_err();
    assert!(matches!(error, McpError::Spawn { .. }), "{error:?}");

    let Some(server) = server("connect_starts_the_server_up_front_and_reports_a_missing_one")
    else {
        return;
    };
    let everything = stdio(&server);
    everything.connect().await.unwrap();
    let pid = everything.server_pid().unwrap();
    // The agent's first run uses that server.
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("echo", json!({"message": "early"})));
    llm.push(Reply::text("Done."));
    let mut agent = agent(&llm).toolset(everything.clone()).build().unwrap();
    let response = agent.run("Echo.").await.unwrap();
    assert_eq!(response.tools[0].result.as_deref(), Some("Echo: early"));
    assert_eq!(everything.server_pid(), Some(pid));
}
