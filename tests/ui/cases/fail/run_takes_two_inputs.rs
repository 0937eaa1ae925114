use weft::prelude::*;

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o")]
    writer: Agent,
}

#[workflow]
impl Research {
    fn run(&mut self, topic: String, depth: u32) -> RunStream<'_> {
        try_stream! {
            yield RunResponse::text(format!("{topic} {depth}"));
        }
    }
}

fn main() {}
