//! The harness of the server tests: a weft server in this process on port 0 (memory store)
//! hosting `Writer`, whose agent talks to the fake LLM, and a small SSE client.

use std::future::Future;

use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use weft::prelude::*;
use weft::serve::Server;
use weft::StorageRef;
use weft_testkit::FakeLlm;

/// The input of [`Writer`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Topic {
    /// What to write about.
    pub topic: String,
    /// How many words, if it matters.
    #[serde(default)]
    pub words: Option<u32>,
}

/// Writes about a topic: one streamed model call; counts its runs in the session state.
#[workflow]
pub struct Writer {
    pub writer: Agent,
}

#[workflow]
impl Writer {
    fn run(&mut self, input: Topic) -> RunStream<'_> {
        try_stream! {
            for await item in self.writer.run_stream(format!("Write about {}", input.topic)) {
                yield item?;
            }
            let runs: u32 = self.session_state.get("runs").unwrap_or(0);
            self.session_state.insert("runs", runs + 1)?;
        }
    }
}

/// The writer agent, on `llm`.
pub fn writer_agent(llm_url: &str) -> Agent {
    Agent::builder()
        .name("writer")
        .model(
            OpenAIChat::new("gpt-4o")
                .base_url(llm_url)
                .api_key("sk-test"),
        )
        .retries(0)
        .build()
        .unwrap()
}

/// A weft server in this process, serving until stopped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The fake LLM its workflows call.
    pub llm: FakeLlm,
    /// Its store.
    pub storage: StorageRef,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<weft::Result<()>>>,
}

impl TestServer {
    /// A server hosting `Writer` on a memory store.
    pub async fn start() -> TestServer {
        TestServer::start_with(|server| server).await
    }

    /// A server hosting `Writer` on a memory store, configured further by `configure`.
    pub async fn start_with(configure: impl FnOnce(Server) -> Server) -> TestServer {
        let storage: StorageRef = std::sync::Arc::new(MemoryStorage::new());
        TestServer::start_on(storage, configure).await
    }

    /// A server hosting `Writer` on `storage` (and a new fake LLM).
    pub async fn start_on(
        storage: StorageRef,
        configure: impl FnOnce(Server) -> Server,
    ) -> TestServer {
        TestServer::start_scripted(storage, Vec::new(), configure).await
    }

    /// A server hosting `Writer` on `storage`, with a new fake LLM that has `replies` queued
    /// before the server starts (the runs it resumes at startup ask for them at once).
    pub async fn start_scripted(
        storage: StorageRef,
        replies: Vec<weft_testkit::Reply>,
        configure: impl FnOnce(Server) -> Server,
    ) -> TestServer {
        let llm = FakeLlm::start().await.unwrap();
        for reply in replies {
            llm.push(reply);
        }
        let llm_url = llm.openai_base_url();
        let server = Server::new(storage.clone())
            .workflow(move || Writer::builder().writer(writer_agent(&llm_url)));
        let bound = configure(server)
            .bind(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
            .await
            .unwrap();
        let url = format!("http://{}", bound.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve_until(async {
            let _ = stopped.await;
        }));
        TestServer {
            url,
            llm,
            storage,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Shuts the server down gracefully and returns how `serve_until` ended.
    pub async fn stop(mut self) -> weft::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap(),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// An HTTP client for the tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// `GET url` as JSON.
pub async fn get_json(url: &str) -> serde_json::Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `POST url` with a JSON body.
pub async fn post_json(url: &str, body: &serde_json::Value) -> reqwest::Response {
    client().post(url).json(body).send().await.unwrap()
}

/// `method url` without a body.
pub async fn call(method: &str, url: &str) -> reqwest::Response {
    client()
        .request(method.parse().unwrap(), url)
        .send()
        .await
        .unwrap()
}

/// One server-sent event as received.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SseEvent {
    /// `id:`, if any.
    pub id: Option<String>,
    /// `event:`, if any.
    pub event: Option<String>,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap()
    }

    /// The item, for events carrying one.
    pub fn item(&self) -> RunResponse {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Reads an event stream, yielding each event as it completes; `: comments` are counted in
/// `comments`.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: Vec<u8>,
    /// How many comment lines (`: ping`) were read.
    pub comments: Vec<String>,
}

impl SseReader {
    /// Reads `response`'s body.
    pub fn new(response: reqwest::Response) -> SseReader {
        SseReader {
            body: response.bytes_stream().boxed(),
            buffer: Vec::new(),
            comments: Vec::new(),
        }
    }

    /// The next whole event, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            match self.next_block().await {
                Some(Some(event)) => return Some(event),
                Some(None) => continue,
                None => return None,
            }
        }
    }

    /// Reads until a comment block (`: ping`) has come; `false` if the stream ended first.
    /// Events read meanwhile are returned in `events`.
    pub async fn until_comment(&mut self, events: &mut Vec<SseEvent>) -> bool {
        let before = self.comments.len();
        while self.comments.len() == before {
            match self.next_block().await {
                Some(Some(event)) => events.push(event),
                Some(None) => {}
                None => return false,
            }
        }
        true
    }

    /// The next block: an event, `Some(None)` for a block of comments only, `None` at the end.
    async fn next_block(&mut self) -> Option<Option<SseEvent>> {
        loop {
            if let Some(end) = find_blank_line(&self.buffer) {
                let block: Vec<u8> = self.buffer.drain(..end.1).collect();
                let text = String::from_utf8(block[..end.0].to_vec()).unwrap();
                let mut event = SseEvent::default();
                let mut data = Vec::new();
                let mut any = false;
                for line in text.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        self.comments.push(comment.to_string());
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    any = true;
                    match field {
                        "id" => event.id = Some(value.to_string()),
                        "event" => event.event = Some(value.to_string()),
                        "data" => data.push(value.to_string()),
                        _ => {}
                    }
                }
                if !any {
                    return Some(None);
                }
                event.data = data.join("\n");
                return Some(Some(event));
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buffer.extend_from_slice(&bytes),
                Some(Err(err)) => panic!("the event stream broke: {err}"),
                None => return None,
            }
        }
    }

    /// Every event until the stream ends.
    pub async fn rest(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }

    /// Events until one satisfies `stop` (included).
    pub async fn until(&mut self, stop: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            let done = stop(&event);
            events.push(event);
            if done {
                break;
            }
        }
        events
    }
}

/// Where the first blank line ends a block: (end of the block's text, end of the blank line).
fn find_blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    let text = buffer;
    for i in 0..text.len() {
        if text[i..].starts_with(b"\n\n") {
            return Some((i, i + 2));
        }
        if text[i..].starts_with(b"\r\n\r\n") {
            return Some((i, i + 4));
        }
    }
    None
}

/// The answer the client rule gives over the events' items (`weft::durable::answer`).
pub fn answer_of(events: &[SseEvent]) -> String {
    let items: Vec<RunResponse> = events
        .iter()
        .filter(|event| event.id.is_some())
        .map(SseEvent::item)
        .collect();
    weft::durable::answer(&items)
}

/// Runs `future` with a generous deadline, so a hang fails the test instead of stalling CI.
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(60), future)
        .await
        .expect("the test hung for 60 s")
}
