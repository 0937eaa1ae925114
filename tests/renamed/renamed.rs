//! The macro reaches the runtime through the facade under whatever name the user gave it
//! (AutoAgents #256: macros that hard-code crate paths break on a rename).

#![allow(clippy::unwrap_used, missing_docs)]

use weft_renamed::prelude::*;

/// Greets.
#[workflow]
pub struct Greeter {
    #[agent(model = "offline:echo")]
    agent: Agent,
}

#[workflow]
impl Greeter {
    fn run(&mut self, name: String) -> RunStream<'_> {
        try_stream! {
            self.session_state.insert("last", &name)?;
            yield RunResponse::text(format!("Hello, {name}."));
        }
    }
}

#[tokio::test]
async fn a_workflow_compiles_and_runs_through_a_renamed_dependency() {
    let mut greeter = Greeter::builder().build().unwrap();
    let answer = greeter.run("Ada".to_string()).await.unwrap();
    assert_eq!(answer.content_text(), "Hello, Ada.");
    assert_eq!(
        greeter.session_state.get::<String>("last").as_deref(),
        Some("Ada")
    );
    assert!(greeter.agent.model().provider() == "offline");
}
