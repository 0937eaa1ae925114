//! The `weft` binary against a real store.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use serde_json::{json, Value};
use weft_runtime::storage::LoggedEvent;
use weft_runtime::{
    Content, Metrics, RunEvent, RunRecord, RunResponse, RunStatus, SledStorage, ToolExecution,
    WorkflowSession, WorkflowStorage,
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
        let dir = std::env::temp_dir().join(format!("weft-cli-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = SledStorage::open(dir.join("db")).unwrap();
        block_on(fill(&storage));
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
        let mut command = Command::new(WEFT);
        command.args(args).env_remove("WEFT_POSTGRES_URL");
        match &self.postgres {
            Some((url, schema)) => command.args(["--postgres", url, "--postgres-schema", schema]),
            None => command.args(["--db", &self.db()]),
        };
        command.output().unwrap()
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
