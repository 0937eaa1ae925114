//! The records a store keeps: sessions, runs, and each run's event log and journal.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::response::{Metrics, RunResponse};

/// One item of a run's event log: the item, its place in the run, and what a replay
/// recognises it by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    /// 1, 2, 3… per run, no gaps, except one jump across a crash that lost items a client may
    /// have seen: the resumed run then continues above the run's seq reservation (see
    /// [`LogHead`]), with a `ContentDiscarded` item. The same as `item.seq`.
    pub seq: u64,
    /// The item's identity within its run, the same on every replay of the run: the journal
    /// key of the call that produced it and its index within that call
    /// (`"call:<key>#<index>"`), or for an item the run's own code yielded, a hash of the item
    /// and its occurrence (`"item:<hash>#<n>"`). A resumed run does not log an item again
    /// whose identity is already in the log.
    pub identity: String,
    /// The item, with its `seq` set.
    pub item: RunResponse,
}

/// Where a run's event log stands
/// ([`WorkflowStorage::log_head`](super::WorkflowStorage::log_head)).
///
/// `reserved_seq` is the durable seq reservation
/// ([`reserve_seqs`](super::WorkflowStorage::reserve_seqs)): no item a client may have been
/// shown has a seq above it. When it is above `last_seq`, a crash lost logged items (some
/// perhaps already shown): the run's next item is logged at `reserved_seq + 1`, so no seq a
/// client saw is ever given to a different item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogHead {
    /// The seq of the run's last logged item (0: none).
    pub last_seq: u64,
    /// The highest seq the run's durable reservation covers (0: none written; a store whose
    /// appends are all durable writes none).
    pub reserved_seq: u64,
}

/// What kind of work a [`JournalEntry`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalKind {
    /// One model call (one turn of an agent's tool loop).
    ModelCall,
    /// One tool call.
    ToolCall,
    /// One user step (`ctx.step(name, ..)`).
    Step,
    /// The answer to an interrupt (`ctx.interrupt(name, ..)`), given when the run was
    /// continued.
    Interrupt,
}

/// A completed piece of a run's work, kept so that a resumed run returns its result at once
/// instead of doing it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Identifies the work within the run, independently of task scheduling: for a model call
    /// the agent's name, a hash of the whole request and the occurrence of that pair in the
    /// run (`"model:<agent>:<hash>:<n>"`); likewise for tool calls and steps.
    pub key: String,
    /// What kind of work it was.
    pub kind: JournalKind,
    /// Its result, as JSON.
    pub output: Value,
    /// The `seq`s of the log items it produced (a store never holds an entry whose items are
    /// not in the log).
    #[serde(default)]
    pub seqs: Vec<u64>,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// One workflow session: its identity and its saved state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowSession {
    /// The session id.
    pub session_id: String,
    /// The workflow it belongs to.
    pub workflow_id: String,
    /// The workflow's name.
    pub workflow_name: String,
    /// A human name for the session (`rename_session`), if one was given.
    #[serde(default)]
    pub session_name: Option<String>,
    /// The user, if one was set.
    pub user_id: Option<String>,
    /// The session state as JSON.
    pub session_state: Value,
    /// Compare-and-swap version: 0 before the first write, then 1, 2, …
    pub version: u64,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch.
    pub updated_at: u64,
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not yet finished.
    Running,
    /// Finished normally.
    Completed,
    /// Ended with an error.
    Failed,
    /// The consumer dropped the stream before the end.
    Cancelled,
    /// The process died during the run (found `running` when the store was reopened).
    Interrupted,
    /// The run waits for a person: an interrupt (`ctx.interrupt`, or a tool call that needs
    /// approval) asked a question, kept in the record's [`pause`](RunRecord::pause).
    /// `Workflow::continue_run` with the answer takes it up again.
    Paused,
}

impl RunStatus {
    /// The status as stored and shown: `running`, `completed`, `failed`, `cancelled`,
    /// `interrupted`, `paused`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Paused => "paused",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run of a workflow: what went in, what came out, how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run id (the `run_id` of every event of the run).
    pub run_id: String,
    /// The session the run belongs to.
    pub session_id: String,
    /// The workflow.
    pub workflow_id: String,
    /// The run's input as JSON.
    pub input: Value,
    /// How the run ended, or `Running`.
    pub status: RunStatus,
    /// The answer's text: the run's `RunContent` deltas in `seq` order, discarded ranges
    /// (`ContentDiscarded`) removed.
    pub content: String,
    /// The `seq` of the run's last logged item (0: none yet). The items themselves are in the
    /// run's event log ([`WorkflowStorage::read_events`](super::WorkflowStorage::read_events)).
    #[serde(default)]
    pub last_seq: u64,
    /// The session state when the run started: what a resumed run starts from again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_state: Option<Value>,
    /// Token usage summed over the run's model calls; duration of the run.
    pub metrics: Metrics,
    /// The error, for failed runs.
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch.
    pub updated_at: u64,
    /// The fencing token of the claim this record was written under (0: written without a
    /// claim); see [`RunClaim`](super::RunClaim).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fence: u64,
    /// What a `paused` run waits for: the question and the schema its answer must fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<crate::durable::Pause>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// Which sessions to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only sessions of this workflow.
    pub workflow_id: Option<String>,
    /// Only sessions of this user.
    pub user_id: Option<String>,
    /// Skip this many (after sorting, newest first).
    pub offset: usize,
    /// Return at most this many.
    pub limit: Option<usize>,
}

/// What [`list_sessions_counted`](super::WorkflowStorage::list_sessions_counted) found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionListing {
    /// The sessions that could be read, as `list_sessions` returns them.
    pub sessions: Vec<WorkflowSession>,
    /// How many records were skipped because they could not be read (each is logged with its
    /// key as a warning).
    pub skipped: usize,
}
