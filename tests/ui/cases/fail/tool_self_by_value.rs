use weft::prelude::*;

pub struct Library;

#[tool]
impl Library {
    /// Counts the books.
    #[tool]
    fn count(self) -> usize {
        0
    }
}

fn main() {}
