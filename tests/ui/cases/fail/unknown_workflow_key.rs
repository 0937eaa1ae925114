use weft::prelude::*;

#[workflow(nme = "research")]
pub struct Research {
    #[agent(model = "openai:gpt-4o")]
    writer: Agent,
}

fn main() {}
