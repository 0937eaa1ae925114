//! `ValidationWorkflow`, run by `cargo run --example validation` and hosted by `cargo run --example serve`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weft::prelude::*;

/// What a user sends.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct UserInput {
    /// Who is asking.
    pub name: String,
    /// Where to answer.
    pub email: String,
    /// The question.
    pub query: String,
}

/// Answers validated support questions.
#[workflow]
pub struct ValidationWorkflow {
    #[agent(instructions = ["You are a helpful support agent.", "Address the user by name."])]
    support: Agent,
}

#[workflow]
impl ValidationWorkflow {
    fn run(&mut self, input: UserInput) -> RunStream<'_> {
        try_stream! {
            if !input.email.contains('@') {
                Err(weft::Error::InvalidInput {
                    path: "email".into(),
                    message: format!("`{}` is not an email address", input.email),
                })?;
            }
            let prompt = format!("{} ({}) asks: {}", input.name, input.email, input.query);
            for await chunk in self.support.run_stream(prompt) {
                yield chunk?;
            }
        }
    }
}
