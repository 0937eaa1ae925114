//! `#[tool]`: schemas from Rust types, round trips through agents, arguments that do not fit.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

/// How hot it should be.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub enum Unit {
    Celsius,
    Fahrenheit,
}

/// A place on Earth.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
pub struct Location {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// Every supported parameter kind in one tool.
///
/// # Arguments
/// * `text` - Some text.
/// * `count` - How many (an integer).
/// * `small` - A small unsigned integer.
/// * `ratio` - A float.
/// * `flag` - A boolean.
/// * `tags` - A list of strings.
/// * `limit` - Optional, so not required.
/// * `unit` - An enum.
/// * `place` - A nested struct.
#[tool]
#[allow(clippy::too_many_arguments)]
pub fn kitchen_sink(
    text: String,
    count: i64,
    small: u8,
    ratio: f64,
    flag: bool,
    tags: Vec<String>,
    limit: Option<i32>,
    unit: Unit,
    place: Location,
) -> Value {
    json!({"text": text, "count": count, "small": small, "ratio": ratio, "flag": flag,
           "tags": tags, "limit": limit, "unit": unit, "place": place})
}

#[test]
fn schema_snapshot_of_every_parameter_kind() {
    let schema = KitchenSink.parameters();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/runtime/snapshots/kitchen_sink_tool.json"
    );
    let pretty = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    if std::env::var_os("WEFT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &pretty).unwrap();
    }
    let expected = std::fs::read_to_string(path).expect("run with WEFT_UPDATE_SNAPSHOTS=1 once");
    assert_eq!(
        pretty, expected,
        "the schema changed; review and re-run with WEFT_UPDATE_SNAPSHOTS=1"
    );

    // What the snapshot must say, spelled out.
    let properties = &schema["properties"];
    assert_eq!(properties["count"]["type"], "integer");
    assert_eq!(properties["small"]["type"], "integer");
    assert_eq!(properties["ratio"]["type"], "number");
    assert_eq!(properties["flag"]["type"], "boolean");
    assert_eq!(properties["tags"]["items"]["type"], "string");
    assert_eq!(properties["unit"]["enum"], json!(["Celsius", "Fahrenheit"]));
    assert_eq!(
        properties["place"]["properties"]["lat"]["description"],
        "Latitude in degrees."
    );
    assert_eq!(properties["count"]["description"], "How many (an integer).");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        !required.contains(&"limit"),
        "Option is not required: {required:?}"
    );
    assert!(required.contains(&"unit") && required.contains(&"text"));
    assert_eq!(
        KitchenSink.description(),
        "Every supported parameter kind in one tool."
    );
    assert!(
        schema.get("$schema").is_none()
            && schema.get("$defs").is_none()
            && schema.get("definitions").is_none()
    );
}

static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

/// Looks up the population of a city.
///
/// # Arguments
/// * `city` - The city's name.
#[tool(name = "population")]
async fn city_population(city: String) -> Result<u64, String> {
    LOOKUPS.fetch_add(1, Ordering::SeqCst);
    match city.as_str() {
        "Paris" => Ok(2_100_000),
        other => Err(format!("no data for {other}")),
    }
}

#[tokio::test]
async fn a_tool_round_trips_through_an_agent_on_both_providers() {
    for provider in BOTH {
        let server = FakeLlm::start().await.unwrap();
        server.push(Reply::tool_call("population", json!({"city": "Paris"})));
        server.push(Reply::text("About 2.1 million."));
        let mut agent = agent_builder(provider, &server)
            .tools([CityPopulation])
            .build()
            .unwrap();
        let answer = agent.run("How many people live in Paris?").await.unwrap();
        assert_eq!(answer.content_text(), "About 2.1 million.");
        assert_eq!(
            answer.tools[0].result.as_deref(),
            Some("2100000"),
            "{provider:?}"
        );
        assert!(!answer.tools[0].is_error);
        let first = &server.requests()[0];
        assert_eq!(first.tool_names(), ["population"]);
        let schema = match provider {
            Provider::OpenAI => first.body["tools"][0]["function"]["parameters"].clone(),
            Provider::Anthropic => first.body["tools"][0]["input_schema"].clone(),
        };
        assert_eq!(
            schema["properties"]["city"]["description"],
            "The city's name."
        );
    }
}

#[tokio::test]
async fn arguments_that_do_not_fit_go_back_to_the_model() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::tool_call("population", json!({"town": "Paris"})));
    server.push(Reply::tool_call("population", json!({"city": 42})));
    server.push(Reply::tool_call("population", json!({"city": "Atlantis"})));
    server.push(Reply::text("I could not find it."));
    let before = LOOKUPS.load(Ordering::SeqCst);
    let mut agent = agent_builder(Provider::OpenAI, &server)
        .tools([CityPopulation])
        .build()
        .unwrap();
    let answer = agent.run("Population?").await.unwrap();
    let results: Vec<&str> = answer
        .tools
        .iter()
        .map(|t| t.result.as_deref().unwrap())
        .collect();
    assert!(answer.tools.iter().all(|t| t.is_error), "{results:?}");
    assert!(results[0].contains("missing field `city`"), "{results:?}");
    assert!(
        results[1].contains("invalid argument `city`"),
        "{results:?}"
    );
    assert_eq!(results[2], "error: no data for Atlantis");
    assert!(
        LOOKUPS.load(Ordering::SeqCst) - before >= 1,
        "only the well-formed call ran"
    );
    assert_eq!(answer.content_text(), "I could not find it.");
}

/// A toolkit: several tools sharing one value.
pub struct Library {
    books: Vec<&'static str>,
}

#[tool]
impl Library {
    /// Lists the books whose title contains a word.
    ///
    /// # Arguments
    /// * `word` - The word to look for.
    #[tool]
    fn find_books(&self, word: String) -> Vec<String> {
        self.books
            .iter()
            .filter(|b| b.contains(&word))
            .map(|b| b.to_string())
            .collect()
    }

    /// Counts the books.
    #[tool(name = "count_books")]
    async fn count(&self) -> usize {
        self.books.len()
    }

    fn not_a_tool(&self) -> usize {
        0
    }
}

#[tokio::test]
async fn a_toolkit_gives_every_tool_method() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::tool_calls([
        ("find_books", json!({"word": "Rust"})),
        ("count_books", json!({})),
    ]));
    server.push(Reply::text("Two books."));
    let library = Library {
        books: vec!["Rust in Action", "Programming Rust", "Dune"],
    };
    assert_eq!(library.not_a_tool(), 0);
    let mut agent = agent_builder(Provider::Anthropic, &server)
        .tool(library)
        .build()
        .unwrap();
    let answer = agent.run("Rust books?").await.unwrap();
    assert_eq!(
        server.requests()[0].tool_names(),
        ["find_books", "count_books"]
    );
    assert_eq!(
        answer.tools[0].result.as_deref(),
        Some(r#"["Rust in Action","Programming Rust"]"#)
    );
    assert_eq!(answer.tools[1].result.as_deref(), Some("3"));
}

/// Sends a message; every call waits for a person's approval.
///
/// # Arguments
/// * `to` - Who gets it.
#[tool(confirm)]
pub fn send_message(to: String) -> String {
    format!("sent to {to}")
}

#[test]
fn confirm_makes_every_call_of_a_tool_wait_for_approval() {
    assert!(SendMessage.needs_approval());
    assert!(!KitchenSink.needs_approval(), "off unless asked for");
    assert_eq!(SendMessage.name(), "send_message");
}
