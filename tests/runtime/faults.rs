//! Retries and faults: 429 with Retry-After, 5xx, resets before and after the first token,
//! malformed chunks and stalls. Text is never duplicated.

use std::time::{Duration, Instant};

use weft::prelude::*;
use weft::RetryPolicy;
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

#[tokio::test]
async fn rate_limit_then_success_waits_for_retry_after() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::status(429).retry_after("1"));
        server.push(Reply::text("Finally."));
        let mut agent = agent(provider, &server);
        let started = Instant::now();
        let (items, error) = drain(agent.run_stream("hi")).await;
        assert!(error.is_none(), "{provider:?}: {error:?}");
        assert_eq!(text_of(&items), "Finally.");
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{provider:?}: Retry-After: 1 was not honoured ({:?})",
            started.elapsed()
        );
        assert_eq!(server.request_count(), 2);
    }
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_typed() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::status(500));
    server.push(Reply::status(503));
    server.push(Reply::text("Recovered."));
    let mut agent = agent(Provider::OpenAI, &server);
    assert_eq!(agent.run("hi").await.unwrap().content_text(), "Recovered.");
    assert_eq!(server.request_count(), 3, "two retries by default");

    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::status(500));
    server.push(Reply::status(502));
    server.push(Reply::text("never reached"));
    let mut agent = agent_builder(Provider::Anthropic, &server)
        .retry_policy(RetryPolicy {
            retries: 1,
            ..fast_retries()
        })
        .build()
        .unwrap();
    let err = agent.run("hi").await.unwrap_err();
    assert!(
        matches!(err, weft::Error::Provider { status: 502, .. }),
        "{err}"
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::status(400));
    let mut agent = agent(Provider::OpenAI, &server);
    let err = agent.run("hi").await.unwrap_err();
    assert!(
        matches!(err, weft::Error::Provider { status: 400, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("fake server error 400"), "{err}");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn reset_mid_stream_is_a_typed_error_without_duplicated_text() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("one two three four").reset_after(2));
        server.push(Reply::text("one two three four"));
        let mut agent = agent(provider, &server);
        let (items, error) = drain(agent.run_stream("count")).await;
        let error = error.unwrap_or_else(|| {
            panic!(
                "{provider:?}: the reset must surface; got {:?}",
                text_of(&items)
            )
        });
        assert!(
            matches!(error, weft::Error::StreamInterrupted { .. }),
            "{provider:?}: {error}"
        );
        assert_eq!(text_of(&items), "one two ", "{provider:?}: no token twice");
        assert_eq!(
            server.request_count(),
            1,
            "{provider:?}: no retry after output"
        );
        assert_eq!(
            agent.last_response().content_text(),
            "one two ",
            "the partial answer is kept"
        );
    }
}

#[tokio::test]
async fn reset_before_the_first_token_is_retried() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("lost").reset_after(0));
        server.push(Reply::text("Second try."));
        let mut retried = agent(provider, &server);
        let (items, error) = drain(retried.run_stream("hi")).await;
        assert!(error.is_none(), "{provider:?}: {error:?}");
        assert_eq!(text_of(&items), "Second try.");
        assert_eq!(server.request_count(), 2);

        // Anthropic reports input tokens before the first token: the failed attempt's usage
        // must not be counted on top of the retry's.
        let clean = FakeLlm::start().await.unwrap();
        clean.push(Reply::text("Second try."));
        let (clean_items, _) = drain(agent(provider, &clean).run_stream("hi")).await;
        assert_eq!(
            items.last().unwrap().metrics.input_tokens,
            clean_items.last().unwrap().metrics.input_tokens,
            "{provider:?}: usage counted once"
        );
    }
}

#[tokio::test]
async fn a_malformed_chunk_is_a_typed_error() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("a b c").malformed_after(1));
        let mut agent = agent(provider, &server);
        let (items, error) = drain(agent.run_stream("hi")).await;
        assert!(
            matches!(error, Some(weft::Error::InvalidResponse { .. })),
            "{provider:?}: {error:?}"
        );
        assert_eq!(text_of(&items), "a ");
    }
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::text("a b c").stall_after(1));
    let mut agent = Agent::builder()
        .model(model_with_timeout(
            Provider::OpenAI,
            &server,
            Duration::from_millis(300),
        ))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let (items, error) = drain(agent.run_stream("hi")).await;
    assert!(
        matches!(error, Some(weft::Error::Timeout { .. })),
        "{error:?}"
    );
    assert_eq!(text_of(&items), "a ");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_error_after_retries() {
    // Bind a port, then free it: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let mut agent = Agent::builder()
        .model(OpenAIChat::new("gpt-4o").base_url(url).api_key(TEST_KEY))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let err = agent.run("hi").await.unwrap_err();
    assert!(matches!(err, weft::Error::Network { .. }), "{err}");
}

#[tokio::test]
async fn a_stream_cut_before_its_end_marker_is_interrupted_not_a_short_answer() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("one two three four").truncate_after(2));
        let mut cut = agent(provider, &server);
        let (items, error) = drain(cut.run_stream("count")).await;
        assert!(
            matches!(error, Some(weft::Error::StreamInterrupted { .. })),
            "{provider:?}: a clean close mid-answer must not pass for a whole answer: {error:?}"
        );
        assert_eq!(text_of(&items), "one two ", "{provider:?}");
        assert_eq!(
            server.request_count(),
            1,
            "{provider:?}: no retry after output"
        );

        // Cut before any content: retried, and the retry's answer is whole.
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("lost").truncate_after(0));
        server.push(Reply::text("Second try."));
        let mut retried = agent(provider, &server);
        let (items, error) = drain(retried.run_stream("hi")).await;
        assert!(error.is_none(), "{provider:?}: {error:?}");
        assert_eq!(text_of(&items), "Second try.");
        assert_eq!(server.request_count(), 2);
    }
}

/// Keep-alive pings keep a connection busy, so the HTTP read timeout never fires; an answer
/// that makes no progress for the model's timeout is still a stall.
#[tokio::test]
async fn a_stream_that_only_pings_times_out() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::text("a b c").ping_forever_after(1));
        let model = model_with_timeout(provider, &server, Duration::from_millis(300));
        let mut agent = Agent::builder()
            .model(model)
            .retry_policy(fast_retries())
            .build()
            .unwrap();
        // Bounded here, so a regression fails instead of hanging the suite.
        let (items, error) =
            tokio::time::timeout(Duration::from_secs(10), drain(agent.run_stream("hi")))
                .await
                .expect("the stall must end the stream");
        assert!(
            matches!(error, Some(weft::Error::Timeout { .. })),
            "{provider:?}: {error:?}"
        );
        assert_eq!(text_of(&items), "a ", "{provider:?}");
        assert_eq!(
            server.request_count(),
            1,
            "{provider:?}: no retry after output"
        );
    }
}
