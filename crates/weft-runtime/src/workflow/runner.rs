//! The one place a workflow run is driven: session loading, id stamping, run records and
//! state saving.
//!
//! When state is saved is documented on [the `workflow` module](super).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use std::panic::AssertUnwindSafe;

use futures::{FutureExt, StreamExt};

use super::{session, three_way, Workflow};
use crate::agent::AgentUsage;
use crate::response::{now_millis, Content, Metrics, RunEvent, RunResponse, RunStream};
use crate::storage::{RunRecord, RunStatus, StorageRef, WorkflowSession};
use crate::{Error, Result};

/// The ids stamped on every item of a run.
#[derive(Clone, Debug)]
struct Stamp {
    run_id: String,
    session_id: String,
    workflow_id: String,
}

impl Stamp {
    fn apply(&self, item: &mut RunResponse) {
        item.run_id.clone_from(&self.run_id);
        item.session_id = Some(self.session_id.clone());
        item.workflow_id = Some(self.workflow_id.clone());
    }

    fn item(&self, event: RunEvent, content: Content) -> RunResponse {
        let mut item = RunResponse {
            content,
            ..RunResponse::new(event)
        };
        self.apply(&mut item);
        item
    }
}

/// What the run produced so far; shared with the guard so `Drop` can record it.
#[derive(Debug)]
struct Progress {
    /// When the run began: time to first token is measured from here.
    started: Instant,
    content: String,
    events: Vec<RunResponse>,
    /// Usage from completed items of agents that are not the workflow's own (whose usage is
    /// counted by their meters instead).
    metrics: Metrics,
    /// The names of the workflow's `#[agent]`s.
    own_agents: Vec<String>,
}

impl Progress {
    fn absorb(&mut self, item: &RunResponse) {
        if item.event == RunEvent::RunContent {
            if self.metrics.time_to_first_token.is_none() && !item.content_text().is_empty() {
                self.metrics.time_to_first_token = Some(self.started.elapsed());
            }
            self.content.push_str(item.content_text());
            return;
        }
        let own = item
            .agent_name
            .as_ref()
            .is_some_and(|name| self.own_agents.contains(name));
        if item.event == RunEvent::RunCompleted && !own {
            // Saturating: the counts come from providers (or from any agent's items).
            let metrics = &item.metrics;
            let sum = &mut self.metrics;
            sum.input_tokens = sum.input_tokens.saturating_add(metrics.input_tokens);
            sum.cached_input_tokens = sum
                .cached_input_tokens
                .saturating_add(metrics.cached_input_tokens);
            sum.output_tokens = sum.output_tokens.saturating_add(metrics.output_tokens);
            sum.total_tokens = sum.total_tokens.saturating_add(metrics.total_tokens);
            sum.model_calls = sum.model_calls.saturating_add(metrics.model_calls);
        }
        self.events.push(item.clone());
    }
}

fn lock(progress: &Mutex<Progress>) -> std::sync::MutexGuard<'_, Progress> {
    progress
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Owns the workflow for the length of a run; records the run if it is dropped unfinished.
struct RunGuard<'a, W: Workflow> {
    workflow: &'a mut W,
    stamp: Stamp,
    progress: Arc<Mutex<Progress>>,
    input: serde_json::Value,
    /// The stored session this instance's changes are measured against (state, name, user):
    /// the base of a three-way merge after a lost compare-and-swap.
    base: Base,
    started: Instant,
    created_at: u64,
    /// The workflow's agents' usage when the run began.
    usage_before: AgentUsage,
    /// Set when the run ends: the status to record, even if the stream is dropped while the
    /// final save is under way.
    ending: Option<(RunStatus, Option<String>)>,
    /// Set once the run is recorded with its final status.
    finished: bool,
}

/// What a run's merge compares against: the session as last read.
struct Base {
    state: serde_json::Value,
    session_name: Option<String>,
    user_id: Option<String>,
}

/// How many times a save that lost a compare-and-swap is merged and retried.
const MERGE_RETRIES: usize = 3;

/// The error recorded for a run dropped while a panic unwound through it.
const UNWOUND: &str = "a panic unwound through the run (in `run`, or in the code consuming its stream); the run was not finished";

/// The message of a caught panic: its payload if it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "the run panicked".to_string()
    }
}

impl<'a, W: Workflow> RunGuard<'a, W> {
    /// Reads the session, starts a run and records it as `running`.
    async fn begin(workflow: &'a mut W, input: serde_json::Value) -> Result<Self> {
        session::load_session(workflow).await?;
        let context = workflow.context();
        let storage = Arc::clone(context.storage);
        // What this instance's changes are measured against: the stored version it holds,
        // not its current state, so edits made between runs count as its own changes.
        let state = match &context.meta.base {
            Some(base) => base.clone(),
            None => serde_json::to_value(&*context.session_state)?,
        };
        let base = Base {
            state,
            session_name: context.meta.session_name.clone(),
            user_id: context.user_id.clone(),
        };
        let stamp = Stamp {
            run_id: uuid::Uuid::new_v4().to_string(),
            session_id: context.session_id.clone(),
            workflow_id: W::NAME.to_string(),
        };
        *context.run_id = Some(stamp.run_id.clone());
        let agents = workflow.agents();
        let usage_before = agents.iter().map(|agent| agent.usage()).sum();
        let progress = Progress {
            started: Instant::now(),
            content: String::new(),
            events: Vec::new(),
            metrics: Metrics::default(),
            own_agents: agents
                .iter()
                .filter_map(|agent| agent.name().map(str::to_string))
                .collect(),
        };
        let guard = RunGuard {
            workflow,
            stamp,
            progress: Arc::new(Mutex::new(progress)),
            usage_before,
            input,
            base,
            started: Instant::now(),
            created_at: now_millis(),
            ending: None,
            finished: false,
        };
        storage
            .put_run(guard.record(RunStatus::Running, None))
            .await?;
        Ok(guard)
    }

    fn storage(&mut self) -> StorageRef {
        Arc::clone(self.workflow.context().storage)
    }

    /// Tokens and model calls of the run so far: the workflow's agents' meters since the run
    /// began, plus completed items of other agents it yielded.
    fn metrics(&self, progress: &Progress) -> Metrics {
        let own: AgentUsage = self.workflow.agents().iter().map(|a| a.usage()).sum();
        let own = own.since(self.usage_before);
        let mut metrics = progress.metrics.clone();
        // Saturating: the token counts come from providers.
        metrics.input_tokens = metrics.input_tokens.saturating_add(own.input_tokens);
        metrics.cached_input_tokens = metrics
            .cached_input_tokens
            .saturating_add(own.cached_input_tokens);
        metrics.output_tokens = metrics.output_tokens.saturating_add(own.output_tokens);
        metrics.total_tokens = metrics.input_tokens.saturating_add(metrics.output_tokens);
        metrics.model_calls = metrics
            .model_calls
            .saturating_add(u32::try_from(own.model_calls).unwrap_or(u32::MAX));
        metrics
    }

    fn record(&self, status: RunStatus, error: Option<String>) -> RunRecord {
        let progress = lock(&self.progress);
        let mut metrics = self.metrics(&progress);
        if status != RunStatus::Running {
            metrics.duration = Some(self.started.elapsed());
        }
        RunRecord {
            run_id: self.stamp.run_id.clone(),
            session_id: self.stamp.session_id.clone(),
            workflow_id: self.stamp.workflow_id.clone(),
            input: self.input.clone(),
            status,
            content: progress.content.clone(),
            events: progress.events.clone(),
            metrics,
            error,
            created_at: self.created_at,
            updated_at: now_millis(),
        }
    }

    /// After a lost compare-and-swap: redoes this instance's changes (the run's, and any made
    /// to `session_state` before it) on top of `theirs`, key by key for the state; the
    /// session's name and user are this instance's only if it changed them. If both changed
    /// the same key, the instance takes in `theirs` as it is and the error names the keys.
    fn merge_onto(&mut self, theirs: Option<WorkflowSession>) -> Result<()> {
        let context = self.workflow.context();
        let mine = serde_json::to_value(&*context.session_state)?;
        let their_version = theirs.as_ref().map_or(0, |theirs| theirs.version);
        let theirs = match theirs {
            Some(theirs) => Base {
                state: theirs.session_state,
                session_name: theirs.session_name,
                user_id: theirs.user_id,
            },
            // Deleted meanwhile: recreated with this run's state.
            None => Base {
                state: self.base.state.clone(),
                session_name: None,
                user_id: self.base.user_id.clone(),
            },
        };
        let merged = match three_way(&self.base.state, &mine, &theirs.state) {
            Ok(merged) => merged,
            Err(keys) => {
                *context.session_state = serde_json::from_value(theirs.state.clone())?;
                context.meta.session_name = theirs.session_name;
                context.meta.version = their_version;
                context.meta.base = Some(theirs.state);
                return Err(Error::Conflict {
                    session_id: self.stamp.session_id.clone(),
                    keys,
                });
            }
        };
        *context.session_state = serde_json::from_value(merged)?;
        if context.meta.session_name == self.base.session_name {
            context.meta.session_name.clone_from(&theirs.session_name);
        }
        if *context.user_id == self.base.user_id {
            context.user_id.clone_from(&theirs.user_id);
        }
        context.meta.version = their_version;
        context.meta.base = Some(theirs.state.clone());
        self.base = theirs;
        tracing::debug!(session_id = %self.stamp.session_id, "merged this run's session changes onto a newer version");
        Ok(())
    }

    /// Saves the state, merging onto another writer's update when the changes do not overlap.
    async fn save_state(&mut self) -> Result<()> {
        let storage = self.storage();
        for attempt in 0..=MERGE_RETRIES {
            let snapshot = session::snapshot(self.workflow)?;
            match storage.upsert_session(snapshot).await {
                Ok(stored) => {
                    session::saved(self.workflow, &stored);
                    return Ok(());
                }
                Err(Error::Conflict { session_id, .. }) if attempt < MERGE_RETRIES => {
                    let theirs = storage.read_session(&session_id).await?;
                    self.merge_onto(theirs)?;
                }
                Err(err) => return Err(err),
            }
        }
        Err(Error::Conflict {
            session_id: self.stamp.session_id.clone(),
            keys: Vec::new(),
        })
    }

    /// Saves the state, then the run record with its final status.
    async fn finish(&mut self, status: RunStatus, error: Option<String>) -> Result<RunRecord> {
        self.ending = Some((status, error.clone()));
        let (status, error, outcome) = match self.save_state().await {
            Ok(()) => (status, error, Ok(())),
            Err(err) => {
                // The record says the state was not saved, even when the run failed anyway.
                let error = match error {
                    Some(error) => format!("{error}; the state was not saved: {err}"),
                    None => err.to_string(),
                };
                (RunStatus::Failed, Some(error), Err(err))
            }
        };
        self.ending = Some((status, error.clone()));
        let record = self.record(status, error);
        self.storage().put_run(record.clone()).await?;
        self.finished = true;
        outcome.map(|()| record)
    }

    /// The synchronous save of a dropped run (see `WorkflowStorage::save_blocking`): recorded
    /// `cancelled`; `failed` if a panic is unwinding through it (the run's own panics are
    /// caught in [`run_stream`], so this is one that escaped elsewhere, e.g. in the code
    /// consuming the stream); or with the status it was ending with if the drop came during
    /// the final save. If the state cannot be saved, the run record says why.
    fn save_dropped(&mut self) -> Result<()> {
        let (status, error) = self.ending.clone().unwrap_or_else(|| {
            if std::thread::panicking() {
                (RunStatus::Failed, Some(UNWOUND.to_string()))
            } else {
                (RunStatus::Cancelled, None)
            }
        });
        let saved = self.save_dropped_state(status, error.clone());
        if let Err(err) = &saved {
            let note = match &error {
                Some(error) => format!("{error}; the state was not saved: {err}"),
                None => format!("the state was not saved: {err}"),
            };
            let record = self.record(status, Some(note));
            self.storage().save_blocking(None, record)?;
        }
        saved
    }

    /// The state and run record of a dropped run, merged and retried after a lost
    /// compare-and-swap like [`save_state`](Self::save_state).
    fn save_dropped_state(&mut self, status: RunStatus, error: Option<String>) -> Result<()> {
        let storage = self.storage();
        for attempt in 0..=MERGE_RETRIES {
            let record = self.record(status, error.clone());
            let snapshot = session::snapshot(self.workflow)?;
            match storage.save_blocking(Some(snapshot), record) {
                Ok(Some(stored)) => {
                    session::saved(self.workflow, &stored);
                    return Ok(());
                }
                Ok(None) => return Ok(()),
                Err(Error::Conflict { session_id, .. }) if attempt < MERGE_RETRIES => {
                    let theirs = storage.read_session_blocking(&session_id)?;
                    self.merge_onto(theirs)?;
                }
                Err(err) => return Err(err),
            }
        }
        Err(Error::Conflict {
            session_id: self.stamp.session_id.clone(),
            keys: Vec::new(),
        })
    }
}

impl<W: Workflow> Drop for RunGuard<'_, W> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Err(err) = self.save_dropped() {
            tracing::error!(run_id = %self.stamp.run_id, error = %err, "could not save a dropped run");
        }
    }
}

/// Drives one run; see the module docs.
pub fn run_stream<W: Workflow>(workflow: &mut W, input: W::Input) -> RunStream<'_> {
    Box::pin(async_stream::stream! {
        let session_id = workflow.context().session_id.clone();
        let begun = match serde_json::to_value(&input) {
            Ok(input_json) => RunGuard::begin(workflow, input_json).await,
            Err(err) => Err(Error::from(err)),
        };
        let mut guard = match begun {
            Ok(guard) => guard,
            Err(err) => {
                // The run never started (the input would not serialise, the session could not
                // be read or the run not recorded): the same `RunError` item as any failure.
                yield Ok(error_item::<W>(&session_id, &err));
                yield Err(err);
                return;
            }
        };
        let stamp = guard.stamp.clone();
        let progress = Arc::clone(&guard.progress);
        yield Ok(stamp.item(RunEvent::WorkflowStarted, Content::default()));
        let mut failure = None;
        // A panic in the user's `run` (building its stream, or polling it) ends the run
        // `failed` with the panic's message, like any error.
        let workflow = &mut *guard.workflow;
        match std::panic::catch_unwind(AssertUnwindSafe(move || workflow.body(input))) {
            Ok(mut body) => loop {
                match AssertUnwindSafe(body.next()).catch_unwind().await {
                    Ok(Some(Ok(mut item))) => {
                        stamp.apply(&mut item);
                        lock(&progress).absorb(&item);
                        yield Ok(item);
                    }
                    Ok(Some(Err(err))) => {
                        failure = Some(err);
                        break;
                    }
                    Ok(None) => break,
                    Err(panic) => {
                        failure = Some(Error::RunPanicked { message: panic_message(&*panic) });
                        break;
                    }
                }
            },
            Err(panic) => failure = Some(Error::RunPanicked { message: panic_message(&*panic) }),
        }
        let outcome = match failure {
            None => guard.finish(RunStatus::Completed, None).await,
            Some(err) => {
                if let Err(save) = guard.finish(RunStatus::Failed, Some(err.to_string())).await {
                    tracing::error!(run_id = %stamp.run_id, error = %save, "could not save a failed run");
                }
                Err(err)
            }
        };
        match outcome {
            Ok(record) => {
                let mut completed = stamp.item(RunEvent::WorkflowCompleted, Content::Text(record.content));
                completed.metrics = record.metrics;
                yield Ok(completed);
            }
            Err(err) => {
                yield Ok(stamp.item(RunEvent::RunError, Content::Text(err.to_string())));
                yield Err(err);
            }
        }
    })
}

/// The `RunError` item of a run that failed before it started (no run id yet).
fn error_item<W: Workflow>(session_id: &str, error: &Error) -> RunResponse {
    RunResponse {
        content: Content::Text(error.to_string()),
        session_id: Some(session_id.to_string()),
        workflow_id: Some(W::NAME.to_string()),
        ..RunResponse::new(RunEvent::RunError)
    }
}

/// Runs and collects: the concatenated text, every tool execution, the run's metrics.
pub async fn run<W: Workflow>(workflow: &mut W, input: W::Input) -> Result<RunResponse> {
    let mut events = run_stream(workflow, input);
    let mut collected = RunResponse::new(RunEvent::RunContent);
    let mut text = String::new();
    while let Some(item) = events.next().await {
        let item = item?;
        match item.event {
            RunEvent::RunContent => text.push_str(item.content_text()),
            RunEvent::ToolCallCompleted => collected.tools.extend(item.tools),
            RunEvent::WorkflowCompleted => {
                collected.run_id = item.run_id;
                collected.session_id = item.session_id;
                collected.workflow_id = item.workflow_id;
                collected.metrics = item.metrics;
            }
            _ => {}
        }
    }
    collected.content = Content::Text(text);
    Ok(collected)
}

/// Runs on JSON input; bad input ends the stream with a `RunError` item and
/// [`Error::InvalidInput`] naming the field path.
pub fn run_json<W: Workflow>(workflow: &mut W, input: serde_json::Value) -> RunStream<'_> {
    match serde_path_to_error::deserialize::<_, W::Input>(input) {
        Ok(input) => run_stream(workflow, input),
        Err(err) => {
            let message = err.inner().to_string();
            let mut path = err.path().to_string();
            // serde reports a missing field at its parent; name the field itself.
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                path = if path == "." {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
            }
            let error = Error::InvalidInput { path, message };
            let item = error_item::<W>(workflow.context().session_id, &error);
            futures::stream::iter([Ok(item), Err(error)]).boxed()
        }
    }
}
