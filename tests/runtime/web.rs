//! The built-in web tools against saved pages served by the fake server: DuckDuckGo results,
//! articles of different shapes, and every way a fetch can fail.

use std::time::Duration;

use serde_json::json;
use weft::prelude::*;
use weft::web::{ArticleReader, DuckDuckGo, FetchLimits};
use weft_testkit::fixtures::{self, ARTICLE_PATHS};
use weft_testkit::{FakeLlm, Page, Reply};

use crate::support::*;

async fn web() -> FakeLlm {
    let server = FakeLlm::start().await.unwrap();
    fixtures::serve_research_web(&server);
    server
}

/// A reader allowed to fetch the fake server on 127.0.0.1.
fn local_reader() -> ArticleReader {
    ArticleReader::new().allow_private_addresses(true)
}

fn limits(timeout_ms: u64, max_bytes: usize) -> FetchLimits {
    FetchLimits {
        timeout: Duration::from_millis(timeout_ms),
        max_bytes,
    }
}

#[tokio::test]
async fn duckduckgo_results_are_parsed_from_the_saved_page() {
    let server = web().await;
    let search = DuckDuckGo::new().base_url(server.url());
    let found = search.search("embedded databases", 10).await.unwrap();
    assert_eq!(found.query, "embedded databases");
    let urls: Vec<&str> = found.results.iter().map(|r| r.url.as_str()).collect();
    let base = server.url();
    assert_eq!(
        urls,
        [
            format!("{base}{}", ARTICLE_PATHS[0]),
            format!("{base}{}", ARTICLE_PATHS[1]),
            format!("{base}{}", ARTICLE_PATHS[2]),
            format!("{base}/articles/missing"),
        ],
        "the ad is skipped and redirect links resolved"
    );
    assert_eq!(
        found.results[0].title,
        "Sled: an embedded database for Rust"
    );
    assert_eq!(
        found.results[0].snippet,
        "Sled is a high-performance embedded database with an API that is similar to a BTreeMap."
    );
    assert_eq!(
        server.page_requests(),
        ["/html/?q=embedded+databases"],
        "one GET of the HTML endpoint with the query"
    );

    let two = search.search("embedded databases", 2).await.unwrap();
    assert_eq!(two.results.len(), 2, "max_results is honoured");
    let capped = DuckDuckGo::new().base_url(server.url()).max_results(1);
    assert_eq!(capped.search("x", 10).await.unwrap().results.len(), 1);
}

#[tokio::test]
async fn duckduckgo_without_results_is_an_empty_list_and_failures_are_tool_errors() {
    let server = FakeLlm::start().await.unwrap();
    server.serve("/html/", Page::html(fixtures::DUCKDUCKGO_NO_RESULTS));
    let search = DuckDuckGo::new().base_url(server.url());
    assert!(search
        .search("xqzv nonsense", 5)
        .await
        .unwrap()
        .results
        .is_empty());
    let err = search.search("  ", 5).await.unwrap_err();
    assert!(err.to_string().contains("query is empty"), "{err}");

    let down = FakeLlm::start().await.unwrap();
    down.serve("/html/", Page::html("<h1>Rate limited</h1>").status(429));
    let err = DuckDuckGo::new()
        .base_url(down.url())
        .search("x", 5)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("answered HTTP 429"), "{err}");

    // DuckDuckGo's bot check (HTTP 202, a form instead of results) is no "no results".
    let challenged = FakeLlm::start().await.unwrap();
    challenged.serve(
        "/html/",
        Page::html("<form id=\"challenge-form\">Select all squares with ducks</form>").status(202),
    );
    let err = DuckDuckGo::new()
        .base_url(challenged.url())
        .search("x", 5)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a results page"), "{err}");

    // The tool as the model calls it: bad arguments are an error result, not a panic.
    let err = search.call(json!({"q": "wrong key"})).await.unwrap_err();
    assert!(err.to_string().contains("expected {\"query\""), "{err}");
    let output = search.call(json!({"query": "sled"})).await.unwrap();
    assert!(output.into_text().contains("\"results\":[]"));
}

#[tokio::test]
async fn articles_of_different_shapes_are_extracted() {
    let server = web().await;
    let reader = local_reader();
    let base = server.url();

    let sled = reader
        .read(&format!("{base}{}", ARTICLE_PATHS[0]))
        .await
        .unwrap();
    assert_eq!(sled.title, "Sled: an embedded database for Rust");
    assert_eq!(sled.authors, ["Ada Lovelace", "Grace Hopper"]);
    assert_eq!(sled.published.as_deref(), Some("2026-03-14T09:30:00Z"));
    assert_eq!(sled.site_name.as_deref(), Some("Systems Weekly"));
    assert!(
        sled.text
            .starts_with("Sled is an embedded database written in Rust."),
        "{}",
        sled.text
    );
    assert!(sled.text.contains("\n\nIts API looks like a BTreeMap"));
    for boilerplate in ["Subscribe", "Ten tips for Rust", "All rights reserved"] {
        assert!(
            !sled.text.contains(boilerplate),
            "{boilerplate:?} in {}",
            sled.text
        );
    }
    assert!(!sled.truncated);

    let sqlite = reader
        .read(&format!("{base}{}", ARTICLE_PATHS[1]))
        .await
        .unwrap();
    assert_eq!(sqlite.title, "How SQLite keeps data safe");
    assert_eq!(sqlite.authors, ["Edgar Codd"], "from JSON-LD");
    assert_eq!(sqlite.published.as_deref(), Some("2025-11-02"));
    assert!(sqlite.text.contains("Write-ahead logging inverts this"));
    assert!(
        !sqlite.text.contains("Great post!"),
        "comments are not the article"
    );

    let kv = reader
        .read(&format!("{base}{}", ARTICLE_PATHS[2]))
        .await
        .unwrap();
    assert_eq!(kv.title, "Choosing a key-value store");
    assert!(kv.text.contains("log-structured merge trees and B-trees"));
    for boilerplate in ["cookies", "Category 12", "Try our cloud database"] {
        assert!(
            !kv.text.contains(boilerplate),
            "{boilerplate:?} in {}",
            kv.text
        );
    }

    let short = local_reader().max_text_chars(40);
    let cut = short
        .read(&format!("{base}{}", ARTICLE_PATHS[0]))
        .await
        .unwrap();
    assert!(cut.truncated && cut.text.chars().count() == 40);
}

#[tokio::test]
async fn every_failed_read_is_a_tool_error() {
    let server = web().await;
    server.serve(
        "/paper.pdf",
        Page::bytes("application/pdf", b"%PDF-1.7 ...".to_vec()),
    );
    server.serve(
        "/slow",
        Page::html(fixtures::ARTICLE_SLED).delay(Duration::from_secs(5)),
    );
    server.serve("/huge", Page::html("<p>word </p>".repeat(10_000)));
    server.serve("/gone", Page::html("<h1>Gone</h1>").status(404));
    let base = server.url();
    let reader = local_reader().limits(limits(300, 64 * 1024));
    let cases = [
        (format!("{base}/gone"), "answered HTTP 404"),
        (format!("{base}/articles/missing"), "answered HTTP 404"),
        (
            format!("{base}/paper.pdf"),
            "is not an HTML page (content type `application/pdf`)",
        ),
        (format!("{base}/slow"), "did not answer within 300ms"),
        (format!("{base}/huge"), "larger than the 65536-byte limit"),
        (format!("{base}/pages/index"), "has no article text to read"),
        (
            "ftp://example.invalid/x".to_string(),
            "is not an http(s) URL",
        ),
        ("not a url".to_string(), "is not an http(s) URL"),
    ];
    for (url, expected) in cases {
        let err = reader.read(&url).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{url}: {err}");
    }
}

#[tokio::test]
async fn local_and_private_addresses_are_refused_unless_allowed() {
    let server = web().await;
    let page = format!("{}{}", server.url(), ARTICLE_PATHS[0]);
    let err = ArticleReader::new()
        .read(&page)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("local or private address"), "{err}");
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:9/",
    ] {
        let err = ArticleReader::new()
            .read(url)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing to fetch"), "{url}: {err}");
    }
    assert!(server.page_requests().is_empty(), "nothing was fetched");

    // A public-looking name that redirects to a private address is stopped at the redirect.
    server.serve(
        "/hop",
        Page::html("moved").status(302).header("location", &page),
    );
    let err = ArticleReader::new()
        .resolve("mirror.weft.test", server.addr())
        .read("http://mirror.weft.test/hop")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("local or private"), "{err}");
    assert!(local_reader().read(&page).await.is_ok());
}

#[tokio::test]
async fn a_failed_read_goes_back_to_the_model_as_a_tool_error() {
    for provider in BOTH {
        let web = web().await;
        let llm = FakeLlm::start().await.unwrap();
        llm.push(Reply::tool_calls([
            (
                "read_article",
                json!({"url": format!("{}/articles/missing", web.url())}),
            ),
            (
                "read_article",
                json!({"url": format!("{}{}", web.url(), ARTICLE_PATHS[0])}),
            ),
        ]));
        llm.push(Reply::text("One source was gone; sled is embedded."));
        let mut agent = agent_builder(provider, &llm)
            .tool(local_reader())
            .build()
            .unwrap();
        let answer = agent.run("Read both").await.unwrap();
        assert_eq!(answer.tools.len(), 2);
        assert!(answer.tools[0].is_error);
        assert!(answer.tools[0]
            .result
            .as_deref()
            .unwrap()
            .contains("HTTP 404"));
        assert!(!answer.tools[1].is_error);
        let article: serde_json::Value =
            serde_json::from_str(answer.tools[1].result.as_deref().unwrap()).unwrap();
        assert_eq!(article["authors"], json!(["Ada Lovelace", "Grace Hopper"]));
        assert_eq!(
            answer.content_text(),
            "One source was gone; sled is embedded."
        );
    }
}
