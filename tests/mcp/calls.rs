//! Round trips over stdio and HTTP; what the model sees (names, schemas, prefix, allow,
//! deny); tool errors and timeouts as results the model reads.

use std::time::Duration;

use serde_json::json;
use weft::mcp::McpTools;
use weft_testkit::mcp::HttpServer;
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

#[tokio::test]
async fn a_stdio_servers_tools_are_offered_and_called() {
    let Some(server) = server("a_stdio_servers_tools_are_offered_and_called") else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("echo", json!({"message": "woven"})));
    llm.push(Reply::text("It said woven."));
    let everything = stdio(&server);
    let mut agent = agent(&llm).toolset(everything.clone()).build().unwrap();
    assert_eq!(
        everything.server_pid(),
        None,
        "nothing runs before the first run"
    );

    let response = agent.run("Echo woven.").await.unwrap();

    assert!(everything.server_pid().is_some());

    assert_eq!(response.content_text(), "It said woven.");
    assert_eq!(response.tools.len(), 1);
    assert_eq!(response.tools[0].result.as_deref(), Some("Echo: woven"));
    assert!(!response.tools[0].is_error);
    let requests = llm.requests();
    let names = requests[0].tool_names();
    for expected in ["echo", "get-sum", "trigger-long-running-operation"] {
        assert!(names.iter().any(|name| name == expected), "{names:?}");
    }
    // The server's description and input schema, as the server gave them.
    let echo = offered(&requests[0], "echo");
    assert_eq!(
        echo["function"]["description"],
        "Echoes back the input string"
    );
    assert_eq!(
        echo["function"]["parameters"]["properties"]["message"]["type"],
        "string"
    );
    assert_eq!(tool_results(&requests[1]), ["Echo: woven"]);
}

#[tokio::test]
async fn an_http_servers_tools_are_offered_and_called() {
    let Some(server) = server("an_http_servers_tools_are_offered_and_called") else {
        return;
    };
    let http = HttpServer::start(&server).unwrap();
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("get-sum", json!({"a": 2, "b": 3})));
    llm.push(Reply::text("Five."));
    let everything = McpTools::http(http.url());
    assert!(
        everything.label().contains("127.0.0.1"),
        "{}",
        everything.label()
    );
    assert_eq!(everything.server_pid(), None);
    let mut agent = agent(&llm).toolset(everything).build().unwrap();

    let response = agent.run("Add 2 and 3.").await.unwrap();

    assert_eq!(response.content_text(), "Five.");
    assert_eq!(
        response.tools[0].result.as_deref(),
        Some("The sum of 2 and 3 is 5.")
    );
    assert!(llm.requests()[0]
        .tool_names()
        .contains(&"get-sum".to_string()));
}

#[tokio::test]
async fn prefix_allow_and_deny_shape_what_the_model_sees() {
    let Some(server) = server("prefix_allow_and_deny_shape_what_the_model_sees") else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("ev_echo", json!({"message": "prefixed"})));
    llm.push(Reply::text("Done."));
    let everything = stdio(&server)
        .prefix("ev_")
        .allow(["echo", "get-sum"])
        .deny(["get-sum"]);
    let mut agent = agent(&llm).toolset(everything).build().unwrap();

    let response = agent.run("Echo.").await.unwrap();

    assert_eq!(llm.requests()[0].tool_names(), ["ev_echo"]);
    assert_eq!(response.tools[0].name, "ev_echo");
    assert_eq!(response.tools[0].result.as_deref(), Some("Echo: prefixed"));
}

#[tokio::test]
async fn a_deny_list_alone_keeps_the_rest() {
    let Some(server) = server("a_deny_list_alone_keeps_the_rest") else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::text("Nothing to do."));
    let everything = stdio(&server).deny(["echo", "no-such-tool"]);
    let mut agent = agent(&llm).toolset(everything).build().unwrap();

    agent.run("Hello.").await.unwrap();

    let names = llm.requests()[0].tool_names();
    assert!(!names.iter().any(|name| name == "echo"), "{names:?}");
    assert!(names.iter().any(|name| name == "get-sum"), "{names:?}");
}

#[tokio::test]
async fn arguments_the_server_rejects_are_a_tool_error_the_model_reads() {
    let Some(server) = server("arguments_the_server_rejects_are_a_tool_error_the_model_reads")
    else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    llm.push(Reply::tool_call("get-sum", json!({"a": "two", "b": 3})));
    llm.push(Reply::text("I could not add them."));
    let mut agent = agent(&llm).toolset(stdio(&server)).build().unwrap();

    let response = agent.run("Add two and 3.").await.unwrap();

    assert_eq!(response.content_text(), "I could not add them.");
    assert!(response.tools[0].is_error);
    let result = response.tools[0].result.clone().unwrap();
    assert!(result.starts_with("error: "), "{result}");
    assert!(result.contains("a"), "{result}");
    assert_eq!(tool_results(&llm.requests()[1]), [result]);
}

#[tokio::test]
async fn a_call_past_its_timeout_is_a_tool_error_and_the_server_stays_usable() {
    let Some(server) =
        server("a_call_past_its_timeout_is_a_tool_error_and_the_server_stays_usable")
    else {
        return;
    };
    let llm = FakeLlm::start().await.unwrap();
    // The operation takes ten minutes; a call may take three seconds (ample for the echo
    // after it, on a busy machine).
    llm.push(Reply::tool_call(
        "trigger-long-running-operation",
        json!({"duration": 600, "steps": 1}),
    ));
    llm.push(Reply::tool_call("echo", json!({"message": "still here"})));
    llm.push(Reply::text("The slow one did not finish."));
    let everything = stdio(&server).timeout(Duration::from_secs(3));
    let mut agent = agent(&llm).toolset(everything).build().unwrap();

    let response = agent.run("Run the slow operation.").await.unwrap();

    assert_eq!(response.content_text(), "The slow one did not finish.");
    assert!(response.tools[0].is_error);
    let result = response.tools[0].result.as_deref().unwrap();
    assert!(
        result.contains("`trigger-long-running-operation` did not finish within 3s"),
        "{result}"
    );
    assert_eq!(
        response.tools[1].result.as_deref(),
        Some("Echo: still here")
    );
    assert!(!response.tools[1].is_error);
}
