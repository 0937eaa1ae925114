//! `SimpleWorkflow`, run by `cargo run --example simple` and hosted by `cargo run --example serve`.

use weft::prelude::*;

/// Writes a short blog post outline on a topic.
#[workflow]
pub struct SimpleWorkflow {
    #[agent(
        description = "You are a blog writer.",
        instructions = ["Write a five-point outline.", "One line per point."],
        markdown
    )]
    writer: Agent,
}

#[workflow]
impl SimpleWorkflow {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            for await item in self.writer.run_stream(format!("Outline a blog post about {topic}.")) {
                yield item?;
            }
            let posts: u32 = self.session_state.get("posts").unwrap_or(0);
            self.session_state.insert("posts", posts + 1)?;
        }
    }
}
