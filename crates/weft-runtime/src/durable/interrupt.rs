//! Pauses for a person: [`RunContext::interrupt`] asks a question and ends the live part of
//! the run; `Workflow::continue_run` with the answer takes the run up again through the
//! journal, where the interrupt returns the answer.
//!
//! An interrupt is journaled work like a step: its key is `interrupt:<name>:<n>` and its
//! journal entry holds the answer. A run that reaches an interrupt with no answer journaled
//! records a [`Pause`] (status `paused`, a `RunPaused` item) instead of finishing; none of its
//! changes to the session are saved (a session not stored yet is stored as the run found it),
//! and the session is free for other runs meanwhile. The continued run re-enters `run` from
//! the state it started with, every completed model call, tool call and step returns its
//! journaled result, and its changes are merged onto the session as it is then.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::identity;
use super::journal;
use super::step::RunContext;
use crate::{Error, Result};

/// What a paused run waits for: the interrupt, its question, and the schema of the answer.
/// Kept in the run's record ([`RunRecord::pause`](crate::storage::RunRecord::pause)) and
/// carried by its `RunPaused` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    /// The interrupt's name, as the run's code gave it (`"approve_send"`).
    pub name: String,
    /// The interrupt's journal key (`interrupt:<name>:<n>`): which occurrence of the name in
    /// the run the answer goes to.
    pub key: String,
    /// The question, as JSON.
    pub question: Value,
    /// The JSON Schema an answer must fit.
    pub answer_schema: Value,
}

/// The question of a tool call that needs approval (`#[tool(confirm)]`): the call the model
/// asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolApproval {
    /// The tool's name.
    pub tool: String,
    /// The call's arguments, as the model wrote them (parsed when they are JSON).
    pub arguments: Value,
}

/// The answer to a [`ToolApproval`]: run the call, or tell the model it was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Approval {
    /// Whether the call may run.
    pub approved: bool,
    /// Why it was rejected (sent to the model as the call's result), or a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Approval {
    /// Run the call.
    pub fn approve() -> Self {
        Approval {
            approved: true,
            reason: None,
        }
    }

    /// Do not run it; `reason` goes to the model as the call's result.
    pub fn reject(reason: impl Into<String>) -> Self {
        Approval {
            approved: false,
            reason: Some(reason.into()),
        }
    }
}

impl RunContext {
    /// Pauses the run to ask a person `question`, or returns the answer once the run was
    /// continued with one.
    ///
    /// The first time the run gets here, the interrupt records a pause (the run's status
    /// becomes `paused`, its stream yields a `RunPaused` item carrying the question and the
    /// JSON Schema of `A`, and ends) and returns [`Error::Paused`]: let it propagate with `?`,
    /// and the run ends there. `Workflow::continue_run(run_id, answer)` (or `POST
    /// /v1/runs/{id}/continue`) checks the answer against the schema and takes the run up
    /// again: `run` starts over from the input and the state the run started with, every
    /// model call, tool call and step that completed returns its journaled result at once,
    /// and this call returns the answer. Interrupts of the same name are told apart by their
    /// order in the run, so an interrupt in a loop asks once per round.
    ///
    /// Once a run has paused it ends `paused` however its `run` ends (an interrupt in a
    /// spawned task pauses the run even if its error is not propagated). Outside a run
    /// (`ctx()` between runs) there is nothing to pause: the error is [`Error::Config`].
    ///
    /// ```
    /// use schemars::JsonSchema;
    /// use serde::{Deserialize, Serialize};
    /// use weft_runtime::RunContext;
    ///
    /// #[derive(Serialize)]
    /// struct SendQuestion { to: String, draft: String }
    /// #[derive(Deserialize, JsonSchema)]
    /// struct SendAnswer { approved: bool }
    ///
    /// async fn approve(ctx: &RunContext, draft: String) -> weft_runtime::Result<bool> {
    ///     let question = SendQuestion { to: "team@example.com".into(), draft };
    ///     let answer: SendAnswer = ctx.interrupt("approve_send", question).await?;
    ///     Ok(answer.approved)
    /// }
    /// ```
    pub async fn interrupt<Q, A>(&self, name: &str, question: Q) -> Result<A>
    where
        Q: Serialize,
        A: DeserializeOwned + JsonSchema,
    {
        let Some(scope) = self.scope() else {
            return Err(Error::Config(format!(
                "the interrupt `{name}` was reached outside a workflow run: an interrupt pauses a run, so call it from a workflow's `run` (through `self.ctx()`)"
            )));
        };
        let key = scope.next_key(&identity::interrupt_prefix(name));
        if let Some(entry) = scope.journaled(&key) {
            return serde_json::from_value(entry.output)
                .map_err(|err| journal::unreadable(scope.run_id(), &key, &err));
        }
        let pause = Pause {
            name: name.to_string(),
            key,
            question: serde_json::to_value(question)?,
            answer_schema: crate::schema::schema_for::<A>(),
        };
        scope.pause(pause);
        Err(Error::Paused {
            run_id: scope.run_id().to_string(),
            interrupt: name.to_string(),
        })
    }
}

/// Checks `answer` against the schema `pause` asked for: [`Error::InvalidAnswer`] naming
/// where it does not fit.
pub(crate) fn check_answer(run_id: &str, pause: &Pause, answer: &Value) -> Result<()> {
    let invalid = |message: String| Error::InvalidAnswer {
        run_id: run_id.to_string(),
        interrupt: pause.name.clone(),
        message,
    };
    let validator = jsonschema::validator_for(&pause.answer_schema).map_err(|err| {
        invalid(format!(
            "the interrupt's answer schema is not usable: {err}"
        ))
    })?;
    let problems: Vec<String> = validator
        .iter_errors(answer)
        .take(5)
        .map(|err| {
            let path = err.instance_path().to_string();
            if path.is_empty() {
                err.to_string()
            } else {
                format!("at `{path}`: {err}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pause() -> Pause {
        Pause {
            name: "approve".into(),
            key: "interrupt:approve:0".into(),
            question: json!("send?"),
            answer_schema: crate::schema::schema_for::<Approval>(),
        }
    }

    #[test]
    fn an_answer_is_checked_against_the_schema() {
        check_answer("r", &pause(), &json!({"approved": true})).unwrap();
        check_answer("r", &pause(), &json!({"approved": false, "reason": "no"})).unwrap();
        let err = check_answer("r", &pause(), &json!({"approved": "yes"})).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidAnswer { .. }), "{text}");
        assert!(text.contains("/approved"), "{text}");
        let err = check_answer("r", &pause(), &json!({})).unwrap_err();
        assert!(err.to_string().contains("approved"), "{err}");
    }
}
