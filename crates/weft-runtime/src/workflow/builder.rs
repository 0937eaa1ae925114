//! [`WorkflowBuilder`]: what every `#[workflow]`-generated builder can do, as a trait, so that
//! code hosting workflows of any type (a server, a job runner) can give each instance its
//! session, user and store.

use crate::storage::StorageRef;
use crate::workflow::WorkflowDefinition;
use crate::Result;

/// The builder `#[workflow]` generates for a workflow struct (`MyWorkflow::builder()`), seen
/// through a trait. The inherent methods of the generated builder do the same; this trait is
/// for generic code that gets a configured builder and fills in the rest:
///
/// ```ignore
/// fn instance<B: WorkflowBuilder>(builder: B, session: &str, store: StorageRef) -> weft::Result<B::Workflow> {
///     builder.with_session_id(session.to_string()).with_storage(store).build_workflow()
/// }
/// ```
pub trait WorkflowBuilder {
    /// The workflow this builds.
    type Workflow: WorkflowDefinition;

    /// Uses this session id (default: a new UUID v4).
    fn with_session_id(self, session_id: String) -> Self;

    /// Sets the user the session belongs to.
    fn with_user_id(self, user_id: String) -> Self;

    /// Keeps sessions and runs in this store.
    fn with_storage(self, storage: StorageRef) -> Self;

    /// Builds the instance (see the generated `build`).
    fn build_workflow(self) -> Result<Self::Workflow>;
}
