//! Runs `weft-durable-child` and reads what it prints; kills it with SIGKILL on its `FAULT`
//! line.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use weft::{JournalKind, RunEvent, RunRecord, RunResponse, RunStatus};

use crate::Client;

const CHILD: &str = env!("CARGO_BIN_EXE_weft-durable-child");

/// Not a synchronisation: a guard that kills a child stuck by a bug, so CI fails instead of
/// hanging.
const STUCK: Duration = Duration::from_secs(120);

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("weft-crash-{}-{label}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("db")
    }

    /// The effects the child `tag` recorded (`tool search …`, `step pick`).
    pub fn effects(&self, tag: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.0.join("effects")).unwrap_or_default();
        text.lines()
            .filter_map(|line| line.strip_prefix(&format!("{tag} ")))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An item of the killed run's log, as the resumed child found it on disk.
#[derive(Clone, Debug, Deserialize)]
pub struct DiskEvent {
    pub seq: u64,
    pub event: RunEvent,
}

/// A journal entry of the killed run, as the resumed child found it on disk.
#[derive(Clone, Debug, Deserialize)]
pub struct DiskEntry {
    pub key: String,
    pub kind: JournalKind,
    pub seqs: Vec<u64>,
    pub output: serde_json::Value,
}

/// What a child printed, and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    /// Every fault point hit, in order: (name, n-th hit of that name).
    pub points: Vec<(String, u64)>,
    /// Where it stopped to be killed.
    pub fault: Option<(String, u64)>,
    /// The items its client received, in order.
    pub items: Vec<RunResponse>,
    pub disk_run: Option<RunStatus>,
    pub disk_log: Vec<DiskEvent>,
    pub disk_journal: Vec<DiskEntry>,
    pub record: Option<RunRecord>,
    pub run_error: Option<String>,
    pub done: bool,
    /// `ERROR` lines, lines that did not parse, a child stuck past the guard.
    pub errors: Vec<String>,
    pub exit: Option<ExitStatus>,
}

impl Output {
    fn read(&mut self, line: &str) {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        let parsed: Result<(), String> = match tag {
            "POINT" | "FAULT" => match rest.rsplit_once(' ') {
                Some((name, n)) => match n.parse() {
                    Ok(n) if tag == "POINT" => {
                        self.points.push((name.to_string(), n));
                        Ok(())
                    }
                    Ok(n) => {
                        self.fault = Some((name.to_string(), n));
                        Ok(())
                    }
                    Err(err) => Err(err.to_string()),
                },
                None => Err("no count".into()),
            },
            "ITEM" => rest
                .split_once(' ')
                .ok_or_else(|| "no json".to_string())
                .and_then(|(_, json)| serde_json::from_str(json).map_err(|err| err.to_string()))
                .map(|item| self.items.push(item)),
            "DISK_RUN" => serde_json::from_str(rest)
                .map(|status| self.disk_run = Some(status))
                .map_err(|err| err.to_string()),
            "DISK_LOG" => serde_json::from_str(rest)
                .map(|log| self.disk_log = log)
                .map_err(|err| err.to_string()),
            "DISK_JOURNAL" => serde_json::from_str(rest)
                .map(|journal| self.disk_journal = journal)
                .map_err(|err| err.to_string()),
            "RECORD" => serde_json::from_str(rest)
                .map(|record| self.record = Some(record))
                .map_err(|err| err.to_string()),
            "RUN_ERROR" => {
                self.run_error = Some(rest.to_string());
                Ok(())
            }
            "DONE" => {
                self.done = true;
                Ok(())
            }
            _ => Err("unexpected line".into()),
        };
        if tag == "ERROR" {
            self.errors.push(line.to_string());
        } else if let Err(err) = parsed {
            self.errors.push(format!("{err}: {line}"));
        }
    }

    /// How many times the child hit `point`.
    pub fn hits(&self, point: &str) -> u64 {
        self.points.iter().filter(|(name, _)| name == point).count() as u64
    }

    /// Hits of every point, by name.
    pub fn totals(&self) -> BTreeMap<String, u64> {
        let mut totals = BTreeMap::new();
        for (name, _) in &self.points {
            *totals.entry(name.clone()).or_insert(0) += 1;
        }
        totals
    }

    /// The seq of the last item the client received (0: none).
    pub fn last_seq(&self) -> u64 {
        self.items
            .iter()
            .filter_map(|item| item.seq)
            .max()
            .unwrap_or(0)
    }
}

/// How a child is started.
pub struct Launch<'a> {
    pub dir: &'a TempDir,
    pub llm: &'a str,
    pub durability: &'a str,
}

impl Launch<'_> {
    /// `first`, followed by `client`; killed at `fault` if it is given.
    pub fn first(&self, tag: &str, fault: Option<(&str, u64)>, client: Client) -> Output {
        self.spawn(&["first", client.arg()], tag, fault)
    }

    /// `resume`, its client reconnecting after `after_seq`; killed at `fault` if it is given.
    pub fn resume(&self, tag: &str, after_seq: u64, fault: Option<(&str, u64)>) -> Output {
        self.spawn(&["resume", &after_seq.to_string()], tag, fault)
    }

    fn spawn(&self, args: &[&str; 2], tag: &str, fault: Option<(&str, u64)>) -> Output {
        let mut command = Command::new(CHILD);
        command
            .args([args[0], self.dir.0.to_str().unwrap(), args[1]])
            .env("WEFT_CRASH_LLM", self.llm)
            .env("WEFT_CRASH_DURABILITY", self.durability)
            .env("WEFT_CRASH_TAG", tag);
        match fault {
            Some((point, k)) => command.env("WEFT_CRASH_FAULT", format!("{point} {k}")),
            None => command.env_remove("WEFT_CRASH_FAULT"),
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let child: Arc<Mutex<Child>> = Arc::new(Mutex::new(child));
        let (finished, watch) = mpsc::channel::<()>();
        let guard = std::thread::spawn({
            let child = Arc::clone(&child);
            move || {
                let stuck = matches!(
                    watch.recv_timeout(STUCK),
                    Err(mpsc::RecvTimeoutError::Timeout)
                );
                if stuck {
                    let _ = child.lock().unwrap().kill();
                }
                stuck
            }
        });
        let mut out = Output::default();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            out.read(&line);
            if out.fault.is_some() {
                // SIGKILL: no destructor, no flush; the process is stopped at the point.
                child.lock().unwrap().kill().unwrap();
                break;
            }
        }
        let _ = finished.send(());
        if guard.join().unwrap() {
            out.errors
                .push(format!("`{tag}` was stuck for {STUCK:?} and was killed"));
        }
        out.exit = Some(child.lock().unwrap().wait().unwrap());
        out
    }
}
