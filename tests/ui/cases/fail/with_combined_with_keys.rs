use weft::prelude::*;

fn writer() -> Agent {
    Agent::builder().model("offline:echo").build().unwrap()
}

#[workflow]
pub struct Research {
    #[agent(with = writer, markdown)]
    writer: Agent,
}

fn main() {}
