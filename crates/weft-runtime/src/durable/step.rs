//! User steps: [`RunContext::step`] journals the output of the user's own side effects
//! (sending an email, charging a card), so a resumed run does not do them again.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use tracing_futures::Instrument;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::faults::fault_point;
use super::identity;
use super::journal;
use super::scope::RunScope;
use crate::storage::JournalKind;
use crate::telemetry::spans;
use crate::Result;

/// What a step may return: anything that serialises and deserialises, so the journal can
/// keep it and give it back to a resumed run.
#[diagnostic::on_unimplemented(
    message = "a step's output must implement Serialize and Deserialize",
    label = "`{Self}` is returned by this step, so the journal must be able to keep it",
    note = "derive them on `{Self}`: #[derive(Serialize, Deserialize)]"
)]
pub trait StepOutput: Serialize + DeserializeOwned {}

impl<T: Serialize + DeserializeOwned> StepOutput for T {}

/// A workflow run's context, for journaled steps: `self.ctx()` in a workflow's `run`. Owned
/// and cheap to clone (`Send + 'static`), so it can go into spawned tasks. Outside a run
/// (`ctx()` called between runs), steps just run. An example is in the docs of
/// `weft::workflow` (Durable runs).
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    scope: Option<Arc<RunScope>>,
}

impl RunContext {
    pub(crate) fn new(scope: Option<Arc<RunScope>>) -> Self {
        RunContext { scope }
    }

    /// The run's scope, if a run is in progress.
    pub(crate) fn scope(&self) -> Option<&Arc<RunScope>> {
        self.scope.as_ref()
    }

    /// The id of the run in progress, if there is one.
    pub fn run_id(&self) -> Option<&str> {
        self.scope.as_deref().map(RunScope::run_id)
    }

    /// Runs `work` as the step `name` of the run and journals its output, or, if this step
    /// already completed in an interrupted run being resumed, returns the journaled output
    /// without running `work`. Steps of the same name are told apart by their order in the
    /// run (`step:<name>:<n>`, `n` counted when a step starts): give concurrent steps distinct
    /// names. The error is the store's, if the journal cannot be written, or
    /// `Error::Corrupt` if a journaled output no longer fits `T`.
    ///
    /// A step's output must implement `Serialize` and `Deserialize` ([`StepOutput`]); one
    /// that does not is a compile error naming it.
    pub fn step<'a, T, F>(&'a self, name: &str, work: F) -> BoxFuture<'a, Result<T>>
    where
        T: StepOutput + Send + 'a,
        F: Future<Output = T> + Send + 'a,
    {
        let name = name.to_string();
        Box::pin(async move {
            let Some(scope) = &self.scope else {
                return Ok(work.await);
            };
            let key = scope.next_key(&identity::step_prefix(&name));
            let journaled = scope.journaled(&key);
            let span = spans::step(scope.span(), &name, journaled.is_some());
            if let Some(entry) = journaled {
                return serde_json::from_value(entry.output)
                    .map_err(|err| journal::unreadable(scope.run_id(), &key, &err));
            }
            async move {
                fault_point("step.started");
                let output = work.await;
                fault_point("step.finished");
                let value = journal::output_of(&output)?;
                scope
                    .write_journal(key, JournalKind::Step, value, Vec::new())
                    .await?;
                Ok(output)
            }
            .instrument(span)
            .await
        })
    }

    /// [`step`](Self::step) for fallible work: an `Ok` output is journaled, an error is not
    /// (the step runs again when the run is resumed).
    pub fn try_step<'a, T, E, F>(
        &'a self,
        name: &str,
        work: F,
    ) -> BoxFuture<'a, std::result::Result<T, E>>
    where
        T: StepOutput + Send + 'a,
        E: From<crate::Error> + Send + 'a,
        F: Future<Output = std::result::Result<T, E>> + Send + 'a,
    {
        let name = name.to_string();
        Box::pin(async move {
            let Some(scope) = &self.scope else {
                return work.await;
            };
            let key = scope.next_key(&identity::step_prefix(&name));
            let journaled = scope.journaled(&key);
            let span = spans::step(scope.span(), &name, journaled.is_some());
            if let Some(entry) = journaled {
                return serde_json::from_value(entry.output)
                    .map_err(|err| E::from(journal::unreadable(scope.run_id(), &key, &err)));
            }
            async move {
                fault_point("step.started");
                let output = work.await?;
                fault_point("step.finished");
                let value = journal::output_of(&output).map_err(E::from)?;
                scope
                    .write_journal(key, JournalKind::Step, value, Vec::new())
                    .await
                    .map_err(E::from)?;
                Ok(output)
            }
            .instrument(span)
            .await
        })
    }
}
