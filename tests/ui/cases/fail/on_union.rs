use weft::prelude::*;

#[workflow]
pub union Research {
    a: u32,
    b: f32,
}

fn main() {}
