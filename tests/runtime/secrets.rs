//! API keys never show in `Debug`, `Display` or logs (a missing key is tested in
//! `environment`).

use std::io::Write;
use std::sync::{Arc, Mutex};

use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

const SECRET: &str = "sk-live-DO-NOT-LEAK-8d1e";

#[tokio::test]
async fn keys_never_appear_in_debug_output() {
    let openai = OpenAIChat::new("gpt-4o").api_key(SECRET);
    let claude = Claude::new("claude").api_key(SECRET);
    let agent = Agent::builder().model(openai.clone()).build().unwrap();
    let shown = format!("{openai:?} {openai:#?} {claude:?} {agent:?} {agent:#?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Captures every `tracing` event and span of this thread, at TRACE level, until the
    /// guard is dropped (the test runtime is single-threaded, so it sees every event).
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn keys_never_appear_in_logs_or_errors() {
    let logs = Captured::default();
    let _guard = logs.install();

    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::status(401));
    server.push(Reply::status(500));
    server.push(Reply::text("ok"));
    for model in [
        Arc::new(
            OpenAIChat::new("gpt-4o")
                .base_url(server.openai_base_url())
                .api_key(SECRET),
        ) as weft::ModelRef,
        Arc::new(
            Claude::new("claude")
                .base_url(server.anthropic_base_url())
                .api_key(SECRET),
        ),
    ] {
        let mut agent = Agent::builder()
            .model(model)
            .retry_policy(fast_retries())
            .build()
            .unwrap();
        if let Err(err) = agent.run("hi").await {
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
        let _ = drain(agent.run_stream("hi")).await;
    }
    let logs = logs.text();
    assert!(
        logs.contains("invoke_agent") && logs.contains("chat{"),
        "spans were logged: {logs}"
    );
    assert!(logs.contains("retrying"), "the retry was logged: {logs}");
    assert!(!logs.contains(SECRET), "the key leaked into the logs");
    assert!(server
        .requests()
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {SECRET}"))));
}

/// A key some gateways take in the URL, as user info and as a query parameter.
const URL_SECRET: &str = "url-key-5b0e77c1";

/// `base` (`http://host:port[/path]`) with [`URL_SECRET`] as its password and `api-key`.
fn keyed(base: &str) -> String {
    let rest = base.strip_prefix("http://").unwrap();
    format!("http://user:{URL_SECRET}@{rest}?api-key={URL_SECRET}")
}

/// The three HTTP providers with [`URL_SECRET`] in their endpoint; `base` gives the endpoint
/// of each without it.
fn keyed_models(openai: &str, anthropic: &str, ollama: &str) -> Vec<weft::ModelRef> {
    vec![
        Arc::new(
            OpenAIChat::new("gpt-4o")
                .base_url(keyed(openai))
                .api_key(SECRET),
        ),
        Arc::new(
            Claude::new("claude-sonnet-4-5")
                .base_url(keyed(anthropic))
                .api_key(SECRET),
        ),
        Arc::new(Ollama::new("llama3.2").base_url(keyed(ollama))),
    ]
}

/// Runs `model` once collected and once streamed, both failing: every error's `Display` and
/// `Debug`, and the model's and agent's `Debug`.
async fn failures_shown(model: weft::ModelRef) -> Vec<String> {
    let mut agent = Agent::builder()
        .model(model.clone())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let mut shown = vec![format!("{model:?}"), format!("{agent:#?}")];
    let err = agent.run("hi").await.unwrap_err();
    shown.extend([err.to_string(), format!("{err:?}")]);
    let (_, err) = drain(agent.run_stream("hi")).await;
    let err = err.expect("the streamed run fails too");
    shown.extend([err.to_string(), format!("{err:?}")]);
    shown
}

/// A key in an endpoint (user info and query) shows nowhere: not in a connection error, not in
/// a 500, not in `Debug` of the models or agents, not in TRACE logs; on OpenAI, Anthropic and
/// Ollama, collected and streamed.
#[tokio::test]
async fn keys_in_endpoints_never_appear_in_errors_debug_or_logs() {
    let logs = Captured::default();
    let _guard = logs.install();

    // (a) Nothing listens: the connection is refused. The port stays bound (without
    // listening) for the whole test, so no other test's server can take it meanwhile.
    let refusing = tokio::net::TcpSocket::new_v4().unwrap();
    refusing.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = format!("http://{}", refusing.local_addr().unwrap());
    // (b) The fake server answers every request with a 500.
    let server = FakeLlm::builder()
        .default_reply(Reply::status(500))
        .start()
        .await
        .unwrap();
    let mut shown = Vec::new();
    let mut network = 0;
    let mut status_500 = 0;
    for model in keyed_models(&format!("{closed}/v1"), &closed, &closed)
        .into_iter()
        .chain(keyed_models(
            &server.openai_base_url(),
            &server.anthropic_base_url(),
            &server.url(),
        ))
    {
        let texts = failures_shown(model).await;
        network += texts.iter().filter(|t| t.starts_with("Network {")).count();
        status_500 += texts
            .iter()
            .filter(|t| t.starts_with("Provider {") && t.contains("status: 500"))
            .count();
        shown.extend(texts);
    }
    assert_eq!(network, 6, "refused connections fail as network errors");
    assert_eq!(
        status_500, 6,
        "the fake's 500 reaches each provider's endpoint"
    );
    assert!(server.request_count() >= 6);
    for text in &shown {
        assert!(!text.contains(URL_SECRET), "the URL's key leaked: {text}");
        assert!(!text.contains(SECRET), "the API key leaked: {text}");
    }
    let logs = logs.text();
    assert!(
        logs.contains("127.0.0.1") && logs.contains("retrying"),
        "the endpoints and retried errors were logged: {logs}"
    );
    assert!(
        !logs.contains(URL_SECRET),
        "the URL's key leaked into the logs"
    );
    assert!(!logs.contains(SECRET), "the API key leaked into the logs");
}
