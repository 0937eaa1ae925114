//! The approval example (`cargo run --example approval`) as a user runs it, offline: answered
//! by a flag, answered on stdin with an edit, and killed at its question and continued by a
//! second process with `--continue RUN_ID`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const APPROVAL: &str = env!("CARGO_BIN_EXE_weft-approval");

/// A fresh folder for one test's store.
fn store_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-approval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The example with `args`, offline (no provider key reaches it), on the store in `dir`.
fn example(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(APPROVAL);
    command
        .arg("--db")
        .arg(dir.join("db"))
        .args(args)
        .env_remove("WEFT_MODEL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .stderr(Stdio::null());
    command
}

fn stdout_of(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn answered_by_a_flag_it_sends_the_draft_once() {
    let dir = store_dir("flag");
    let output = example(&dir, &["--to", "ana@example.com", "--answer", "yes"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("Send this email to ana@example.com?"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[send] Sent to ana@example.com (email #1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 email(s) sent by this process"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn answered_on_stdin_it_sends_the_edited_text() {
    let dir = store_dir("stdin");
    let mut child = example(&dir, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"e\nHello team!\n")
        .unwrap();
    let stdout = stdout_of(&child.wait_with_output().unwrap());
    assert!(stdout.contains("[y]es / [n]o / [e]dit: "), "{stdout}");
    assert!(
        stdout.contains("Sent to team@example.com (email #1)"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_at_its_question_the_run_is_continued_by_another_process() {
    let dir = store_dir("kill");
    let mut child = example(&dir, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read until the question is asked: the pause is recorded before it is.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).ends_with("[y]es / [n]o / [e]dit: ") {
        let read = stdout.read(&mut byte).unwrap();
        assert_eq!(
            read,
            1,
            "the example ended before asking: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let seen = String::from_utf8_lossy(&seen).into_owned();
    let run_id = seen
        .split("(run ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the example names the paused run")
        .to_string();

    let output = example(&dir, &["--continue", &run_id, "--answer", "yes"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("Sent to team@example.com (email #1)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("[draft] Drafting"),
        "the continued run does not draft again: {stdout}"
    );
    let again = example(&dir, &["--continue", &run_id, "--answer", "yes"])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "a completed run is not paused any more"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
