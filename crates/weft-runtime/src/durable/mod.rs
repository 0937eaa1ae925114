//! Durable runs: every item of a workflow run is logged with a gapless `seq` (see below for
//! the one jump a crash may cause) before anyone sees it, every model call, tool call and step is journaled when it completes, and a run
//! interrupted by a crash can be resumed where it stopped.
//!
//! - [`RunContext`] and its [`step`](RunContext::step): journaled side effects of your own;
//! - [`RunContext::interrupt`]: a pause for a person, taken up again by
//!   `Workflow::continue_run(run_id, answer)` ([`Pause`]);
//! - [`RunHandle`]: a run in the background, followed by any number of clients;
//! - [`answer`]: the client rule, the answer a run's logged items add up to;
//! - resuming: `Workflow::resume(run_id)` and `Workflow::start_resume(run_id)`, with
//!   `WorkflowStorage::interrupted_runs` listing the candidates.
//!
//! What a resumed run guarantees: it re-enters `run` with the input and the session state the
//! run started with; journaled work returns at once (no model call, tool call or step done
//! twice), items already logged are neither logged nor yielded again, new work runs live,
//! and the text of a model call the crash cut short is withdrawn with one
//! `ContentDiscarded {"from_seq": N}` item. The final content, and [`answer`] over the items a
//! client received, are those of an uninterrupted run.
//!
//! No seq a client was shown ever names another item: before an item is yielded or handed to
//! a [`RunHandle`] subscriber, its seq is covered by the store's durable seq reservation
//! (`WorkflowStorage::reserve_seqs`). A store that can lose appends in a crash (sled's
//! `EveryStep`, the default) may lose items a client already got; the resumed run then
//! continues right above the reservation (`WorkflowStorage::log_head`), and its first item is
//! the `ContentDiscarded` at `reserved + 1`, with `N` the smaller of the first delta of a call
//! that never completed and the first lost seq. The log's seqs jump once across that crash; a
//! client reconnecting with its last seq gets everything after it, and [`answer`] drops the
//! lost text. Where no append is lost (memory, sled's `EveryEvent`) the log stays gapless.
//!
//! Journal keys and item identities do not depend on task scheduling: a model call is
//! `model:<agent>:<hash of the request and call mode>:<n>`, a tool call
//! `tool:<name>:<hash of name and arguments>:<n>`, a step `step:<name>:<n>`, where `<n>`
//! counts the occurrences of the same prefix in the run; a model call's text deltas are the
//! items `turn:<model key>#<i>`, an agent call's other items `call:<key of its first model
//! call>#<j>`, and items the run's own code yields `item:<hash of the item>#<n>`.
//!
//! What is journaled: calls made by a workflow's `#[agent]` fields and their clones (also in
//! spawned tasks) while a run is in progress, and `ctx.step(..)`. An agent outside a workflow
//! run, or one the run builds itself, journals nothing. A replay is only as faithful as the
//! run's code is deterministic: work that differs on a second try (it reads the clock, a
//! random number, or state outside the session) is new work, done live, and an item whose
//! content differs is a new item. Put such values in a step: the step's journaled output
//! makes the rest of the run the same again.

pub(crate) mod faults;
pub(crate) mod handle;
pub(crate) mod identity;
pub(crate) mod interrupt;
pub(crate) mod journal;
pub(crate) mod log;
pub(crate) mod resume;
pub(crate) mod scope;
mod step;

pub use handle::RunHandle;
pub use interrupt::{Approval, Pause, ToolApproval};
pub use resume::answer;
pub use step::{RunContext, StepOutput};
