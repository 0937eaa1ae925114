//! [`RunHandle`]: a workflow run in the background (`Workflow::start`,
//! `Workflow::start_resume`), which any number of clients can follow, cancel or wait for.
//!
//! The run is a Tokio task that owns the workflow and drives its run stream; the handle only
//! watches it. Dropping every handle does not stop the run.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;

use crate::response::RunStream;
use crate::storage::{RunRecord, RunStatus, StorageRef};
use crate::workflow::runner::{self, Launch, Start};
use crate::workflow::Workflow;
use crate::{Error, Result};

/// How many logged items [`RunHandle::events`] reads from the store at a time.
const PAGE: usize = 256;

/// Where a run is, as its subscribers see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LiveState {
    /// The run started (or resumed): its record says `running`.
    pub begun: bool,
    /// The seq of its last item that may be shown: logged, and covered by the store's
    /// durable seq reservation (no subscriber gets an item above it).
    pub last_seq: u64,
    /// The run is over and its outcome is known: nothing more will be logged.
    pub ended: bool,
}

/// What a run's log writer and task share with its handles.
pub(crate) struct Live {
    state: watch::Sender<LiveState>,
    cancel: watch::Sender<bool>,
    /// Set by [`RunHandle::interrupt`]: the run stops like a cancelled one, but is recorded
    /// `interrupted` with the session left as it was, to be resumed later.
    interrupt: AtomicBool,
    /// Set when another worker took the run over (a renewal of its claim was refused): the
    /// fencing token this worker held and the run's current one.
    taken_over: Mutex<Option<(u64, u64)>>,
    outcome: Mutex<Option<Result<RunRecord>>>,
}

impl Live {
    pub fn new() -> Arc<Live> {
        Arc::new(Live {
            state: watch::Sender::new(LiveState::default()),
            cancel: watch::Sender::new(false),
            interrupt: AtomicBool::new(false),
            taken_over: Mutex::new(None),
            outcome: Mutex::new(None),
        })
    }

    /// The run began: its record is written.
    pub fn begun(&self) {
        self.state.send_modify(|state| state.begun = true);
    }

    /// The items up to `seq` are logged and may be shown (covered by the reservation).
    pub fn logged(&self, seq: u64) {
        self.state.send_modify(|state| state.last_seq = seq);
    }

    /// Whether the run is being stopped by [`RunHandle::interrupt`] (or because another
    /// worker took it over).
    pub fn interrupting(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst)
    }

    /// Cancels the run, as [`RunHandle::cancel`] does (a cancel asked through the store).
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }

    /// Another worker took the run over (this worker held `fence`, the run is at `current`):
    /// the run stops here, as if interrupted, and its outcome is [`Error::Fenced`]. Its
    /// writes are refused anyway; stopping saves the work the other worker does too.
    pub fn taken_over(&self, fence: u64, current: u64) {
        *self
            .taken_over
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((fence, current));
        self.interrupt.store(true, Ordering::SeqCst);
        self.cancel.send_replace(true);
    }

    fn fenced(&self, run_id: &str) -> Option<Error> {
        let taken = *self
            .taken_over
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        taken.map(|(fence, current)| Error::Fenced {
            run_id: run_id.to_string(),
            fence,
            current,
        })
    }

    fn outcome(&self) -> MutexGuard<'_, Option<Result<RunRecord>>> {
        self.outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The run is over with `outcome` (the first outcome set wins).
    fn end(&self, outcome: Result<RunRecord>) {
        {
            let mut slot = self.outcome();
            if slot.is_none() {
                *slot = Some(outcome);
            }
        }
        self.state.send_modify(|state| state.ended = true);
    }
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

/// A workflow run going on in the background, from [`Workflow::start`] or
/// [`Workflow::start_resume`]. Cheap to clone; `Send + 'static`, so it can go to another task
/// (a web handler, say). Dropping it does not stop the run. An example is in the docs of
/// `weft::workflow` (Durable runs).
#[derive(Clone)]
pub struct RunHandle {
    shared: Arc<Shared>,
}

struct Shared {
    run_id: String,
    storage: StorageRef,
    live: Arc<Live>,
}

impl RunHandle {
    /// The run's id (the `run_id` of its record and of every item it yields).
    pub fn run_id(&self) -> &str {
        &self.shared.run_id
    }

    /// The seq of the run's last item clients may be shown so far (0: none yet): logged, and
    /// covered by the store's durable seq reservation.
    pub fn last_seq(&self) -> u64 {
        self.shared.live.state.borrow().last_seq
    }

    /// Whether the run is over (completed, failed or cancelled) and [`wait`](Self::wait)
    /// returns at once.
    pub fn is_finished(&self) -> bool {
        self.shared.live.state.borrow().ended
    }

    /// Whether another worker took the run over (on a store many workers share): this handle
    /// ended with [`Error::Fenced`], and the run goes on elsewhere; follow it from the store.
    pub fn taken_over(&self) -> bool {
        self.is_finished()
            && matches!(
                &*self.shared.live.outcome(),
                Some(Err(Error::Fenced { .. }))
            )
    }

    /// The run's items with `seq > after_seq`: those already logged (read from the store),
    /// then the new ones as they are logged; the stream ends after the run's last item. Pass
    /// 0 for every item, or the seq of the last item a client has to pick up where it left
    /// off (no item twice, none missed). Any number of streams may follow one run. A store
    /// error ends the stream with that error.
    ///
    /// Only items whose seq the store has durably reserved are handed out, so no seq a client
    /// got can name another item after a crash, in any durability mode: a resumed run whose
    /// interrupted try lost items (sled's `EveryStep` keeps streamed items only as far as its
    /// flushes) continues above the reservation, starting with a
    /// `ContentDiscarded {"from_seq": N}` item that withdraws the lost text. Seqs then jump
    /// once across the crash; [`answer`](super::answer) over what the client got is the
    /// uninterrupted run's answer.
    pub fn events(&self, after_seq: u64) -> RunStream<'static> {
        let storage = Arc::clone(&self.shared.storage);
        let run_id = self.shared.run_id.clone();
        let mut state = self.shared.live.state.subscribe();
        Box::pin(async_stream::try_stream! {
            let mut cursor = after_seq;
            loop {
                // Read the watch before the store: an item logged after this read changes
                // the watch, so the wait below cannot miss it.
                let seen = *state.borrow_and_update();
                let page = storage.read_events(&run_id, cursor, PAGE).await?;
                let mut any = false;
                for event in page {
                    if event.seq > seen.last_seq {
                        // Logged, not yet covered by the reservation: shown once it is.
                        break;
                    }
                    cursor = event.seq;
                    any = true;
                    yield event.item;
                }
                if any {
                    continue;
                }
                if seen.ended {
                    break;
                }
                if state.changed().await.is_err() {
                    // The run is gone without ending (its task was dropped); what is logged
                    // has been read.
                    break;
                }
            }
        })
    }

    /// Asks the run to stop: its stream is dropped at the next await point, the session state
    /// is saved and the run recorded `cancelled` (as when a `run_stream` is dropped).
    /// [`wait`](Self::wait) then returns [`Error::Cancelled`]. Nothing happens if the run is
    /// over.
    pub fn cancel(&self) {
        self.shared.live.cancel.send_replace(true);
    }

    /// Stops the run so that it can be resumed later, as if its process had died: its stream
    /// is dropped at the next await point and its record says `interrupted`; the session
    /// state is not saved (a resume starts again from the state the run started with, and
    /// journaled work is not redone). For a server shutting down with runs in flight.
    /// [`wait`](Self::wait) then returns [`Error::Interrupted`]. Nothing happens if the run
    /// is over.
    pub fn interrupt(&self) {
        self.shared.live.interrupt.store(true, Ordering::SeqCst);
        self.shared.live.cancel.send_replace(true);
    }

    /// Waits for the run to end: its record when it completed or paused (status `paused`, its
    /// question in `pause`: continue it with `continue_run`), [`Error::Cancelled`] when it
    /// was cancelled, the run's error when it failed (every waiter gets it; a storage
    /// error's `source` only the first).
    pub async fn wait(&self) -> Result<RunRecord> {
        let mut state = self.shared.live.state.subscribe();
        // The sender lives in `shared.live`, which this handle holds: `wait_for` cannot fail.
        let _ = state.wait_for(|state| state.ended).await;
        let mut outcome = self.shared.live.outcome();
        match outcome.take() {
            Some(Ok(record)) => {
                *outcome = Some(Ok(record.clone()));
                Ok(record)
            }
            Some(Err(err)) => {
                *outcome = Some(Err(err.duplicate()));
                Err(err)
            }
            None => Err(Error::Cancelled),
        }
    }
}

impl fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunHandle")
            .field("run_id", &self.shared.run_id)
            .field("state", &*self.shared.live.state.borrow())
            .finish()
    }
}

/// Ends the run as `cancelled` if its task goes away without an outcome (the runtime shut
/// down, say).
struct EndOnDrop(Arc<Live>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0.end(Err(Error::Cancelled));
    }
}

/// Starts `start` in a new Tokio task owning `workflow`.
pub(crate) fn spawn<W>(mut workflow: W, start: Start<W::Input>) -> RunHandle
where
    W: Workflow + 'static,
{
    let run_id = match &start {
        Start::Fresh(_) => uuid::Uuid::new_v4().to_string(),
        Start::Resume { run_id, .. } => run_id.clone(),
    };
    let live = Live::new();
    let storage = Arc::clone(workflow.context().storage);
    let handle = RunHandle {
        shared: Arc::new(Shared {
            run_id: run_id.clone(),
            storage: Arc::clone(&storage),
            live: Arc::clone(&live),
        }),
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        live.end(Err(Error::Config(
            "a workflow run was started outside a Tokio runtime: call `start` from within one (e.g. under #[tokio::main])".into(),
        )));
        return handle;
    };
    // The run's span nests under the span `start` was called in.
    let parent = tracing::Span::current();
    let task = async move {
        let _end = EndOnDrop(Arc::clone(&live));
        let mut cancel = live.cancel.subscribe();
        let mut failure = None;
        let mut cancelled = false;
        {
            let launch = Launch {
                run_id: Some(run_id.clone()),
                live: Arc::clone(&live),
                span: tracing::Span::none(),
            };
            let mut stream = runner::drive(&mut workflow, start, launch);
            loop {
                tokio::select! {
                    biased;
                    _ = cancel.wait_for(|cancel| *cancel) => {
                        cancelled = true;
                        break;
                    }
                    next = stream.next() => match next {
                        None => break,
                        Some(Ok(_)) => {}
                        Some(Err(err)) => failure = Some(err),
                    },
                }
            }
            // Dropped here: a run not finished saves its state and is recorded `cancelled`.
        }
        let outcome = match (live.fenced(&run_id), failure) {
            (Some(fenced), _) => Err(fenced),
            (None, Some(err)) => Err(err),
            (None, None) => match storage.read_run(&run_id).await {
                Ok(Some(record))
                    if matches!(record.status, RunStatus::Completed | RunStatus::Paused) =>
                {
                    Ok(record)
                }
                Ok(_) if cancelled && live.interrupting() => Err(Error::Interrupted {
                    run_id: run_id.clone(),
                }),
                Ok(_) if cancelled => Err(Error::Cancelled),
                Ok(Some(record)) => Err(Error::Storage {
                    message: format!(
                        "run `{run_id}` ended `{:?}` without reporting an error: {}",
                        record.status,
                        record.error.unwrap_or_default()
                    ),
                    source: None,
                }),
                Ok(None) => Err(Error::Storage {
                    message: format!("the record of run `{run_id}` is missing from the store"),
                    source: None,
                }),
                Err(err) => Err(err),
            },
        };
        live.end(outcome);
    };
    runtime.spawn(tracing_futures::Instrument::instrument(task, parent));
    handle
}

/// Resumes `run_id` in the background once it has begun again: the handle, or why the run
/// cannot be resumed.
pub(crate) fn spawn_resume<W>(
    workflow: W,
    run_id: String,
    answer: Option<serde_json::Value>,
) -> BoxFuture<'static, Result<RunHandle>>
where
    W: Workflow + 'static,
{
    let handle = spawn(workflow, Start::Resume { run_id, answer });
    async move {
        let mut state = handle.shared.live.state.subscribe();
        let begun = state
            .wait_for(|state| state.begun || state.ended)
            .await
            .map(|state| state.begun)
            .unwrap_or(false);
        if begun {
            return Ok(handle);
        }
        handle.wait().await.map(|_| handle.clone())
    }
    .boxed()
}
