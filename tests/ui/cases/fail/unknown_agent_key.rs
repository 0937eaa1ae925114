use weft::prelude::*;

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o", instrucions = ["Be brief."])]
    writer: Agent,
}

fn main() {}
