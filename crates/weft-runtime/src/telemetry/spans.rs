//! The spans of [the telemetry module](super), made in one place so their names and
//! attributes stay as the GenAI conventions say.

use tracing::field::Empty;
use tracing::Span;

/// The span of one workflow run (`invoke_workflow {workflow}`); its run id and session are
/// recorded once the run has begun.
pub(crate) fn workflow(workflow: &str, resumed: bool) -> Span {
    tracing::info_span!(
        "invoke_workflow",
        otel.name = %format_args!("invoke_workflow {workflow}"),
        otel.kind = "internal",
        otel.status_code = Empty,
        gen_ai.operation.name = "invoke_workflow",
        gen_ai.conversation.id = Empty,
        weft.workflow.name = %workflow,
        weft.run.id = Empty,
        weft.run.resumed = resumed,
        weft.run.status = Empty,
        weft.seq.first = Empty,
        weft.seq.last = Empty,
        error.type = Empty,
    )
}

/// The span of a resume's reading of the run's log and journal, under the run's span.
pub(crate) fn resume(parent: &Span, workflow: &str, run_id: &str) -> Span {
    tracing::info_span!(
        parent: parent,
        "resume_workflow",
        otel.name = %format_args!("resume_workflow {workflow}"),
        otel.kind = "internal",
        weft.run.id = %run_id,
        weft.log.items = Empty,
        weft.journal.entries = Empty,
    )
}

/// The span of one `ctx.step(name, ..)`, under the run's span.
pub(crate) fn step(parent: &Span, name: &str, journaled: bool) -> Span {
    tracing::info_span!(
        parent: parent,
        "step",
        otel.name = %format_args!("step {name}"),
        otel.kind = "internal",
        weft.step.name = %name,
        weft.journaled = journaled,
    )
}

/// What an agent run's span says about the agent.
pub(crate) struct AgentRun<'a> {
    pub agent: Option<&'a str>,
    pub provider: &'a str,
    pub model: &'a str,
    /// The workflow run it works for, if any: its span is the parent, its session the
    /// conversation.
    pub workflow: Option<(&'a Span, &'a str, &'a str)>,
}

/// The span of one agent run (`invoke_agent {agent}`): under its workflow run's span when
/// it works for one (also from a spawned task), else under the current span.
pub(crate) fn agent(run: &AgentRun<'_>) -> Span {
    let parent = match run.workflow {
        Some((span, _, _)) => span.id(),
        None => Span::current().id(),
    };
    let span = tracing::info_span!(
        parent: parent,
        "invoke_agent",
        otel.name = %AgentSpanName(run.agent),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = Empty,
        gen_ai.provider.name = %run.provider,
        gen_ai.request.model = %run.model,
        gen_ai.conversation.id = Empty,
        weft.run.id = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if let Some(agent) = run.agent {
        span.record("gen_ai.agent.name", agent);
    }
    if let Some((_, session_id, run_id)) = run.workflow {
        span.record("gen_ai.conversation.id", session_id);
        span.record("weft.run.id", run_id);
    }
    span
}

/// `invoke_agent {agent}`, or `invoke_agent` for an agent without a name; made only when
/// the span is recorded.
struct AgentSpanName<'a>(Option<&'a str>);

impl std::fmt::Display for AgentSpanName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(agent) => write!(f, "invoke_agent {agent}"),
            None => f.write_str("invoke_agent"),
        }
    }
}

/// The span of one model call (`chat {model}`), under the current span (the agent run's).
pub(crate) fn chat(provider: &str, model: &str, journaled: bool) -> Span {
    tracing::info_span!(
        "chat",
        otel.name = %format_args!("chat {model}"),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = %provider,
        gen_ai.request.model = %model,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
        weft.journaled = journaled,
        error.type = Empty,
    )
}

/// The span of one tool call (`execute_tool {tool}`), under the current span.
pub(crate) fn tool(name: &str, call_id: &str) -> Span {
    tracing::info_span!(
        "execute_tool",
        otel.name = %format_args!("execute_tool {name}"),
        otel.kind = "internal",
        otel.status_code = Empty,
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = %name,
        gen_ai.tool.call.id = %call_id,
        gen_ai.tool.call.arguments = Empty,
        gen_ai.tool.call.result = Empty,
        weft.journaled = Empty,
        error.type = Empty,
    )
}

/// Marks `span` failed with `error_type`.
pub(crate) fn failed(span: &Span, error_type: &str) {
    span.record("otel.status_code", "ERROR");
    span.record("error.type", error_type);
}
