//! Session operations shared by the runner and the methods `#[workflow]` generates:
//! `load_session`, `new_session`, `rename_session`, `delete_session`, `sessions`, `runs`.

use std::sync::Arc;

use super::{
    merge_stored_over_initial, three_way, SameChange, WorkflowContext, WorkflowDefinition,
    WorkflowMeta,
};
use crate::response::now_millis;
use crate::storage::{RunRecord, SessionFilter, StorageRef, WorkflowSession};
use crate::{Error, Result};

/// Takes in a stored session. On the instance's first read, the stored state is merged over
/// its initial state. Afterwards a newer stored version is merged with the changes the
/// instance made since its last load or save (three-way, key by key): edits made to
/// `session_state` between runs are kept. If both changed the same key, the instance takes in
/// the stored version as it is and the error is `Error::Conflict` naming the keys.
pub(crate) fn adopt<W: WorkflowDefinition>(
    context: WorkflowContext<'_, W::State>,
    stored: Option<WorkflowSession>,
) -> Result<()> {
    match stored {
        Some(stored) if stored.version != context.meta.version => {
            let mine = serde_json::to_value(&*context.session_state)?;
            let merged = if !context.meta.loaded {
                Ok(merge_stored_over_initial(
                    mine,
                    stored.session_state.clone(),
                ))
            } else {
                let base = context.meta.base.as_ref().unwrap_or(&mine);
                // Edits made between runs: the same edit made twice is one edit.
                three_way(base, &mine, &stored.session_state, SameChange::Agrees)
            };
            match merged {
                Ok(state) => take_in::<W>(context, stored, state),
                Err(keys) => {
                    let session_id = stored.session_id.clone();
                    let state = stored.session_state.clone();
                    take_in::<W>(context, stored, state)?;
                    Err(Error::Conflict { session_id, keys })
                }
            }
        }
        Some(_) => {
            context.meta.loaded = true;
            Ok(())
        }
        // Never saved, or deleted since: the next save creates it anew.
        None => {
            context.meta.version = 0;
            context.meta.base = Some(serde_json::to_value(&*context.session_state)?);
            context.meta.loaded = true;
            Ok(())
        }
    }
}

/// Makes `stored` the version this instance holds, with `state` as its state.
fn take_in<W: WorkflowDefinition>(
    context: WorkflowContext<'_, W::State>,
    stored: WorkflowSession,
    state: serde_json::Value,
) -> Result<()> {
    *context.session_state = serde_json::from_value(state).map_err(|err| Error::Corrupt {
        key: format!("sessions/{}", context.session_id),
        reason: format!(
            "the stored state does not fit `{}`'s state type: {err}",
            W::NAME
        ),
    })?;
    context.meta.version = stored.version;
    context.meta.created_at = Some(stored.created_at);
    context.meta.session_name = stored.session_name;
    context.meta.base = Some(stored.session_state);
    context.meta.loaded = true;
    if context.user_id.is_none() {
        *context.user_id = stored.user_id;
    }
    Ok(())
}

/// The session as it should be stored now (compare-and-swap on the version last read).
pub(crate) fn snapshot<W: WorkflowDefinition>(workflow: &mut W) -> Result<WorkflowSession> {
    let now = now_millis();
    let context = workflow.context();
    Ok(WorkflowSession {
        session_id: context.session_id.clone(),
        workflow_id: W::NAME.to_string(),
        workflow_name: W::NAME.to_string(),
        session_name: context.meta.session_name.clone(),
        user_id: context.user_id.clone(),
        session_state: serde_json::to_value(&*context.session_state)?,
        version: context.meta.version,
        created_at: context.meta.created_at.unwrap_or(now),
        updated_at: now,
    })
}

/// Records that `stored` is now the version this instance holds.
pub(crate) fn saved<W: WorkflowDefinition>(workflow: &mut W, stored: &WorkflowSession) {
    let context = workflow.context();
    context.meta.version = stored.version;
    context.meta.created_at = Some(stored.created_at);
    context.meta.base = Some(stored.session_state.clone());
}

/// Reads this instance's session from storage and takes in its state: changes this instance
/// made since its last load or save are merged into a newer stored version, or reported as
/// `Error::Conflict` naming the keys both changed. `None` if it was never saved.
pub async fn load_session<W: WorkflowDefinition>(
    workflow: &mut W,
) -> Result<Option<WorkflowSession>> {
    let context = workflow.context();
    let storage = Arc::clone(context.storage);
    let stored = storage.read_session(context.session_id).await?;
    adopt::<W>(workflow.context(), stored.clone())?;
    Ok(stored)
}

/// Switches the instance to a new, empty session (a new UUID v4, the state type's default
/// state) and returns its id. Nothing is written until the next run.
pub fn new_session<W: WorkflowDefinition>(workflow: &mut W) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let context = workflow.context();
    context.session_id.clone_from(&id);
    *context.session_state = W::State::default();
    *context.run_id = None;
    *context.meta = WorkflowMeta::new();
    id
}

/// How many times a session operation that lost a compare-and-swap re-reads and retries.
const RETRIES: usize = 3;

/// Gives the current session a human name and saves it (creating the session if needed). If
/// another writer saves the session meanwhile, the rename is redone on their version.
pub async fn rename_session<W: WorkflowDefinition>(workflow: &mut W, name: String) -> Result<()> {
    let mut attempt = 0;
    loop {
        load_session(workflow).await?;
        workflow.context().meta.session_name = Some(name.clone());
        let session = snapshot(workflow)?;
        let storage = Arc::clone(workflow.context().storage);
        match storage.upsert_session(session).await {
            Ok(stored) => {
                saved(workflow, &stored);
                return Ok(());
            }
            Err(Error::Conflict { .. }) if attempt < RETRIES => attempt += 1,
            Err(err) => return Err(err),
        }
    }
}

/// Deletes a session and its runs; `false` if it did not exist. If it is the current one, the
/// instance starts it afresh: the state type's default state, no name, and the next run
/// creates the session again.
pub async fn delete_session<W: WorkflowDefinition>(
    workflow: &mut W,
    session_id: &str,
) -> Result<bool> {
    let context = workflow.context();
    let deleted = context.storage.delete_session(session_id).await?;
    if context.session_id.as_str() == session_id {
        *context.session_state = W::State::default();
        *context.run_id = None;
        *context.meta = WorkflowMeta::new();
        context.meta.loaded = true;
        context.meta.base = Some(serde_json::to_value(&*context.session_state)?);
    }
    Ok(deleted)
}

/// Sessions in `storage`; a filter without `workflow_id` lists `workflow_id`'s sessions.
pub async fn sessions(
    storage: &StorageRef,
    workflow_id: &str,
    mut filter: SessionFilter,
) -> Result<Vec<WorkflowSession>> {
    if filter.workflow_id.is_none() {
        filter.workflow_id = Some(workflow_id.to_string());
    }
    storage.list_sessions(filter).await
}

/// A session's runs, oldest first.
pub async fn runs(storage: &StorageRef, session_id: &str) -> Result<Vec<RunRecord>> {
    storage.read_runs(session_id).await
}
