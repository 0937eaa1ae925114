//! `run` with `stream!` instead of `try_stream!`: items are yielded as `Ok(..)`, errors as
//! `Err(..)`, and the stream still ends the run.
use weft::prelude::*;

#[workflow]
pub struct Counter {}

#[workflow]
impl Counter {
    fn run(&mut self, upto: u32) -> RunStream<'_> {
        stream! {
            for n in 0..upto {
                yield Ok(RunResponse::text(n.to_string()));
            }
            if upto == 0 {
                yield Err(weft::Error::InvalidInput { path: ".".into(), message: "count from 1".into() });
            }
        }
    }
}

fn main() {
    let counter = Counter::builder().build();
    let _ = counter.map(|mut c| {
        let _stream = c.run_stream(3);
    });
}
