use weft::prelude::*;

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o")]
    writer: Agent,
}

#[workflow]
impl Research {
    fn run(&self, topic: String) -> RunStream<'_> {
        try_stream! {
            yield RunResponse::text(topic);
        }
    }
}

fn main() {}
