//! SSE decoding throughput: a streamed Chat Completions body (text and tool-call chunks, then
//! usage) through weft's decoder into model events, in MB/s, whole and in 1 KiB network-sized
//! pieces.
//!
//! ```text
//! cargo bench -p weft-bench --bench sse
//! ```

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::executor::block_on;
use futures::StreamExt;

/// About 1 MiB of stream: content chunks as OpenAI sends them, a tool call, usage, `[DONE]`.
fn body() -> Vec<u8> {
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 1 << 20 {
        body.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token{i} ünïcödé \"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n"
        ));
        i += 1;
    }
    body.push_str("data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n");
    body.push_str("data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20}}\n\ndata: [DONE]\n\n");
    body.into_bytes()
}

fn decode(chunks: Vec<bytes::Bytes>) -> usize {
    let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    block_on(
        weft::__private::decode_openai_stream("openai", stream, |err| weft::Error::Network {
            provider: "openai",
            message: err.to_string(),
        })
        .map(|event| event.unwrap())
        .count(),
    )
}

fn benches(c: &mut Criterion) {
    let body = body();
    let mut group = c.benchmark_group("sse_decode");
    group.throughput(Throughput::Bytes(body.len() as u64));
    let whole = vec![bytes::Bytes::from(body.clone())];
    group.bench_function("openai_1MiB_one_chunk", |b| {
        b.iter(|| decode(whole.clone()))
    });
    let pieces: Vec<bytes::Bytes> = body
        .chunks(1024)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    group.bench_function("openai_1MiB_1KiB_chunks", |b| {
        b.iter(|| decode(pieces.clone()))
    });
    group.finish();
}

criterion_group!(sse, benches);
criterion_main!(sse);
