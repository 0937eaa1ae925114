use weft::prelude::*;

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o")]
    writer: Agent,
}

#[workflow]
impl Research {
    fn execute(&mut self, topic: String) -> RunStream<'_> {
        let _ = topic;
        Box::pin(weft::futures::stream::empty())
    }
}

fn main() {}
