use weft::prelude::*;

#[workflow]
pub enum Research {
    Draft,
    Final,
}

fn main() {}
