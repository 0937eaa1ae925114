//! `weft-bench-heap`: heap bytes and allocations per agent and per workflow, counted by dhat's
//! allocator (kept out of `weft-bench`, whose timings it would skew).
//!
//! ```text
//! weft-bench-heap --count 1000
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use serde_json::json;
use weft_bench::{agent_with_tool, model, BenchResearch};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[derive(Parser)]
#[command(name = "weft-bench-heap")]
struct Args {
    /// How many of each to build (and keep alive) for the averages.
    #[arg(long, default_value_t = 1000)]
    count: usize,
}

/// Bytes still held and allocations made per item by building `count` items with `build`.
fn per_item<T>(count: usize, build: impl Fn() -> T) -> (f64, f64) {
    let mut kept = Vec::with_capacity(count);
    drop(build()); // first-use statics out of the way
    let before = dhat::HeapStats::get();
    for _ in 0..count {
        kept.push(build());
    }
    let after = dhat::HeapStats::get();
    let bytes = after.curr_bytes.saturating_sub(before.curr_bytes) as f64 / count as f64;
    let blocks = after.total_blocks.saturating_sub(before.total_blocks) as f64 / count as f64;
    drop(kept);
    (bytes, blocks)
}

fn main() {
    let args = Args::parse();
    let _profiler = dhat::Profiler::builder().testing().build();
    let (agent_bytes, agent_allocations) = per_item(args.count, agent_with_tool);
    let fake = model("http://127.0.0.1:9/v1");
    let (workflow_bytes, workflow_allocations) = per_item(args.count, || {
        BenchResearch::builder()
            .model(Some(fake.clone()))
            .build()
            .unwrap()
    });
    println!(
        "{}",
        json!({
            "framework": "weft",
            "mode": "heap",
            "count": args.count,
            "agent_bytes": agent_bytes,
            "agent_allocations": agent_allocations,
            "workflow_bytes": workflow_bytes,
            "workflow_allocations": workflow_allocations,
        })
    );
}
