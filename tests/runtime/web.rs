//! The built-in web tools against saved pages served by the fake server: DuckDuckGo results,
//! articles of different shapes, and every way a fetch can fail.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::json;
use weft::prelude::*;
use weft::web::{ArticleReader, DnsResolver, DuckDuckGo, FetchLimits};
use weft_testkit::fixtures::{self, ARTICLE_PATHS, WEB_HOST};
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

/// A search of the fake server on 127.0.0.1, allowed to reach it.
fn local_search(server: &FakeLlm) -> DuckDuckGo {
    DuckDuckGo::new()
        .base_url(server.url())
        .allow_private_addresses(true)
}

/// DNS for the tests: every name it is asked about resolves to `to` (the fake server's
/// address, or another private one); it remembers the names asked.
struct Resolves {
    to: IpAddr,
    asked: Mutex<Vec<String>>,
}

impl Resolves {
    fn to(ip: &str) -> Arc<Resolves> {
        Arc::new(Resolves {
            to: ip.parse().unwrap(),
            asked: Mutex::new(Vec::new()),
        })
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl DnsResolver for Resolves {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>> {
        self.asked.lock().unwrap().push(host.to_string());
        async move { Ok(vec![self.to]) }.boxed()
    }
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
    let search = local_search(&server);
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
    let capped = local_search(&server).max_results(1);
    assert_eq!(capped.search("x", 10).await.unwrap().results.len(), 1);
}

#[tokio::test]
async fn duckduckgo_without_results_is_an_empty_list_and_failures_are_tool_errors() {
    let server = FakeLlm::start().await.unwrap();
    server.serve("/html/", Page::html(fixtures::DUCKDUCKGO_NO_RESULTS));
    let search = local_search(&server);
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
    let err = local_search(&down).search("x", 5).await.unwrap_err();
    assert!(err.to_string().contains("answered HTTP 429"), "{err}");

    // DuckDuckGo's bot check (HTTP 202, a form instead of results) is no "no results".
    let challenged = FakeLlm::start().await.unwrap();
    challenged.serve(
        "/html/",
        Page::html("<form id=\"challenge-form\">Select all squares with ducks</form>").status(202),
    );
    let err = local_search(&challenged).search("x", 5).await.unwrap_err();
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

    // The same page under a host name pinned to the server: the pinned address is checked
    // like a looked-up one, so `resolve` is no way around the guard.
    let err = ArticleReader::new()
        .resolve(WEB_HOST, server.addr())
        .read(&format!("http://{WEB_HOST}{}", ARTICLE_PATHS[0]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("refusing to fetch"), "{err}");
    assert!(server.page_requests().is_empty(), "nothing was fetched");
    assert!(local_reader().read(&page).await.is_ok());
}

#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_is_refused_after_dns() {
    let server = web().await;
    let port = server.addr().port();
    let path = ARTICLE_PATHS[0];
    // Loopback (the fake server itself), cloud metadata, a private network.
    for ip in ["127.0.0.1", "169.254.169.254", "10.0.0.1", "::1"] {
        let dns = Resolves::to(ip);
        let url = format!("http://evil.test:{port}{path}");
        let err = ArticleReader::new()
            .dns_resolver(dns.clone())
            .read(&url)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("refusing to fetch {url}: it is a local or private address"),
            "evil.test resolving to {ip}"
        );
        assert_eq!(
            dns.asked(),
            ["evil.test"],
            "the name was resolved, then refused"
        );
    }
    assert!(
        server.page_requests().is_empty(),
        "the server saw no request"
    );

    // Allowed explicitly, by name or altogether, the same name reaches the server.
    let dns = Resolves::to("127.0.0.1");
    let url = format!("http://evil.test:{port}{path}");
    let one_host = ArticleReader::new()
        .dns_resolver(dns.clone())
        .allow_private_host("evil.test");
    assert_eq!(
        one_host.read(&url).await.unwrap().title,
        "Sled: an embedded database for Rust"
    );
    let everything = ArticleReader::new()
        .dns_resolver(dns)
        .allow_private_addresses(true);
    assert!(everything.read(&url).await.is_ok());
    assert_eq!(server.page_requests(), [path, path]);
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_at_every_hop() {
    let server = web().await;
    let port = server.addr().port();
    let base = server.url();
    // An allowed host that redirects to a name resolving to loopback, and to a loopback IP.
    server.serve(
        "/to-name",
        Page::html("moved")
            .status(302)
            .header("location", &format!("http://evil.test:{port}/secret")),
    );
    server.serve(
        "/to-ip",
        Page::html("moved")
            .status(302)
            .header("location", &format!("{base}/secret")),
    );
    server.serve("/secret", Page::html(fixtures::ARTICLE_SLED));
    let dns = Resolves::to("127.0.0.1");
    let reader = ArticleReader::new()
        .dns_resolver(dns.clone())
        .allow_private_host("mirror.test");
    for (hop, led_to) in [
        ("/to-name", "evil.test".to_string()),
        ("/to-ip", format!("{base}/secret")),
    ] {
        let url = format!("http://mirror.test:{port}{hop}");
        let err = reader.read(&url).await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "refusing to fetch {led_to} (redirected from {url}): it is a local or private address"
            )
        );
    }
    assert_eq!(
        server.page_requests(),
        ["/to-name", "/to-ip"],
        "the redirects were followed to no private address"
    );
    assert!(
        dns.asked().contains(&"evil.test".to_string()),
        "the hop's name was resolved"
    );
}

#[tokio::test]
async fn duckduckgo_is_guarded_by_default_too() {
    let server = web().await;
    let err = DuckDuckGo::new()
        .base_url(server.url())
        .search("x", 5)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("refusing to fetch"), "{err}");
    let err = DuckDuckGo::new()
        .base_url(format!("http://{WEB_HOST}"))
        .resolve(WEB_HOST, server.addr())
        .search("x", 5)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("refusing to fetch"), "{err}");
    assert!(
        server.page_requests().is_empty(),
        "the server saw no request"
    );

    // The fixture site, allowed explicitly by name, as the offline research example does.
    let search = DuckDuckGo::new()
        .base_url(format!("http://{WEB_HOST}"))
        .resolve(WEB_HOST, server.addr())
        .allow_private_host(WEB_HOST);
    let found = search.search("embedded databases", 5).await.unwrap();
    assert_eq!(found.results.len(), 4);
    let reader = ArticleReader::new()
        .resolve(WEB_HOST, server.addr())
        .allow_private_host(WEB_HOST);
    let article = reader.read(&found.results[0].url).await.unwrap();
    assert_eq!(article.title, "Sled: an embedded database for Rust");
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
