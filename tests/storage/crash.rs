//! A process killed mid-run loses no completed run, and its in-flight run is found
//! `running` and marked `interrupted` when the store is next opened. A store open in one
//! process gives the clear locked error in another.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use weft::prelude::*;
use weft::RunStatus;

use crate::fixtures::*;

const CHILD: &str = env!("CARGO_BIN_EXE_weft-crash-child");

#[tokio::test]
async fn sigkill_mid_run_loses_no_completed_run_and_marks_the_in_flight_one_interrupted() {
    let dir = TempDir::new("crash");
    let mut child = Command::new(CHILD)
        .args(["run", dir.db().to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line == "IN_FLIGHT" {
            break;
        }
    }
    assert_eq!(
        seen,
        ["COMPLETED", "IN_FLIGHT"],
        "the child reached the middle of its second run"
    );
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush
    child.wait().unwrap();

    let store = SledStorage::open(dir.db()).unwrap();
    let runs = store.read_runs("journal").await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Completed);
    assert_eq!(runs[0].content, "entry about completed");
    assert_eq!(
        runs[1].status,
        RunStatus::Interrupted,
        "reconciled when the store was opened"
    );
    assert_eq!(runs[1].input, serde_json::json!("hang"));
    let session = store.read_session("journal").await.unwrap().unwrap();
    assert_eq!(
        session.session_state["runs"], 1,
        "the completed run's state survived"
    );
}

#[tokio::test]
async fn a_store_in_use_by_another_process_is_a_clear_error() {
    let dir = TempDir::new("locked");
    let _held = SledStorage::open(dir.db()).unwrap();
    let output = Command::new(CHILD)
        .args(["open", dir.db().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("is in use by another process"), "{stdout}");
    drop(_held);
}

#[test]
fn a_lock_being_released_is_waited_for_not_reported() {
    let dir = TempDir::new("release");
    // A handle outside weft's registry, as another process (or a closing one) would hold.
    let other = sled::open(dir.db()).unwrap();
    let at_once = SledStorage::builder(dir.db())
        .lock_wait(std::time::Duration::ZERO)
        .open();
    assert!(
        matches!(at_once, Err(weft::Error::StoreLocked { .. })),
        "{at_once:?}"
    );
    let opener = std::thread::spawn({
        let db = dir.db();
        move || {
            SledStorage::builder(db)
                .lock_wait(std::time::Duration::from_secs(30))
                .open()
        }
    });
    drop(other);
    let opened = opener.join().unwrap();
    assert!(opened.is_ok(), "{opened:?}");
}
