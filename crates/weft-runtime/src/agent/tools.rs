//! Running the tool calls of one model turn.
//!
//! Calls run concurrently; results come back in call order, so the conversation sent to the
//! model is deterministic. Nothing a tool does ends the run: an unknown tool, arguments that
//! are not JSON, a tool error or a panic all become an error result the model can read.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use tracing_futures::Instrument;

use crate::message::ToolCall;
use crate::response::ToolExecution;
use crate::tool::Tool;

/// Runs every call concurrently and returns their executions in call order.
pub(crate) async fn run_all(tools: &[Arc<dyn Tool>], calls: &[ToolCall]) -> Vec<ToolExecution> {
    futures::future::join_all(calls.iter().map(|call| run_one(tools, call))).await
}

/// The execution of a call that was not run because the run's `tool_call_limit` was reached;
/// its result tells the model to answer with what it has.
pub(crate) fn refused(call: &ToolCall, limit: usize) -> ToolExecution {
    ToolExecution {
        id: call.id.clone(),
        name: call.name.clone(),
        arguments: call.arguments.clone(),
        result: Some(format!(
            "error: not run, the limit of {limit} tool calls for this run was reached; answer with what you have"
        )),
        is_error: true,
        duration: None,
    }
}

async fn run_one(tools: &[Arc<dyn Tool>], call: &ToolCall) -> ToolExecution {
    let started = Instant::now();
    let (result, is_error) = match tools.iter().find(|tool| tool.name() == call.name) {
        None => {
            let names: Vec<&str> = tools.iter().map(|tool| tool.name()).collect();
            let message = format!(
                "error: there is no tool named `{}`; available tools: {}",
                call.name,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            );
            (message, true)
        }
        Some(tool) => match serde_json::from_str(&call.arguments) {
            Err(err) => (
                format!(
                    "error: the arguments for `{}` are not valid JSON ({err}); call it again with a JSON object",
                    call.name
                ),
                true,
            ),
            Ok(arguments) => {
                let span = tracing::info_span!("tool.call", tool = %call.name, call_id = %call.id);
                match AssertUnwindSafe(tool.call(arguments))
                    .catch_unwind()
                    .instrument(span)
                    .await
                {
                    Ok(Ok(output)) => (output.into_text(), false),
                    Ok(Err(err)) => (format!("error: {err}"), true),
                    Err(_) => (format!("error: the tool `{}` panicked", call.name), true),
                }
            }
        },
    };
    if is_error {
        tracing::debug!(tool = %call.name, %result, "tool call returned an error to the model");
    }
    ToolExecution {
        id: call.id.clone(),
        name: call.name.clone(),
        arguments: call.arguments.clone(),
        result: Some(result),
        is_error,
        duration: Some(started.elapsed()),
    }
}
