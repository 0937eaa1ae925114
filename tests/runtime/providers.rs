//! OpenAI, Anthropic and Ollama wire formats, streamed and not, against the fake server.

use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply, WireFormat};

use crate::support::*;

const ANSWER: &str = "Quantum computers use qubits — 量子 🧮 — to explore many states at once.";

#[tokio::test]
async fn streamed_text_equals_collected_text_on_both_providers() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        for _ in 0..3 {
            server.push(Reply::text(ANSWER));
        }
        let mut agent = agent(provider, &server);

        let whole = agent.run("Explain quantum computing").await.unwrap();
        assert_eq!(whole.content_text(), ANSWER, "{provider:?}");
        assert_eq!(whole.event, RunEvent::RunContent);

        let (items, error) = drain(agent.run_stream("Explain quantum computing")).await;
        assert!(error.is_none(), "{provider:?}: {error:?}");
        assert_eq!(text_of(&items), ANSWER, "{provider:?}: text exactly once");
        let content_items = items
            .iter()
            .filter(|i| i.event == RunEvent::RunContent)
            .count();
        assert!(
            content_items > 5,
            "{provider:?}: streamed in pieces, got {content_items}"
        );
        assert_eq!(items.first().map(|i| i.event), Some(RunEvent::RunStarted));
        let completed = items.last().unwrap();
        assert_eq!(completed.event, RunEvent::RunCompleted);
        assert_eq!(
            completed.content.as_text(),
            ANSWER,
            "the completed event carries the whole answer"
        );
        assert_eq!(agent.last_response().content_text(), ANSWER);

        // Agno's `stream` flag stuck to the agent after a streamed run; here each call decides.
        agent.run("Explain quantum computing").await.unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        assert!(
            !requests[0].is_streaming(),
            "run() makes a non-streaming call"
        );
        assert!(requests[1].is_streaming(), "run_stream() streams");
        assert!(!requests[2].is_streaming(), "streaming is not sticky");
    }
}

#[tokio::test]
async fn every_item_of_a_run_carries_its_run_id_and_agent() {
    let server = FakeLlm::start().await.unwrap();
    let mut agent = agent(Provider::OpenAI, &server);
    let (items, _) = drain(agent.run_stream("hi")).await;
    let run_id = &items[0].run_id;
    assert!(!run_id.is_empty());
    assert!(items
        .iter()
        .all(|i| &i.run_id == run_id && i.agent_name.as_deref() == Some("Tester")));
    let (next, _) = drain(agent.run_stream("again")).await;
    assert_ne!(&next[0].run_id, run_id, "each run has its own id");
}

#[tokio::test]
async fn openai_request_shape_and_usage() {
    let server = FakeLlm::start().await.unwrap();
    let mut agent = agent_builder(Provider::OpenAI, &server)
        .description("You are terse.")
        .instructions(["Answer in one line.", "No jargon."])
        .expected_output("One sentence.")
        .markdown(true)
        .build()
        .unwrap();
    let (items, error) = drain(agent.run_stream("  What is Rust?  ")).await;
    assert!(error.is_none());
    let request = &server.requests()[0];
    assert_eq!(request.format, WireFormat::OpenAI);
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(request.body["model"], "gpt-4o");
    assert_eq!(request.body["stream_options"]["include_usage"], true);
    let messages = request.messages();
    assert_eq!(messages[0]["role"], "system");
    let system = messages[0]["content"].as_str().unwrap();
    for part in [
        "You are terse.",
        "Answer in one line.",
        "No jargon.",
        "One sentence.",
        "markdown",
    ] {
        assert!(
            system.contains(part),
            "system message lacks {part:?}: {system}"
        );
    }
    assert_eq!(messages[1]["role"], "user");
    assert_eq!(
        messages[1]["content"], "  What is Rust?  ",
        "the prompt is sent unchanged"
    );

    let metrics = &items.last().unwrap().metrics;
    assert!(
        metrics.input_tokens > 0 && metrics.output_tokens > 0,
        "{metrics:?}"
    );
    assert_eq!(
        metrics.total_tokens,
        metrics.input_tokens + metrics.output_tokens
    );
    assert_eq!(metrics.model_calls, 1);
    assert!(metrics.time_to_first_token.is_some() && metrics.duration.is_some());
    assert!(metrics.time_to_first_token <= metrics.duration);
}

#[tokio::test]
async fn anthropic_request_shape_and_usage() {
    let server = FakeLlm::start().await.unwrap();
    let mut agent = agent_builder(Provider::Anthropic, &server)
        .instructions(["Be kind."])
        .build()
        .unwrap();
    let response = agent.run("Hello").await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.format, WireFormat::Anthropic);
    assert_eq!(request.header("x-api-key"), Some(TEST_KEY));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert!(request.header("authorization").is_none());
    assert!(request.body["system"]
        .as_str()
        .unwrap()
        .contains("Be kind."));
    assert!(request.body["max_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        request.messages().len(),
        1,
        "the system message is not a message"
    );
    assert!(response.metrics.input_tokens > 0 && response.metrics.output_tokens > 0);
}

#[tokio::test]
async fn ollama_uses_its_openai_compatible_endpoint_without_a_key() {
    let server = FakeLlm::start().await.unwrap();
    let mut agent = Agent::builder()
        .model(Ollama::new("llama3.2").base_url(server.url()))
        .build()
        .unwrap();
    let answer = agent.run("hi").await.unwrap();
    assert_eq!(answer.content_text(), weft_testkit::DEFAULT_REPLY_TEXT);
    let request = &server.requests()[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert!(request.header("authorization").is_none());
    assert_eq!(agent.model().provider(), "ollama");
}

#[tokio::test]
async fn model_spec_strings_build_agents() {
    let agent = Agent::builder()
        .model("anthropic:claude-sonnet-4-5")
        .build()
        .unwrap();
    assert_eq!(agent.model().provider(), "anthropic");
    let err = Agent::builder().model("gemini:pro").build().unwrap_err();
    assert!(matches!(err, weft::Error::ModelSpec { .. }), "{err}");
    let err = Agent::builder().build().unwrap_err();
    assert!(err.to_string().contains(".model("), "{err}");
}

#[tokio::test]
async fn history_is_sent_when_asked_for() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("Hi Ada."));
    server.push(Reply::text("Your name is Ada."));
    let mut agent = agent_builder(Provider::OpenAI, &server)
        .add_history_to_messages(true)
        .num_history_runs(1)
        .build()
        .unwrap();
    agent.run("I am Ada.").await.unwrap();
    agent.run("What is my name?").await.unwrap();
    let messages = server.requests()[1].messages().to_vec();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(messages[1]["content"], "Hi Ada.");

    let server2 = FakeLlm::start().await.unwrap();
    let mut forgetful = crate::support::agent(Provider::OpenAI, &server2);
    forgetful.run("I am Ada.").await.unwrap();
    forgetful.run("What is my name?").await.unwrap();
    assert_eq!(
        server2.requests()[1].messages().len(),
        1,
        "no history by default"
    );
}

#[tokio::test]
async fn cloned_agents_do_not_share_history_or_responses() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("first"));
    server.push(Reply::text("second"));
    let mut a = agent_builder(Provider::OpenAI, &server)
        .add_history_to_messages(true)
        .build()
        .unwrap();
    let mut b = a.clone();
    a.run("to a").await.unwrap();
    b.run("to b").await.unwrap();
    assert_eq!(a.last_response().content_text(), "first");
    assert_eq!(b.last_response().content_text(), "second");
    assert_eq!(
        server.requests()[1].messages().len(),
        1,
        "b never saw a's run"
    );
}

/// The macro checks model specs at compile time against its own list of providers; it must be
/// the runtime's list.
#[test]
fn the_macro_knows_the_same_providers_as_the_runtime() {
    let stderr = include_str!("../ui/cases/fail/unknown_provider.stderr");
    let expected = format!(
        "known providers: {}",
        weft::providers::KNOWN_PROVIDERS.join(", ")
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[tokio::test]
async fn an_answer_cut_at_the_token_limit_says_so() {
    for provider in BOTH {
        for streamed in [true, false] {
            let server = FakeLlm::start().await.unwrap();
            server.push(Reply::text("It was the best of").cut_off());
            let mut agent = agent(provider, &server);
            let response = if streamed {
                let (items, error) = drain(agent.run_stream("Tell me a story")).await;
                assert!(error.is_none(), "{provider:?}: {error:?}");
                items.last().unwrap().clone()
            } else {
                agent.run("Tell me a story").await.unwrap()
            };
            assert_eq!(
                response.finish_reason,
                Some(weft::FinishReason::Length),
                "{provider:?} streamed={streamed}"
            );
            assert_eq!(response.content.as_text(), "It was the best of");
        }
        let server = FakeLlm::start().await.unwrap();
        let answer = agent(provider, &server).run("hi").await.unwrap();
        assert_eq!(answer.finish_reason, Some(weft::FinishReason::Stop));
    }
}

/// The fake server's pacing reaches the metrics: time to first token is at least the scripted
/// delay, and the duration covers every chunk's delay (lower bounds from the server's
/// schedule only: never flaky).
#[tokio::test]
async fn time_to_first_token_and_duration_follow_the_servers_pacing() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(
            Reply::chunks(["a", "b", "c", "d"])
                .ttft(std::time::Duration::from_millis(120))
                .chunk_delay(std::time::Duration::from_millis(30)),
        );
        let mut agent = agent(provider, &server);
        let (items, error) = drain(agent.run_stream("hi")).await;
        assert!(error.is_none(), "{provider:?}: {error:?}");
        let metrics = &items.last().unwrap().metrics;
        let ttft = metrics.time_to_first_token.unwrap();
        let duration = metrics.duration.unwrap();
        assert!(
            ttft >= std::time::Duration::from_millis(120),
            "{provider:?}: {ttft:?}"
        );
        // The server sends chunk n at 120 + 30 n ms after the request: the last at 210 ms.
        assert!(
            duration >= std::time::Duration::from_millis(210),
            "{provider:?}: three more chunks 30 ms apart: {duration:?}"
        );
        assert!(duration >= ttft);
    }
}

/// The metrics of one run of `prompt`, collected or streamed.
async fn metrics_of(agent: &mut Agent, prompt: &str, streamed: bool) -> weft::Metrics {
    if streamed {
        let (items, error) = drain(agent.run_stream(prompt)).await;
        assert!(error.is_none(), "{error:?}");
        items.last().unwrap().metrics.clone()
    } else {
        agent.run(prompt).await.unwrap().metrics
    }
}

/// Prompt tokens read from or written to the provider's prompt cache count as input (Anthropic
/// reports them apart from `input_tokens`, OpenAI within `prompt_tokens`), and the part read
/// from the cache is reported apart, collected and streamed, on both providers, in the
/// metrics and the agent's usage.
#[tokio::test]
async fn prompt_cache_tokens_count_as_input_and_are_reported_apart() {
    for provider in BOTH {
        for streamed in [false, true] {
            let server = FakeLlm::start().await.unwrap();
            server.push(Reply::text("Fresh answer."));
            server.push(Reply::text("Cached answer.").cached_prompt(1000, 24));
            let mut agent = agent(provider, &server);
            let fresh = metrics_of(&mut agent, "Explain sled", streamed).await;
            let cached = metrics_of(&mut agent, "Explain sled", streamed).await;
            let case = format!("{provider:?} streamed={streamed}");
            assert!(fresh.input_tokens > 0, "{case}");
            assert_eq!(fresh.cached_input_tokens, 0, "{case}");
            assert_eq!(
                cached.input_tokens,
                fresh.input_tokens + 1024,
                "{case}: cache reads and writes are input"
            );
            assert_eq!(cached.cached_input_tokens, 1000, "{case}");
            assert_eq!(cached.output_tokens, fresh.output_tokens, "{case}");
            assert_eq!(
                cached.total_tokens,
                cached.input_tokens + cached.output_tokens,
                "{case}"
            );
            let usage = agent.usage();
            assert_eq!(
                usage.input_tokens,
                fresh.input_tokens + cached.input_tokens,
                "{case}"
            );
            assert_eq!(usage.cached_input_tokens, 1000, "{case}");
        }
    }
}
