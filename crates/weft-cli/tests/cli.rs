//! The `weft` binary against a real store.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use serde_json::{json, Value};
use weft_runtime::storage::LoggedEvent;
use weft_runtime::{
    Content, Metrics, Pause, RunEvent, RunRecord, RunResponse, RunStatus, SledStorage,
    ToolExecution, WorkflowSession, WorkflowStorage,
};

const WEFT: &str = env!("CARGO_BIN_EXE_weft");

struct Store {
    /// The sled store's directory (removed when the test ends); `None` for a store in
    /// PostgreSQL.
    dir: Option<PathBuf>,
    /// Set for a store in PostgreSQL: the URL and the schema its tables are in.
    postgres: Option<(String, String)>,
}

/// The event log of `run-1`: started, a content delta, a tool call, completed.
fn run_log() -> Vec<LoggedEvent> {
    let item = |seq: u64, event: RunEvent| {
        let mut item = RunResponse::new(event);
        item.run_id = "run-1".into();
        item.seq = Some(seq);
        item.created_at = 1_795_271_150_000 + seq;
        LoggedEvent {
            seq,
            identity: format!("item:test#{seq}"),
            item,
        }
    };
    let mut tool = item(3, RunEvent::ToolCallCompleted);
    tool.item.tools.push(ToolExecution {
        id: "call-1".into(),
        name: "search".into(),
        arguments: r#"{"q":"sled"}"#.into(),
        result: Some("found".into()),
        is_error: false,
        duration: Some(Duration::from_millis(3)),
    });
    let mut text = item(2, RunEvent::RunContent);
    text.item.content = Content::Text("An embedded database.".into());
    vec![
        item(1, RunEvent::WorkflowStarted),
        text,
        tool,
        item(4, RunEvent::WorkflowCompleted),
    ]
}

/// Two sessions of `research` (one named, for user ada) and one run with its event log.
async fn fill(storage: &dyn WorkflowStorage) {
    let session = |id: &str, user: Option<&str>, name: Option<&str>, at: u64| WorkflowSession {
        session_id: id.into(),
        workflow_id: "research".into(),
        workflow_name: "research".into(),
        session_name: name.map(str::to_string),
        user_id: user.map(str::to_string),
        session_state: json!({"topic": "sled"}),
        version: 0,
        created_at: at,
        updated_at: at,
    };
    storage
        .upsert_session(session("s-old", None, None, 1_795_271_100_000))
        .await
        .unwrap();
    storage
        .upsert_session(session(
            "s-new",
            Some("ada"),
            Some("Ada's research"),
            1_795_271_160_000,
        ))
        .await
        .unwrap();
    storage
        .put_run(RunRecord {
            run_id: "run-1".into(),
            session_id: "s-new".into(),
            workflow_id: "research".into(),
            input: json!("What is sled?"),
            status: RunStatus::Completed,
            content: "An embedded database.".into(),
            last_seq: 4,
            start_state: None,
            metrics: Metrics {
                input_tokens: 31,
                cached_input_tokens: 0,
                output_tokens: 54,
                total_tokens: 85,
                model_calls: 1,
                time_to_first_token: None,
                duration: Some(Duration::from_millis(812)),
            },
            error: None,
            created_at: 1_795_271_150_000,
            updated_at: 1_795_271_160_000,
            fence: 0,
            pause: None,
        })
        .await
        .unwrap();
    storage
        .append_log("run-1", 0, run_log(), Vec::new())
        .await
        .unwrap();
}

impl Store {
    /// A store with two sessions of `research` (one named, for user ada) and one run.
    fn new(label: &str) -> Store {
        Store::filled(label, false)
    }

    /// [`Store::new`]'s store with the runs of [`fill_runs`] too.
    fn with_runs(label: &str) -> Store {
        Store::filled(label, true)
    }

    fn filled(label: &str, more_runs: bool) -> Store {
        let dir = std::env::temp_dir().join(format!("weft-cli-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = SledStorage::open(dir.join("db")).unwrap();
        block_on(fill(&storage));
        if more_runs {
            block_on(fill_runs(&storage));
        }
        storage.flush().unwrap();
        drop(storage);
        let store = Store {
            dir: Some(dir),
            postgres: None,
        };
        store.wait_until_unlocked();
        store
    }

    /// The same store in PostgreSQL (`WEFT_TEST_POSTGRES_URL`, a schema of its own); `None`
    /// when no database is given (the test is skipped, and says so).
    fn postgres(test: &str) -> Option<Store> {
        Store::postgres_filled(test, false)
    }

    /// [`Store::postgres`]'s store with the runs of [`fill_runs`] too.
    fn postgres_with_runs(test: &str) -> Option<Store> {
        Store::postgres_filled(test, true)
    }

    fn postgres_filled(test: &str, more_runs: bool) -> Option<Store> {
        let url = weft_testkit::postgres::test_url(test)?;
        let schema = weft_testkit::postgres::fresh_schema("weft_cli");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let storage = weft_postgres::PostgresStorage::builder(&url)
                .schema(&schema)
                .connect()
                .await
                .unwrap();
            fill(&storage).await;
            if more_runs {
                fill_runs(&storage).await;
            }
        });
        Some(Store {
            dir: None,
            postgres: Some((url, schema)),
        })
    }

    /// The sled store's path (a sled store only).
    fn path(&self) -> PathBuf {
        self.dir
            .as_ref()
            .expect("a sled store has a directory")
            .join("db")
    }

    fn db(&self) -> String {
        self.path().display().to_string()
    }

    /// Runs `weft` on the store, once no handle of this process holds its lock any more.
    fn weft(&self, args: &[&str]) -> Output {
        self.wait_until_unlocked();
        self.weft_now(args)
    }

    /// Runs `weft` on the store at once, whoever holds it.
    fn weft_now(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The `weft` command with `args` on the store.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(WEFT);
        command.args(args).env_remove("WEFT_POSTGRES_URL");
        match &self.postgres {
            Some((url, schema)) => command.args(["--postgres", url, "--postgres-schema", schema]),
            None => command.args(["--db", &self.db()]),
        };
        command
    }

    fn wait_until_unlocked(&self) {
        if self.postgres.is_none() {
            wait_until_unlocked(&self.path());
        }
    }
}

/// Waits until nothing holds the lock of the store at `path`, so the `weft` process (which
/// waits only `lock_wait`, 500 ms, for a lock being released) finds it free. sled 0.34 locks
/// the file `db` in the store directory with an exclusive `flock` (fs2), and frees it from a
/// background thread some time after the last handle is dropped: this polls that condition.
/// The deadline is a failsafe, not a timing assumption.
fn wait_until_unlocked(path: &Path) {
    use fs2::FileExt;
    let lock_file = path.join("db");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let file = std::fs::File::open(&lock_file).unwrap();
        if FileExt::try_lock_exclusive(&file).is_ok() {
            FileExt::unlock(&file).unwrap();
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the lock of `{}` was still held after 60 s",
            lock_file.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn sessions_list_prints_a_table_and_stable_json() {
    sessions_list_prints_a_table_and_stable_json_from(&Store::new("list"));
}

#[test]
fn sessions_list_prints_a_table_and_stable_json_on_postgres() {
    if let Some(store) = Store::postgres("sessions_list_on_postgres") {
        sessions_list_prints_a_table_and_stable_json_from(&store);
    }
}

fn sessions_list_prints_a_table_and_stable_json_from(store: &Store) {
    let table = stdout(&store.weft(&["sessions", "list"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("SESSION") && lines[0].contains("UPDATED (UTC)"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("s-new")
            && lines[1].contains("Ada's research")
            && lines[1].contains("2026-11-21 14:26:00"),
        "{table}"
    );
    assert!(lines[2].starts_with("s-old"), "newest first: {table}");

    let json: Value = serde_json::from_str(&stdout(
        &store.weft(&["sessions", "list", "--json", "--user", "ada"]),
    ))
    .unwrap();
    assert_eq!(json["sessions"].as_array().unwrap().len(), 1);
    let first = &json["sessions"][0];
    assert_eq!(first["session_id"], "s-new");
    assert_eq!(first["runs"], 1);
    assert_eq!(first["updated_at"], 1_795_271_160_000u64);
    let paged: Value = serde_json::from_str(&stdout(&store.weft(&[
        "sessions",
        "list",
        "--json",
        "--workflow",
        "research",
        "--offset",
        "1",
        "--limit",
        "5",
    ])))
    .unwrap();
    assert_eq!(paged["sessions"][0]["session_id"], "s-old");
    assert_eq!(
        paged["skipped"], 0,
        "documented: unreadable records skipped"
    );
    assert_eq!(keys(&paged), ["sessions", "skipped"]);
}

#[test]
fn sessions_show_prints_state_and_runs_with_timing_and_tokens() {
    let store = Store::new("show");
    let report = stdout(&store.weft(&["sessions", "show", "s-new"]));
    for expected in [
        "session   s-new",
        "\"topic\": \"sled\"",
        "run-1",
        "completed",
        "812 ms",
        "31/54",
        "An embedded database.",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    let json: Value = serde_json::from_str(&stdout(
        &store.weft(&["sessions", "show", "s-new", "--json"]),
    ))
    .unwrap();
    assert_eq!(json["session"]["session_state"]["topic"], "sled");
    assert_eq!(json["runs"][0]["duration_ms"], 812);
    assert_eq!(json["runs"][0]["output_tokens"], 54);
    // The documented key sets (crates/weft-cli/src/output.rs), exactly.
    assert_eq!(
        keys(&json["session"]),
        [
            "created_at",
            "session_id",
            "session_name",
            "session_state",
            "updated_at",
            "user_id",
            "version",
            "workflow_id",
            "workflow_name"
        ]
    );
    assert_eq!(keys(&json["runs"][0]), RUN_SUMMARY_KEYS);
}

const RUN_SUMMARY_KEYS: [&str; 10] = [
    "content",
    "created_at",
    "duration_ms",
    "input_tokens",
    "model_calls",
    "output_tokens",
    "run_id",
    "status",
    "time_to_first_token_ms",
    "updated_at",
];

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn runs_show_and_sessions_rm() {
    runs_show_and_sessions_rm_from(&Store::new("rm"));
}

#[test]
fn runs_show_and_sessions_rm_on_postgres() {
    if let Some(store) = Store::postgres("runs_show_and_sessions_rm_on_postgres") {
        runs_show_and_sessions_rm_from(&store);
    }
}

fn runs_show_and_sessions_rm_from(store: &Store) {
    let report = stdout(&store.weft(&["runs", "show", "run-1"]));
    assert!(
        report.contains("status    completed") && report.contains("31 in / 54 out"),
        "{report}"
    );
    let json: Value =
        serde_json::from_str(&stdout(&store.weft(&["runs", "show", "run-1", "--json"]))).unwrap();
    let run = &json["run"];
    assert_eq!(run["input"], "What is sled?");
    assert_eq!(run["duration_ms"], 812, "durations are milliseconds");
    assert_eq!(run["status"], "completed");
    let mut expected: Vec<String> = RUN_SUMMARY_KEYS.iter().map(|k| k.to_string()).collect();
    expected.extend(
        [
            "error",
            "events",
            "input",
            "last_seq",
            "pause",
            "session_id",
            "tools",
            "workflow_id",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(keys(run), expected);
    assert_eq!(run["pause"], serde_json::Value::Null, "not paused");
    // From the event log: every item but content deltas, with its seq; the tool calls.
    assert_eq!(run["last_seq"], 4);
    let events: Vec<(String, u64)> = run["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(keys(e), ["created_at", "event", "seq"]);
            (
                e["event"].as_str().unwrap().to_string(),
                e["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("WorkflowStarted".to_string(), 1),
            ("ToolCallCompleted".to_string(), 3),
            ("WorkflowCompleted".to_string(), 4)
        ]
    );
    assert_eq!(run["tools"][0]["name"], "search");
    assert_eq!(run["tools"][0]["duration_ms"], 3);
    assert!(
        report.contains("events    WorkflowStarted, ToolCallCompleted, WorkflowCompleted"),
        "{report}"
    );

    let removed = stdout(&store.weft(&["sessions", "rm", "s-new"]));
    assert!(
        removed.contains("deleted session s-new and its 1 run(s)"),
        "{removed}"
    );
    let missing = store.weft(&["sessions", "show", "s-new"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no session `s-new`"));
    assert!(!store.weft(&["runs", "show", "run-1"]).status.success());
}

#[test]
fn a_store_in_use_gives_the_clear_locked_error() {
    let store = Store::new("locked");
    let held = SledStorage::open(store.path()).unwrap();
    let output = store.weft_now(&["sessions", "list"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is in use by another process"), "{stderr}");
    drop(held);
}

#[test]
fn a_missing_store_is_not_created() {
    let output = Command::new(WEFT)
        .args(["sessions", "list", "--db", "/nonexistent/weft/store"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no store at"));
}

#[test]
fn a_reader_that_stops_early_is_no_error() {
    let store = Store::new("pipe");
    store.wait_until_unlocked();
    let mut child = Command::new(WEFT)
        .args(["sessions", "show", "s-new", "--db", &store.db()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -0`: nobody reads
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Opens the store with sled itself, behind weft's back. A handle dropped a moment ago frees
/// its lock from a background thread, so this waits for it (bounded).
fn open_raw(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(err) if std::time::Instant::now() < deadline => {
                assert!(err.to_string().contains("could not acquire lock"), "{err}");
                std::thread::yield_now();
            }
            Err(err) => panic!("{err}"),
        }
    }
}

/// A tree's name and its entries.
type RawTree = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

/// Every entry of every tree, to compare a store before and after; the store is free again
/// when this returns.
fn raw_contents(path: &std::path::Path) -> Vec<RawTree> {
    let db = open_raw(path);
    let mut names = db.tree_names();
    names.sort();
    let contents = names
        .into_iter()
        .map(|name| {
            let tree = db.open_tree(&name).unwrap();
            let entries = tree
                .iter()
                .map(|entry| {
                    let (key, value) = entry.unwrap();
                    (key.to_vec(), value.to_vec())
                })
                .collect();
            (name.to_vec(), entries)
        })
        .collect();
    drop(db);
    wait_until_unlocked(path);
    contents
}

/// `list` and `show` change nothing: a run a dead process left `running` stays `running`,
/// until a program opens the store to write.
#[test]
fn read_only_commands_leave_the_store_unchanged() {
    let store = Store::new("read-only");
    {
        let storage = SledStorage::open(store.path()).unwrap();
        let mut run = block_on(storage.read_run("run-1")).unwrap().unwrap();
        run.run_id = "run-left-running".into();
        run.status = RunStatus::Running;
        run.metrics.duration = None;
        block_on(storage.put_run(run)).unwrap();
        // Dropped without finishing the run, as a process that died would leave it.
    }
    store.wait_until_unlocked();
    let before = raw_contents(&store.path());
    let listed = stdout(&store.weft(&["sessions", "list"]));
    assert!(listed.contains("s-new"), "{listed}");
    stdout(&store.weft(&["sessions", "list", "--json"]));
    let shown = stdout(&store.weft(&["sessions", "show", "s-new"]));
    assert!(shown.contains("running"), "reported as it is:\n{shown}");
    stdout(&store.weft(&["sessions", "show", "s-new", "--json"]));
    let run = stdout(&store.weft(&["runs", "show", "run-left-running"]));
    assert!(run.contains("status    running"), "{run}");
    assert_eq!(
        raw_contents(&store.path()),
        before,
        "list and show wrote nothing"
    );

    // A writable open is what marks it interrupted.
    let storage = SledStorage::open(store.path()).unwrap();
    let run = block_on(storage.read_run("run-left-running"))
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
}

/// One unreadable session record does not hide the others: the listing skips it and says so.
#[test]
fn sessions_list_skips_an_unreadable_session_and_says_so() {
    let store = Store::new("corrupt");
    {
        let db = open_raw(&store.path());
        db.open_tree("weft_sessions")
            .unwrap()
            .insert("s-old", &b"\x00not a weft record"[..])
            .unwrap();
        db.flush().unwrap();
    }
    store.wait_until_unlocked();
    let output = store.weft(&["sessions", "list"]);
    let table = stdout(&output);
    assert!(table.contains("s-new"), "{table}");
    assert!(!table.contains("s-old"), "{table}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("(1 unreadable session skipped)"),
        "{stderr}"
    );

    let output = store.weft(&["sessions", "list", "--json"]);
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["skipped"], 1);
    assert_eq!(json["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(json["sessions"][0]["session_id"], "s-new");
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 unreadable session skipped"));
}

/// Item `seq` of `run_id`'s event log.
fn logged(run_id: &str, seq: u64, mut item: RunResponse) -> LoggedEvent {
    item.run_id = run_id.into();
    item.seq = Some(seq);
    item.workflow_id = Some("research".into());
    item.created_at = 1_795_271_200_000 + seq;
    LoggedEvent {
        seq,
        identity: format!("item:{run_id}#{seq}"),
        item,
    }
}

/// A run record of `research` in `session`, started at `at`.
fn record(run_id: &str, session: &str, status: RunStatus, last_seq: u64, at: u64) -> RunRecord {
    RunRecord {
        run_id: run_id.into(),
        session_id: session.into(),
        workflow_id: "research".into(),
        input: json!("What is sled?"),
        status,
        content: String::new(),
        last_seq,
        start_state: None,
        metrics: Metrics::default(),
        error: None,
        created_at: at,
        updated_at: at + 1_000,
        fence: 0,
        pause: None,
    }
}

/// What `run-paused` asks.
fn approval_pause() -> Pause {
    Pause {
        name: "approve_send".into(),
        key: "interrupt:approve_send:0".into(),
        question: json!({"to": "ada@example.com"}),
        answer_schema: json!({"type": "object", "required": ["approve"]}),
    }
}

/// More runs of session `s-old`, started after `run-1`: `run-paused` (waits for
/// `approve_send`), `run-failed` (a resumed run that withdrew text, then failed) and
/// `run-left-running` (a process that died left it `running`); and `run-unsaved`, paused in
/// `s-unsaved`, a session never stored (its first run has not ended).
async fn fill_runs(storage: &dyn WorkflowStorage) {
    let mut paused = record(
        "run-paused",
        "s-old",
        RunStatus::Paused,
        4,
        1_795_271_300_000,
    );
    paused.pause = Some(approval_pause());
    paused.content = "Draft: hello".into();
    let mut asked = RunResponse::new(RunEvent::RunPaused);
    asked.pause = Some(approval_pause());
    asked.content = Content::Json(approval_pause().question);
    let paused_log = vec![
        logged("run-paused", 1, RunResponse::new(RunEvent::WorkflowStarted)),
        logged(
            "run-paused",
            2,
            RunResponse::step_started("draft", "Drafting the mail"),
        ),
        logged("run-paused", 3, RunResponse::text("Draft: hello")),
        logged("run-paused", 4, asked),
    ];

    let mut failed = record(
        "run-failed",
        "s-old",
        RunStatus::Failed,
        7,
        1_795_271_400_000,
    );
    failed.error = Some("openai returned HTTP 500: overloaded".into());
    let mut started = RunResponse::new(RunEvent::RunStarted);
    started.agent_name = Some("writer".into());
    started.model = Some("openai:gpt-4o".into());
    let discarded = RunResponse {
        content: Content::Json(json!({"from_seq": 3})),
        ..RunResponse::new(RunEvent::ContentDiscarded)
    };
    let mut call = RunResponse::new(RunEvent::ToolCallStarted);
    call.tools.push(ToolExecution {
        id: "call-1".into(),
        name: "search".into(),
        arguments: r#"{"q":"sled"}"#.into(),
        ..ToolExecution::default()
    });
    let error = RunResponse {
        content: Content::Text("openai returned HTTP 500: overloaded".into()),
        ..RunResponse::new(RunEvent::RunError)
    };
    let failed_log = vec![
        logged("run-failed", 1, RunResponse::new(RunEvent::WorkflowStarted)),
        logged("run-failed", 2, started),
        logged("run-failed", 3, RunResponse::text("Half an ans")),
        logged("run-failed", 4, discarded),
        logged("run-failed", 5, RunResponse::text("A whole")),
        logged("run-failed", 6, call),
        logged("run-failed", 7, error),
    ];

    let running = record(
        "run-left-running",
        "s-old",
        RunStatus::Running,
        2,
        1_795_271_500_000,
    );
    let running_log = vec![
        logged(
            "run-left-running",
            1,
            RunResponse::new(RunEvent::WorkflowStarted),
        ),
        logged("run-left-running", 2, RunResponse::text("Partial")),
    ];

    let mut unsaved = record(
        "run-unsaved",
        "s-unsaved",
        RunStatus::Paused,
        0,
        1_795_271_600_000,
    );
    unsaved.pause = Some(approval_pause());

    for (run, log) in [
        (paused, paused_log),
        (failed, failed_log),
        (running, running_log),
        (unsaved, Vec::new()),
    ] {
        let run_id = run.run_id.clone();
        storage.put_run(run).await.unwrap();
        if !log.is_empty() {
            storage
                .append_log(&run_id, 0, log, Vec::new())
                .await
                .unwrap();
        }
    }
}

fn run_ids(json: &Value) -> Vec<&str> {
    json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["run_id"].as_str().unwrap())
        .collect()
}

#[test]
fn runs_list_filters_by_status() {
    runs_list_filters_by_status_from(&Store::with_runs("runs-list"));
}

#[test]
fn runs_list_filters_by_status_on_postgres() {
    if let Some(store) = Store::postgres_with_runs("runs_list_filters_by_status_on_postgres") {
        runs_list_filters_by_status_from(&store);
    }
}

fn runs_list_filters_by_status_from(store: &Store) {
    let all: Value =
        serde_json::from_str(&stdout(&store.weft(&["runs", "list", "--json"]))).unwrap();
    assert_eq!(
        run_ids(&all),
        ["run-left-running", "run-failed", "run-paused", "run-1"],
        "every run of the stored sessions, most recently started first"
    );
    assert_eq!(all["skipped"], 0);
    let mut expected: Vec<String> = RUN_SUMMARY_KEYS.iter().map(|k| k.to_string()).collect();
    expected.extend(["error", "pause", "session_id", "workflow_id"].map(String::from));
    expected.sort();
    for run in all["runs"].as_array().unwrap() {
        assert_eq!(keys(run), expected, "documented in output.rs");
    }
    assert_eq!(all["runs"][0]["status"], "running", "shown as it is");

    let picked: Value = serde_json::from_str(&stdout(&store.weft(&[
        "runs",
        "list",
        "--status",
        "paused,failed",
        "--json",
    ])))
    .unwrap();
    assert_eq!(run_ids(&picked), ["run-failed", "run-paused"]);
    assert_eq!(picked["runs"][1]["pause"]["name"], "approve_send");
    assert_eq!(
        picked["runs"][0]["error"],
        "openai returned HTTP 500: overloaded"
    );
    let repeated: Value = serde_json::from_str(&stdout(&store.weft(&[
        "runs", "list", "--status", "paused", "--status", "failed", "--json",
    ])))
    .unwrap();
    assert_eq!(run_ids(&repeated), run_ids(&picked));

    let table = stdout(&store.weft(&["runs", "list", "--status", "paused,failed"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("RUN") && lines[0].contains("STATUS"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("run-failed")
            && lines[1].contains("failed")
            && lines[1].contains("HTTP 500"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("run-paused")
            && lines[2].contains("waits for approve_send")
            && lines[2].contains("ada@example.com"),
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");

    let none = stdout(&store.weft(&["runs", "list", "--status", "cancelled"]));
    assert_eq!(none.trim(), "no runs");
    let limited: Value = serde_json::from_str(&stdout(
        &store.weft(&["runs", "list", "--limit", "1", "--json"]),
    ))
    .unwrap();
    assert_eq!(run_ids(&limited), ["run-left-running"]);

    // A session not stored yet (its first run is paused) is found by its id.
    let unsaved: Value = serde_json::from_str(&stdout(&store.weft(&[
        "runs",
        "list",
        "--session",
        "s-unsaved",
        "--status",
        "paused",
        "--json",
    ])))
    .unwrap();
    assert_eq!(run_ids(&unsaved), ["run-unsaved"]);
}

#[test]
fn runs_list_refuses_an_unknown_status_and_names_the_valid_ones() {
    let store = Store::new("bad-status");
    let output = store.weft(&["runs", "list", "--status", "paused,bogus"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid value 'bogus'"), "{stderr}");
    assert!(
        stderr.contains("running, completed, failed, cancelled, interrupted, paused"),
        "{stderr}"
    );
}

/// `weft runs tail` on a sled store, stdout a pipe: plain lines.
#[test]
fn runs_tail_prints_plain_lines_and_ends_with_the_status() {
    let store = Store::with_runs("tail");

    let output = store.weft(&["runs", "tail", "run-1"]);
    assert_eq!(
        stdout(&output),
        "[1] WorkflowStarted\n\
         An embedded database.\n\
         [3] ToolCallCompleted search (3 ms): found\n\
         [4] WorkflowCompleted\n\
         status: completed\n"
    );
    let later = stdout(&store.weft(&["runs", "tail", "run-1", "--after", "2"]));
    assert_eq!(
        later,
        "[3] ToolCallCompleted search (3 ms): found\n[4] WorkflowCompleted\nstatus: completed\n"
    );

    // A paused run: what it waits for, and success.
    let paused = stdout(&store.weft(&["runs", "tail", "run-paused"]));
    let lines: Vec<&str> = paused.lines().collect();
    assert_eq!(lines[0], "[1] WorkflowStarted research");
    assert_eq!(lines[1], "[2] StepStarted draft: Drafting the mail");
    assert_eq!(lines[2], "Draft: hello");
    assert_eq!(
        lines[3],
        r#"[4] RunPaused approve_send: {"to":"ada@example.com"}"#
    );
    assert!(
        lines[4].starts_with("paused at `approve_send`: the run waits for an answer"),
        "{paused}"
    );
    assert_eq!(lines[5], r#"question: {"to":"ada@example.com"}"#);
    assert!(lines[6].starts_with("answer schema: "), "{paused}");
    assert_eq!(lines.last(), Some(&"status: paused"));

    // A failed run: withdrawn text said so, the error, a failure.
    let failed = store.weft(&["runs", "tail", "run-failed"]);
    assert!(!failed.status.success());
    assert_eq!(failed.status.code(), Some(1));
    let out = String::from_utf8_lossy(&failed.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "[1] WorkflowStarted research",
            "[2] RunStarted writer (openai:gpt-4o)",
            "Half an ans",
            "[4] ContentDiscarded the text from seq 3 on is withdrawn (a crash cut it short; the resumed run's text replaces it)",
            "A whole",
            r#"[6] ToolCallStarted search {"q":"sled"}"#,
            "[7] RunError openai returned HTTP 500: overloaded",
            "error: openai returned HTTP 500: overloaded",
            "status: failed",
        ],
        "{out}"
    );
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("error: run `run-failed` failed: openai returned HTTP 500"),
        "{stderr}"
    );

    // `running` in a sled store tail could open: its process died; tail does not wait.
    let left = store.weft(&["runs", "tail", "run-left-running"]);
    assert_eq!(left.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&left.stdout),
        "[1] WorkflowStarted research\nPartial\nstatus: running\n"
    );
    let stderr = String::from_utf8_lossy(&left.stderr);
    assert!(
        stderr.contains("no process holds this store") && stderr.contains("died"),
        "{stderr}"
    );

    let missing = store.weft(&["runs", "tail", "run-nope"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no run `run-nope`"));
}

#[test]
fn runs_tail_json_prints_one_item_per_line_then_the_status() {
    let store = Store::with_runs("tail-json");
    let out = stdout(&store.weft(&["runs", "tail", "run-paused", "--json", "--after", "1"]));
    let lines: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    let seqs: Vec<u64> = lines[..3]
        .iter()
        .map(|item| item["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3, 4]);
    assert_eq!(lines[0]["event"], "StepStarted");
    assert_eq!(lines[0]["step"], "draft");
    assert_eq!(lines[1]["content"], "Draft: hello");
    assert_eq!(lines[2]["pause"]["name"], "approve_send");
    assert_eq!(
        lines[3],
        json!({"run_id": "run-paused", "status": "paused", "following": false,
               "error": null, "pause": approval_pause()})
    );
}

#[test]
fn runs_tail_stops_at_once_when_a_reader_stops() {
    let store = Store::with_runs("tail-pipe");
    store.wait_until_unlocked();
    let mut child = store
        .command(&["runs", "tail", "run-1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A `weft runs tail` process, its stdout read line by line. A watchdog kills it if the test
/// has not finished with it in 60 s (a failsafe, not a timing assumption: the test waits for
/// lines, never for time).
struct Tail {
    child: Arc<Mutex<Child>>,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    seen: Vec<String>,
    done: mpsc::Sender<()>,
}

impl Tail {
    fn start(store: &Store, args: &[&str]) -> Tail {
        let mut child = store.command(args).stdout(Stdio::piped()).spawn().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let child = Arc::new(Mutex::new(child));
        let (done, finished) = mpsc::channel::<()>();
        let watched = Arc::clone(&child);
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) =
                finished.recv_timeout(Duration::from_secs(60))
            {
                let _ = watched.lock().unwrap().kill();
            }
        });
        Tail {
            child,
            lines,
            seen: Vec::new(),
            done,
        }
    }

    /// Reads lines until one that starts with `prefix` (panics if the output ends first).
    fn until(&mut self, prefix: &str) {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            self.seen.push(line.clone());
            if line.starts_with(prefix) {
                return;
            }
        }
        panic!("no line `{prefix}…` in:\n{}", self.seen.join("\n"));
    }

    /// Reads the rest of the output and waits for the process to exit.
    fn finish(mut self) -> (Vec<String>, ExitStatus) {
        for line in self.lines.by_ref() {
            self.seen.push(line.unwrap());
        }
        let status = self.child.lock().unwrap().wait().unwrap();
        let _ = self.done.send(());
        (self.seen, status)
    }
}

/// On PostgreSQL (a store many processes share) `tail` follows a run that is running, goes on
/// through an interruption (another worker takes the run over), and stops once it completed.
/// The test writes the run's next items only after `tail` printed the ones before.
#[test]
fn runs_tail_follows_a_live_run_on_postgres() {
    let Some(store) = Store::postgres("runs_tail_follows_a_live_run_on_postgres") else {
        return;
    };
    let (url, schema) = store.postgres.clone().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let storage = runtime.block_on(async {
        weft_postgres::PostgresStorage::builder(&url)
            .schema(&schema)
            .connect()
            .await
            .unwrap()
    });
    let at = 1_795_271_700_000;
    let write = |status: RunStatus, last_seq: u64, items: Vec<RunResponse>| {
        runtime.block_on(async {
            let first = storage.log_head("run-live").await.unwrap().last_seq + 1;
            let log: Vec<LoggedEvent> = items
                .into_iter()
                .zip(first..)
                .map(|(item, seq)| logged("run-live", seq, item))
                .collect();
            if !log.is_empty() {
                storage
                    .append_log("run-live", 0, log, Vec::new())
                    .await
                    .unwrap();
            }
            let mut run = record("run-live", "s-new", status, last_seq, at);
            if status == RunStatus::Completed {
                run.content = "An embedded database.".into();
            }
            storage.put_run(run).await.unwrap();
        });
    };

    write(
        RunStatus::Running,
        2,
        vec![
            RunResponse::new(RunEvent::WorkflowStarted),
            RunResponse::step_started("research", "Searching the web for sled"),
        ],
    );
    let mut tail = Tail::start(&store, &["runs", "tail", "run-live", "--interval-ms", "10"]);
    tail.until("[2] StepStarted research");

    write(
        RunStatus::Interrupted,
        4,
        vec![
            RunResponse::text("An embedded "),
            RunResponse::text("database."),
        ],
    );
    tail.until("status: interrupted");

    write(RunStatus::Running, 4, Vec::new());
    tail.until("status: running");

    let mut tool = RunResponse::new(RunEvent::ToolCallCompleted);
    tool.tools.push(ToolExecution {
        id: "call-1".into(),
        name: "search".into(),
        arguments: "{}".into(),
        result: Some("found".into()),
        is_error: false,
        duration: Some(Duration::from_millis(3)),
    });
    write(
        RunStatus::Completed,
        7,
        vec![
            RunResponse::step_completed("research", "5 sources"),
            tool,
            RunResponse::new(RunEvent::WorkflowCompleted),
        ],
    );
    let (lines, status) = tail.finish();
    assert!(status.success(), "{lines:?}");
    assert_eq!(
        lines,
        [
            "[1] WorkflowStarted research",
            "[2] StepStarted research: Searching the web for sled",
            "An embedded database.",
            "status: interrupted (following: another worker takes the run over)",
            "status: running (following)",
            "[5] StepCompleted research: 5 sources",
            "[6] ToolCallCompleted search (3 ms): found",
            "[7] WorkflowCompleted research",
            "status: completed",
        ]
    );
}
