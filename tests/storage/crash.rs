//! A process killed mid-run loses no completed run, and its in-flight run is found
//! `running` and marked `interrupted` when the store is next opened. A process that drops a
//! run's stream and exits leaves the run `cancelled` with its state. A store open in one
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

    // A read-only open reports the store as it is and changes nothing.
    let reader = SledStorage::builder(dir.db()).read_only().open().unwrap();
    let runs = reader.read_runs("journal").await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        runs[1].status,
        RunStatus::Running,
        "a read-only open does not reconcile"
    );
    let refused = reader.put_run(runs[1].clone()).await;
    assert!(
        matches!(&refused, Err(weft::Error::Storage { message, .. }) if message.contains("read-only")),
        "{refused:?}"
    );

    // The first writable open (here sharing the reader's database) reconciles.
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
    drop(reader);
}

/// The save-when-the-stream-is-dropped path on sled, across a process boundary: a process
/// drops a run's stream mid-run and exits normally; the next process finds the state and a
/// `cancelled` run on disk.
#[tokio::test]
async fn a_run_dropped_mid_way_is_on_disk_cancelled_with_its_state_after_the_process_exits() {
    let dir = TempDir::new("drop");
    let output = Command::new(CHILD)
        .args(["drop", dir.db().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.trim(), "DROPPED");

    let store = SledStorage::open(dir.db()).unwrap();
    let runs = store.read_runs("journal").await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0].status,
        RunStatus::Cancelled,
        "recorded when the stream was dropped, not found in flight"
    );
    assert_eq!(runs[0].content, "entry about dropped");
    assert_eq!(runs[0].input, serde_json::json!("dropped"));
    let session = store.read_session("journal").await.unwrap().unwrap();
    assert_eq!(session.session_state["runs"], 1);
    assert_eq!(session.session_state["last"], "dropped");
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
