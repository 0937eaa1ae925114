//! Research assistant: searches the web, reads the top three sources at once, and streams a
//! cited summary; every search and article is kept in the session, on disk.
//!
//! ```text
//! cargo run --example research -- "embedded databases in Rust"
//! ```
//! With `OPENAI_API_KEY`, `ANTHROPIC_API_KEY` or `WEFT_MODEL` set it uses that model, the real
//! DuckDuckGo and the real pages. Without, it runs offline end to end as a demo: the
//! deterministic offline model drives the same tool calls and typed hand-offs, but the search
//! results are fixed sample pages (about embedded databases), the same whatever the topic,
//! served with their articles by a local weft-testkit server on 127.0.0.1; it says so on
//! stderr. The web tools refuse local addresses by default, so the offline run allows that
//! one host name explicitly (`allow_private_host`).

use std::io::Write;

use weft::prelude::*;
use weft::web::{ArticleReader, DuckDuckGo};
use weft_examples::research::ResearchWorkflow;

#[tokio::main]
async fn main() -> weft::Result<()> {
    let topic = weft_examples::prompt_from_args("embedded databases in Rust");

    let model = weft::model_from_env()?;
    // Offline, the web is saved pages on a local server, under a host name that resolves to
    // it (so stored URLs stay the same from run to run); kept alive until the end of main.
    // The web tools refuse local and private addresses (the URLs they fetch come from pages
    // and model output), so that one host is allowed explicitly, and nothing else.
    let (search, articles, _local_web) = if model.provider() == "offline" {
        use weft_testkit::fixtures::{serve_research_web, WEB_HOST};
        let web = weft_testkit::FakeLlm::start()
            .await
            .map_err(|err| weft::Error::Config(format!("could not start the local web: {err}")))?;
        serve_research_web(&web);
        eprintln!(
            "weft: offline demo: the search results are fixed sample pages about embedded databases, \
             the same whatever the topic; they and their articles are served on {} as http://{WEB_HOST}",
            web.url()
        );
        (
            DuckDuckGo::new()
                .base_url(format!("http://{WEB_HOST}"))
                .resolve(WEB_HOST, web.addr())
                .allow_private_host(WEB_HOST),
            ArticleReader::new()
                .resolve(WEB_HOST, web.addr())
                .allow_private_host(WEB_HOST),
            Some(web),
        )
    } else {
        (DuckDuckGo::new(), ArticleReader::new(), None)
    };

    let storage = SledStorage::open("data/workflows.db")?;
    let mut research = ResearchWorkflow::builder()
        .session_id("research-demo")
        .storage(storage)
        .model(Some(model))
        .search(search)
        .articles(articles)
        .build()?;

    let mut stdout = std::io::stdout();
    let mut events = research.run_stream(topic);
    while let Some(event) = events.next().await {
        let event = event?;
        match event.event {
            RunEvent::StepStarted | RunEvent::StepCompleted => {
                eprintln!("  > {}", event.content.as_text());
            }
            RunEvent::WorkflowCompleted => {
                let metrics = &event.metrics;
                eprintln!(
                    "\n[{} model calls | {} in / {} out tokens | {:?}]",
                    metrics.model_calls,
                    metrics.input_tokens,
                    metrics.output_tokens,
                    metrics.duration.unwrap_or_default()
                );
            }
            _ => {
                // A closed pipe (`| head`) ends the output, not the program with a panic.
                if write!(stdout, "{}", event.content_text())
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return Ok(());
                }
            }
        }
    }
    drop(events);
    let _ = writeln!(stdout);
    eprintln!(
        "session `{}` in data/workflows.db: {} searches, {} articles (run it again to reuse them)",
        research.session_id,
        research.session_state.searches.len(),
        research.session_state.articles.len()
    );
    Ok(())
}
