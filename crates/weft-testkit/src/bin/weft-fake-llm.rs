//! `weft-fake-llm`: the fake LLM server as a process, for benchmarks and demos.
//!
//! ```text
//! weft-fake-llm --port 8089 --ttft-ms 200 --chunk-ms 5 --chunks 20 [--threads 1]
//! OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=fake …
//! ANTHROPIC_BASE_URL=http://127.0.0.1:8089 ANTHROPIC_API_KEY=fake …
//! ```
//! Every request gets the same reply: `--chunks` text chunks. `GET /_stats` returns the
//! request count.

use std::time::Duration;

use clap::Parser;
use weft_testkit::{FakeLlm, Reply};

/// A fake OpenAI/Anthropic server on 127.0.0.1 for benchmarks and demos.
#[derive(Parser, Debug)]
#[command(name = "weft-fake-llm", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Milliseconds before the first chunk of every reply.
    #[arg(long, default_value_t = 0)]
    ttft_ms: u64,
    /// Milliseconds between chunks.
    #[arg(long, default_value_t = 0)]
    chunk_ms: u64,
    /// Text chunks per reply.
    #[arg(long, default_value_t = 20)]
    chunks: usize,
    /// Worker threads (0: one per core). One thread leaves the other cores to the client
    /// being measured.
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let runtime = match args.threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        0 => tokio::runtime::Runtime::new()?,
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> std::io::Result<()> {
    let reply = Reply::chunks((0..args.chunks).map(|i| format!("token{i} ")));
    let server = FakeLlm::builder()
        .port(args.port)
        .ttft(Duration::from_millis(args.ttft_ms))
        .chunk_delay(Duration::from_millis(args.chunk_ms))
        .default_reply(reply)
        .capture_requests(false)
        .start()
        .await?;
    println!("weft-fake-llm listening on {}", server.url());
    println!("  OPENAI_BASE_URL={}", server.openai_base_url());
    println!("  ANTHROPIC_BASE_URL={}", server.anthropic_base_url());
    std::future::pending::<()>().await;
    Ok(())
}
