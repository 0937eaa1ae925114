use weft::prelude::*;

#[workflow]
pub struct Asynchronous {}

#[workflow]
impl Asynchronous {
    async fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! { yield RunResponse::text(topic); }
    }
}

#[workflow]
pub struct NoInput {}

#[workflow]
impl NoInput {
    fn run(&mut self) -> RunStream<'_> {
        try_stream! { yield RunResponse::text("hi"); }
    }
}

#[workflow]
pub struct WrongReturn {}

#[workflow]
impl WrongReturn {
    fn run(&mut self, topic: String) -> String {
        topic
    }
}

#[workflow]
pub struct ByValue {}

#[workflow]
impl ByValue {
    fn run(self, topic: String) -> RunStream<'static> {
        try_stream! { yield RunResponse::text(topic); }
    }
}

#[workflow]
pub struct Generic {}

#[workflow]
impl Generic {
    fn run<T>(&mut self, topic: String) -> RunStream<'_> {
        try_stream! { yield RunResponse::text(topic); }
    }
}

fn main() {}
