//! Saved web pages: a DuckDuckGo results page (its links point back at the fake server), the
//! articles it links to, in different shapes, and pages that are not articles.
//!
//! [`serve_research_web`] mounts them all on a [`FakeLlm`], which then stands in for both
//! DuckDuckGo (`{url}/html/`) and the sites it finds. Links use the host the page was asked
//! for: fetched as `http://127.0.0.1:<port>/…` they point there; fetched as
//! `http://`[`WEB_HOST`]`/…` with that host resolved to the server (the web tools' `resolve`),
//! they are the same from run to run, whatever the port. The server is on 127.0.0.1, which the
//! web tools refuse by default: allow it with their `allow_private_host(WEB_HOST)`.

use crate::{FakeLlm, Page};

/// A stable host name for the fixture web (`.test` is reserved: it never resolves on the
/// internet).
pub const WEB_HOST: &str = "web.weft.test";

/// A DuckDuckGo HTML results page: three results (two behind `//duckduckgo.com/l/?uddg=`
/// redirect links, one direct), an ad between them, and a result whose page is gone (404).
pub const DUCKDUCKGO_RESULTS: &str = include_str!("../fixtures/web/duckduckgo_results.html");
/// A DuckDuckGo HTML page with no results.
pub const DUCKDUCKGO_NO_RESULTS: &str = include_str!("../fixtures/web/duckduckgo_no_results.html");
/// A news article: `<article>`, `meta name=author` with two authors, `article:published_time`.
pub const ARTICLE_SLED: &str = include_str!("../fixtures/web/article_sled.html");
/// A blog post without `<article>`: author and date only in JSON-LD, comments below.
pub const ARTICLE_SQLITE: &str = include_str!("../fixtures/web/article_sqlite.html");
/// A page buried in boilerplate (cookie banner, menus, ads), byline and date in the text.
pub const ARTICLE_KV_STORE: &str = include_str!("../fixtures/web/article_kv_store.html");
/// A page with links only: nothing to read.
pub const NOT_AN_ARTICLE: &str = include_str!("../fixtures/web/not_an_article.html");

/// The paths [`serve_research_web`] serves articles at, in the order the results list them
/// (the fourth result's page is missing on purpose).
pub const ARTICLE_PATHS: [&str; 3] = [
    "/articles/sled-embedded-database",
    "/articles/sqlite-durability",
    "/articles/choosing-a-kv-store",
];

/// Mounts the results page at `/html/` (for any query) and the articles it links to.
pub fn serve_research_web(server: &FakeLlm) {
    server.serve("/html/", Page::html(DUCKDUCKGO_RESULTS));
    for (path, body) in ARTICLE_PATHS
        .iter()
        .zip([ARTICLE_SLED, ARTICLE_SQLITE, ARTICLE_KV_STORE])
    {
        server.serve(path, Page::html(body));
    }
    server.serve("/pages/index", Page::html(NOT_AN_ARTICLE));
}

/// Scripts `llm` as the research workflow's model up to its summary: the search agent calls
/// `duckduckgo_search`, then answers with the three [`ARTICLE_PATHS`] (under [`WEB_HOST`]) as
/// its sources; each reader calls `read_article` on its URL, then answers with notes titled
/// `Article 0`, `Article 1`, `Article 2`. Replies are routed by prompt, so the three reads
/// may come in any order. Route the summary (its prompt has `Notes on 3 sources`) yourself.
pub fn route_research_llm(llm: &FakeLlm) {
    use serde_json::json;

    use crate::Reply;

    let url = |path: &str| format!("http://{WEB_HOST}{path}");
    let search = "Find the most relevant web sources about";
    llm.route(
        search,
        Reply::tool_call("duckduckgo_search", json!({"query": "embedded databases"})),
    );
    let sources: Vec<_> = ARTICLE_PATHS
        .iter()
        .map(|p| json!({"title": format!("Title of {p}"), "url": url(p), "snippet": "…"}))
        .collect();
    llm.route(search, Reply::json(json!({ "sources": sources })));
    for (i, path) in ARTICLE_PATHS.iter().enumerate() {
        let read = format!("Read the article at {}", url(path));
        llm.route(
            &read,
            Reply::tool_call("read_article", json!({"url": url(path)})),
        );
        llm.route(
            &read,
            Reply::json(json!({
                "url": url(path), "title": format!("Article {i}"), "authors": ["A. Writer"],
                "published": null, "summary": format!("Point {i} about embedded databases.")
            })),
        );
    }
}
