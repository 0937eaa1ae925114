use weft::prelude::*;

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o")]
    writer: Agent,
}

#[workflow]
impl Research {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        let text = topic.to_uppercase();
        try_stream! {
            yield RunResponse::text(text);
        }
    }
}

fn main() {}
