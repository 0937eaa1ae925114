//! Running the tool calls of one model turn.
//!
//! Calls run concurrently; results come back in call order, so the conversation sent to the
//! model is deterministic. Nothing a tool does ends the run: an unknown tool, arguments that
//! are not JSON, a tool error, a panic (while the tool makes its future or while it runs) or a
//! call that outlives its timeout all become an error result the model can read. A call to a
//! tool that needs approval pauses a workflow run until a person answers (see
//! [`Tool::needs_approval`]); the other calls of the turn run meanwhile and are journaled.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tracing_futures::Instrument;

use serde_json::Value;

use crate::durable::faults::fault_point;
use crate::durable::interrupt::{Approval, Pause, ToolApproval};
use crate::durable::scope::RunScope;
use crate::durable::{identity, journal};
use crate::message::ToolCall;
use crate::response::ToolExecution;
use crate::storage::JournalKind;
use crate::telemetry::{self, spans};
use crate::tool::Tool;
use crate::{Error, Result};

/// Runs every call concurrently and returns their executions in call order. A call stops after
/// its tool's [`Tool::timeout`], else after `timeout`.
///
/// Inside a workflow run (`scope`), each call's journal key is taken in call order before
/// anything runs; a journaled call returns its recorded execution at once, and a call that
/// runs is journaled as soon as it finishes, with the seq of its `ToolCallStarted` item if
/// that is logged (`started` holds those items' identities, in call order). The error is the
/// store's, when the journal cannot be read back or written.
pub(crate) async fn run_all(
    tools: &[Arc<dyn Tool>],
    calls: &[ToolCall],
    timeout: Duration,
    scope: Option<&Arc<RunScope>>,
    started: &[Option<String>],
) -> Result<Vec<ToolExecution>> {
    let Some(scope) = scope else {
        let runs = calls.iter().map(|call| {
            let span = spans::tool(&call.name, &call.id);
            traced(span.clone(), false, run_one(tools, call, timeout, false)).instrument(span)
        });
        return Ok(futures::future::join_all(runs).await);
    };
    let keys: Vec<String> = calls
        .iter()
        .map(|call| scope.next_key(&identity::tool_prefix(&call.name, &call.arguments)))
        .collect();
    let runs = calls
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(index, (call, key))| {
            let span = spans::tool(&call.name, &call.id);
            let traced_span = span.clone();
            async move {
                if let Some(entry) = scope.journaled(&key) {
                    let execution = journal::read_tool(scope.run_id(), &entry, call)?;
                    return Ok(traced(traced_span, true, async { execution }).await);
                }
                if let Some(rejected) = approval(tools, call, &key, scope)? {
                    return Ok(traced(traced_span, false, async { rejected }).await);
                }
                fault_point("tool.started");
                let live = run_one(tools, call, timeout, true);
                let execution = traced(traced_span, false, live).await;
                fault_point("tool.finished");
                let started = started.get(index).and_then(Option::as_deref);
                let seqs = scope.seqs_of(started);
                let output = journal::output_of(&execution)?;
                scope
                    .write_journal(key, JournalKind::ToolCall, output, seqs)
                    .await?;
                Ok(execution)
            }
            .instrument(span)
        });
    futures::future::join_all(runs).await.into_iter().collect()
}

/// `execution` with what it came to recorded on its `execute_tool` span: whether it was
/// replayed from the journal, the error, and with content capture on, arguments and result.
async fn traced(
    span: tracing::Span,
    journaled: bool,
    execution: impl Future<Output = ToolExecution>,
) -> ToolExecution {
    let execution = execution.await;
    span.record("weft.journaled", journaled);
    if execution.is_error {
        spans::failed(&span, "tool_error");
    }
    if telemetry::capturing_content() {
        span.record("gen_ai.tool.call.arguments", execution.arguments.as_str());
        if let Some(result) = &execution.result {
            span.record("gen_ai.tool.call.result", result.as_str());
        }
    }
    execution
}

/// For a call to a tool that needs approval ([`Tool::needs_approval`]), in a workflow run:
/// the run's journaled answer, or a pause asking for one. `Ok(None)`: run the call (approved,
/// or no approval needed); `Ok(Some(..))`: the rejected call's execution, its result telling
/// the model; `Err(Error::Paused)`: no answer yet, the run pauses.
fn approval(
    tools: &[Arc<dyn Tool>],
    call: &ToolCall,
    tool_key: &str,
    scope: &RunScope,
) -> Result<Option<ToolExecution>> {
    if !tools
        .iter()
        .any(|tool| tool.name() == call.name && tool.needs_approval())
    {
        return Ok(None);
    }
    let key = identity::key(&identity::approval_prefix(tool_key), 0);
    let Some(entry) = scope.journaled(&key) else {
        let arguments = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| Value::String(call.arguments.clone()));
        let question = ToolApproval {
            tool: call.name.clone(),
            arguments,
        };
        let name = format!("approve:{}", call.name);
        scope.pause(Pause {
            name: name.clone(),
            key,
            question: serde_json::to_value(question)?,
            answer_schema: crate::schema::schema_for::<Approval>(),
        });
        return Err(Error::Paused {
            run_id: scope.run_id().to_string(),
            interrupt: name,
        });
    };
    let answer: Approval = serde_json::from_value(entry.output)
        .map_err(|err| journal::unreadable(scope.run_id(), &key, &err))?;
    if answer.approved {
        return Ok(None);
    }
    let reason = answer
        .reason
        .filter(|reason| !reason.trim().is_empty())
        .map_or(String::new(), |reason| format!(": {reason}"));
    Ok(Some(ToolExecution {
        id: call.id.clone(),
        name: call.name.clone(),
        arguments: call.arguments.clone(),
        result: Some(format!(
            "error: the user rejected this call, so it was not run{reason}. Do not call it again with the same arguments; answer with that in mind"
        )),
        is_error: true,
        duration: None,
    }))
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

/// Runs one call. `approved`: a call to a tool that needs approval got it (in a workflow
/// run); without it such a call is not run.
async fn run_one(
    tools: &[Arc<dyn Tool>],
    call: &ToolCall,
    timeout: Duration,
    approved: bool,
) -> ToolExecution {
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
        Some(tool) if tool.needs_approval() && !approved => (
            format!(
                "error: not run: `{}` needs a person's approval, which only a workflow run can ask for (it pauses the run); tell the user it could not be done here",
                call.name
            ),
            true,
        ),
        Some(tool) => match serde_json::from_str(&call.arguments) {
            Err(err) => (
                format!(
                    "error: the arguments for `{}` are not valid JSON ({err}); call it again with a JSON object",
                    call.name
                ),
                true,
            ),
            Ok(arguments) => {
                let limit = tool.timeout().unwrap_or(timeout);
                let panicked = || (format!("error: the tool `{}` panicked", call.name), true);
                // A tool (a sync closure in a `FunctionTool`) may panic while making its
                // future, before there is anything to poll.
                match std::panic::catch_unwind(AssertUnwindSafe(|| tool.call(arguments))) {
                    Err(_) => panicked(),
                    Ok(future) => {
                        let guarded = AssertUnwindSafe(future).catch_unwind();
                        match within(limit, guarded).await {
                            None => (
                                format!(
                                    "error: the tool `{}` did not finish within {limit:?} and was stopped; answer without its result or call it again",
                                    call.name
                                ),
                                true,
                            ),
                            Some(Ok(Ok(output))) => (output.into_text(), false),
                            Some(Ok(Err(err))) => (format!("error: {err}"), true),
                            Some(Err(_)) => panicked(),
                        }
                    }
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

/// `future`'s output, or `None` if it did not finish within `limit` (it is then dropped). The
/// timer is Tokio's, which every HTTP provider needs anyway; outside a Tokio runtime (an
/// offline model under another executor) there is no timer, and the call runs to its end.
async fn within<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Some(future.await);
    }
    tokio::time::timeout(limit, future).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::FunctionTool;
    use serde_json::json;

    fn call(name: &str) -> ToolCall {
        ToolCall {
            id: format!("id-{name}"),
            name: name.to_string(),
            arguments: "{}".to_string(),
        }
    }

    fn never_finishes() -> FunctionTool {
        FunctionTool::new("forever", "Never answers.", json!({}), |_| {
            futures::future::pending::<Result<String, crate::tool::ToolError>>()
        })
    }

    /// The clock is paused: Tokio jumps it to the timeout as soon as every task is idle, so
    /// the test takes no real time and cannot race.
    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_finishes_times_out_as_a_tool_error() {
        let tools: Vec<Arc<dyn Tool>> = vec![Arc::new(never_finishes())];
        let runs = run_all(
            &tools,
            &[call("forever")],
            Duration::from_secs(30),
            None,
            &[],
        )
        .await
        .unwrap();
        assert!(runs[0].is_error);
        let result = runs[0].result.as_deref().unwrap_or_default();
        assert!(
            result.contains("`forever` did not finish within 30s"),
            "{result}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_tools_own_timeout_wins_over_the_agents() {
        let quick = never_finishes().with_timeout(Duration::from_millis(50));
        let tools: Vec<Arc<dyn Tool>> = vec![Arc::new(quick)];
        let runs = run_all(
            &tools,
            &[call("forever")],
            Duration::from_secs(3600),
            None,
            &[],
        )
        .await
        .unwrap();
        let result = runs[0].result.as_deref().unwrap_or_default();
        assert!(result.contains("within 50ms"), "{result}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sync_closure_that_panics_before_its_future_is_a_tool_error() {
        let tool = FunctionTool::new("boom", "Panics at once.", json!({}), |args| {
            if args.get("x").is_none() {
                panic!("no x");
            }
            async { Ok::<_, crate::tool::ToolError>("never") }
        });
        let tools: Vec<Arc<dyn Tool>> = vec![Arc::new(tool)];
        let runs = run_all(&tools, &[call("boom")], Duration::from_secs(30), None, &[])
            .await
            .unwrap();
        assert!(runs[0].is_error);
        assert_eq!(
            runs[0].result.as_deref(),
            Some("error: the tool `boom` panicked")
        );
    }
}
