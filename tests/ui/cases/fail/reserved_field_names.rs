use weft::prelude::*;

#[workflow]
pub struct Research {
    session_state: String,
    build: bool,
    __weft_cache: u32,
}

fn main() {}
