//! The tool-call loop on both providers: round trips, concurrency, multi-turn history,
//! errors fed back, and `tool_call_limit`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply, WireFormat};

use crate::support::*;

fn weather_tool(calls: Arc<AtomicUsize>) -> FunctionTool {
    FunctionTool::new(
        "get_weather",
        "Current weather in a city.",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        move |args: Value| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let city = args["city"].as_str().ok_or("`city` must be a string")?;
                Ok::<_, ToolError>(format!("Sunny in {city}"))
            }
        },
    )
}

/// The tool results a request carries, whatever its wire format: (call id, content, is_error).
fn tool_results(request: &weft_testkit::CapturedRequest) -> Vec<(String, String, bool)> {
    let mut results = Vec::new();
    for message in request.messages() {
        match request.format {
            WireFormat::OpenAI if message["role"] == "tool" => results.push((
                message["tool_call_id"].as_str().unwrap().to_string(),
                message["content"].as_str().unwrap().to_string(),
                false,
            )),
            WireFormat::Anthropic if message["content"].is_array() => {
                for block in message["content"].as_array().unwrap() {
                    if block["type"] == "tool_result" {
                        results.push((
                            block["tool_use_id"].as_str().unwrap().to_string(),
                            block["content"].as_str().unwrap().to_string(),
                            block["is_error"].as_bool().unwrap(),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    results
}

/// The ids of the tool calls kept in assistant messages of a request.
fn assistant_tool_call_ids(request: &weft_testkit::CapturedRequest) -> Vec<String> {
    let mut ids = Vec::new();
    for message in request.messages() {
        if message["role"] != "assistant" {
            continue;
        }
        if let Some(calls) = message["tool_calls"].as_array() {
            ids.extend(calls.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        }
        if let Some(blocks) = message["content"].as_array() {
            ids.extend(
                blocks
                    .iter()
                    .filter(|b| b["type"] == "tool_use")
                    .map(|b| b["id"].as_str().unwrap().to_string()),
            );
        }
    }
    ids
}

#[tokio::test]
async fn tool_call_round_trip_on_both_providers_streamed_and_not() {
    for provider in BOTH {
        for streamed in [true, false] {
            let server = FakeLlm::start().await.unwrap();
            server.push(
                Reply::tool_call("get_weather", json!({"city": "Paris"}))
                    .with_text("Let me check. "),
            );
            server.push(Reply::text("It is sunny in Paris."));
            let calls = Arc::new(AtomicUsize::new(0));
            let mut agent = agent_builder(provider, &server)
                .tools([weather_tool(Arc::clone(&calls))])
                .build()
                .unwrap();

            let items = if streamed {
                let (items, error) = drain(agent.run_stream("Weather in Paris?")).await;
                assert!(error.is_none(), "{provider:?}: {error:?}");
                items
            } else {
                vec![agent.run("Weather in Paris?").await.unwrap()]
            };
            let label = format!("{provider:?}, streamed: {streamed}");
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{label}");
            let last = agent.last_response();
            assert_eq!(
                last.content_text(),
                "Let me check. It is sunny in Paris.",
                "{label}"
            );
            assert_eq!(last.tools.len(), 1, "{label}");
            assert_eq!(
                last.tools[0].result.as_deref(),
                Some("Sunny in Paris"),
                "{label}"
            );
            assert!(last.tools[0].duration.is_some());
            assert_eq!(last.metrics.model_calls, 2);
            if streamed {
                assert_eq!(
                    text_of(&items),
                    "Let me check. It is sunny in Paris.",
                    "{label}"
                );
                let events = events_of(&items);
                let started = events
                    .iter()
                    .position(|e| *e == RunEvent::ToolCallStarted)
                    .unwrap();
                let completed = events
                    .iter()
                    .position(|e| *e == RunEvent::ToolCallCompleted)
                    .unwrap();
                assert!(started < completed);
                assert_eq!(items[started].tools[0].name, "get_weather");
                assert_eq!(items[started].tools[0].arguments, r#"{"city":"Paris"}"#);
                assert_eq!(
                    items[completed].tools[0].result.as_deref(),
                    Some("Sunny in Paris")
                );
            }

            let requests = server.requests();
            assert_eq!(requests.len(), 2, "{label}");
            assert_eq!(requests[0].tool_names(), ["get_weather"], "{label}");
            let id = assistant_tool_call_ids(&requests[1]);
            assert_eq!(
                id,
                ["call_0"],
                "{label}: the assistant's tool-use message is kept"
            );
            let results = tool_results(&requests[1]);
            assert_eq!(results.len(), 1, "{label}");
            assert_eq!(
                (results[0].0.as_str(), results[0].1.as_str()),
                ("call_0", "Sunny in Paris")
            );
        }
    }
}

/// Two calls in one turn run concurrently: each waits for the other at a barrier, so a
/// sequential loop would never finish.
#[tokio::test]
async fn two_tool_calls_in_one_turn_run_concurrently() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_calls([
            ("rendezvous", json!({"who": "a"})),
            ("rendezvous", json!({"who": "b"})),
        ]));
        server.push(Reply::text("Both met."));
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tool = FunctionTool::new(
            "rendezvous",
            "Waits for a partner.",
            json!({"type": "object"}),
            move |args: Value| {
                let barrier = Arc::clone(&barrier);
                async move {
                    barrier.wait().await;
                    Ok::<_, ToolError>(format!("met {}", args["who"].as_str().unwrap_or("?")))
                }
            },
        );
        let mut agent = agent_builder(provider, &server)
            .tools([tool])
            .build()
            .unwrap();
        let run = tokio::time::timeout(Duration::from_secs(20), agent.run("meet")).await;
        let response = run
            .expect("the two calls did not run concurrently")
            .unwrap();
        assert_eq!(response.content_text(), "Both met.");
        let results: Vec<_> = response
            .tools
            .iter()
            .map(|t| t.result.clone().unwrap())
            .collect();
        assert_eq!(
            results,
            ["met a", "met b"],
            "{provider:?}: results in call order"
        );
        let sent = tool_results(&server.requests()[1]);
        assert_eq!(
            sent.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["call_0", "call_1"]
        );
    }
}

/// Three model turns: every assistant tool-use message and result stays in the conversation.
#[tokio::test]
async fn multi_turn_loop_keeps_every_tool_use_message() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("get_weather", json!({"city": "Paris"})));
        server.push(Reply::tool_call("get_weather", json!({"city": "Oslo"})));
        server.push(Reply::text("Paris and Oslo are sunny."));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut agent = agent_builder(provider, &server)
            .tools([weather_tool(Arc::clone(&calls))])
            .build()
            .unwrap();
        let (items, error) = drain(agent.run_stream("Compare Paris and Oslo")).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(text_of(&items), "Paris and Oslo are sunny.");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let third = &server.requests()[2];
        assert_eq!(assistant_tool_call_ids(third).len(), 2, "{provider:?}");
        let results: Vec<String> = tool_results(third).into_iter().map(|r| r.1).collect();
        assert_eq!(results, ["Sunny in Paris", "Sunny in Oslo"], "{provider:?}");
    }
}

#[tokio::test]
async fn tool_errors_unknown_tools_and_bad_arguments_go_back_to_the_model() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(
            Reply::tool_call("get_weather", json!({"town": "Paris"}))
                .with_raw_tool_call("launch_rocket", "{}")
                .with_raw_tool_call("get_weather", "{\"city\": \"Par"),
        );
        server.push(Reply::text("Sorry, I could not check."));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut agent = agent_builder(provider, &server)
            .tools([weather_tool(Arc::clone(&calls))])
            .build()
            .unwrap();
        let (items, error) = drain(agent.run_stream("Weather?")).await;
        assert!(
            error.is_none(),
            "{provider:?}: tool failures must not end the run: {error:?}"
        );
        assert_eq!(text_of(&items), "Sorry, I could not check.");
        let tools = &agent.last_response().tools;
        assert_eq!(tools.len(), 3);
        assert!(tools.iter().all(|t| t.is_error), "{tools:?}");
        assert!(tools[0]
            .result
            .as_deref()
            .unwrap()
            .contains("`city` must be a string"));
        assert!(tools[1]
            .result
            .as_deref()
            .unwrap()
            .contains("no tool named `launch_rocket`"));
        assert!(tools[2]
            .result
            .as_deref()
            .unwrap()
            .contains("not valid JSON"));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "bad JSON never reaches the tool"
        );
        let sent = tool_results(&server.requests()[1]);
        assert_eq!(sent.len(), 3, "{provider:?}: every call is answered");
        assert!(sent[1].1.contains("launch_rocket"));
        if matches!(provider, Provider::Anthropic) {
            assert!(sent.iter().all(|r| r.2), "errors are flagged is_error");
        }
    }
}

#[tokio::test]
async fn tool_call_limit_is_honoured() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_calls([
            ("get_weather", json!({"city": "Paris"})),
            ("get_weather", json!({"city": "Rome"})),
        ]));
        server.push(Reply::text("Paris is sunny; I stopped there."));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut agent = agent_builder(provider, &server)
            .tools([weather_tool(Arc::clone(&calls))])
            .tool_call_limit(1)
            .build()
            .unwrap();
        let response = agent.run("Weather in Paris and Rome?").await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "{provider:?}: only one call may run"
        );
        assert_eq!(
            response.tools.len(),
            2,
            "{provider:?}: the refused call is listed"
        );
        assert!(!response.tools[0].is_error && response.tools[1].is_error);
        assert_eq!(response.content_text(), "Paris is sunny; I stopped there.");
        let second = &server.requests()[1];
        // The tools stay in the request (Anthropic refuses tool_use blocks without them);
        // the model is told to answer in text.
        assert_eq!(second.tool_names(), ["get_weather"], "{provider:?}");
        let choice = &second.body["tool_choice"];
        assert!(
            choice == "none" || choice["type"] == "none",
            "{provider:?}: {choice}"
        );
        assert!(server.requests()[0].body.get("tool_choice").is_none());
        let results = tool_results(second);
        assert_eq!(results.len(), 2, "the refused call still gets an answer");
        assert!(
            results[1].1.contains("limit of 1 tool calls"),
            "{results:?}"
        );
    }
}

#[tokio::test]
async fn a_model_that_ignores_the_tool_call_limit_ends_the_run_instead_of_looping() {
    let server = FakeLlm::start().await.unwrap();
    // A model that calls tools on every turn, whatever it is told.
    for _ in 0..5 {
        server.push(Reply::tool_call("get_weather", json!({"city": "Paris"})));
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let mut agent = agent_builder(Provider::OpenAI, &server)
        .tools([weather_tool(Arc::clone(&calls))])
        .tool_call_limit(1)
        .build()
        .unwrap();
    let err = agent.run("Weather?").await.unwrap_err();
    assert!(
        matches!(
            err,
            weft::Error::ToolCallLimit {
                limit: 1,
                setting: "tool_call_limit"
            }
        ),
        "{err}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        server.request_count(),
        2,
        "one call run, one refused turn, then stop"
    );
}

#[tokio::test]
async fn duplicate_tool_names_are_refused_at_build() {
    let calls = Arc::new(AtomicUsize::new(0));
    let err = Agent::builder()
        .model(Offline::default())
        .tools([weather_tool(Arc::clone(&calls)), weather_tool(calls)])
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("two tools are named `get_weather`"),
        "{err}"
    );
}
