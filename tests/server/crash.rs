//! kill -9 of the serve example mid-stream: the test runs `examples/serve.rs` (built as the
//! `weft-serve` binary of this crate) as a child process on port 0 with a sled store, its
//! model pointed at the fake LLM in this process; SIGKILLs it at a point the fake LLM's gate
//! pins down; starts it again on the same store; and reconnects with `Last-Event-ID`. Every
//! run must complete, the client's reassembled text must equal an uninterrupted run's, and no
//! completed model call may be asked again (the fake LLM's request counter).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{json, Value};
use weft_testkit::{FakeLlm, Gate, Reply};

use crate::support::{answer_of, client, get_json, post_json, within, SseEvent, SseReader};

const SERVE: &str = env!("CARGO_BIN_EXE_weft-serve");

/// The answer every run of these tests streams: 24 distinct words.
fn words() -> Vec<String> {
    (1..=24).map(|i| format!("word{i} ")).collect()
}

/// The serve example, running.
pub(crate) struct Served {
    child: Child,
    url: String,
}

impl Served {
    /// Starts the serve example on `db` (port 0) with its model on `llm`; waits for its
    /// `listening on` line.
    pub(crate) async fn start(db: &Path, llm: &FakeLlm) -> Served {
        Served::start_with(db, llm, &[]).await
    }

    /// [`start`](Self::start) with more arguments.
    async fn start_with(db: &Path, llm: &FakeLlm, args: &[&str]) -> Served {
        let mut all = vec![OsString::from("--db"), db.as_os_str().to_owned()];
        all.extend(args.iter().map(OsString::from));
        Served::launch(llm, &all).await
    }

    /// Starts the serve example on port 0 with these arguments (its store among them) and its
    /// model on `llm`; waits for its `listening on` line.
    pub(crate) async fn launch(llm: &FakeLlm, args: &[OsString]) -> Served {
        let mut child = Command::new(SERVE)
            .args(["--port", "0"])
            .args(args)
            .env("WEFT_MODEL", "openai:gpt-4o")
            .env("OPENAI_BASE_URL", llm.openai_base_url())
            .env("OPENAI_API_KEY", "sk-test")
            .env_remove("WEFT_API_KEYS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = within(tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            lines
                .find_map(|line| {
                    line.ok()
                        .and_then(|line| line.strip_prefix("listening on ").map(str::to_string))
                })
                .expect("the serve example ended without printing `listening on`")
        }))
        .await
        .unwrap();
        Served { child, url: line }
    }

    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Starts a streamed run of `workflow` with `body`: its id, and its event stream.
    pub(crate) async fn stream_run(&self, workflow: &str, body: Value) -> (String, SseReader) {
        let response = post_json(&self.at(&format!("/v1/workflows/{workflow}/runs")), &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let run_id = response.headers()["x-weft-run-id"]
            .to_str()
            .unwrap()
            .to_string();
        (run_id, SseReader::new(response))
    }

    /// The process id, for signals.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap it.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the server is killed.
#[derive(Clone, Copy, Debug)]
enum Point {
    /// The model call asked, nothing streamed yet.
    BeforeFirstDelta,
    /// After this many deltas reached the client.
    AfterDeltas(usize),
    /// Every delta sent, the end of the answer not yet.
    BeforeTheAnswerEnds,
    /// The client saw the model call's `RunCompleted` (the call is journaled).
    AfterTheModelCall,
}

/// One kill at `point` (and, with `second`, another kill of the restarted server after that
/// many more deltas), then a restart that finishes the run. Returns the fake LLM's count of
/// requests.
async fn kill_and_resume(name: &str, point: Point, second: Option<usize>) -> usize {
    let dir = std::env::temp_dir().join(format!("weft-serve-crash-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("store");
    let llm = FakeLlm::start().await.unwrap();
    let words = words();
    let gate = Gate::new();
    let (reply, wait_deltas) = match point {
        Point::BeforeFirstDelta => (Reply::chunks(words.clone()).hold_after(0, gate.clone()), 0),
        Point::AfterDeltas(n) => (Reply::chunks(words.clone()).hold_after(n, gate.clone()), n),
        Point::BeforeTheAnswerEnds => (
            Reply::chunks(words.clone()).hold_after(words.len(), gate.clone()),
            words.len(),
        ),
        Point::AfterTheModelCall => (Reply::chunks(words.clone()), 0),
    };
    llm.push(reply);

    let first = Served::start(&db, &llm).await;
    let (run_id, mut reader) = first
        .stream_run(
            "SimpleWorkflow",
            json!({"input": "looms", "session_id": format!("s-{name}")}),
        )
        .await;
    let mut seen: Vec<SseEvent> = Vec::new();
    let deltas = |seen: &[SseEvent]| {
        seen.iter()
            .filter(|event| event.event.as_deref() == Some("RunContent"))
            .count()
    };
    match point {
        Point::AfterTheModelCall => {
            seen =
                within(reader.until(|event| event.event.as_deref() == Some("RunCompleted"))).await;
        }
        _ => {
            within(gate.reached()).await;
            while deltas(&seen) < wait_deltas {
                seen.push(within(reader.next()).await.unwrap());
            }
        }
    }
    first.kill();
    drop(reader);

    // The redone model call (if the first never completed) answers whole, or is held again.
    let gate2 = Gate::new();
    if !matches!(point, Point::AfterTheModelCall) {
        match second {
            Some(n) => llm.push(Reply::chunks(words.clone()).hold_after(n, gate2.clone())),
            None => llm.push(Reply::chunks(words.clone())),
        };
    }
    let mut served = Served::start(&db, &llm).await;
    if let Some(n) = second {
        // Killed again, mid-stream of the resumed run, after the client saw `n` more deltas.
        let last = last_seq(&seen);
        let mut reader = SseReader::new(reconnect(&served, &run_id, last).await.unwrap());
        within(gate2.reached()).await;
        let mut more = Vec::new();
        while deltas(&more) < n {
            more.push(within(reader.next()).await.unwrap());
        }
        seen.extend(more);
        served.kill();
        drop(reader);
        llm.push(Reply::chunks(words.clone()));
        served = Served::start(&db, &llm).await;
    }
    if let Some(response) = reconnect(&served, &run_id, last_seq(&seen)).await {
        seen.extend(within(SseReader::new(response).rest()).await);
    }

    let expected = Completed {
        answer: &words.concat(),
        session_id: &format!("s-{name}"),
        counter: "posts",
    };
    expected.check(&served, &run_id, &seen, name).await;
    drop(served);
    let _ = std::fs::remove_dir_all(&dir);
    llm.request_count()
}

/// How a run a client followed to its end must look.
pub(crate) struct Completed<'a> {
    /// The whole answer, as an uninterrupted run gives it.
    pub answer: &'a str,
    /// The run's session.
    pub session_id: &'a str,
    /// The state key the run counts up once.
    pub counter: &'a str,
}

impl Completed<'_> {
    /// What the client saw (`seen`) reassembles to the answer, with each seq once and in
    /// order; `served` has the run `completed` with that answer, and its session's counter
    /// at 1 (the state saved once).
    pub(crate) async fn check(
        &self,
        served: &Served,
        run_id: &str,
        seen: &[SseEvent],
        label: &str,
    ) {
        assert_eq!(
            answer_of(seen),
            self.answer,
            "{label}: the reassembled answer"
        );
        let ids: Vec<u64> = seen
            .iter()
            .filter_map(|event| event.id.as_ref())
            .map(|id| id.parse().unwrap())
            .collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "{label}: seqs once each, in order: {ids:?}"
        );
        let run: Value = get_json(&served.at(&format!("/v1/runs/{run_id}"))).await;
        assert_eq!(run["run"]["status"], "completed", "{label}: {run}");
        assert_eq!(run["run"]["content"], self.answer, "{label}");
        let session: Value =
            get_json(&served.at(&format!("/v1/sessions/{}", self.session_id))).await;
        assert_eq!(
            session["session"]["session_state"][self.counter], 1,
            "{label}: state saved once: {session}"
        );
    }
}

/// The seq of the last event the client got (0: none).
pub(crate) fn last_seq(seen: &[SseEvent]) -> u64 {
    seen.iter()
        .rev()
        .find_map(|event| event.id.as_ref())
        .map_or(0, |id| id.parse().unwrap())
}

/// The events after `last` (`None`: `204`, nothing left).
pub(crate) async fn reconnect(
    served: &Served,
    run_id: &str,
    last: u64,
) -> Option<reqwest::Response> {
    let response = client()
        .get(served.at(&format!("/v1/runs/{run_id}/events")))
        .header("Last-Event-ID", last.to_string())
        .send()
        .await
        .unwrap();
    match response.status() {
        StatusCode::NO_CONTENT => None,
        StatusCode::OK => Some(response),
        other => panic!(
            "reconnecting got {other}: {}",
            response.text().await.unwrap()
        ),
    }
}

#[tokio::test]
async fn killed_before_the_first_delta_the_restarted_server_finishes_the_run() {
    // The model call never completed: it is asked once more, and only once.
    assert_eq!(
        kill_and_resume("before-first", Point::BeforeFirstDelta, None).await,
        2
    );
}

#[tokio::test]
async fn killed_after_three_deltas_the_client_gets_the_answer_once() {
    assert_eq!(
        kill_and_resume("after-3", Point::AfterDeltas(3), None).await,
        2
    );
}

#[tokio::test]
async fn killed_after_seventeen_deltas_the_client_gets_the_answer_once() {
    assert_eq!(
        kill_and_resume("after-17", Point::AfterDeltas(17), None).await,
        2
    );
}

#[tokio::test]
async fn killed_before_the_answer_ends_the_client_gets_the_answer_once() {
    assert_eq!(
        kill_and_resume("before-end", Point::BeforeTheAnswerEnds, None).await,
        2
    );
}

#[tokio::test]
async fn killed_after_the_model_call_completed_it_is_not_asked_again() {
    assert_eq!(
        kill_and_resume("after-call", Point::AfterTheModelCall, None).await,
        1
    );
}

#[tokio::test]
async fn killed_twice_mid_stream_the_third_server_finishes_the_run() {
    assert_eq!(
        kill_and_resume("twice", Point::AfterDeltas(5), Some(9)).await,
        3
    );
}

#[tokio::test]
async fn sigterm_interrupts_a_run_in_flight_and_the_next_start_resumes_it() {
    let dir = std::env::temp_dir().join(format!("weft-serve-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("store");
    let llm = FakeLlm::start().await.unwrap();
    let words = words();
    let gate = Gate::new();
    llm.push(Reply::chunks(words.clone()).hold_after(5, gate.clone()));
    let mut first = Served::start_with(&db, &llm, &["--grace", "0"]).await;
    let response = post_json(
        &first.at("/v1/workflows/SimpleWorkflow/runs"),
        &json!({"input": "looms", "session_id": "s-term"}),
    )
    .await;
    let run_id = response.headers()["x-weft-run-id"]
        .to_str()
        .unwrap()
        .to_string();
    let mut reader = SseReader::new(response);
    within(gate.reached()).await;
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|e: &&SseEvent| e.event.as_deref() == Some("RunContent"))
        .count()
        < 5
    {
        seen.push(within(reader.next()).await.unwrap());
    }
    // SIGTERM: no grace, so the run is interrupted at once and its stream ends; the server
    // exits by itself, with success.
    let status = Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    seen.extend(within(reader.rest()).await);
    let exit = within(tokio::task::spawn_blocking(move || {
        first.child.wait().unwrap()
    }))
    .await
    .unwrap();
    assert!(
        exit.success(),
        "the server exits cleanly on SIGTERM: {exit:?}"
    );

    // The next start resumes it (the held call was never completed: asked once more).
    llm.push(Reply::chunks(words.clone()));
    let served = Served::start(&db, &llm).await;
    if let Some(response) = reconnect(&served, &run_id, last_seq(&seen)).await {
        seen.extend(within(SseReader::new(response).rest()).await);
    }
    assert_eq!(answer_of(&seen), words.concat());
    let run: Value = get_json(&served.at(&format!("/v1/runs/{run_id}"))).await;
    assert_eq!(run["run"]["status"], "completed");
    assert_eq!(llm.request_count(), 2);
    drop(served);
    drop(gate);
    let _ = std::fs::remove_dir_all(&dir);
}
