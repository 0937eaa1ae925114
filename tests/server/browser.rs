//! The playground (`GET /`) in a real browser: headless Chromium driven through chromedriver
//! (Debian's `chromium` and `chromium-driver`). A run streams into the page, a reload mid-run
//! shows its text once and keeps following it, and a server with API keys asks for one.
//!
//! Without chromedriver or Chromium the tests say how to install them and pass, unless
//! `WEFT_REQUIRE_BROWSER=1` is set. Screenshots go to `target/browser-screenshots/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use weft_testkit::{Gate, Reply};

use weft_examples::approval::{ApprovalWorkflow, Outbox, Sent};

use crate::support::{within, TestServer};

/// How long a wait for the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// The answer of the held run: twelve distinct words, streamed one per chunk.
const ANSWER: &str = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima";
/// What the page shows while the fake LLM holds after four chunks.
const FIRST_FOUR: &str = "alpha bravo charlie delta ";

/// A run streams into `#output`; a reload while the model is held shows the text once
/// (replayed from `?after=0`) and follows the run live to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_streams_a_run_and_a_reload_mid_run_shows_it_once() {
    let Some(browser) = Browser::open("reload_mid_run").await else {
        return;
    };
    let (server, gate) = server_holding_after_four().await;

    browser.goto(&server.at("/")).await;
    browser.element("field-topic").await;
    browser
        .element("workflow")
        .await
        .select_by_value("Writer")
        .await
        .unwrap();
    browser.run_topic("the sea").await;

    within(gate.reached()).await;
    let before = browser
        .wait_for("the first four words", |page| page.output == FIRST_FOUR)
        .await;
    assert_eq!(before.status, "running");
    assert!(!before.run_id.is_empty(), "no run id shown: {before:?}");
    browser.screenshot("streaming").await;

    browser.client.refresh().await.unwrap();
    let after = browser
        .wait_for("the first four words again after the reload", |page| {
            page.output == FIRST_FOUR
        })
        .await;
    assert_eq!(after.run_id, before.run_id, "the reload forgot the run");
    assert_eq!(after.status, "running");
    assert_eq!(after.output.matches("alpha").count(), 1, "{after:?}");
    browser.screenshot("reloaded").await;

    gate.open();
    let done = browser
        .wait_for("the run to complete", |page| page.status == "completed")
        .await;
    assert_eq!(done.output, ANSWER, "the answer, exactly once");
    assert_eq!(done.error, "", "an error was shown");
    assert_eq!(server.llm.request_count(), 1, "the reload started a run");
    browser.screenshot("completed").await;
    browser.close().await;
}

/// With API keys the page asks for one, lists the workflows once it has it, runs, and keeps
/// it (localStorage) across a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_asks_for_the_api_key_and_uses_it() {
    let Some(browser) = Browser::open("api_key").await else {
        return;
    };
    let server = TestServer::start_with(|server| server.api_keys(["k-123"])).await;
    server.llm.push(Reply::text("keys work fine"));

    browser.goto(&server.at("/")).await;
    let asked = browser
        .wait_for("the API key prompt", |page| {
            page.key_prompt && page.error.contains("API key")
        })
        .await;
    assert_eq!(asked.workflows, Vec::<String>::new());
    browser.screenshot("key-prompt").await;

    browser
        .element("api-key")
        .await
        .send_keys("k-123")
        .await
        .unwrap();
    browser.element("save-key").await.click().await.unwrap();
    let listed = browser
        .wait_for("the workflows", |page| !page.workflows.is_empty())
        .await;
    assert_eq!(listed.workflows, ["Writer"]);
    assert_eq!(listed.error, "");

    browser
        .element("field-topic")
        .await
        .send_keys("keys")
        .await
        .unwrap();
    browser.element("run").await.click().await.unwrap();
    let done = browser
        .wait_for("the run to complete", |page| page.status == "completed")
        .await;
    assert_eq!(done.output, "keys work fine");
    browser.screenshot("completed").await;

    // The key is remembered: a reload replays the run's events with it.
    browser.client.refresh().await.unwrap();
    let replayed = browser
        .wait_for("the replayed run", |page| {
            page.status == "completed" && page.output == "keys work fine"
        })
        .await;
    assert_eq!(replayed.run_id, done.run_id);
    assert_eq!(replayed.error, "");
    browser.close().await;
}

/// Cancel ends a held run as `cancelled`; on a fresh page the sessions panel lists its
/// session and run, and clicking the run replays its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_cancels_a_run_and_replays_it_from_the_sessions_panel() {
    let Some(browser) = Browser::open("cancel_and_sessions").await else {
        return;
    };
    let (server, gate) = server_holding_after_four().await;

    browser.goto(&server.at("/")).await;
    browser.run_topic("the sea").await;
    within(gate.reached()).await;
    let running = browser
        .wait_for("the first four words", |page| page.output == FIRST_FOUR)
        .await;
    browser.element("cancel").await.click().await.unwrap();
    let cancelled = browser
        .wait_for("the run to be cancelled", |page| page.status == "cancelled")
        .await;
    assert_eq!(cancelled.output, FIRST_FOUR);
    assert_eq!(cancelled.error, "");
    browser.screenshot("cancelled").await;

    // A fresh page (no run remembered) lists the session; its run replays from the start.
    browser.goto(&server.at("/?fresh")).await;
    let listed = browser
        .wait_for("the session", |page| !page.sessions.is_empty())
        .await;
    assert_eq!(listed.run_id, "", "a run was remembered: {listed:?}");
    let session = &listed.sessions[0];
    browser
        .click_css(&format!("#sessions li[data-session-id='{session}']"))
        .await;
    let runs = browser
        .wait_for("the session's runs", |page| !page.runs.is_empty())
        .await;
    assert_eq!(
        runs.runs,
        [(running.run_id.clone(), "cancelled".to_string())]
    );
    browser
        .click_css(&format!(
            "#session-runs li[data-run-id='{}']",
            running.run_id
        ))
        .await;
    let replayed = browser
        .wait_for("the replayed run", |page| {
            page.status == "cancelled" && page.output == FIRST_FOUR
        })
        .await;
    assert_eq!(replayed.run_id, running.run_id);
    browser.screenshot("replayed").await;
    gate.open();
    browser.close().await;
}

/// A run that pauses shows its question and a form made from the answer's schema (a checkbox
/// for `approve`, a text field for `edited_draft`); a reload while paused shows it again, and
/// the answer continues the run to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_answers_a_paused_run_from_a_form() {
    let Some(browser) = Browser::open("pause_form").await else {
        return;
    };
    let outbox = Outbox::default();
    let sent = outbox.clone();
    let server = TestServer::start_with(move |server| {
        // The offline model drafts: no LLM is needed.
        server.workflow(move || {
            ApprovalWorkflow::builder()
                .writer(offline_writer())
                .outbox(outbox.clone())
        })
    })
    .await;

    browser.goto(&server.at("/")).await;
    browser
        .element("workflow")
        .await
        .select_by_value("ApprovalWorkflow")
        .await
        .unwrap();
    browser
        .element("field-to")
        .await
        .send_keys("ana@example.com")
        .await
        .unwrap();
    browser.run_topic("the launch").await;
    let paused = browser
        .wait_for("the question", |page| page.question.is_some())
        .await;
    assert_eq!(paused.status, "paused");
    let question = paused.question.clone().unwrap();
    assert!(question.contains("ana@example.com"), "{question}");
    assert!(question.contains("\"draft\""), "{question}");
    browser.screenshot("paused").await;

    // A reload shows the paused run and its form again.
    browser.client.refresh().await.unwrap();
    let reloaded = browser
        .wait_for("the question after the reload", |page| {
            page.question.is_some()
        })
        .await;
    assert_eq!(
        (reloaded.run_id.as_str(), reloaded.status.as_str()),
        (paused.run_id.as_str(), "paused")
    );

    browser
        .element("answer-edited_draft")
        .await
        .send_keys("Hello Ana!")
        .await
        .unwrap();
    browser
        .element("answer-approve")
        .await
        .click()
        .await
        .unwrap();
    browser.element("continue").await.click().await.unwrap();
    let done = browser
        .wait_for("the run to complete", |page| page.status == "completed")
        .await;
    assert_eq!(done.question, None, "the form is gone");
    assert_eq!(done.run_id, paused.run_id);
    browser.screenshot("continued").await;
    let record = server
        .storage
        .read_run(&paused.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, weft::RunStatus::Completed);
    assert_eq!(
        sent.sent(),
        [Sent {
            to: "ana@example.com".into(),
            body: "Hello Ana!".into()
        }],
        "the approved, edited email was sent once"
    );
    browser.close().await;
}

/// The offline model, as the approval workflow's writer.
fn offline_writer() -> weft::Agent {
    weft::Agent::builder()
        .name("writer")
        .model(weft::Offline::default())
        .build()
        .unwrap()
}

/// A stock `EventSource` (no playground code) follows a run: it parses the framing (`id`,
/// named events, JSON data with `seq`), gets every event once, and when the stream ends it
/// reconnects by itself with `Last-Event-ID`, gets `204` and stops (readyState CLOSED)
/// instead of replaying the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_event_source_gets_every_event_once_and_stops_after_the_end() {
    let Some(browser) = Browser::open("stock_event_source").await else {
        return;
    };
    let (server, gate) = server_holding_after_four().await;
    let started = crate::support::post_json(
        &server.at("/v1/workflows/Writer/runs"),
        &serde_json::json!({"input": {"topic": "sources"}, "mode": "background"}),
    )
    .await;
    let started: serde_json::Value = started.json().await.unwrap();
    let run_id = started["run_id"].as_str().unwrap().to_string();

    browser.goto(&server.at("/health")).await; // same origin, no playground code
    let setup = format!(
        r#"
        window.got = [];
        window.opens = 0;
        window.es = new EventSource("/v1/runs/{run_id}/events");
        window.es.onopen = () => {{ window.opens += 1; }};
        for (const name of {EVENT_NAMES}) {{
            window.es.addEventListener(name, (e) => {{
                const data = JSON.parse(e.data);
                window.got.push([e.lastEventId, e.type, data.seq ?? null, typeof data.content === "string" ? data.content : ""]);
            }});
        }}
        return true;
        "#
    );
    check(
        browser.client.execute(&setup, Vec::new()).await,
        "setting up the EventSource",
    );
    let held = browser
        .wait_script(
            "four deltas",
            "return window.got.filter((e) => e[1] === 'RunContent').length >= 4 ? window.got : null;",
        )
        .await;
    assert!(!held.as_array().unwrap().is_empty());
    gate.open();
    // The run ends, the server closes the stream, the EventSource reconnects with its last id,
    // gets 204, and closes for good.
    let events = browser
        .wait_script(
            "the EventSource to close after the run",
            "return window.es.readyState === 2 ? {got: window.got, opens: window.opens} : null;",
        )
        .await;
    let got = events["got"].as_array().unwrap();
    let seqs: Vec<u64> = got.iter().map(|e| e[2].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every seq once, in order"
    );
    for event in got {
        assert_eq!(
            event[0].as_str().unwrap(),
            event[2].to_string(),
            "id: is the seq"
        );
    }
    assert_eq!(got.last().unwrap()[1], "WorkflowCompleted");
    let text: String = got
        .iter()
        .filter(|e| e[1] == "RunContent")
        .map(|e| e[3].as_str().unwrap())
        .collect();
    assert_eq!(text, ANSWER);
    assert_eq!(
        events["opens"], 1,
        "the reconnect got 204: no second stream"
    );
    browser.screenshot("closed").await;
    browser.close().await;
}

/// Every event name a weft stream may carry.
const EVENT_NAMES: &str = r#"["WorkflowStarted", "RunStarted", "RunContent", "ToolCallStarted", "ToolCallCompleted", "RunCompleted", "RunError", "StepStarted", "StepCompleted", "WorkflowCompleted", "ContentDiscarded", "RunCancelled"]"#;

/// A server whose next model answer is [`ANSWER`], held after its first four words until the
/// gate opens.
async fn server_holding_after_four() -> (TestServer, Gate) {
    let server = TestServer::start().await;
    let gate = Gate::new();
    server
        .llm
        .push(Reply::text(ANSWER).hold_after(4, gate.clone()));
    (server, gate)
}

/// What the test reads off the page in one round trip.
#[derive(Debug, Deserialize)]
struct PageState {
    /// `#output`'s text.
    output: String,
    /// `#status`'s text.
    status: String,
    /// `#run-id`'s text.
    run_id: String,
    /// `#error`'s text.
    error: String,
    /// Whether `#api-key` is visible.
    key_prompt: bool,
    /// The values of `#workflow`'s options.
    workflows: Vec<String>,
    /// The sessions listed.
    sessions: Vec<String>,
    /// The runs of the session shown: (run id, status).
    runs: Vec<(String, String)>,
    /// `#pause-question`'s text when the answer form is shown, else `None`.
    question: Option<String>,
}

/// Reads [`PageState`].
const STATE_SCRIPT: &str = r##"
const text = (id) => { const el = document.getElementById(id); return el ? el.textContent : ""; };
const key = document.getElementById("api-key");
const picker = document.getElementById("workflow");
return {
    output: text("output"),
    status: text("status"),
    run_id: text("run-id"),
    error: text("error"),
    key_prompt: Boolean(key && key.offsetParent !== null),
    workflows: picker ? Array.from(picker.options, (option) => option.value) : [],
    sessions: Array.from(document.querySelectorAll("#sessions li[data-session-id]"), (li) => li.dataset.sessionId),
    runs: Array.from(document.querySelectorAll("#session-runs li[data-run-id]"), (li) => [li.dataset.runId, li.dataset.status]),
    question: document.getElementById("pause-form").hidden ? null : text("pause-question"),
};
"##;

/// A headless Chromium session through a chromedriver of its own.
struct Browser {
    /// The WebDriver client.
    client: Client,
    /// Names the screenshots.
    test: &'static str,
    /// Killed when the browser is dropped.
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (after saying how to install them)
    /// when either is missing and `WEFT_REQUIRE_BROWSER` is not `1`.
    async fn open(test: &'static str) -> Option<Browser> {
        let chromedriver = find_program(&["chromedriver"]);
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
        let (Some(chromedriver), Some(chromium)) = (chromedriver, chromium) else {
            let message = "the playground browser tests need chromedriver and Chromium on PATH: \
                           install them with `apt-get install chromium chromium-driver`";
            if std::env::var("WEFT_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("{message} (WEFT_REQUIRE_BROWSER=1)");
            }
            eprintln!("SKIPPED {test}: {message}");
            return None;
        };
        let driver = Driver::start(&chromedriver, test);
        let profile = driver.profile.to_string_lossy().into_owned();
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={profile}"),
                ],
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|err| panic!("chromedriver could not start Chromium: {err}"));
        Some(Browser {
            client,
            test,
            _driver: driver,
        })
    }

    /// Opens `url`.
    async fn goto(&self, url: &str) {
        check(self.client.goto(url).await, url);
    }

    /// The element with id `id`, once it exists.
    async fn element(&self, id: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id(id))
            .await
        {
            Ok(element) => element,
            Err(err) => {
                let shot = self.screenshot("failure").await;
                panic!(
                    "no #{id} after {WAIT:?}: {err} (screenshot: {})",
                    shot.display()
                );
            }
        }
    }

    /// Clicks the element `selector` finds, once it exists.
    async fn click_css(&self, selector: &str) {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(selector))
            .await
        {
            Ok(element) => check(element.click().await, selector),
            Err(err) => {
                let shot = self.screenshot("failure").await;
                panic!(
                    "no {selector} after {WAIT:?}: {err} (screenshot: {})",
                    shot.display()
                );
            }
        }
    }

    /// Types `topic` into `#field-topic` and clicks `#run`.
    async fn run_topic(&self, topic: &str) {
        self.element("field-topic")
            .await
            .send_keys(topic)
            .await
            .unwrap();
        self.element("run").await.click().await.unwrap();
    }

    /// The page as it is now.
    async fn state(&self) -> PageState {
        let value = check(
            self.client.execute(STATE_SCRIPT, Vec::new()).await,
            "reading the page",
        );
        check(serde_json::from_value(value), "the page state")
    }

    /// Polls the page until `done` holds (failing, with a screenshot, after [`WAIT`]).
    async fn wait_for(&self, what: &str, done: impl Fn(&PageState) -> bool) -> PageState {
        let deadline = Instant::now() + WAIT;
        loop {
            let state = self.state().await;
            if done(&state) {
                return state;
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("failure").await;
                panic!(
                    "waited {WAIT:?} for {what}; the page shows {state:?} (screenshot: {})",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` until it returns something other than `null` (failing, with a
    /// screenshot, after [`WAIT`]), and returns that.
    async fn wait_script(&self, what: &str, script: &str) -> serde_json::Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = check(self.client.execute(script, Vec::new()).await, what);
            if !value.is_null() {
                return value;
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("failure").await;
                panic!(
                    "waited {WAIT:?} for {what} (screenshot: {})",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot as `target/browser-screenshots/<test>-<step>.png` and prints where.
    async fn screenshot(&self, step: &str) -> PathBuf {
        let dir = target_dir().join("browser-screenshots");
        check(std::fs::create_dir_all(&dir), dir.display());
        let path = dir.join(format!("{}-{step}.png", self.test));
        match self.client.screenshot().await {
            Ok(png) => {
                check(std::fs::write(&path, png), path.display());
                eprintln!("screenshot: {}", path.display());
            }
            Err(err) => eprintln!("no screenshot {}: {err}", path.display()),
        }
        path
    }

    /// Ends the WebDriver session (Chromium quits); chromedriver is killed on drop.
    async fn close(self) {
        let Browser {
            client,
            _driver: driver,
            ..
        } = self;
        check(client.close().await, "closing the browser");
        drop(driver);
    }
}

/// A chromedriver child process on a port it chose, killed (with the Chromium it started)
/// when dropped, also when a test panics.
struct Driver {
    /// Its process, leading a process group of its own.
    child: Child,
    /// Where it listens on 127.0.0.1.
    port: u16,
    /// Chromium's fresh profile directory, removed on drop.
    profile: PathBuf,
}

impl Driver {
    /// Starts `chromedriver --port=0` and reads the port it prints.
    fn start(chromedriver: &Path, test: &str) -> Driver {
        use std::os::unix::process::CommandExt;

        let profile =
            std::env::temp_dir().join(format!("weft-browser-{}-{test}", std::process::id()));
        check(std::fs::create_dir_all(&profile), profile.display());
        let mut child = Command::new(chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", chromedriver.display()));
        let Some(stdout) = child.stdout.take() else {
            unreachable!("stdout is piped")
        };
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        // Reads the port, then drains the rest so that chromedriver never blocks on its pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = port_tx.send(digits.parse::<u16>().ok());
                }
            }
        });
        let mut driver = Driver {
            child,
            port: 0,
            profile,
        };
        match port_rx.recv_timeout(WAIT) {
            Ok(Some(port)) => driver.port = port,
            other => panic!("chromedriver did not say its port: {other:?}"),
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group: chromedriver and the browser processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `result`'s value, or a panic naming `what`.
fn check<T, E: std::fmt::Display>(result: Result<T, E>, what: impl std::fmt::Display) -> T {
    result.unwrap_or_else(|err| panic!("{what}: {err}"))
}

/// The first of `names` found on `PATH`.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Cargo's target directory: the one this test binary is in (`target/debug/deps/server-…`).
fn target_dir() -> PathBuf {
    let exe = check(std::env::current_exe(), "the test binary");
    let from_exe = exe
        .parent()
        .filter(|deps| deps.ends_with("deps"))
        .and_then(Path::parent)
        .and_then(Path::parent);
    match from_exe {
        Some(dir) => dir.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}
