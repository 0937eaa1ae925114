//! What the commands print.
//!
//! Human output is a table (lists) or a short report (show). `--json` output is stable: fields
//! are only ever added, never renamed or removed. Timestamps are milliseconds since the Unix
//! epoch; durations are milliseconds.
//!
//! `weft sessions list --json`:
//! ```json
//! {"sessions": [{"session_id": "…", "workflow_id": "…", "workflow_name": "…",
//!                "session_name": null, "user_id": null, "version": 3, "runs": 2,
//!                "created_at": 1795271100000, "updated_at": 1795271160000}],
//!  "skipped": 0}
//! ```
//! `skipped` counts session records that could not be read and were left out (each is logged
//! with its key); the command still succeeds, and when it is not 0 both outputs also say
//! `(N unreadable sessions skipped)` on stderr.
//! `weft sessions show ID --json`:
//! ```json
//! {"session": {"session_id": "…", "workflow_id": "…", "workflow_name": "…",
//!              "session_name": null, "user_id": null, "session_state": {…},
//!              "version": 3, "created_at": …, "updated_at": …},
//!  "runs": [{"run_id": "…", "status": "completed", "created_at": …, "updated_at": …,
//!            "duration_ms": 812, "time_to_first_token_ms": 95, "input_tokens": 31,
//!            "output_tokens": 54, "model_calls": 1, "content": "…"}]}
//! ```
//! `weft runs show RUN_ID --json`: one run with every field of a `runs` entry above, plus
//! where it belongs, what it was given, how it failed, its events and its tool calls:
//! ```json
//! {"run": {"run_id": "…", "session_id": "…", "workflow_id": "…", "status": "failed",
//!          "created_at": …, "updated_at": …, "duration_ms": 812,
//!          "time_to_first_token_ms": null, "input_tokens": 31, "output_tokens": 54,
//!          "model_calls": 1, "content": "…", "input": <the run's JSON input>,
//!          "error": "…" | null, "last_seq": 14,
//!          "events": [{"event": "WorkflowStarted", "created_at": …, "seq": 1}, …],
//!          "tools": [{"name": "…", "arguments": "…", "result": "…", "is_error": false,
//!                     "duration_ms": 3}]}}
//! ```
//! `events` and `tools` come from the run's event log (`WorkflowStorage::read_events`):
//! `events` lists its items in `seq` order except `RunContent` deltas (whose text is
//! `content`), as weft 0.1.0 listed the items it kept with the run; `seq` is the item's place
//! in the log and `last_seq` the run's last one (both added with the event log; a run stored
//! by weft 0.1.0 shows its items numbered 1, 2, …). A run whose log was pruned
//! (`event_log_retention`) shows no events and no tools.
//! `status` is one of `running`, `completed`, `failed`, `cancelled`, `interrupted`,
//! `paused`; a paused run's `run show` has `pause` (`name`, `key`, `question`,
//! `answer_schema`), `null` otherwise; unknown durations are `null`.
//!
//! `weft runs list --json`: runs, most recently started first, each with every field of a
//! `runs` entry of `sessions show` plus where it belongs, how it failed and what it waits
//! for; `skipped` as in `sessions list`:
//! ```json
//! {"runs": [{"run_id": "…", "session_id": "…", "workflow_id": "…", "status": "paused",
//!            "created_at": …, "updated_at": …, "duration_ms": null,
//!            "time_to_first_token_ms": null, "input_tokens": 31, "output_tokens": 54,
//!            "model_calls": 1, "content": "…", "error": null,
//!            "pause": {"name": "…", "key": "…", "question": …, "answer_schema": …}}],
//!  "skipped": 0}
//! ```
//!
//! `weft runs tail RUN_ID` prints as it goes (its code is in the `tail` module). Plain
//! (stdout not a terminal, or `--plain`): one line `[seq] Event detail` per item but text
//! (`[3] StepStarted research: Searching the web`, `[5] ToolCallCompleted search (3 ms):
//! found`), the answer's text (`RunContent` deltas) written as it comes, a line `[seq]
//! ContentDiscarded the text from seq N on is withdrawn (…)` where a resumed run withdraws
//! text, `status: interrupted (following: …)` when the followed run changes status, and at
//! the end, for a paused run, `paused at …`, `question: <JSON>` and `answer schema: <JSON>`,
//! for a failed one `error: …`, and last `status: STATUS`. These lines are for people; a
//! script uses `--json`: one JSON object per line, each item as the event log holds it
//! (`RunResponse`'s fields, `seq` set), then
//! `{"run_id": "…", "status": "…", "following": false, "error": …, "pause": …}` (with
//! `"following": true` for a status the run changed to while followed). The exit status is 0
//! for a run that completed or paused, 1 for one that failed, was cancelled or was
//! interrupted (with `error: …` on stderr), and for every error.

use serde_json::{json, Value};
use weft_runtime::storage::LoggedEvent;
use weft_runtime::{RunEvent, RunRecord, RunStatus, WorkflowSession};

use crate::time::utc;

/// Appends a line to the output (writing to a `String` cannot fail).
macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

fn print_json(out: &mut String, value: &Value) -> weft_runtime::Result<()> {
    line!(out, "{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn status(status: RunStatus) -> &'static str {
    status.as_str()
}

fn duration_ms(run: &RunRecord) -> Option<u128> {
    run.metrics.duration.map(|d| d.as_millis())
}

/// A run as `sessions show --json` lists it.
fn run_summary(r: &RunRecord) -> Value {
    json!({
        "run_id": r.run_id, "status": status(r.status),
        "created_at": r.created_at, "updated_at": r.updated_at,
        "duration_ms": duration_ms(r),
        "time_to_first_token_ms": r.metrics.time_to_first_token.map(|d| d.as_millis()),
        "input_tokens": r.metrics.input_tokens, "output_tokens": r.metrics.output_tokens,
        "model_calls": r.metrics.model_calls, "content": r.content,
    })
}

/// The logged items `events` lists: all but content deltas.
fn listed(items: &[LoggedEvent]) -> impl Iterator<Item = &LoggedEvent> {
    items
        .iter()
        .filter(|logged| logged.item.event != RunEvent::RunContent)
}

/// A run as `runs show --json` prints it: the summary and everything else, with its logged
/// `items`.
fn run_detail(r: &RunRecord, items: &[LoggedEvent]) -> Value {
    let mut run = run_summary(r);
    let events: Vec<Value> = listed(items)
        .map(|logged| {
            json!({
                "event": format!("{:?}", logged.item.event),
                "created_at": logged.item.created_at,
                "seq": logged.seq,
            })
        })
        .collect();
    let tools: Vec<Value> = items
        .iter()
        .map(|logged| &logged.item)
        .filter(|e| e.event == RunEvent::ToolCallCompleted)
        .flat_map(|e| &e.tools)
        .map(|t| {
            json!({
                "name": t.name, "arguments": t.arguments, "result": t.result,
                "is_error": t.is_error, "duration_ms": t.duration.map(|d| d.as_millis()),
            })
        })
        .collect();
    if let Value::Object(fields) = &mut run {
        fields.insert("session_id".into(), json!(r.session_id));
        fields.insert("workflow_id".into(), json!(r.workflow_id));
        fields.insert("input".into(), r.input.clone());
        fields.insert("error".into(), json!(r.error));
        fields.insert("last_seq".into(), json!(r.last_seq));
        fields.insert("pause".into(), json!(r.pause));
        fields.insert("events".into(), Value::Array(events));
        fields.insert("tools".into(), Value::Array(tools));
    }
    run
}

/// A session as the JSON output shows it (field by field, so a new stored field is a
/// decision, not an accident).
fn session_json(s: &WorkflowSession) -> Value {
    json!({
        "session_id": s.session_id, "workflow_id": s.workflow_id,
        "workflow_name": s.workflow_name, "session_name": s.session_name,
        "user_id": s.user_id, "session_state": s.session_state, "version": s.version,
        "created_at": s.created_at, "updated_at": s.updated_at,
    })
}

/// `text` on one line (whitespace runs made one space), cut to `width` characters with `…`.
pub(crate) fn preview(text: &str, width: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= width {
        flat
    } else {
        let cut: String = flat.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Rows with columns padded to their widest cell.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut row_line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        line!(out, "{}", padded.join("  ").trim_end());
    };
    row_line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        row_line(row.clone());
    }
}

/// The stderr note of a listing that skipped unreadable records.
pub fn skipped_note(skipped: usize) -> String {
    let noun = if skipped == 1 { "session" } else { "sessions" };
    format!("({skipped} unreadable {noun} skipped)\n")
}

/// `sessions list`.
pub fn sessions_list(
    out: &mut String,
    rows: &[(WorkflowSession, usize)],
    skipped: usize,
    json: bool,
) -> weft_runtime::Result<()> {
    if json {
        let sessions: Vec<Value> = rows
            .iter()
            .map(|(s, runs)| {
                json!({
                    "session_id": s.session_id, "workflow_id": s.workflow_id,
                    "workflow_name": s.workflow_name, "session_name": s.session_name,
                    "user_id": s.user_id, "version": s.version, "runs": runs,
                    "created_at": s.created_at, "updated_at": s.updated_at,
                })
            })
            .collect();
        return print_json(out, &json!({ "sessions": sessions, "skipped": skipped }));
    }
    if rows.is_empty() {
        line!(out, "no sessions");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(s, runs)| {
            vec![
                s.session_id.clone(),
                s.workflow_id.clone(),
                s.user_id.clone().unwrap_or_else(|| "-".into()),
                s.session_name.clone().unwrap_or_else(|| "-".into()),
                runs.to_string(),
                utc(s.updated_at),
            ]
        })
        .collect();
    table(
        out,
        &[
            "SESSION",
            "WORKFLOW",
            "USER",
            "NAME",
            "RUNS",
            "UPDATED (UTC)",
        ],
        &cells,
    );
    Ok(())
}

/// `sessions show`.
pub fn session_show(
    out: &mut String,
    session: &WorkflowSession,
    runs: &[RunRecord],
    json: bool,
) -> weft_runtime::Result<()> {
    if json {
        let runs: Vec<Value> = runs.iter().map(run_summary).collect();
        return print_json(
            out,
            &json!({ "session": session_json(session), "runs": runs }),
        );
    }
    line!(out, "session   {}", session.session_id);
    line!(out, "workflow  {}", session.workflow_id);
    if let Some(name) = &session.session_name {
        line!(out, "name      {name}");
    }
    if let Some(user) = &session.user_id {
        line!(out, "user      {user}");
    }
    line!(out, "version   {}", session.version);
    line!(out, "created   {} UTC", utc(session.created_at));
    line!(out, "updated   {} UTC", utc(session.updated_at));
    line!(out, "state");
    for line in serde_json::to_string_pretty(&session.session_state)?.lines() {
        line!(out, "  {line}");
    }
    line!(out, "");
    if runs.is_empty() {
        line!(out, "no runs");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.run_id.clone(),
                status(r.status).to_string(),
                utc(r.created_at),
                duration_ms(r).map_or_else(|| "-".into(), |ms| format!("{ms} ms")),
                format!("{}/{}", r.metrics.input_tokens, r.metrics.output_tokens),
                preview(&r.content, 40),
            ]
        })
        .collect();
    table(
        out,
        &[
            "RUN",
            "STATUS",
            "STARTED (UTC)",
            "DURATION",
            "TOKENS IN/OUT",
            "ANSWER",
        ],
        &cells,
    );
    Ok(())
}

/// A run as `runs list --json` lists it.
fn run_listed(r: &RunRecord) -> Value {
    let mut run = run_summary(r);
    if let Value::Object(fields) = &mut run {
        fields.insert("session_id".into(), json!(r.session_id));
        fields.insert("workflow_id".into(), json!(r.workflow_id));
        fields.insert("error".into(), json!(r.error));
        fields.insert("pause".into(), json!(r.pause));
    }
    run
}

/// `runs list`.
pub fn runs_list(
    out: &mut String,
    runs: &[RunRecord],
    skipped: usize,
    json: bool,
) -> weft_runtime::Result<()> {
    if json {
        let runs: Vec<Value> = runs.iter().map(run_listed).collect();
        return print_json(out, &json!({ "runs": runs, "skipped": skipped }));
    }
    if runs.is_empty() {
        line!(out, "no runs");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let detail = match (&r.pause, &r.error) {
                (Some(pause), _) if r.status == RunStatus::Paused => format!(
                    "waits for {}: {}",
                    pause.name,
                    preview(&pause.question.to_string(), 40)
                ),
                (_, Some(error)) => preview(error, 50),
                _ => preview(&r.content, 40),
            };
            vec![
                r.run_id.clone(),
                status(r.status).to_string(),
                r.session_id.clone(),
                r.workflow_id.clone(),
                utc(r.created_at),
                duration_ms(r).map_or_else(|| "-".into(), |ms| format!("{ms} ms")),
                detail,
            ]
        })
        .collect();
    table(
        out,
        &[
            "RUN",
            "STATUS",
            "SESSION",
            "WORKFLOW",
            "STARTED (UTC)",
            "DURATION",
            "ANSWER / QUESTION / ERROR",
        ],
        &cells,
    );
    Ok(())
}

/// `runs show`, with the run's logged `items`.
pub fn run_show(
    out: &mut String,
    run: &RunRecord,
    items: &[LoggedEvent],
    json: bool,
) -> weft_runtime::Result<()> {
    if json {
        return print_json(out, &json!({ "run": run_detail(run, items) }));
    }
    line!(out, "run       {}", run.run_id);
    line!(out, "session   {}", run.session_id);
    line!(out, "workflow  {}", run.workflow_id);
    line!(out, "status    {}", status(run.status));
    line!(out, "started   {} UTC", utc(run.created_at));
    line!(out, "updated   {} UTC", utc(run.updated_at));
    if let Some(ms) = duration_ms(run) {
        line!(out, "duration  {ms} ms");
    }
    line!(
        out,
        "tokens    {} in / {} out over {} model call(s)",
        run.metrics.input_tokens,
        run.metrics.output_tokens,
        run.metrics.model_calls
    );
    line!(out, "input     {}", run.input);
    if let Some(error) = &run.error {
        line!(out, "error     {error}");
    }
    if let Some(pause) = &run.pause {
        line!(out, "waits for {} (continue it with an answer)", pause.name);
        line!(out, "question  {}", pause.question);
    }
    let events: Vec<String> = listed(items)
        .map(|logged| format!("{:?}", logged.item.event))
        .collect();
    line!(
        out,
        "events    {}",
        if events.is_empty() {
            "-".to_string()
        } else {
            events.join(", ")
        }
    );
    line!(out, "answer");
    for line in run.content.lines() {
        line!(out, "  {line}");
    }
    Ok(())
}
