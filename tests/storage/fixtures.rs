//! Temporary stores and a small workflow.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use weft::prelude::*;
use weft::{RunRecord, RunStatus, WorkflowSession};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("weft-test-{}-{label}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("nested").join("workflows.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens the store's database with sled itself, behind weft's back. sled frees the lock of a
/// store dropped a moment ago from a background thread, so this waits for it (bounded).
pub fn open_raw(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
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

pub fn session(id: &str, workflow: &str, user: Option<&str>, updated_at: u64) -> WorkflowSession {
    WorkflowSession {
        session_id: id.into(),
        workflow_id: workflow.into(),
        workflow_name: workflow.into(),
        session_name: None,
        user_id: user.map(str::to_string),
        session_state: serde_json::json!({"n": 1}),
        version: 0,
        created_at: updated_at,
        updated_at,
    }
}

pub fn run(run_id: &str, session_id: &str, status: RunStatus) -> RunRecord {
    RunRecord {
        run_id: run_id.into(),
        session_id: session_id.into(),
        workflow_id: "wf".into(),
        input: serde_json::json!("hello"),
        status,
        content: String::new(),
        last_seq: 0,
        start_state: None,
        metrics: Default::default(),
        error: None,
        created_at: 1,
        updated_at: 1,
        fence: 0,
        pause: None,
    }
}

/// Keeps notes in dynamic state: `key=value` inputs set one key. The key `panic` panics
/// after the note is taken and yielded.
#[workflow]
pub struct Notes {}

#[workflow]
impl Notes {
    fn run(&mut self, note: String) -> RunStream<'_> {
        try_stream! {
            let (key, value) = note.split_once('=').unwrap_or((note.as_str(), ""));
            self.session_state.insert(key, value)?;
            yield RunResponse::text(format!("noted {key}"));
            if key == "panic" {
                panic!("the notes panicked on purpose");
            }
        }
    }
}
