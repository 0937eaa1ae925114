use weft::prelude::*;

#[derive(serde::Deserialize)]
pub struct Query {
    pub text: String,
}

/// Searches.
#[tool]
async fn search(query: Query) -> String {
    query.text
}

fn main() {}
