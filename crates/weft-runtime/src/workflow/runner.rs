//! The one place a workflow run is driven: session loading, id stamping, run records and
//! state saving.
//!
//! When state is saved is documented on [the `workflow` module](super).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::{FutureExt, StreamExt};
use tracing_futures::Instrument;

use super::{session, three_way, SameChange, Workflow, WorkflowMeta};
use crate::agent::AgentUsage;
use crate::durable::faults::fault_point;
use crate::durable::handle::Live;
use crate::durable::interrupt::{check_answer, Pause};
use crate::durable::log::LogWriter;
use crate::durable::resume::{self, discard_content};
use crate::durable::scope::{LogState, RunScope, RunTrace};
use crate::response::{now_millis, Content, Metrics, RunEvent, RunResponse, RunStream};
use crate::storage::{
    worker_id, JournalEntry, JournalKind, LoggedEvent, RunClaim, RunRecord, RunStatus, StorageRef,
    WorkflowSession,
};
use crate::telemetry::spans;
use crate::{Error, Result};

/// How a run begins: anew with its input, or by resuming an interrupted run.
pub(crate) enum Start<I> {
    /// A new run on this input.
    Fresh(I),
    /// The interrupted run with this id; with an answer, the paused run with this id,
    /// continued (`continue_run`).
    Resume {
        /// The run.
        run_id: String,
        /// The answer to its pause.
        answer: Option<serde_json::Value>,
    },
}

/// What a run is started with besides its input.
pub(crate) struct Launch {
    /// The id a new run takes (a handle knows it before the run begins); a new UUID v4 if
    /// `None`.
    pub run_id: Option<String>,
    /// What the run shares with its handles.
    pub live: Arc<Live>,
    /// The run's `invoke_workflow` span (set by [`drive`]).
    pub span: tracing::Span,
}

impl Default for Launch {
    fn default() -> Self {
        Launch {
            run_id: None,
            live: Live::new(),
            span: tracing::Span::none(),
        }
    }
}

impl Launch {
    /// The telemetry of a run of this launch in `session_id`.
    fn trace(&self, session_id: &str) -> RunTrace {
        RunTrace {
            span: self.span.clone(),
            session_id: session_id.to_string(),
        }
    }
}

/// How many logged items a resumed run reads from the store at a time.
const LOG_PAGE: usize = 1024;

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

/// What the run produced so far besides its log; shared with the guard so `Drop` can
/// record it.
#[derive(Debug)]
struct Progress {
    /// When the run began: time to first token is measured from here.
    started: Instant,
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
    /// The session state when the run started (kept in its record, for a resume).
    start_state: serde_json::Value,
    /// The stored session this instance's changes are measured against (state, name, user):
    /// the base of a three-way merge after a lost compare-and-swap.
    base: Base,
    /// A resumed or continued run: its changes are merged onto the stored session before the
    /// first save (measured from the state the run started with), whatever the stored
    /// version, taking a key both changed to the same value as this (see
    /// [`merge_onto`](Self::merge_onto)).
    merge_first: Option<SameChange>,
    /// The pause an interrupt asked for, once the run is ending paused.
    pause: Option<Pause>,
    /// The run's scope: its log and journal, shared with its agents and steps.
    scope: Arc<RunScope>,
    started: Instant,
    created_at: u64,
    /// The workflow's agents' usage when the run began.
    usage_before: AgentUsage,
    /// Set when the run ends: the status to record, even if the stream is dropped while the
    /// final save is under way.
    ending: Option<(RunStatus, Option<String>)>,
    /// Set once the run is recorded with its final status.
    finished: bool,
    /// Renews the run's claim while the run goes on (a store with a lease only); stopped
    /// when the guard is dropped.
    renewal: Option<Renewal>,
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
    async fn begin(workflow: &'a mut W, input: serde_json::Value, launch: &Launch) -> Result<Self> {
        session::load_session(workflow).await?;
        let context = workflow.context();
        let storage = Arc::clone(context.storage);
        let start_state = serde_json::to_value(&*context.session_state)?;
        // What this instance's changes are measured against: the stored version it holds,
        // not its current state, so edits made between runs count as its own changes.
        let state = match &context.meta.base {
            Some(base) => base.clone(),
            None => start_state.clone(),
        };
        let base = Base {
            state,
            session_name: context.meta.session_name.clone(),
            user_id: context.user_id.clone(),
        };
        let run_id = launch
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let Some(claim) = claim_run(&storage, &run_id).await? else {
            return Err(Error::Storage {
                message: format!(
                    "run `{run_id}` is claimed by another worker already; start the run with a new id"
                ),
                source: None,
            });
        };
        let renewal = renew_while_running(&storage, &run_id, claim.fence, &launch.live);
        let trace = launch.trace(context.session_id);
        let scope = RunScope::new(
            run_id,
            claim.fence,
            storage,
            Vec::new(),
            LogState::default(),
            Arc::clone(&launch.live),
            trace,
        );
        let parts = Parts {
            input,
            start_state,
            base,
            created_at: now_millis(),
            merge_first: None,
            renewal,
        };
        Self::enter(workflow, scope, parts).await
    }

    /// Takes up the interrupted run `run_id` again: its session, the state and input it
    /// started with, its log and journal; records it `running` again. Also returns the input,
    /// and how the resumed run's log continues.
    ///
    /// With an `answer`, the run must be `paused`: the answer is checked against the schema
    /// its pause asked for, journaled under the claim as the interrupt's result, and the run
    /// resumed like an interrupted one.
    async fn resume(
        workflow: &'a mut W,
        run_id: String,
        answer: Option<serde_json::Value>,
        launch: &Launch,
    ) -> Result<(Self, W::Input, Restart)> {
        let storage = Arc::clone(workflow.context().storage);
        let refuse = not_resumable(run_id.clone());
        let Some(record) = storage.read_run(&run_id).await? else {
            return Err(match answer {
                Some(_) => Error::NotPaused {
                    run_id,
                    status: "not in the store".into(),
                },
                None => refuse("there is no run with this id in the store".into()),
            });
        };
        if record.workflow_id != W::NAME {
            return Err(refuse(format!(
                "it is a run of the workflow `{}`, not of `{}`",
                record.workflow_id,
                W::NAME
            )));
        }
        refuse_unless_resumable(&record, answer.as_ref(), &refuse)?;
        // Claimed before anything is taken from the record: of the workers that find the run,
        // one gets it, and the record is read again under the claim.
        let Some(claim) = claim_run(&storage, &run_id).await? else {
            return Err(refuse(
                "it is running in another worker, whose claim on it is live".into(),
            ));
        };
        let fence = claim.fence;
        match Self::resume_claimed(workflow, run_id.clone(), fence, answer, launch).await {
            Ok(resumed) => Ok(resumed),
            Err(err) => {
                // Not resumed here after all: the claim lapses at once (a run that can never
                // be resumed was recorded `failed`, which ended it already), so that this or
                // another worker may try again.
                let _ = storage
                    .renew_claim(&run_id, fence, Some(std::time::Duration::ZERO))
                    .await;
                Err(err)
            }
        }
    }

    /// [`resume`](Self::resume), once the run is claimed with `fence`.
    async fn resume_claimed(
        workflow: &'a mut W,
        run_id: String,
        fence: u64,
        answer: Option<serde_json::Value>,
        launch: &Launch,
    ) -> Result<(Self, W::Input, Restart)> {
        let storage = Arc::clone(workflow.context().storage);
        let refuse = not_resumable(run_id.clone());
        let renewal = renew_while_running(&storage, &run_id, fence, &launch.live);
        let record = storage
            .read_run(&run_id)
            .await?
            .ok_or_else(|| refuse("it was deleted while it was being claimed".into()))?;
        refuse_unless_resumable(&record, answer.as_ref(), &refuse)?;
        let continuing = answer.is_some();
        let Some(start_state) = record.start_state.clone() else {
            let reason = "it was recorded by an earlier release of weft, which kept no start state";
            return Err(give_up(&storage, record, fence, reason.into()).await);
        };
        let input: W::Input = match input_from_json(record.input.clone()) {
            Ok(input) => input,
            Err(err) => {
                let reason = format!("its input no longer fits the workflow's input type: {err}");
                return Err(give_up(&storage, record, fence, reason).await);
            }
        };
        let start = match serde_json::from_value::<W::State>(start_state.clone()) {
            Ok(start) => start,
            Err(err) => {
                let reason = format!(
                    "the state it started with does not fit `{}`'s state type: {err}",
                    W::NAME
                );
                return Err(give_up(&storage, record, fence, reason).await);
            }
        };
        {
            let context = workflow.context();
            if *context.session_id != record.session_id {
                // Another session's instance: it takes up the run's session afresh.
                context.session_id.clone_from(&record.session_id);
                *context.session_state = W::State::default();
                *context.meta = WorkflowMeta::new();
            }
        }
        session::load_session(workflow).await?;
        let context = workflow.context();
        *context.session_state = start;
        // The run's changes are measured from the state it started with and merged onto the
        // stored session when it ends: a writer that saved the session since keeps its
        // changes. (Edits the interrupted process made to `session_state` between runs and
        // never saved are in that start state only; they count as the base, not as changes.)
        let base = Base {
            state: start_state.clone(),
            session_name: context.meta.session_name.clone(),
            user_id: context.user_id.clone(),
        };
        let resume_span = spans::resume(&launch.span, W::NAME, &run_id);
        let (events, mut journal) = async {
            let events = read_log(&storage, &run_id).await?;
            let journal = storage.read_journal(&run_id).await?;
            Ok::<_, Error>((events, journal))
        }
        .instrument(resume_span.clone())
        .await?;
        resume_span.record("weft.log.items", events.len());
        resume_span.record("weft.journal.entries", journal.len());
        drop(resume_span);
        if let (Some(answer), Some(pause)) = (answer, &record.pause) {
            // The answer is the interrupt's journaled result: the continued run finds it
            // there. (A continue that stopped after writing it left it: that answer stands.)
            if !journal.iter().any(|entry| entry.key == pause.key) {
                let entry = JournalEntry {
                    key: pause.key.clone(),
                    kind: JournalKind::Interrupt,
                    output: answer,
                    seqs: Vec::new(),
                    created_at: now_millis(),
                };
                storage
                    .append_log(&run_id, fence, Vec::new(), vec![entry.clone()])
                    .await?;
                journal.push(entry);
            }
        }
        let head = storage.log_head(&run_id).await?;
        let replay = resume::replay(&events, &journal);
        let last_seq = replay.log.last_seq;
        // A paused run logged everything up to its `RunPaused` item before its record: when
        // the log holds that much, no client saw more, whatever the reservation says.
        let paused_whole = record.status == RunStatus::Paused && last_seq >= record.last_seq;
        let restart = if head.reserved_seq > last_seq && !paused_whole {
            // The crash lost logged items, which a client may have been shown up to the
            // reservation: continue above it, withdrawing the lost text (and any of a model
            // call that never completed) first.
            Restart {
                discard_from: Some(
                    replay
                        .discard_from
                        .map_or(last_seq + 1, |from| from.min(last_seq + 1)),
                ),
                jump_after: Some(head.reserved_seq),
                reserved: head.reserved_seq,
            }
        } else {
            Restart {
                discard_from: replay.discard_from,
                jump_after: None,
                reserved: head.reserved_seq,
            }
        };
        tracing::debug!(%run_id, continuing, logged = events.len(), journaled = journal.len(), reserved = head.reserved_seq, discard_from = ?restart.discard_from, "resuming a run");
        let trace = launch.trace(&record.session_id);
        let scope = RunScope::new(
            run_id,
            fence,
            storage,
            journal,
            replay.log,
            Arc::clone(&launch.live),
            trace,
        );
        let parts = Parts {
            input: record.input,
            start_state,
            base,
            created_at: record.created_at,
            // A paused run never saved the session: a key it changes that another writer
            // changed to the same value meanwhile is two changes (a conflict). An interrupted
            // try may have saved its own change already: then it is one.
            merge_first: Some(if continuing {
                SameChange::Conflicts
            } else {
                SameChange::Agrees
            }),
            renewal,
        };
        let guard = Self::enter(workflow, scope, parts).await?;
        Ok((guard, input, restart))
    }

    /// Records the run `running` and makes its scope the one of the workflow's agents and
    /// steps.
    async fn enter(workflow: &'a mut W, scope: Arc<RunScope>, parts: Parts) -> Result<Self> {
        let context = workflow.context();
        let stamp = Stamp {
            run_id: scope.run_id().to_string(),
            session_id: context.session_id.clone(),
            workflow_id: W::NAME.to_string(),
        };
        *context.run_id = Some(stamp.run_id.clone());
        let agents = workflow.agents();
        let usage_before = agents.iter().map(|agent| agent.usage()).sum();
        let progress = Progress {
            started: Instant::now(),
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
            input: parts.input,
            start_state: parts.start_state,
            base: parts.base,
            merge_first: parts.merge_first,
            pause: None,
            scope,
            started: Instant::now(),
            created_at: parts.created_at,
            ending: None,
            // Not recorded yet: nothing to save if this write fails.
            finished: true,
            renewal: parts.renewal,
        };
        let storage = Arc::clone(guard.scope.store());
        storage
            .put_run(guard.record(RunStatus::Running, None))
            .await?;
        let mut guard = guard;
        guard.finished = false;
        for agent in guard.workflow.agents() {
            agent.enter_scope(&guard.scope);
        }
        guard.workflow.context().meta.scope = Some(Arc::clone(&guard.scope));
        Ok(guard)
    }

    /// The run's scope is no longer the agents' and steps'.
    fn leave(&mut self) {
        for agent in self.workflow.agents() {
            agent.leave_scope(&self.scope);
        }
        let meta = &mut self.workflow.context().meta;
        if meta
            .scope
            .as_ref()
            .is_some_and(|scope| Arc::ptr_eq(scope, &self.scope))
        {
            meta.scope = None;
        }
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
        let log = self.scope.log();
        RunRecord {
            run_id: self.stamp.run_id.clone(),
            session_id: self.stamp.session_id.clone(),
            workflow_id: self.stamp.workflow_id.clone(),
            input: self.input.clone(),
            status,
            content: log.content.clone(),
            last_seq: log.last_seq,
            start_state: Some(self.start_state.clone()),
            metrics,
            error,
            created_at: self.created_at,
            updated_at: now_millis(),
            fence: self.scope.fence(),
            pause: if status == RunStatus::Paused {
                self.pause.clone()
            } else {
                None
            },
        }
    }

    /// After a lost compare-and-swap: redoes this instance's changes (the run's, and any made
    /// to `session_state` before it) on top of `theirs`, key by key for the state; the
    /// session's name and user are this instance's only if it changed them. If both changed
    /// the same key, the instance takes in `theirs` as it is and the error names the keys.
    ///
    /// `same` says how a key both changed to the same value is taken: as one change only for
    /// a resumed run's first merge, where `theirs` may hold its interrupted try's own save;
    /// after a lost compare-and-swap it is another writer's change, and a conflict.
    fn merge_onto(&mut self, theirs: Option<WorkflowSession>, same: SameChange) -> Result<()> {
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
        let merged = match three_way(&self.base.state, &mine, &theirs.state, same) {
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
        if let Some(same) = self.merge_first {
            let theirs = storage.read_session(&self.stamp.session_id).await?;
            self.merge_onto(theirs, same)?;
            self.merge_first = None;
        }
        for attempt in 0..=MERGE_RETRIES {
            let snapshot = session::snapshot(self.workflow)?;
            let saved = storage
                .upsert_session_for_run(snapshot, &self.stamp.run_id, self.scope.fence())
                .await;
            match saved {
                Ok(stored) => {
                    session::saved(self.workflow, &stored);
                    return Ok(());
                }
                Err(Error::Conflict { session_id, .. }) if attempt < MERGE_RETRIES => {
                    let theirs = storage.read_session(&session_id).await?;
                    self.merge_onto(theirs, SameChange::Conflicts)?;
                }
                Err(err) => return Err(err),
            }
        }
        Err(Error::Conflict {
            session_id: self.stamp.session_id.clone(),
            keys: Vec::new(),
        })
    }

    /// Ends the run: saves the state, logs the run's last item (`WorkflowCompleted`, or
    /// `RunError` for a run that failed), then writes the run record with its final status.
    /// Returns what the run's stream yields last.
    async fn finish(
        &mut self,
        writer: &mut LogWriter,
        failure: Option<Error>,
    ) -> Vec<Result<RunResponse>> {
        if let Some(pause) = self.scope.paused() {
            if let Some(failure) = failure.as_ref().filter(|err| !is_pause(err)) {
                tracing::debug!(run_id = %self.stamp.run_id, error = %failure, "a paused run's `run` ended with another error; the run is recorded paused");
            }
            return self.pause(writer, pause).await;
        }
        let (status, error) = match &failure {
            None => (RunStatus::Completed, None),
            Some(err) => (RunStatus::Failed, Some(err.to_string())),
        };
        self.ending = Some((status, error.clone()));
        fault_point("run.final_save");
        let (status, error, reported) = match self.save_state().await {
            Ok(()) => (status, error, failure),
            Err(save) => {
                // The record says the state was not saved, even when the run failed anyway.
                let error = match error {
                    Some(error) => format!("{error}; the state was not saved: {save}"),
                    None => save.to_string(),
                };
                let reported = match failure {
                    Some(failure) => {
                        tracing::error!(run_id = %self.stamp.run_id, error = %save, "could not save a failed run");
                        failure
                    }
                    None => save,
                };
                (RunStatus::Failed, Some(error), Some(reported))
            }
        };
        self.ending = Some((status, error.clone()));
        let last = match &reported {
            None => {
                let record = self.record(status, None);
                let mut completed = self
                    .stamp
                    .item(RunEvent::WorkflowCompleted, Content::Text(record.content));
                completed.metrics = record.metrics;
                completed
            }
            Some(err) => self
                .stamp
                .item(RunEvent::RunError, Content::Text(err.to_string())),
        };
        let mut out = Vec::new();
        let (status, error, mut reported) = match writer.log(last).await {
            // `None`: a resumed run whose interrupted try logged it already.
            Ok(logged) => {
                out.extend(logged.map(Ok));
                (status, error, reported)
            }
            Err(err) => {
                let error = match error {
                    Some(error) => format!("{error}; its last item was not logged: {err}"),
                    None => format!("its last item was not logged: {err}"),
                };
                (
                    RunStatus::Failed,
                    Some(error),
                    Some(reported.unwrap_or(err)),
                )
            }
        };
        self.ending = Some((status, error.clone()));
        let record = self.record(status, error);
        fault_point("run.final_record");
        match self.storage().put_run(record).await {
            Ok(()) => {
                self.finished = true;
                // The claim ended with that write: nothing to renew.
                self.renewal = None;
            }
            Err(err) => {
                // Not recorded: the guard's `Drop` tries again with the status it was ending
                // with.
                out.retain(
                    |item| !matches!(item, Ok(item) if item.event == RunEvent::WorkflowCompleted),
                );
                if reported.is_none() {
                    reported = Some(err);
                } else {
                    tracing::error!(run_id = %self.stamp.run_id, error = %err, "could not record the end of a failed run");
                }
            }
        }
        self.leave();
        if let Some(err) = reported {
            if !out
                .iter()
                .any(|item| matches!(item, Ok(item) if item.event == RunEvent::RunError))
            {
                out.push(Ok(self
                    .stamp
                    .item(RunEvent::RunError, Content::Text(err.to_string()))));
            }
            out.push(Err(err));
        }
        out
    }

    /// The status a run dropped unfinished is recorded with (see
    /// [`save_dropped`](Self::save_dropped)).
    fn dropped_status(&self) -> RunStatus {
        match &self.ending {
            Some((status, _)) => *status,
            None if self.scope.live().interrupting() => RunStatus::Interrupted,
            None if std::thread::panicking() => RunStatus::Failed,
            None => RunStatus::Cancelled,
        }
    }

    /// The status the run ended (or is ending) with; `running` before it ends.
    fn ending_status(&self) -> RunStatus {
        self.ending
            .as_ref()
            .map_or(RunStatus::Running, |(status, _)| *status)
    }

    /// Ends the run paused: logs its `RunPaused` item and records it `paused` with `pause`,
    /// which releases its claim. None of the run's changes are saved (the continued run starts again
    /// from the state this one started with); the instance's state goes back to that state.
    async fn pause(&mut self, writer: &mut LogWriter, pause: Pause) -> Vec<Result<RunResponse>> {
        self.pause = Some(pause.clone());
        self.ending = Some((RunStatus::Paused, None));
        self.restore_start_state();
        self.store_new_session().await;
        let mut item = self
            .stamp
            .item(RunEvent::RunPaused, Content::Json(pause.question.clone()));
        item.pause = Some(pause);
        let mut out = Vec::new();
        let mut failure = None;
        match writer.log(item).await {
            // `None`: an earlier try of the run logged it already.
            Ok(logged) => out.extend(logged.map(Ok)),
            Err(err) => failure = Some(err),
        }
        if failure.is_none() {
            fault_point("run.pause_record");
            match self
                .storage()
                .put_run(self.record(RunStatus::Paused, None))
                .await
            {
                Ok(()) => {
                    self.finished = true;
                    self.renewal = None;
                }
                // The guard's `Drop` tries again.
                Err(err) => failure = Some(err),
            }
        }
        self.leave();
        if let Some(err) = failure {
            out.push(Ok(self
                .stamp
                .item(RunEvent::RunError, Content::Text(err.to_string()))));
            out.push(Err(err));
        }
        out
    }

    /// A paused run of a session that is not stored yet stores it as it was when the run
    /// started (none of the run's changes), so that the session and its paused run can be
    /// listed. A writer that stored it first wins: nothing is overwritten.
    async fn store_new_session(&mut self) {
        if self.workflow.context().meta.version != 0 {
            return;
        }
        let storage = self.storage();
        let stored = match session::snapshot(self.workflow) {
            Ok(snapshot) => {
                storage
                    .upsert_session_for_run(snapshot, &self.stamp.run_id, self.scope.fence())
                    .await
            }
            Err(err) => Err(err),
        };
        match stored {
            Ok(stored) => session::saved(self.workflow, &stored),
            Err(err) => {
                tracing::debug!(run_id = %self.stamp.run_id, error = %err, "the paused run's new session was not stored");
            }
        }
    }

    /// Puts the instance's state back to the state the run started with.
    fn restore_start_state(&mut self) {
        match serde_json::from_value(self.start_state.clone()) {
            Ok(state) => *self.workflow.context().session_state = state,
            Err(err) => {
                tracing::warn!(run_id = %self.stamp.run_id, error = %err, "could not restore the state a paused run started with");
            }
        }
    }

    /// The synchronous save of a dropped run (see `WorkflowStorage::save_blocking`): recorded
    /// `cancelled`; `failed` if a panic is unwinding through it (the run's own panics are
    /// caught in [`run_stream`], so this is one that escaped elsewhere, e.g. in the code
    /// consuming the stream); or with the status it was ending with if the drop came during
    /// the final save. If the state cannot be saved, the run record says why.
    fn save_dropped(&mut self) -> Result<()> {
        if self.ending.is_none() && self.scope.live().interrupting() {
            // `RunHandle::interrupt`: left for a resume, like a run whose process died.
            let record = self.record(RunStatus::Interrupted, None);
            return self.storage().save_blocking(None, record).map(drop);
        }
        if let Some((RunStatus::Paused, _)) = self.ending {
            // Dropped while recording its pause: the record alone, the session is not saved.
            let record = self.record(RunStatus::Paused, None);
            return self.storage().save_blocking(None, record).map(drop);
        }
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
        if let Some(same) = self.merge_first {
            let theirs = storage.read_session_blocking(&self.stamp.session_id)?;
            self.merge_onto(theirs, same)?;
            self.merge_first = None;
        }
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
                    self.merge_onto(theirs, SameChange::Conflicts)?;
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
        self.leave();
        if self.finished {
            return;
        }
        if let Err(err) = self.save_dropped() {
            tracing::error!(run_id = %self.stamp.run_id, error = %err, "could not save a dropped run");
        }
        let status = self.dropped_status().as_str();
        self.scope.span().record("weft.run.status", status);
        crate::telemetry::metrics::record_run(W::NAME, status);
        // Renewed through the last write: the claim ends (or is released) with it.
        self.renewal = None;
    }
}

/// How a run's log continues: from nothing for a new run, after the interrupted try's log
/// for a resumed one.
#[derive(Debug, Default)]
struct Restart {
    /// Where the resumed run's `ContentDiscarded` item withdraws text from, if it logs one.
    discard_from: Option<u64>,
    /// The store's seq reservation, when it is above the log's last seq (a crash lost items a
    /// client may have seen): the resumed run's first item goes right after it.
    jump_after: Option<u64>,
    /// The store's seq reservation.
    reserved: u64,
}

/// What [`RunGuard::enter`] records a run with.
struct Parts {
    input: serde_json::Value,
    start_state: serde_json::Value,
    base: Base,
    created_at: u64,
    merge_first: Option<SameChange>,
    /// Renews the run's claim from the moment it was taken.
    renewal: Option<Renewal>,
}

/// Refuses a run that is not `interrupted` (a process that died, or an interrupt) or
/// `running` (a claim that lapsed: its worker died or stalled). With an `answer` (a
/// continue), refuses a run that is not `paused` ([`Error::NotPaused`]) and an answer that
/// does not fit its pause ([`Error::InvalidAnswer`]).
fn refuse_unless_resumable(
    record: &RunRecord,
    answer: Option<&serde_json::Value>,
    refuse: &dyn Fn(String) -> Error,
) -> Result<()> {
    if let Some(answer) = answer {
        return match (&record.status, &record.pause) {
            (RunStatus::Paused, Some(pause)) => check_answer(&record.run_id, pause, answer),
            (status, _) => Err(Error::NotPaused {
                run_id: record.run_id.clone(),
                status: status_name(*status).to_string(),
            }),
        };
    }
    match record.status {
        RunStatus::Interrupted | RunStatus::Running => Ok(()),
        RunStatus::Paused => Err(refuse(format!(
            "it is paused, waiting for an answer to `{}`: continue it with `continue_run(run_id, answer)` instead",
            record.pause.as_ref().map_or("its interrupt", |pause| pause.name.as_str())
        ))),
        other => Err(refuse(format!(
            "it is {}; only a run left interrupted (or running, by a worker whose claim lapsed) can be resumed",
            status_name(other)
        ))),
    }
}

/// The refusal of a resume of `run_id`, for a reason.
fn not_resumable(run_id: String) -> impl Fn(String) -> Error {
    move |reason| Error::NotResumable {
        run_id: run_id.clone(),
        reason,
    }
}

/// Claims `run_id` for this process, with the store's lease.
async fn claim_run(storage: &StorageRef, run_id: &str) -> Result<Option<RunClaim>> {
    storage
        .claim_run(run_id, worker_id(), storage.lease())
        .await
}

/// The task renewing a run's claim; aborted when dropped.
#[derive(Debug)]
struct Renewal(tokio::task::JoinHandle<()>);

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often a run's worker checks for a cancel asked through the store (by another
/// server), at most.
const CANCEL_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts renewing the claim with `fence` on `run_id` every third of the store's lease, when
/// the store has one and a tokio runtime runs, and checking (every second, or every renewal
/// if more often) whether another server asked for the run to be cancelled: then the run is
/// cancelled here. At the first renewal refused as fenced the run was taken over by another
/// worker: the renewal stops the run here (through `live`), before it does more work that
/// the other worker does too.
fn renew_while_running(
    storage: &StorageRef,
    run_id: &str,
    fence: u64,
    live: &Arc<Live>,
) -> Option<Renewal> {
    let lease = storage.lease()?;
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(%run_id, "no tokio runtime: the run's claim is not renewed and lapses after {lease:?}");
        return None;
    };
    let store = Arc::clone(storage);
    let run_id = run_id.to_string();
    let live = Arc::clone(live);
    let every = (lease / 3).max(std::time::Duration::from_millis(1));
    let tick = every.min(CANCEL_CHECK);
    Some(Renewal(runtime.spawn(async move {
        let mut renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(tick).await;
            if renewed.elapsed() >= every {
                match store.renew_claim(&run_id, fence, Some(lease)).await {
                    Ok(()) => renewed = tokio::time::Instant::now(),
                    Err(Error::Fenced { fence, current, .. }) => {
                        tracing::warn!(%run_id, fence, current, "the run was taken over by another worker: stopping it here");
                        live.taken_over(fence, current);
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(%run_id, error = %err, "could not renew the run's claim; trying again");
                    }
                }
            }
            match store.cancel_requested(&run_id, fence).await {
                Ok(true) => {
                    tracing::info!(%run_id, "a cancel was asked for the run through the store: cancelling it");
                    live.cancel();
                }
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(%run_id, error = %err, "could not check for a cancel of the run; trying again");
                }
            }
        }
    })))
}

/// Records a claimed run that can never be resumed as `failed`, with why, so that no worker
/// tries it again; returns the refusal.
async fn give_up(storage: &StorageRef, mut record: RunRecord, fence: u64, reason: String) -> Error {
    record.status = RunStatus::Failed;
    record.error = Some(format!("it cannot be resumed: {reason}"));
    record.updated_at = now_millis();
    record.fence = fence;
    let run_id = record.run_id.clone();
    if let Err(err) = storage.put_run(record).await {
        tracing::error!(error = %err, "could not record a run that cannot be resumed as failed");
    }
    Error::NotResumable { run_id, reason }
}

/// A status as a sentence names it.
fn status_name(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "running (in this or another process)",
        other => other.as_str(),
    }
}

/// A run's whole event log, read in pages.
async fn read_log(storage: &StorageRef, run_id: &str) -> Result<Vec<LoggedEvent>> {
    let mut events: Vec<LoggedEvent> = Vec::new();
    loop {
        let after = events.last().map_or(0, |event| event.seq);
        let page = storage.read_events(run_id, after, LOG_PAGE).await?;
        let full = page.len() == LOG_PAGE;
        events.extend(page);
        if !full {
            return Ok(events);
        }
    }
}

/// Drives one new run; see the module docs.
pub fn run_stream<W: Workflow>(workflow: &mut W, input: W::Input) -> RunStream<'_> {
    drive(workflow, Start::Fresh(input), Launch::default())
}

/// Resumes the interrupted run `run_id`; see `Workflow::resume`.
pub fn resume_stream<W: Workflow>(workflow: &mut W, run_id: String) -> RunStream<'_> {
    let start = Start::Resume {
        run_id,
        answer: None,
    };
    drive(workflow, start, Launch::default())
}

/// Continues the paused run `run_id` with `answer`; see `Workflow::continue_run`.
pub fn continue_stream<W: Workflow>(
    workflow: &mut W,
    run_id: String,
    answer: serde_json::Value,
) -> RunStream<'_> {
    let start = Start::Resume {
        run_id,
        answer: Some(answer),
    };
    drive(workflow, start, Launch::default())
}

/// Whether `err` is an interrupt's pause.
fn is_pause(err: &Error) -> bool {
    matches!(err, Error::Paused { .. })
}

/// Drives one run, new or resumed: every item is logged (given the next seq) before it is
/// yielded; a resumed run yields only what its interrupted try had not logged.
pub(crate) fn drive<W: Workflow>(
    workflow: &mut W,
    start: Start<W::Input>,
    mut launch: Launch,
) -> RunStream<'_> {
    let span = spans::workflow(W::NAME, matches!(start, Start::Resume { .. }));
    launch.span = span.clone();
    let run = drive_in_span(workflow, start, launch, span.clone());
    Box::pin(run.instrument(span))
}

/// [`drive`]'s stream, recording how the run went in its span.
fn drive_in_span<W: Workflow>(
    workflow: &mut W,
    start: Start<W::Input>,
    launch: Launch,
    span: tracing::Span,
) -> RunStream<'_> {
    Box::pin(async_stream::stream! {
        let session_id = workflow.context().session_id.clone();
        let begun = match start {
            Start::Fresh(input) => match serde_json::to_value(&input) {
                Ok(input_json) => RunGuard::begin(workflow, input_json, &launch)
                    .await
                    .map(|guard| (guard, input, Restart::default())),
                Err(err) => Err(Error::from(err)),
            },
            Start::Resume { run_id, answer } => RunGuard::resume(workflow, run_id, answer, &launch).await,
        };
        let (mut guard, input, restart) = match begun {
            Ok(begun) => begun,
            Err(err) => {
                spans::failed(&span, err.kind());
                span.record("weft.run.status", "failed");
                // The run never started (the input would not serialise, the session could not
                // be read, the run could not be resumed or recorded): the same `RunError`
                // item as any failure, not logged.
                yield Ok(error_item::<W>(&session_id, &err));
                yield Err(err);
                return;
            }
        };
        span.record("weft.run.id", guard.stamp.run_id.as_str());
        span.record("gen_ai.conversation.id", guard.stamp.session_id.as_str());
        // What a resumed run found in the log survived the crash: it may be shown.
        let found = guard.scope.log().last_seq;
        launch.live.logged(found);
        launch.live.begun();
        let stamp = guard.stamp.clone();
        let progress = Arc::clone(&guard.progress);
        let mut writer = LogWriter::new(Arc::clone(&guard.scope), restart.reserved);
        let mut failure = None;
        // After a jump, the `ContentDiscarded` item comes first, right above the reservation;
        // else after `WorkflowStarted`, as in a log without a jump.
        let mut discard_from = restart.discard_from;
        if let Some(reserved) = restart.jump_after {
            writer.continue_after(reserved);
            let from = discard_from.take().unwrap_or(found + 1);
            let discarded = stamp.item(RunEvent::ContentDiscarded, discard_content(from));
            match writer.log_always(discarded).await {
                Ok(item) => yield Ok(item),
                Err(err) => failure = Some(err),
            }
        }
        if failure.is_none() {
            // Logged once: a resumed run finds it logged already.
            match writer.log(stamp.item(RunEvent::WorkflowStarted, Content::default())).await {
                Ok(Some(item)) => yield Ok(item),
                Ok(None) => {}
                Err(err) => failure = Some(err),
            }
        }
        if let (None, Some(from)) = (&failure, discard_from) {
            let discarded = stamp.item(RunEvent::ContentDiscarded, discard_content(from));
            match writer.log_always(discarded).await {
                Ok(item) => yield Ok(item),
                Err(err) => failure = Some(err),
            }
        }
        if failure.is_none() {
            // A panic in the user's `run` (building its stream, or polling it) ends the run
            // `failed` with the panic's message, like any error.
            let workflow = &mut *guard.workflow;
            match std::panic::catch_unwind(AssertUnwindSafe(move || workflow.body(input))) {
                Ok(mut body) => loop {
                    match AssertUnwindSafe(body.next()).catch_unwind().await {
                        Ok(Some(Ok(mut item))) => {
                            stamp.apply(&mut item);
                            lock(&progress).absorb(&item);
                            match writer.log(item).await {
                                Ok(Some(item)) => yield Ok(item),
                                // Logged by the interrupted try of a resumed run.
                                Ok(None) => {}
                                Err(err) => {
                                    failure = Some(err);
                                    break;
                                }
                            }
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
        }
        let mut first_seq = None;
        let ending = guard.finish(&mut writer, failure).await;
        for item in &ending {
            if let Err(err) = item {
                spans::failed(&span, err.kind());
            }
        }
        let (status, last_seq) = (guard.ending_status(), guard.scope.log().last_seq);
        span.record("weft.run.status", status.as_str());
        crate::telemetry::metrics::record_run(W::NAME, status.as_str());
        if last_seq > found {
            first_seq = Some(found + 1);
        }
        if let Some(first) = first_seq {
            span.record("weft.seq.first", first);
            span.record("weft.seq.last", last_seq);
        }
        for item in ending {
            yield item;
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
    collect(run_stream(workflow, input)).await
}

/// Collects a run's stream: the concatenated text, every tool execution, the run's metrics;
/// for a run that paused, its pause.
pub async fn collect(mut events: RunStream<'_>) -> Result<RunResponse> {
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
            RunEvent::RunPaused => {
                collected.run_id = item.run_id;
                collected.session_id = item.session_id;
                collected.workflow_id = item.workflow_id;
                collected.pause = item.pause;
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
    match input_from_json::<W::Input>(input) {
        Ok(input) => run_stream(workflow, input),
        Err(error) => {
            let item = error_item::<W>(workflow.context().session_id, &error);
            futures::stream::iter([Ok(item), Err(error)]).boxed()
        }
    }
}

/// A workflow's input from JSON, or [`Error::InvalidInput`] naming the field path.
fn input_from_json<I: serde::de::DeserializeOwned>(input: serde_json::Value) -> Result<I> {
    serde_path_to_error::deserialize::<_, I>(input).map_err(|err| {
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
        Error::InvalidInput { path, message }
    })
}
