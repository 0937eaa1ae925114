//! A hosted workflow type, seen through an object-safe trait: what the server knows of it
//! (`WorkflowInfo`) and how it starts and resumes its runs.

use std::marker::PhantomData;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use weft_runtime::workflow::WorkflowBuilder;
use weft_runtime::{RunHandle, StorageRef, Workflow, WorkflowDefinition};

use crate::error::ApiError;

/// What `GET /v1/workflows` tells about a hosted workflow.
#[derive(Clone, Debug, Serialize)]
pub struct WorkflowInfo {
    /// The workflow's `NAME`: its id in routes and in the store.
    pub id: String,
    /// Its name (the same as `id`).
    pub name: String,
    /// Its description (doc comment), if it has one.
    pub description: Option<String>,
    /// The JSON Schema of its `run` input.
    pub input_schema: Value,
}

/// Whose a new run is.
#[derive(Clone, Debug, Default)]
pub struct Owner {
    /// The session to run in (a new one when `None`).
    pub session_id: Option<String>,
    /// The session's user.
    pub user_id: Option<String>,
}

/// A workflow type the server hosts.
pub(crate) trait Hosted: Send + Sync {
    /// What the server tells about it.
    fn info(&self) -> &WorkflowInfo;

    /// Starts a run of `input` (JSON) in `owner`'s session: `422` when the input does not
    /// fit the workflow's input type, `500` when the instance cannot be built.
    fn start(&self, input: Value, owner: Owner, storage: StorageRef)
        -> Result<RunHandle, ApiError>;

    /// Resumes the interrupted run `run_id` on a new instance; with an `answer`, continues the
    /// paused run `run_id` with it.
    fn resume(
        &self,
        run_id: String,
        answer: Option<Value>,
        storage: StorageRef,
    ) -> Result<BoxFuture<'static, weft_runtime::Result<RunHandle>>, ApiError>;
}

/// [`Hosted`] for the workflows a builder of type `B` makes, configured by `make`.
pub(crate) struct HostedBuilder<B, F> {
    make: F,
    info: WorkflowInfo,
    _builder: PhantomData<fn() -> B>,
}

impl<B, F> HostedBuilder<B, F>
where
    B: WorkflowBuilder,
    B::Workflow: Workflow + 'static,
    <B::Workflow as Workflow>::Input: JsonSchema,
    F: Fn() -> B + Send + Sync + 'static,
{
    pub fn new(make: F) -> Self {
        let name = <B::Workflow as WorkflowDefinition>::NAME.to_string();
        let schema = schemars::schema_for!(<B::Workflow as Workflow>::Input);
        HostedBuilder {
            make,
            info: WorkflowInfo {
                id: name.clone(),
                name,
                description: <B::Workflow as WorkflowDefinition>::DESCRIPTION.map(str::to_string),
                input_schema: serde_json::to_value(schema).unwrap_or(Value::Null),
            },
            _builder: PhantomData,
        }
    }

    fn instance(&self, owner: Owner, storage: StorageRef) -> Result<B::Workflow, ApiError> {
        let mut builder = (self.make)().with_storage(storage);
        if let Some(session_id) = owner.session_id {
            builder = builder.with_session_id(session_id);
        }
        if let Some(user_id) = owner.user_id {
            builder = builder.with_user_id(user_id);
        }
        builder
            .build_workflow()
            .map_err(|err| ApiError::internal(&err))
    }
}

impl<B, F> Hosted for HostedBuilder<B, F>
where
    B: WorkflowBuilder,
    B::Workflow: Workflow + 'static,
    <B::Workflow as Workflow>::Input: JsonSchema,
    F: Fn() -> B + Send + Sync + 'static,
{
    fn info(&self) -> &WorkflowInfo {
        &self.info
    }

    fn start(
        &self,
        input: Value,
        owner: Owner,
        storage: StorageRef,
    ) -> Result<RunHandle, ApiError> {
        let input: <B::Workflow as Workflow>::Input = serde_path_to_error::deserialize(input)
            .map_err(|err| {
                let field = crate::error::field_path("input", &err);
                ApiError::unprocessable(
                    "invalid_input",
                    format!(
                        "`{field}` does not fit workflow `{}`'s input: {}",
                        self.info.id,
                        err.inner()
                    ),
                )
            })?;
        let workflow = self.instance(owner, storage)?;
        Ok(workflow.start(input))
    }

    fn resume(
        &self,
        run_id: String,
        answer: Option<Value>,
        storage: StorageRef,
    ) -> Result<BoxFuture<'static, weft_runtime::Result<RunHandle>>, ApiError> {
        let workflow = self.instance(Owner::default(), storage)?;
        Ok(match answer {
            Some(answer) => workflow.start_continue(&run_id, answer),
            None => workflow.start_resume(&run_id),
        })
    }
}
