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
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runtime is single-threaded, so a thread-local default sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);

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
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("agent.run") && logs.contains("model.call"),
        "spans were logged: {logs}"
    );
    assert!(logs.contains("retrying"), "the retry was logged: {logs}");
    assert!(!logs.contains(SECRET), "the key leaked into the logs");
    assert!(server
        .requests()
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {SECRET}"))));
}
