//! Session save and load, run records, and event-log appends (one streamed delta each, the
//! cost a durable run pays per item; one journal entry, the cost it pays per completed model
//! call, tool call or step), with a 10 KiB session state.
//!
//! ```text
//! cargo bench -p weft-bench --bench storage
//! ```

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use futures::executor::block_on;
use serde_json::{json, Value};
use weft::{
    Durability, JournalEntry, JournalKind, LoggedEvent, MemoryStorage, RunEvent, RunRecord,
    RunResponse, RunStatus, SledStorage, WorkflowSession, WorkflowStorage,
};

/// A state of about 10 KiB: 100 entries of ~100 bytes.
fn state_10k() -> Value {
    let entries: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("key-{i:03}"), json!("x".repeat(90))))
        .collect();
    let state = Value::Object(entries);
    let size = serde_json::to_vec(&state).unwrap().len();
    assert!((9_000..12_000).contains(&size), "state is {size} bytes");
    state
}

fn session(id: &str, version: u64) -> WorkflowSession {
    WorkflowSession {
        session_id: id.into(),
        workflow_id: "bench".into(),
        workflow_name: "bench".into(),
        session_name: None,
        user_id: Some("user".into()),
        session_state: state_10k(),
        version,
        created_at: 1,
        updated_at: 1 + version,
    }
}

fn run(i: u64) -> RunRecord {
    RunRecord {
        run_id: format!("run-{i}"),
        session_id: "s".into(),
        workflow_id: "bench".into(),
        input: json!("What is sled?"),
        status: RunStatus::Completed,
        content: "An embedded database. ".repeat(20),
        last_seq: 0,
        start_state: None,
        metrics: Default::default(),
        error: None,
        created_at: i,
        updated_at: i,
        fence: 0,
        pause: None,
    }
}

/// The `seq`-th item of a run's log: a 20-byte text delta, as streamed.
fn delta(seq: u64) -> LoggedEvent {
    let mut item = RunResponse::text("token token token ");
    item.event = RunEvent::RunContent;
    item.run_id = "run-1".into();
    item.seq = Some(seq);
    LoggedEvent {
        seq,
        identity: format!("turn:bench#{seq}"),
        item,
    }
}

/// The journal entry of a completed model call of 20 streamed deltas, as a durable run writes
/// it when the call ends (its `n`-th).
fn model_call(n: u64) -> JournalEntry {
    JournalEntry {
        key: format!("model:writer:0123456789abcdef:{n}"),
        kind: JournalKind::ModelCall,
        output: json!({
            "text": (0..20).map(|i| format!("token{i} ")).collect::<Vec<_>>(),
            "tool_calls": [],
            "usage": {"input_tokens": 20, "output_tokens": 20, "cached_input_tokens": 0},
            "finish_reason": "stop",
        }),
        seqs: Vec::new(),
        created_at: 1_700_000_000_000,
    }
}

fn temp_store(label: &str, durability: Durability) -> (std::path::PathBuf, SledStorage) {
    let dir = std::env::temp_dir().join(format!("weft-bench-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SledStorage::builder(&dir)
        .durability(durability)
        .open()
        .unwrap();
    (dir, store)
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("storage_10KiB_state");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    for (label, durability) in [
        ("sled_os", Durability::Os),
        ("sled_every_event", Durability::EveryEvent),
    ] {
        let (dir, store) = temp_store(label, durability);
        let version = std::cell::Cell::new(0u64);
        group.bench_function(format!("session_save/{label}"), |b| {
            b.iter_batched(
                || session("s", version.get()),
                |s| {
                    block_on(store.upsert_session(s)).unwrap();
                    version.set(version.get() + 1);
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("session_load/{label}"), |b| {
            b.iter(|| block_on(store.read_session("s")).unwrap().unwrap())
        });
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    for (label, durability) in [
        ("sled_os", Durability::Os),
        ("sled_every_step", Durability::EveryStep),
    ] {
        let (dir, store) = temp_store(&format!("runs-{label}"), durability);
        let mut i = 0;
        group.bench_function(format!("run_append/{label}"), |b| {
            b.iter_batched(
                || {
                    i += 1;
                    run(i)
                },
                |r| block_on(store.put_run(r)).unwrap(),
                BatchSize::PerIteration,
            )
        });
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    // One text delta appended to a run's log, as a durable run does before the consumer sees
    // it: what each durability mode costs per streamed item.
    for (label, durability) in [
        ("sled_os", Durability::Os),
        ("sled_every_step", Durability::EveryStep),
        ("sled_every_event", Durability::EveryEvent),
    ] {
        let (dir, store) = temp_store(&format!("log-{label}"), durability);
        let mut seq = 0;
        group.bench_function(format!("log_append_delta/{label}"), |b| {
            b.iter_batched(
                || {
                    seq += 1;
                    delta(seq)
                },
                |event| block_on(store.append_log("run-1", 0, vec![event], Vec::new())).unwrap(),
                BatchSize::PerIteration,
            )
        });
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    // A completed model call's journal entry, appended alone (as a durable run does when the
    // call ends): what `EveryStep` flushes after, once per model call, tool call and step.
    for (label, durability) in [
        ("sled_os", Durability::Os),
        ("sled_every_step", Durability::EveryStep),
    ] {
        let (dir, store) = temp_store(&format!("journal-{label}"), durability);
        let mut n = 0;
        group.bench_function(format!("log_append_journal/{label}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    model_call(n)
                },
                |entry| block_on(store.append_log("run-1", 0, Vec::new(), vec![entry])).unwrap(),
                BatchSize::PerIteration,
            )
        });
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    let memory = MemoryStorage::new();
    let version = std::cell::Cell::new(0u64);
    group.bench_function("session_save/memory", |b| {
        b.iter_batched(
            || session("s", version.get()),
            |s| {
                block_on(memory.upsert_session(s)).unwrap();
                version.set(version.get() + 1);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(storage, benches);
criterion_main!(storage);
