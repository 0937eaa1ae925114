use weft::prelude::*;

pub struct Notes {
    pub lines: Vec<String>,
}

#[workflow(state = Notes)]
pub struct Research {
    #[agent(model = "openai:gpt-4o")]
    writer: Agent,
}

fn main() {}
