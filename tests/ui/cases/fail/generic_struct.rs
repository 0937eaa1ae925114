use weft::prelude::*;

#[workflow]
pub struct Research<T> {
    extra: T,
}

fn main() {}
