//! Structured output (`Agent::run_typed`) on both providers: success, a misfit repaired in one
//! turn, and a second misfit reported with the raw answer.

use serde::Deserialize;
use serde_json::json;
use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply, WireFormat};

use crate::support::*;

/// What a search agent hands to the next one.
#[derive(Debug, PartialEq, Deserialize, schemars::JsonSchema)]
struct Sources {
    /// The sources found, best first.
    sources: Vec<Source>,
}

#[derive(Debug, PartialEq, Deserialize, schemars::JsonSchema)]
struct Source {
    title: String,
    url: String,
    /// Why it is relevant, when the model says.
    note: Option<String>,
}

fn found() -> serde_json::Value {
    json!({"sources": [{"title": "Sled", "url": "https://sled.test", "note": null}]})
}

#[tokio::test]
async fn a_typed_answer_on_both_providers_uses_each_apis_schema_mechanism() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::json(found()));
        let mut agent = agent(provider, &server);
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources[0].url, "https://sled.test", "{provider:?}");
        assert_eq!(agent.last_response().content, Content::Json(found()));

        let request = &server.requests()[0];
        match request.format {
            WireFormat::OpenAI => {
                let format = &request.body["response_format"];
                assert_eq!(format["type"], "json_schema");
                assert_eq!(
                    format["json_schema"]["strict"], true,
                    "Option fields stay strict"
                );
                assert_eq!(
                    format["json_schema"]["schema"]["properties"]["sources"]["items"]["required"],
                    json!(["note", "title", "url"])
                );
            }
            WireFormat::Anthropic => {
                assert_eq!(request.tool_names(), ["Sources"]);
                assert_eq!(
                    request.body["tool_choice"],
                    json!({"type": "tool", "name": "Sources"})
                );
            }
        }
    }
}

#[tokio::test]
async fn a_misfit_answer_is_repaired_once() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::json(json!({"sources": [{"title": "Sled"}]})));
        server.push(Reply::json(found()));
        let mut agent = agent(provider, &server);
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources.len(), 1, "{provider:?}");
        assert_eq!(server.request_count(), 2);
        let requests = server.requests();
        let repair = requests[1].messages();
        let last = repair.last().unwrap().to_string();
        assert!(
            last.contains("does not match the required JSON schema")
                && last.contains("missing field `url`"),
            "{provider:?}: the error goes back to the model: {last}"
        );
    }
}

#[tokio::test]
async fn a_second_misfit_is_an_invalid_output_error_with_the_raw_answer() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::json(json!({"sources": "none"})));
        server.push(Reply::json(json!({"sources": 3})));
        let mut agent = agent(provider, &server);
        let err = agent
            .run_typed::<Sources>("Find sources about sled")
            .await
            .unwrap_err();
        match &err {
            weft::Error::InvalidOutput {
                raw,
                error,
                type_name,
            } => {
                assert!(raw.contains("\"sources\":3"), "{provider:?}: {raw}");
                assert!(error.contains("at `sources`"), "{error}");
                assert!(type_name.ends_with("Sources"));
            }
            other => panic!("{provider:?}: {other}"),
        }
        assert_eq!(server.request_count(), 2, "one repair, no more");
    }
}

#[tokio::test]
async fn tools_run_before_the_typed_answer() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("lookup", json!({"topic": "sled"})));
        server.push(Reply::json(found()));
        let lookup = FunctionTool::new(
            "lookup",
            "Looks a topic up",
            json!({"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}),
            |_args| async { Ok::<_, weft::ToolError>(json!({"hits": 1})) },
        );
        let mut agent = agent_builder(provider, &server)
            .tools([lookup])
            .build()
            .unwrap();
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources[0].title, "Sled");
        let first = &server.requests()[0];
        if first.format == WireFormat::Anthropic {
            assert_eq!(first.tool_names(), ["lookup", "Sources"]);
            assert_eq!(first.body["tool_choice"], json!({"type": "any"}));
        }
        assert_eq!(agent.last_response().tools.len(), 1);
    }
}

fn lookup_tool(calls: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> FunctionTool {
    FunctionTool::new(
        "lookup",
        "Looks a topic up",
        json!({"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}),
        move |_args| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok::<_, weft::ToolError>(json!({"hits": 1})) }
        },
    )
}

#[tokio::test]
async fn an_answer_given_next_to_tool_calls_ends_the_run() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("lookup", json!({"topic": "sled"})).with_json(found()));
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut agent = agent_builder(provider, &server)
            .tools([lookup_tool(calls.clone())])
            .build()
            .unwrap();
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources[0].url, "https://sled.test", "{provider:?}");
        assert_eq!(server.request_count(), 1, "{provider:?}: no extra turn");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn at_the_tool_call_limit_the_answer_is_forced() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("lookup", json!({"topic": "sled"})));
        server.push(Reply::json(found()));
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut agent = agent_builder(provider, &server)
            .tools([lookup_tool(calls.clone())])
            .tool_call_limit(1)
            .build()
            .unwrap();
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources.len(), 1);
        let second = &server.requests()[1];
        match second.format {
            WireFormat::Anthropic => assert_eq!(
                second.body["tool_choice"],
                json!({"type": "tool", "name": "Sources"}),
                "only the answer tool may be called"
            ),
            WireFormat::OpenAI => {
                assert_eq!(second.body["tool_choice"], "none");
                assert_eq!(second.body["response_format"]["type"], "json_schema");
            }
        }
    }
}

#[tokio::test]
async fn the_offline_model_answers_typed_requests_from_tool_results() {
    let search = FunctionTool::new(
        "search",
        "Searches the web",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        |args| async move {
            let query = args["query"].as_str().unwrap_or_default().to_string();
            Ok::<_, weft::ToolError>(json!({"query": query, "results": [
                {"title": "Sled", "url": "https://sled.test", "snippet": "An embedded database"},
                {"title": "Redb", "url": "https://redb.test", "snippet": "Another one"}
            ]}))
        },
    );
    let mut agent = Agent::builder()
        .model(Offline::default())
        .tools([search])
        .build()
        .unwrap();
    let answer: Sources = agent.run_typed("embedded databases").await.unwrap();
    assert_eq!(
        answer
            .sources
            .iter()
            .map(|s| s.url.as_str())
            .collect::<Vec<_>>(),
        ["https://sled.test", "https://redb.test"]
    );
    assert_eq!(
        agent.last_response().tools[0].arguments,
        r#"{"query":"embedded databases"}"#
    );
    let again: Sources = agent.run_typed("embedded databases").await.unwrap();
    assert_eq!(again, answer, "deterministic");
}
