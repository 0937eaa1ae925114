use weft::prelude::*;

#[workflow]
pub struct Research {}

#[workflow(name = "research")]
impl Research {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! { yield RunResponse::text(topic); }
    }
}

pub trait Runner {
    fn go(&self);
}

#[workflow]
impl Runner for Research {
    fn go(&self) {}
}

fn main() {}
