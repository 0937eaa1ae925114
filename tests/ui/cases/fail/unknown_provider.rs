use weft::prelude::*;

#[workflow]
pub struct Research {
    #[agent(model = "gemini:pro")]
    writer: Agent,
}

fn main() {}
