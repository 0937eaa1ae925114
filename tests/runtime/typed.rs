//! Structured output (`Agent::run_typed`) through each mechanism: OpenAI's `response_format`,
//! Anthropic's native `output_config.format`, and Anthropic's answer tool. Success, a misfit
//! repaired in one turn, and a second misfit reported with the raw answer.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use weft::prelude::*;
use weft::providers::anthropic::StructuredOutput;
use weft::AgentBuilder;
use weft_testkit::{CapturedRequest, FakeLlm, Reply, WireFormat};

use crate::support::*;

/// How a typed answer is asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mechanism {
    /// OpenAI's `response_format: json_schema`.
    OpenAI,
    /// Anthropic's native JSON output (`claude-sonnet-4-5` has it).
    Native,
    /// Anthropic's answer tool.
    AnswerTool,
}

const MECHANISMS: [Mechanism; 3] = [Mechanism::OpenAI, Mechanism::Native, Mechanism::AnswerTool];

fn typed_builder(mechanism: Mechanism, server: &FakeLlm) -> AgentBuilder {
    let model = match mechanism {
        Mechanism::OpenAI => model(Provider::OpenAI, server),
        Mechanism::Native => model(Provider::Anthropic, server),
        Mechanism::AnswerTool => Arc::new(
            Claude::new("claude-sonnet-4-5")
                .base_url(server.anthropic_base_url())
                .api_key(TEST_KEY)
                .structured_output(StructuredOutput::AnswerTool),
        ),
    };
    Agent::builder()
        .name("Tester")
        .model(model)
        .retry_policy(fast_retries())
}

fn typed_agent(mechanism: Mechanism, server: &FakeLlm) -> Agent {
    typed_builder(mechanism, server).build().unwrap()
}

/// Which mechanism `request` used to ask for the answer named `name`.
fn mechanism_of(request: &CapturedRequest, name: &str) -> Mechanism {
    match request.format {
        WireFormat::OpenAI => {
            assert_eq!(request.body["response_format"]["type"], "json_schema");
            Mechanism::OpenAI
        }
        WireFormat::Anthropic if request.body.get("output_config").is_some() => {
            assert_eq!(
                request.body["output_config"]["format"]["type"],
                "json_schema"
            );
            assert!(!request.tool_names().contains(&name.to_string()));
            Mechanism::Native
        }
        WireFormat::Anthropic => {
            assert_eq!(request.tool_names().last().map(String::as_str), Some(name));
            Mechanism::AnswerTool
        }
    }
}

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
async fn a_typed_answer_through_each_mechanism() {
    for mechanism in MECHANISMS {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::json(found()));
        let mut agent = typed_agent(mechanism, &server);
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources[0].url, "https://sled.test", "{mechanism:?}");
        assert_eq!(agent.last_response().content, Content::Json(found()));

        let request = &server.requests()[0];
        assert_eq!(mechanism_of(request, "Sources"), mechanism);
        match mechanism {
            Mechanism::OpenAI => {
                let format = &request.body["response_format"];
                assert_eq!(
                    format["json_schema"]["strict"], true,
                    "Option fields stay strict"
                );
                assert_eq!(
                    format["json_schema"]["schema"]["properties"]["sources"]["items"]["required"],
                    json!(["note", "title", "url"])
                );
            }
            Mechanism::Native => {
                let schema = &request.body["output_config"]["format"]["schema"];
                assert_eq!(
                    schema["properties"]["sources"]["items"]["required"],
                    json!(["note", "title", "url"])
                );
                assert_eq!(schema["additionalProperties"], false);
                assert!(request.tool_names().is_empty(), "no answer tool");
                assert!(request.body.get("tool_choice").is_none());
                assert!(
                    request.header("anthropic-beta").is_none(),
                    "generally available: no beta header"
                );
            }
            Mechanism::AnswerTool => {
                assert_eq!(request.tool_names(), ["Sources"]);
                assert_eq!(
                    request.body["tool_choice"],
                    json!({"type": "tool", "name": "Sources"})
                );
                assert!(request.body.get("output_config").is_none());
            }
        }
    }
}

/// Claude models without native JSON output (before 4.5) get the answer tool; a model id weft
/// does not know can be told to use native output.
#[tokio::test]
async fn claude_models_pick_their_mechanism_by_id_unless_told() {
    for (model, expected) in [
        (Claude::new("claude-opus-4-1"), Mechanism::AnswerTool),
        (Claude::new("claude-haiku-4-5-20251001"), Mechanism::Native),
        (
            Claude::new("my-gateway-alias").structured_output(StructuredOutput::Native),
            Mechanism::Native,
        ),
    ] {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::json(found()));
        let mut agent = Agent::builder()
            .model(
                model
                    .base_url(server.anthropic_base_url())
                    .api_key(TEST_KEY),
            )
            .build()
            .unwrap();
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources[0].title, "Sled");
        assert_eq!(mechanism_of(&server.requests()[0], "Sources"), expected);
    }
}

#[tokio::test]
async fn a_misfit_answer_is_repaired_once() {
    for mechanism in MECHANISMS {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::json(json!({"sources": [{"title": "Sled"}]})));
        server.push(Reply::json(found()));
        let mut agent = typed_agent(mechanism, &server);
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources.len(), 1, "{mechanism:?}");
        assert_eq!(server.request_count(), 2);
        let requests = server.requests();
        let repair = requests[1].messages();
        let last = repair.last().unwrap().to_string();
        assert!(
            last.contains("does not match the required JSON schema")
                && last.contains("missing field `url`"),
            "{mechanism:?}: the error goes back to the model: {last}"
        );
    }
}

#[tokio::test]
async fn a_second_misfit_is_an_invalid_output_error_with_the_raw_answer() {
    for mechanism in MECHANISMS {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::json(json!({"sources": "none"})));
        server.push(Reply::json(json!({"sources": 3})));
        let mut agent = typed_agent(mechanism, &server);
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
                assert!(raw.contains("\"sources\":3"), "{mechanism:?}: {raw}");
                assert!(error.contains("at `sources`"), "{error}");
                assert!(type_name.ends_with("Sources"));
            }
            other => panic!("{mechanism:?}: {other}"),
        }
        assert_eq!(server.request_count(), 2, "one repair, no more");
    }
}

#[tokio::test]
async fn tools_run_before_the_typed_answer() {
    for mechanism in MECHANISMS {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("lookup", json!({"topic": "sled"})));
        server.push(Reply::json(found()));
        let lookup = FunctionTool::new(
            "lookup",
            "Looks a topic up",
            json!({"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}),
            |_args| async { Ok::<_, weft::ToolError>(json!({"hits": 1})) },
        );
        let mut agent = typed_builder(mechanism, &server)
            .tools([lookup])
            .build()
            .unwrap();
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources[0].title, "Sled");
        let first = &server.requests()[0];
        assert_eq!(mechanism_of(first, "Sources"), mechanism);
        match mechanism {
            Mechanism::AnswerTool => {
                assert_eq!(first.tool_names(), ["lookup", "Sources"]);
                assert_eq!(
                    first.body["tool_choice"],
                    json!({"type": "any"}),
                    "a tool, or the answer tool"
                );
            }
            Mechanism::Native => {
                assert_eq!(first.tool_names(), ["lookup"]);
                assert!(
                    first.body.get("tool_choice").is_none(),
                    "a tool, or the answer in text"
                );
            }
            Mechanism::OpenAI => {}
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
    for mechanism in MECHANISMS {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("lookup", json!({"topic": "sled"})).with_json(found()));
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut agent = typed_builder(mechanism, &server)
            .tools([lookup_tool(calls.clone())])
            .build()
            .unwrap();
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources[0].url, "https://sled.test", "{mechanism:?}");
        assert_eq!(server.request_count(), 1, "{mechanism:?}: no extra turn");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}

#[tokio::test]
async fn at_the_tool_call_limit_the_answer_is_forced() {
    for mechanism in MECHANISMS {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("lookup", json!({"topic": "sled"})));
        server.push(Reply::json(found()));
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut agent = typed_builder(mechanism, &server)
            .tools([lookup_tool(calls.clone())])
            .tool_call_limit(1)
            .build()
            .unwrap();
        let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
        assert_eq!(answer.sources.len(), 1);
        let second = &server.requests()[1];
        assert_eq!(mechanism_of(second, "Sources"), mechanism);
        match mechanism {
            Mechanism::AnswerTool => assert_eq!(
                second.body["tool_choice"],
                json!({"type": "tool", "name": "Sources"}),
                "only the answer tool may be called"
            ),
            Mechanism::Native => assert_eq!(
                second.body["tool_choice"],
                json!({"type": "none"}),
                "no tool may be called: the answer is the text"
            ),
            Mechanism::OpenAI => assert_eq!(second.body["tool_choice"], "none"),
        }
    }
}

/// A server that ignores the forced answer tool and answers in prose gets the repair turn,
/// which forces the tool again; prose twice is `InvalidOutput` with the prose as `raw`.
#[tokio::test]
async fn prose_instead_of_the_forced_answer_tool_is_repaired_then_an_error() {
    const PROSE: &str = "The best source is the sled website.";
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text(PROSE));
    server.push(Reply::json(found()));
    let mut agent = typed_agent(Mechanism::AnswerTool, &server);
    let answer: Sources = agent.run_typed("Find sources about sled").await.unwrap();
    assert_eq!(answer.sources[0].url, "https://sled.test");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let repair = requests[1].messages();
    assert_eq!(repair[repair.len() - 2]["content"], PROSE.trim_end());
    let last = repair.last().unwrap().to_string();
    assert!(last.contains("not JSON"), "{last}");
    assert_eq!(
        requests[1].body["tool_choice"],
        json!({"type": "tool", "name": "Sources"}),
        "the repair turn forces the answer tool again"
    );

    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text(PROSE));
    server.push(Reply::text("Really, it is the sled website."));
    let mut agent = typed_agent(Mechanism::AnswerTool, &server);
    let err = agent
        .run_typed::<Sources>("Find sources about sled")
        .await
        .unwrap_err();
    match &err {
        weft::Error::InvalidOutput { raw, error, .. } => {
            assert_eq!(raw, "Really, it is the sled website.");
            assert!(error.contains("not JSON"), "{error}");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("does not fit"), "{err}");
    assert_eq!(server.request_count(), 2, "one repair, no more");
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
