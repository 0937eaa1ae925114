use weft::prelude::*;

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o", name = "writer")]
    first: Agent,
    #[agent(model = "openai:gpt-4o", name = "writer")]
    second: Agent,
}

fn main() {}
