//! Workflows: a struct with agents and a generator-style `run`, made stateful, persisted and
//! streaming by `#[workflow]`.
//!
//! The macro implements two traits for the user's type:
//! - [`WorkflowDefinition`] (from `#[workflow]` on the struct): name, description, state type
//!   and access to the injected context fields;
//! - [`Workflow`] (from `#[workflow]` on the impl): the input type and the user's `run` body.
//!
//! Everything else (loading the session, stamping ids on every item, recording the run, saving
//! the state when the run completes, fails or is dropped) is the run driver, written once here.
//!
//! ## When state is saved
//! - **run start**: the stored session is read. The first time an instance reads it, the
//!   stored state is merged over the instance's initial state (
//!   stored keys win, initial keys fill gaps). Later, if another writer saved a newer version,
//!   the changes this instance made to `session_state` since its last load or save are merged
//!   onto it key by key (a three-way merge), so edits made between runs are never thrown
//!   away; if both changed the same key, the run fails with `Error::Conflict` naming the keys
//!   and the instance holds the stored version. A run record is written with status `running`.
//! - **run end**: the state is saved (compare-and-swap on the version read) and the run record
//!   updated to `completed`, or `failed` with the error when `run` returned one. If another
//!   writer saved the session meanwhile, this run's changes are merged onto theirs key by key
//!   (three-way) and the save retried; if both changed the same key (even to the same value:
//!   two runs that each counted `n` from 0 to 1 made two changes) the run ends with
//!   `Error::Conflict` naming the keys, nothing is overwritten, and the instance holds the
//!   stored version. (A resumed run's first merge takes a same-value change as its own: its
//!   interrupted try may have saved it before it died.) The save carries the run's fencing
//!   token: a worker whose run was taken over by another cannot save.
//! - **`run` panics**: the panic is caught where the stream is polled; the run ends like any
//!   failure (`failed`, with the panic's message; state saved; a `RunError` item, then
//!   `Error::RunPanicked`).
//! - **stream dropped midway**: the run's guard saves the state and marks the run `cancelled`
//!   synchronously in `Drop`
//!   ([`WorkflowStorage::save_blocking`](crate::storage::WorkflowStorage::save_blocking)): everything the run did up to
//!   its last `yield` is kept. Dropped while a panic unwinds (the consumer panicked), the
//!   run is marked `failed` instead.
//! - **run paused** (an interrupt, `ctx.interrupt`, or a tool call waiting for approval): none
//!   of the run's changes are saved (a session not stored yet is stored as the run found it)
//!   and the instance's state goes back to the state the run started with; the run is recorded `paused` with its question. The session is free for other
//!   runs. `continue_run` re-enters `run` from that start state, replays what was journaled,
//!   and saves at the end like any run, merging onto the session as it is then (a key another
//!   run changed meanwhile is a conflict, never overwritten).

mod builder;
mod merge;
pub(crate) mod runner;
pub(crate) mod session;
mod state;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::durable::handle::{spawn, spawn_resume};
use crate::durable::{RunContext, RunHandle};
use crate::response::{RunResponse, RunStream};
use crate::storage::StorageRef;
use crate::Result;

pub use builder::WorkflowBuilder;
pub(crate) use merge::{three_way, SameChange};
pub(crate) use state::merge_stored_over_initial;
pub use state::{SessionState, WorkflowState};

/// What a workflow's `run` input may be: anything that (de)serialises, so a workflow can be
/// run from Rust values and from JSON alike.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a workflow input",
    label = "the input of `run` must implement Serialize, DeserializeOwned and Send",
    note = "derive them: #[derive(Serialize, Deserialize)]"
)]
pub trait WorkflowInput: Serialize + DeserializeOwned + Send + 'static {}

impl<T: Serialize + DeserializeOwned + Send + 'static> WorkflowInput for T {}

/// Mutable access to the context fields `#[workflow]` injects into a workflow struct.
#[derive(Debug)]
pub struct WorkflowContext<'a, S> {
    /// `self.session_id`.
    pub session_id: &'a mut String,
    /// `self.user_id`.
    pub user_id: &'a mut Option<String>,
    /// `self.run_id`: the current (or last) run.
    pub run_id: &'a mut Option<String>,
    /// `self.session_state`.
    pub session_state: &'a mut S,
    /// `self.storage`.
    pub storage: &'a StorageRef,
    /// The hidden bookkeeping field.
    pub meta: &'a mut WorkflowMeta,
}

#[doc(hidden)]
/// Per-instance bookkeeping, injected as a hidden field: which stored version of the session
/// this instance holds.
#[derive(Clone, Debug, Default)]
pub struct WorkflowMeta {
    pub(crate) version: u64,
    pub(crate) created_at: Option<u64>,
    pub(crate) session_name: Option<String>,
    pub(crate) loaded: bool,
    /// The state of the stored version this instance holds, as last loaded or saved (when
    /// nothing is stored: its state when it found that out). The instance's own changes,
    /// made in a run or between runs, are what its state differs from this by.
    pub(crate) base: Option<serde_json::Value>,
    /// The run in progress, if any: what `ctx()` hands out.
    pub(crate) scope: Option<std::sync::Arc<crate::durable::scope::RunScope>>,
}

impl WorkflowMeta {
    /// Bookkeeping for a new instance that has not read its session yet.
    pub fn new() -> Self {
        WorkflowMeta::default()
    }

    /// The session version this instance last read or wrote (0: none yet).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The session's human name, if it has one.
    pub fn session_name(&self) -> Option<&str> {
        self.session_name.as_deref()
    }

    /// The context of the run in progress (steps run unjournaled outside a run).
    pub fn run_context(&self) -> RunContext {
        RunContext::new(self.scope.clone())
    }
}

/// The state a new instance starts with: the builder's, else the state type's default.
#[doc(hidden)]
pub fn initial_state<W: WorkflowDefinition>(given: Option<W::State>) -> W::State {
    given.unwrap_or_default()
}

/// The static half of a workflow, implemented by `#[workflow]` on the struct.
pub trait WorkflowDefinition: Send {
    /// The type of `session_state`: [`SessionState`] unless `#[workflow(state = T)]`.
    type State: WorkflowState;
    /// The workflow's name (the struct name unless `#[workflow(name = "..")]`); also its
    /// `workflow_id` in storage.
    const NAME: &'static str;
    /// The doc comment, or `#[workflow(description = "..")]`.
    const DESCRIPTION: Option<&'static str>;
    /// The injected context fields.
    fn context(&mut self) -> WorkflowContext<'_, Self::State>;

    /// The `#[agent]` fields. A run's metrics count every model call they (and their clones)
    /// make during the run, whether or not the run yields their items.
    fn agents(&self) -> Vec<&crate::Agent> {
        Vec::new()
    }
}

/// A runnable workflow, implemented by `#[workflow]` on the impl block. The provided methods
/// are also generated as inherent methods, so no trait import is needed to call them.
pub trait Workflow: WorkflowDefinition + Sized {
    /// The input of `run`.
    type Input: WorkflowInput;

    /// The user's `run` body, as written (boxed). Call [`run_stream`](Self::run_stream)
    /// instead: it adds the session handling around it.
    fn body(&mut self, input: Self::Input) -> RunStream<'_>;

    /// Runs the workflow, streaming its items: `WorkflowStarted`, everything `run` yields
    /// (stamped with this run's ids), then `WorkflowCompleted`, or a `RunError` item followed
    /// by the error. See [the module docs](self) for when state is saved.
    fn run_stream(&mut self, input: Self::Input) -> RunStream<'_> {
        runner::run_stream(self, input)
    }

    /// Runs the workflow and collects the result: the concatenated text, tools and metrics.
    /// A run that paused at an interrupt returns what it did so far with its `pause` set.
    fn run(&mut self, input: Self::Input) -> BoxFuture<'_, Result<RunResponse>> {
        Box::pin(runner::run(self, input))
    }

    /// Runs the workflow on JSON input. Input that does not fit `Self::Input` ends the stream
    /// with a `RunError` item and `Error::InvalidInput` naming the field path.
    fn run_json(&mut self, input: serde_json::Value) -> RunStream<'_> {
        runner::run_json(self, input)
    }

    /// Resumes the run `run_id`, left `interrupted` by a process that died
    /// ([`WorkflowStorage::interrupted_runs`](crate::WorkflowStorage::interrupted_runs) lists
    /// them), and streams what it had not logged yet.
    ///
    /// The instance takes up the run's session and re-enters `run` with the run's input and
    /// the session state the run started with. Journaled model calls, tool calls and steps
    /// return at once; items the interrupted run logged are neither logged nor yielded again;
    /// new work runs live. If the crash cut a model call's streamed text short, the stream
    /// first yields one `ContentDiscarded {"from_seq": N}` item: drop the `RunContent` deltas
    /// with `seq >= N` you have (see [`durable::answer`](crate::durable::answer)). If the crash
    /// lost logged items a client may have been shown (a store that does not flush every
    /// append, like sled's default `EveryStep`), that item comes first, at the store's seq
    /// reservation + 1 (`WorkflowStorage::log_head`), with `N` at most the first lost seq: the
    /// seqs jump once, and no seq a client saw names another item. The run
    /// then ends like any run (`completed`, `failed` or `cancelled`, state saved, its changes
    /// merged onto the stored session); its last item is not yielded again if the
    /// interrupted try logged it (a client that reconnects gets it from the log). The run is
    /// claimed first ([`WorkflowStorage::claim_run`](crate::WorkflowStorage::claim_run)): on a
    /// store many workers share, a `running` run whose worker's claim lapsed is taken over
    /// the same way, and of workers resuming one run at once, one gets it. A run that is not
    /// `interrupted` (or `running` with its claim lapsed), is claimed by another worker, or is
    /// another workflow's, ends the stream with a `RunError` item and
    /// [`Error::NotResumable`](crate::Error::NotResumable).
    fn resume(&mut self, run_id: &str) -> RunStream<'_> {
        runner::resume_stream(self, run_id.to_string())
    }

    /// Continues the paused run `run_id` with `answer` to the question its interrupt asked
    /// ([`RunContext::interrupt`](crate::RunContext::interrupt); the question and the
    /// answer's schema are in the run's record, `RunRecord::pause`, and its `RunPaused` item),
    /// and streams what the run does next.
    ///
    /// The answer is checked against the schema first: one that does not fit ends the stream
    /// with [`Error::InvalidAnswer`](crate::Error::InvalidAnswer) and writes nothing (the run
    /// stays paused); a run that is not paused is
    /// [`Error::NotPaused`](crate::Error::NotPaused). Then the run is claimed, the answer
    /// journaled as the interrupt's result, and the run resumed like an interrupted one (see
    /// [`resume`](Self::resume)): `run` starts again from its input and the state it started
    /// with, nothing completed before the pause is done again, the interrupt returns the
    /// answer, and the run goes on live. It may pause again at a later interrupt. Its session
    /// changes are merged onto the session as it is now; a key another run changed meanwhile
    /// is reported as a conflict, never overwritten.
    fn continue_run(&mut self, run_id: &str, answer: serde_json::Value) -> RunStream<'_> {
        runner::continue_stream(self, run_id.to_string(), answer)
    }

    /// [`continue_run`](Self::continue_run), collected like [`run`](Self::run): the text,
    /// tools and metrics of what the continued run did, and its `pause` if it paused again.
    fn continue_collected(
        &mut self,
        run_id: &str,
        answer: serde_json::Value,
    ) -> BoxFuture<'_, Result<RunResponse>> {
        Box::pin(runner::collect(runner::continue_stream(
            self,
            run_id.to_string(),
            answer,
        )))
    }

    /// Starts a run in the background (a Tokio task owning the workflow) and returns its
    /// [`RunHandle`] at once: follow it with `events(after_seq)`, stop it with `cancel()`,
    /// wait for its record with `wait()`. Dropping the handle does not stop the run. Called
    /// outside a Tokio runtime, the run does not start and `wait()` says why.
    fn start(self, input: Self::Input) -> RunHandle
    where
        Self: 'static,
    {
        spawn(self, runner::Start::Fresh(input))
    }

    /// [`resume`](Self::resume) in the background: the handle once the run has begun again,
    /// or why it cannot be resumed.
    fn start_resume(self, run_id: &str) -> BoxFuture<'static, Result<RunHandle>>
    where
        Self: 'static,
    {
        spawn_resume(self, run_id.to_string(), None)
    }

    /// [`continue_run`](Self::continue_run) in the background: the handle once the run has
    /// begun again, or why it cannot be continued.
    fn start_continue(
        self,
        run_id: &str,
        answer: serde_json::Value,
    ) -> BoxFuture<'static, Result<RunHandle>>
    where
        Self: 'static,
    {
        spawn_resume(self, run_id.to_string(), Some(answer))
    }
}
