//! The records a store keeps: sessions and runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::response::{Metrics, RunResponse};

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
    /// The answer's text: every `RunContent` item concatenated.
    pub content: String,
    /// Every item of the run except content deltas (tool calls, steps, completions).
    pub events: Vec<RunResponse>,
    /// Token usage summed over the run's model calls; duration of the run.
    pub metrics: Metrics,
    /// The error, for failed runs.
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch.
    pub updated_at: u64,
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
