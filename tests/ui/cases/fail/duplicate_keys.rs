use weft::prelude::*;

#[workflow(name = "a", name = "b")]
pub struct Research {
    #[agent(model = "openai:gpt-4o", model = "anthropic:claude-sonnet-4-5")]
    writer: Agent,
}

fn main() {}
