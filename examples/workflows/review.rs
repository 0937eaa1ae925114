//! `ReviewWorkflow`, hosted by `cargo run --example serve`: a writer drafts, an editor
//! reviews the draft. Two model calls one after the other, so a run interrupted during the
//! review resumes with the draft journaled: the draft's model call is never asked again.

use weft::prelude::*;

/// Drafts a short post on a topic, then has it reviewed.
#[workflow]
pub struct ReviewWorkflow {
    #[agent(instructions = ["Write a three-sentence draft post.", "Plain text."])]
    writer: Agent,
    #[agent(instructions = ["You are an editor.", "Improve the draft; answer with the edited post only."])]
    editor: Agent,
}

#[workflow]
impl ReviewWorkflow {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            for await item in self.writer.run_stream(format!("Draft a post about {topic}.")) {
                yield item?;
            }
            let draft = self.writer.last_response().content_text();
            let review = format!("Edit this draft about {topic}:\n{draft}");
            for await item in self.editor.run_stream(review) {
                yield item?;
            }
            let reviews: u32 = self.session_state.get("reviews").unwrap_or(0);
            self.session_state.insert("reviews", reviews + 1)?;
        }
    }
}
