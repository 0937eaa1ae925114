//! Session save and load, and run append, with a 10 KiB session state.
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
    Durability, MemoryStorage, RunRecord, RunStatus, SledStorage, WorkflowSession, WorkflowStorage,
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
        events: Vec::new(),
        metrics: Default::default(),
        error: None,
        created_at: i,
        updated_at: i,
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
        ("sled_every_write", Durability::EveryWrite),
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
        ("sled_run_end", Durability::RunEnd),
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
