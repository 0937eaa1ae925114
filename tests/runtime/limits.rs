//! Bounded by default: the tool loop's turn cap, tool timeouts, tools that panic, and the caps
//! on SSE lines, SSE events, whole response bodies and what a call's deltas add up to. Without
//! its limit, each test would loop, hang, or grow memory without bound.

use std::time::Duration;

use serde_json::json;
use weft::agent::DEFAULT_MAX_TURNS;
use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

fn no_parameters() -> serde_json::Value {
    json!({"type": "object", "properties": {}})
}

fn noop() -> FunctionTool {
    FunctionTool::new("noop", "Does nothing.", no_parameters(), |_| async {
        Ok::<_, ToolError>("done")
    })
}

/// A tool whose call never finishes.
fn forever() -> FunctionTool {
    FunctionTool::new("forever", "Never answers.", no_parameters(), |_| {
        futures::future::pending::<Result<String, ToolError>>()
    })
}

fn tool_choice_is_none(request: &weft_testkit::CapturedRequest) -> bool {
    let choice = &request.body["tool_choice"];
    choice == "none" || choice["type"] == "none"
}

#[tokio::test]
async fn a_model_that_always_calls_tools_stops_at_the_default_max_turns() {
    for provider in BOTH {
        // Every reply, forever, is another tool call.
        let server = FakeLlm::builder()
            .default_reply(Reply::tool_call("noop", json!({})))
            .start()
            .await
            .unwrap();
        let mut agent = agent_builder(provider, &server)
            .tool(noop())
            .build()
            .unwrap();
        let err = agent.run("Loop.").await.unwrap_err();
        assert!(
            matches!(
                err,
                weft::Error::ToolCallLimit {
                    limit: DEFAULT_MAX_TURNS,
                    setting: "max_turns"
                }
            ),
            "{provider:?}: {err}"
        );
        assert!(err.to_string().contains("`max_turns` of 10"), "{err}");
        assert_eq!(server.request_count(), DEFAULT_MAX_TURNS, "{provider:?}");
        let requests = server.requests();
        assert!(
            tool_choice_is_none(&requests[DEFAULT_MAX_TURNS - 1]),
            "{provider:?}: the last turn is told to answer in text"
        );
        assert!(!requests[..DEFAULT_MAX_TURNS - 1]
            .iter()
            .any(tool_choice_is_none));
        assert_eq!(agent.last_response().tools.len(), DEFAULT_MAX_TURNS - 1);
    }
}

#[tokio::test]
async fn max_turns_forces_an_answer_on_the_last_turn() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::tool_call("noop", json!({})));
    server.push(Reply::text("Answered with what I had."));
    let mut agent = agent_builder(Provider::Anthropic, &server)
        .tool(noop())
        .max_turns(2)
        .build()
        .unwrap();
    let response = agent.run("Go.").await.unwrap();
    assert_eq!(response.content_text(), "Answered with what I had.");
    assert_eq!(response.tools.len(), 1);
    let requests = server.requests();
    assert!(!tool_choice_is_none(&requests[0]));
    assert!(tool_choice_is_none(&requests[1]));

    let err = agent_builder(Provider::OpenAI, &server)
        .max_turns(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, weft::Error::Config(_)), "{err}");
}

#[tokio::test]
async fn a_tool_that_never_finishes_times_out_and_the_model_is_told() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("forever", json!({})));
        server.push(Reply::text("The tool timed out."));
        let mut agent = agent_builder(provider, &server)
            .tool(forever())
            .tool_timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let (items, error) = drain(agent.run_stream("Go.")).await;
        assert!(error.is_none(), "{provider:?}: {error:?}");
        let completed = items
            .iter()
            .find(|item| item.event == RunEvent::ToolCallCompleted)
            .unwrap();
        let execution = &completed.tools[0];
        assert!(execution.is_error);
        let result = execution.result.as_deref().unwrap();
        assert!(
            result.contains("`forever` did not finish within 50ms"),
            "{result}"
        );
        assert!(
            server.requests()[1]
                .body
                .to_string()
                .contains("did not finish within 50ms"),
            "{provider:?}: the model sees the timeout"
        );
        assert_eq!(text_of(&items), "The tool timed out.");
    }
}

#[tokio::test]
async fn a_tools_own_timeout_wins_over_the_agents() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::tool_call("forever", json!({})));
    server.push(Reply::text("Done."));
    // The agent's timeout is the default (60 s); the tool's own is 50 ms.
    let mut agent = agent_builder(Provider::OpenAI, &server)
        .tool(forever().with_timeout(Duration::from_millis(50)))
        .build()
        .unwrap();
    let response = agent.run("Go.").await.unwrap();
    let result = response.tools[0].result.as_deref().unwrap();
    assert!(result.contains("did not finish within 50ms"), "{result}");
    assert_eq!(response.content_text(), "Done.");
}

#[tokio::test]
async fn a_sync_tool_closure_that_panics_is_a_tool_error() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::tool_call("boom", json!({})));
    server.push(Reply::text("The tool broke."));
    // The closure panics while making its future, before there is a future to poll.
    let boom = FunctionTool::new("boom", "Panics.", no_parameters(), |args| {
        let wanted = args["missing"].as_str().unwrap().to_string();
        async move { Ok::<_, ToolError>(wanted) }
    });
    let mut agent = agent_builder(Provider::OpenAI, &server)
        .tool(boom)
        .build()
        .unwrap();
    let response = agent.run("Go.").await.unwrap();
    assert!(response.tools[0].is_error);
    assert_eq!(
        response.tools[0].result.as_deref(),
        Some("error: the tool `boom` panicked")
    );
    assert_eq!(response.content_text(), "The tool broke.");
}

fn too_large(err: &weft::Error, wanted: &str) -> bool {
    matches!(err, weft::Error::ResponseTooLarge { limit, .. } if *limit == wanted)
}

#[tokio::test]
async fn an_endless_sse_line_ends_the_run_with_a_typed_error() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("one two three").endless_line_after(1));
        let mut agent = agent(provider, &server);
        let (items, error) = drain(agent.run_stream("Go.")).await;
        let error = error.unwrap();
        assert!(too_large(&error, "sse_line"), "{provider:?}: {error}");
        assert!(error.to_string().contains("1048576 bytes"), "{error}");
        assert_eq!(text_of(&items), "one ");
        assert_eq!(agent.last_response().content_text(), "one ");
        assert_eq!(server.request_count(), 1, "not retried");
    }
}

#[tokio::test]
async fn an_endless_sse_event_ends_the_run_with_a_typed_error() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("one two three").endless_event_after(2));
        let mut agent = agent(provider, &server);
        let (items, error) = drain(agent.run_stream("Go.")).await;
        let error = error.unwrap();
        assert!(too_large(&error, "sse_event"), "{provider:?}: {error}");
        assert_eq!(text_of(&items), "one two ");
    }
}

#[tokio::test]
async fn an_endless_non_streamed_body_is_a_typed_error() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("never whole").endless_line_after(0));
        let mut agent = agent(provider, &server);
        let err = agent.run("Go.").await.unwrap_err();
        assert!(too_large(&err, "body"), "{provider:?}: {err}");
        assert!(err.to_string().contains("ResponseLimits::body"), "{err}");
        assert_eq!(server.request_count(), 1, "not retried");
    }
}

#[tokio::test]
async fn endless_small_text_deltas_end_the_run_with_a_typed_error() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        // Every delta is small (4 KiB, far under the SSE limits) and whole; they never stop.
        server.push(Reply::chunks(["a".repeat(4096)]).endless_deltas_after(1));
        let mut agent = agent(provider, &server);
        let (items, error) = drain(agent.run_stream("Go.")).await;
        let error = error.unwrap();
        assert!(too_large(&error, "answer"), "{provider:?}: {error}");
        assert!(error.to_string().contains("16777216 bytes"), "{error}");
        assert_eq!(
            text_of(&items).len(),
            16 << 20,
            "{provider:?}: every delta up to the 16 MiB default, and not one more"
        );
        assert_eq!(server.request_count(), 1, "not retried");
    }
}
