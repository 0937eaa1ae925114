//! What weft tells tracing and metrics backends: `tracing` spans named and attributed as
//! OpenTelemetry's GenAI semantic conventions say, and the GenAI client metrics.
//!
//! The spans (all at `INFO`; the OpenTelemetry name is the `otel.name` field):
//!
//! | span | `otel.name` | attributes |
//! |---|---|---|
//! | `invoke_workflow` | `invoke_workflow {workflow}` | `gen_ai.operation.name`, `gen_ai.conversation.id` (session id), `weft.workflow.name`, `weft.run.id`, `weft.run.resumed`; at the end `weft.run.status`, `weft.seq.first`, `weft.seq.last` |
//! | `resume_workflow` | `resume_workflow {workflow}` | `weft.run.id`, `weft.log.items`, `weft.journal.entries` |
//! | `step` | `step {name}` | `weft.step.name`, `weft.journaled` |
//! | `invoke_agent` | `invoke_agent {agent}` | `gen_ai.operation.name`, `gen_ai.agent.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.conversation.id`, `weft.run.id`; at the end `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` |
//! | `chat` | `chat {model}` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`; at the end `gen_ai.response.model`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.response.finish_reasons`, `weft.journaled` |
//! | `execute_tool` | `execute_tool {tool}` | `gen_ai.operation.name`, `gen_ai.tool.name`, `gen_ai.tool.call.id`, `weft.journaled`, `error.type` on an error |
//!
//! They nest `invoke_workflow` > `resume_workflow`, `step`, `invoke_agent` > `chat`,
//! `execute_tool`; an agent run in a spawned task still nests under its workflow run. Each
//! span is attached to the stream or future it measures: entered while it is polled, closed
//! when it ends or is dropped, so a stream consumed elsewhere nests right. A failed span has
//! `otel.status_code = "ERROR"` and `error.type`.
//!
//! Prompt and answer text (`gen_ai.input.messages`, `gen_ai.output.messages`, tool arguments
//! and results) are recorded only when [`capture_content`] is on (or `WEFT_TRACE_CONTENT=1`);
//! API keys never are. Export them with the `otel` feature (`weft::otel`), or read them with
//! any `tracing` subscriber.

pub mod metrics;
pub(crate) mod spans;

use std::sync::atomic::{AtomicU8, Ordering};

/// Whether prompt and answer text go into spans: 0 not decided yet (read the environment),
/// 1 off, 2 on.
static CAPTURE: AtomicU8 = AtomicU8::new(0);

/// Records prompt and answer text, tool arguments and tool results in the spans (off by
/// default: they may hold personal data). `WEFT_TRACE_CONTENT=1` turns it on too.
pub fn capture_content(on: bool) {
    CAPTURE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

/// Whether [`capture_content`] is on.
pub fn capturing_content() -> bool {
    match CAPTURE.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var("WEFT_TRACE_CONTENT").is_ok_and(|value| value == "1");
            // Decided once, unless `capture_content` was called meanwhile.
            let _ = CAPTURE.compare_exchange(
                0,
                if on { 2 } else { 1 },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            CAPTURE.load(Ordering::Relaxed) == 2
        }
        value => value == 2,
    }
}
