use weft::prelude::*;

pub struct Topic {
    pub title: String,
}

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o")]
    writer: Agent,
}

#[workflow]
impl Research {
    fn run(&mut self, topic: Topic) -> RunStream<'_> {
        try_stream! {
            yield RunResponse::text(topic.title);
        }
    }
}

fn main() {}
