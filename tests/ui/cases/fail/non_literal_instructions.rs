use weft::prelude::*;

const RULE: &str = "Be brief.";

#[workflow]
pub struct Research {
    #[agent(model = "openai:gpt-4o", instructions = [RULE, "Cite sources."])]
    writer: Agent,
}

fn main() {}
