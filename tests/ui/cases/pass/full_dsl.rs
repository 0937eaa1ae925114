use serde::{Deserialize, Serialize};
use weft::prelude::*;

fn editor() -> Agent {
    Agent::builder().name("editor").model(Offline::default()).build().unwrap()
}

#[derive(Default, Serialize, Deserialize)]
pub struct Notes {
    pub lines: Vec<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Topic {
    pub title: String,
    pub depth: u32,
}

/// Researches a topic with every `#[agent]` key in use.
#[workflow(name = "research", state = Notes)]
pub struct Research {
    #[agent(
        model = "anthropic:claude-sonnet-4-5",
        name = "researcher",
        description = "You research.",
        instructions = ["Be thorough.", "Cite sources."],
        expected_output = "A report.",
        tools = [],
        markdown,
        retries = 3,
        tool_call_limit = 4,
        max_turns = 6,
        tool_timeout = std::time::Duration::from_secs(5)
    )]
    researcher: Agent,
    #[agent(with = editor)]
    editor: Agent,
    #[agent(instructions = "One instruction is fine too.")]
    checker: Agent,
    pub max_sources: usize,
}

#[workflow]
impl Research {
    fn run(&mut self, topic: Topic) -> RunStream<'_> {
        try_stream! {
            self.session_state.lines.push(topic.title.clone());
            for await chunk in self.researcher.run_stream(&topic.title) {
                yield chunk?;
            }
            if topic.depth > self.max_sources as u32 {
                return;
            }
            yield RunResponse::text("done");
        }
    }

    fn helper(&self) -> usize {
        self.max_sources
    }
}

fn main() {
    let research = Research::builder().max_sources(3).build();
    let _ = research.map(|r| r.helper());
}
