//! The research workflow (examples/workflows/research.rs) end to end against weft-testkit:
//! its fake web (a DuckDuckGo results page and the articles it links to) and its fake LLM on
//! both wire formats, and offline with the deterministic model.

// Test helpers panic on purpose when an expectation fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

#[path = "common/drain.rs"]
mod drain;

use weft::prelude::*;
use weft::{ModelRef, RunStatus};
use weft_examples::research::{ResearchWorkflow, SOURCES_TO_READ};
use weft_testkit::fixtures::{self, ARTICLE_PATHS, WEB_HOST};
use weft_testkit::{FakeLlm, Page, Reply};

use drain::drain;

/// The fixture web, reached as `http://web.weft.test`.
async fn fixture_web() -> FakeLlm {
    let web = FakeLlm::start().await.unwrap();
    fixtures::serve_research_web(&web);
    web
}

fn url(path: &str) -> String {
    format!("http://{WEB_HOST}{path}")
}

fn research(web: &FakeLlm, model: ModelRef, storage: &weft::StorageRef) -> ResearchWorkflow {
    let (search, articles) = weft_examples::research::fixture_web_tools(web);
    ResearchWorkflow::builder()
        .session_id("research-test")
        .storage(storage.clone())
        .model(Some(model))
        .search(search)
        .articles(articles)
        .build()
        .unwrap()
}

fn progress(items: &[RunResponse]) -> Vec<String> {
    items
        .iter()
        .filter(|i| matches!(i.event, RunEvent::StepStarted | RunEvent::StepCompleted))
        .map(|i| {
            format!(
                "{}: {}",
                i.step.as_deref().unwrap_or("?"),
                i.content.as_text()
            )
        })
        .collect()
}

fn answer(items: &[RunResponse]) -> String {
    items.iter().map(|i| i.content_text()).collect()
}

#[tokio::test]
async fn offline_the_whole_workflow_runs_on_the_fixture_web() {
    let web = fixture_web().await;
    let storage: weft::StorageRef = Arc::new(MemoryStorage::new());
    let mut wf = research(&web, Arc::new(Offline::default()), &storage);

    let (items, error) = drain(wf.run_stream("embedded databases".to_string())).await;
    assert!(error.is_none(), "{error:?}");
    let steps = progress(&items);
    assert_eq!(
        steps[0],
        "search: Searching the web for \"embedded databases\""
    );
    assert_eq!(
        steps[1], "search: Found 4 sources",
        "the ad is not a source"
    );
    assert_eq!(steps[2], "read: Reading the top 3 sources");
    let reads: Vec<&String> = steps
        .iter()
        .filter(|s| s.starts_with("read: Read "))
        .collect();
    assert_eq!(
        reads.len(),
        SOURCES_TO_READ,
        "one progress item per source: {steps:?}"
    );
    assert_eq!(steps.last().unwrap(), "summary: Writing the summary");

    let summary = answer(&items);
    assert!(summary.contains("[offline model"), "{summary}");
    for path in ARTICLE_PATHS {
        assert!(
            summary.contains(&format!("([source]({}))", url(path))),
            "cites {path}: {summary}"
        );
    }
    assert!(summary.contains("Sled is an embedded database written in Rust."));

    // The web was used as a user would expect: one search, each top article once.
    let mut fetched = web.page_requests();
    fetched.sort();
    assert_eq!(
        fetched,
        [
            "/articles/choosing-a-kv-store",
            "/articles/sled-embedded-database",
            "/articles/sqlite-durability",
            "/html/?q=embedded+databases"
        ]
    );

    // The session keeps the URLs and the articles; the run record counts every model call.
    assert_eq!(wf.session_state.searches["embedded databases"].len(), 4);
    let sled = &wf.session_state.articles[&url(ARTICLE_PATHS[0])];
    assert_eq!(sled.authors, ["Ada Lovelace", "Grace Hopper"]);
    assert_eq!(sled.published.as_deref(), Some("2026-03-14T09:30:00Z"));
    let runs = storage.read_runs("research-test").await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Completed);
    assert_eq!(
        runs[0].metrics.model_calls, 9,
        "search: tool call + typed answer; 3 reads: the same; summary: 1"
    );

    // Asked again, the session's sources and notes are reused: no search, no page, one call.
    let (again, _) = drain(wf.run_stream("embedded databases".to_string())).await;
    assert_eq!(
        progress(&again)[0],
        "search: Using the 4 sources found earlier for \"embedded databases\""
    );
    assert_eq!(answer(&again), summary, "deterministic");
    assert_eq!(web.page_requests().len(), 4, "nothing fetched again");
    let runs = storage.read_runs("research-test").await.unwrap();
    assert_eq!(runs[1].metrics.model_calls, 1);
}

#[tokio::test]
async fn no_relevant_sources_is_said_plainly() {
    let web = FakeLlm::start().await.unwrap();
    web.serve("/html/", Page::html(fixtures::DUCKDUCKGO_NO_RESULTS));
    let storage: weft::StorageRef = Arc::new(MemoryStorage::new());
    let mut wf = research(&web, Arc::new(Offline::default()), &storage);
    let response = wf.run("xqzv nonsense".to_string()).await.unwrap();
    assert_eq!(
        response.content_text(),
        "No relevant sources found for \"xqzv nonsense\". Try other or broader words."
    );
    assert!(
        !wf.session_state.searches.contains_key("xqzv nonsense"),
        "an empty search is not remembered"
    );
    assert_eq!(web.page_requests().len(), 1, "no article fetched");
}

#[tokio::test]
async fn a_source_that_cannot_be_read_is_reported_and_the_rest_summarised() {
    let web = FakeLlm::start().await.unwrap();
    web.serve("/html/", Page::html(fixtures::DUCKDUCKGO_RESULTS));
    web.serve(ARTICLE_PATHS[0], Page::html(fixtures::ARTICLE_SLED));
    web.serve(ARTICLE_PATHS[2], Page::html(fixtures::ARTICLE_KV_STORE)); // the second is gone
    let storage: weft::StorageRef = Arc::new(MemoryStorage::new());
    let mut wf = research(&web, Arc::new(Offline::default()), &storage);
    let (items, error) = drain(wf.run_stream("embedded databases".to_string())).await;
    assert!(error.is_none(), "{error:?}");
    let steps = progress(&items);
    let failed: Vec<&String> = steps
        .iter()
        .filter(|s| s.contains("Could not read"))
        .collect();
    assert_eq!(failed.len(), 1, "{steps:?}");
    assert!(
        failed[0].contains(ARTICLE_PATHS[1]) && failed[0].contains("HTTP 404"),
        "{failed:?}"
    );
    let summary = answer(&items);
    assert!(summary.contains(ARTICLE_PATHS[0]) && summary.contains(ARTICLE_PATHS[2]));
    assert!(!summary.contains(ARTICLE_PATHS[1]), "{summary}");
    assert_eq!(wf.session_state.articles.len(), 2);
}

/// With a provider on the wire: the agents' requests carry the tools and the structured
/// output, and the answers take the same path through the workflow. The three readers run
/// at once, so each reply is routed by the URL in the request.
#[tokio::test]
async fn against_the_fake_llm_on_both_wire_formats() {
    for anthropic in [false, true] {
        let web = fixture_web().await;
        let llm = FakeLlm::start().await.unwrap();
        let model: ModelRef = if anthropic {
            Arc::new(
                Claude::new("claude-sonnet-4-5")
                    .base_url(llm.anthropic_base_url())
                    .api_key("sk-test"),
            )
        } else {
            Arc::new(
                OpenAIChat::new("gpt-4o")
                    .base_url(llm.openai_base_url())
                    .api_key("sk-test"),
            )
        };
        fixtures::route_research_llm(&llm);
        llm.route(
            "Notes on 3 sources",
            Reply::text("Embedded databases run in-process [Article 0](x)."),
        );

        let storage: weft::StorageRef = Arc::new(MemoryStorage::new());
        let mut wf = research(&web, model, &storage);
        let (items, error) = drain(wf.run_stream("embedded databases".to_string())).await;
        assert!(error.is_none(), "anthropic={anthropic}: {error:?}");
        assert_eq!(
            answer(&items),
            "Embedded databases run in-process [Article 0](x)."
        );
        assert_eq!(llm.request_count(), 9, "anthropic={anthropic}");
        assert_eq!(llm.pending_replies(), 0);

        let requests = llm.requests();
        let first = &requests[0];
        assert_eq!(first.tool_names()[0], "duckduckgo_search");
        if anthropic {
            // claude-sonnet-4-5 has native JSON output: the answer follows `output_config`.
            assert_eq!(first.body["output_config"]["format"]["type"], "json_schema");
        } else {
            assert_eq!(
                first.body["response_format"]["json_schema"]["name"],
                "SourceList"
            );
        }
        // The writer got every article's notes, in the order of the search.
        let writer = requests.last().unwrap().body.to_string();
        let positions: Vec<usize> = (0..3)
            .map(|i| writer.find(&format!("Point {i} about")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{writer}");
        assert_eq!(wf.session_state.articles.len(), 3);
        assert_eq!(
            wf.session_state.articles[&url(ARTICLE_PATHS[1])].summary,
            "Point 1 about embedded databases."
        );
        let runs = storage.read_runs("research-test").await.unwrap();
        assert_eq!(runs[0].metrics.model_calls, 9);
        assert!(runs[0].metrics.input_tokens > 0);
    }
}
