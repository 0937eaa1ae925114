//! Building agents and workflows: what every workflow instance pays before its first call
//! (weft builds agents per instance, so this must be cheap).
//!
//! ```text
//! cargo bench -p weft-bench --bench construction
//! ```
//! Heap bytes per agent: `cargo run --release -p weft-bench --bin weft-bench-heap`.

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use weft::prelude::*;
use weft_bench::{agent_with_tool, model, BenchResearch};

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("construction");
    group.bench_function("agent_with_one_tool", |b| b.iter(agent_with_tool));
    group.bench_function("agent_from_spec_string", |b| {
        b.iter(|| Agent::builder().model("openai:gpt-4o").build().unwrap())
    });
    let fake = model("http://127.0.0.1:9/v1");
    group.bench_function("research_workflow_3_agents", |b| {
        b.iter(|| {
            BenchResearch::builder()
                .model(Some(fake.clone()))
                .build()
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(construction, benches);
criterion_main!(construction);
