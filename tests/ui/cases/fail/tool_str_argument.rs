use weft::prelude::*;

/// Looks a city up.
#[tool]
fn lookup(city: &str) -> String {
    city.to_string()
}

fn main() {
    // The struct is still generated, so using it adds no second error.
    let _agent = Agent::builder().model(Offline::default()).tools([Lookup]).build();
}
