//! `ApprovalWorkflow`: draft → approve → send. A writer drafts an email, the run pauses for a
//! person to approve it (`ctx.interrupt`), and only an approved email is sent, in a journaled
//! step: continuing the run never asks the model for the draft again, and never sends twice.
//!
//! Run it from the terminal with `cargo run --example approval` (it asks on stdin), or through
//! the server (`cargo run --example serve`, workflow `ApprovalWorkflow`): the run's
//! `RunPaused` event carries the question, and `POST /v1/runs/{id}/continue` the answer.

use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weft::prelude::*;

/// What to write, and to whom.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EmailRequest {
    /// The address the email goes to.
    pub to: String,
    /// What the email is about.
    pub topic: String,
}

/// What the person is asked before the email goes out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SendQuestion {
    /// The address the email would go to.
    pub to: String,
    /// The draft the writer made.
    pub draft: String,
}

/// The person's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SendDecision {
    /// Send the email?
    pub approve: bool,
    /// Text to send instead of the draft.
    #[serde(default)]
    pub edited_draft: Option<String>,
}

/// One email sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Where it went.
    pub to: String,
    /// What it said.
    pub body: String,
}

/// Where sent emails go: a stand-in for an email API, shared so a test (or the terminal
/// example) can see what was sent, and how many times.
#[derive(Clone, Debug, Default)]
pub struct Outbox(Arc<Mutex<Vec<Sent>>>);

impl Outbox {
    /// "Sends" the email: keeps it.
    pub fn deliver(&self, to: &str, body: &str) -> usize {
        let mut sent = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sent.push(Sent {
            to: to.to_string(),
            body: body.to_string(),
        });
        sent.len()
    }

    /// Every email sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Drafts an email, asks a person to approve it, and sends it only when approved.
#[workflow]
pub struct ApprovalWorkflow {
    #[agent(instructions = ["Write a short, friendly email body.", "Plain text, no subject line."])]
    writer: Agent,
    /// Where approved emails go.
    pub outbox: Outbox,
}

#[workflow]
impl ApprovalWorkflow {
    fn run(&mut self, request: EmailRequest) -> RunStream<'_> {
        try_stream! {
            let EmailRequest { to, topic } = request;
            yield RunResponse::step_started("draft", format!("Drafting an email to {to}"));
            for await item in self.writer.run_stream(format!("Write an email to {to} about {topic}.")) {
                yield item?;
            }
            let draft = self.writer.last_response().content_text().to_string();
            yield RunResponse::step_completed("draft", "Draft ready: waiting for approval");
            let ctx = self.ctx();
            let question = SendQuestion { to: to.clone(), draft: draft.clone() };
            let decision: SendDecision = ctx.interrupt("approve_send", question).await?;
            if !decision.approve {
                let rejected: u32 = self.session_state.get("rejected").unwrap_or(0);
                self.session_state.insert("rejected", rejected + 1)?;
                yield RunResponse::step_completed("send", "Not sent: the draft was rejected");
                return;
            }
            let body = decision.edited_draft.unwrap_or(draft);
            let outbox = self.outbox.clone();
            let (address, text) = (to.clone(), body.clone());
            let number: usize = ctx
                .step("send", async move { outbox.deliver(&address, &text) })
                .await?;
            let sent: u32 = self.session_state.get("sent").unwrap_or(0);
            self.session_state.insert("sent", sent + 1)?;
            yield RunResponse::step_completed("send", format!("Sent to {to} (email #{number})"));
        }
    }
}
