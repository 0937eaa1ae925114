//! ResearchWorkflow: searches the web, reads the best sources concurrently, and streams a
//! cited summary (Agno's research-assistant workflow, with typed hand-offs between agents).
//!
//! 1. **search**: the `searcher` agent (DuckDuckGo) returns a typed [`SourceList`]
//!    (structured output, no regex over prose). No relevant source ends the run with a clear
//!    message.
//! 2. **read**: the `reader` agent (ArticleReader) takes typed [`ArticleNotes`] on the top
//!    three sources, all three at once, with a progress item as each one finishes.
//! 3. **summary**: the `writer` agent streams a Markdown summary citing its sources.
//!
//! The typed session state keeps every search's sources and every article's notes, so asking
//! again about a topic reuses them instead of searching and reading again.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use weft::prelude::*;
use weft::web::{ArticleReader, DuckDuckGo};
use weft::ModelRef;

/// How many of the sources found are read.
pub const SOURCES_TO_READ: usize = 3;

/// What the searcher hands on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceList {
    /// The sources relevant to the topic, best first; empty if none is.
    pub sources: Vec<Source>,
}

/// One web source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    /// The page title.
    pub title: String,
    /// The page's URL.
    pub url: String,
    /// What the page is about, in a sentence.
    pub snippet: String,
}

/// What the reader hands on for one article.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ArticleNotes {
    /// The article's URL.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Its authors, as the page names them.
    pub authors: Vec<String>,
    /// When it was published, if the page says.
    pub published: Option<String>,
    /// Two or three sentences on what it says about the topic.
    pub summary: String,
}

/// What a research session remembers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResearchState {
    /// The sources found for each topic researched.
    pub searches: BTreeMap<String, Vec<Source>>,
    /// Notes on every article read, by URL.
    pub articles: BTreeMap<String, ArticleNotes>,
}

/// The model every agent uses: the one given, else `weft::model_from_env()`.
pub fn model_or_env(model: &Option<ModelRef>) -> weft::Result<ModelRef> {
    match model {
        Some(model) => Ok(model.clone()),
        None => weft::model_from_env(),
    }
}

/// Researches a topic on the web and writes a summary that cites its sources.
#[workflow(name = "research", state = ResearchState)]
pub struct ResearchWorkflow {
    #[agent(
        model = model_or_env(&model)?,
        description = "You find the best web sources on a topic.",
        instructions = [
            "Search the web for the topic with duckduckgo_search.",
            "Keep only sources that are relevant to the topic, best first, at most five.",
            "If nothing relevant turns up, return an empty list."
        ],
        tools = [search.clone()],
        tool_call_limit = 3
    )]
    searcher: Agent,
    #[agent(
        model = model_or_env(&model)?,
        description = "You read one article and take notes on it.",
        instructions = [
            "Read the article at the URL you are given with read_article.",
            "Take its title, authors and publication date from the page.",
            "Summarise what it says about the topic in two or three sentences of your own."
        ],
        tools = [articles.clone()],
        tool_call_limit = 2
    )]
    reader: Agent,
    #[agent(
        model = model_or_env(&model)?,
        description = "You write short, accurate research summaries.",
        instructions = [
            "Write a Markdown summary of the topic from the notes you are given.",
            "Cite every claim with the link of its source, like [title](url).",
            "Use only the notes; say so where they disagree or fall short."
        ],
        markdown
    )]
    writer: Agent,
    /// The model of all three agents (default: `weft::model_from_env()`).
    pub model: Option<ModelRef>,
    /// The web search tool (default: DuckDuckGo).
    pub search: DuckDuckGo,
    /// The article reader (default limits: 15 s, 2 MiB a page).
    pub articles: ArticleReader,
}

#[workflow]
impl ResearchWorkflow {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            // 1. Search, or reuse an earlier search of this session.
            let topic = topic.trim().to_string();
            let sources = match self.session_state.searches.get(&topic) {
                Some(sources) => {
                    yield RunResponse::step_completed("search", format!(
                        "Using the {} sources found earlier for \"{topic}\"", sources.len()
                    ));
                    sources.clone()
                }
                None => {
                    yield RunResponse::step_started(
                        "search",
                        format!("Searching the web for \"{topic}\""),
                    );
                    let found: SourceList = self
                        .searcher
                        .run_typed(format!("Find the most relevant web sources about: {topic}"))
                        .await?;
                    let mut sources: Vec<Source> = Vec::new();
                    for source in found.sources {
                        let new = !sources.iter().any(|s: &Source| s.url == source.url);
                        if source.url.starts_with("http") && new {
                            sources.push(source);
                        }
                    }
                    // An empty search is not remembered: the next run searches again.
                    if !sources.is_empty() {
                        self.session_state.searches.insert(topic.clone(), sources.clone());
                    }
                    yield RunResponse::step_completed(
                        "search",
                        format!("Found {} sources", sources.len()),
                    );
                    sources
                }
            };
            if sources.is_empty() {
                yield RunResponse::text(format!(
                    "No relevant sources found for \"{topic}\". Try other or broader words."
                ));
                return;
            }

            // 2. Read the top sources concurrently; each finished read is reported at once.
            let top: Vec<Source> = sources.into_iter().take(SOURCES_TO_READ).collect();
            yield RunResponse::step_started(
                "read",
                format!("Reading the top {} sources", top.len()),
            );
            // Each read is a task of its own, so reads go on while the consumer is busy; the
            // set aborts them if the run is dropped.
            let mut reads = JoinSet::new();
            for source in &top {
                let cached = self.session_state.articles.get(&source.url).cloned();
                let mut reader = self.reader.clone();
                let (topic, url) = (topic.clone(), source.url.clone());
                reads.spawn(async move {
                    let notes = match cached {
                        Some(notes) => Ok(notes),
                        None => read(&mut reader, &topic, &url).await,
                    };
                    (url, notes)
                });
            }
            let mut notes: Vec<ArticleNotes> = Vec::new();
            // Each source is named by its place in the search, not by when its read finished,
            // so a resumed run (whose journaled reads finish in another order) reports the
            // same items and logs none of them twice.
            let place = |url: &str| top.iter().position(|s| s.url == url).map_or(0, |i| i + 1);
            while let Some(joined) = reads.join_next().await {
                let (url, read) = joined.map_err(|err| {
                    weft::Error::Config(format!("a read task failed: {err}"))
                })?;
                match read {
                    Ok(article) => {
                        yield RunResponse::step_completed("read", format!(
                            "Read source {} of {}: {} ({})", place(&url), top.len(), article.title, article.url
                        ));
                        self.session_state.articles.insert(article.url.clone(), article.clone());
                        notes.push(article);
                    }
                    Err(reason) => {
                        yield RunResponse::step_completed("read", format!(
                            "Could not read source {} of {}: {url} ({reason})", place(&url), top.len()
                        ));
                    }
                }
            }
            drop(reads);
            if notes.is_empty() {
                yield RunResponse::text(format!(
                    "No relevant sources found for \"{topic}\": none of the {} found could be read.",
                    top.len()
                ));
                return;
            }
            // The order of the search, not of whichever read finished first.
            notes.sort_by_key(|n| top.iter().position(|s| s.url == n.url));

            // 3. Stream the summary.
            yield RunResponse::step_started("summary", "Writing the summary");
            for await chunk in self.writer.run_stream(summary_prompt(&topic, &notes)) {
                yield chunk?;
            }
        }
    }
}

/// Notes on one article, or why it could not be read.
async fn read(reader: &mut Agent, topic: &str, url: &str) -> Result<ArticleNotes, String> {
    let notes: ArticleNotes = reader
        .run_typed(format!(
            "Read the article at {url} and take notes on what it says about: {topic}"
        ))
        .await
        .map_err(|err| err.to_string())?;
    let tools = &reader.last_response().tools;
    if !tools.is_empty() && tools.iter().all(|t| t.is_error) {
        let reason = tools[0].result.clone().unwrap_or_default();
        return Err(reason.trim_start_matches("error: ").to_string());
    }
    Ok(ArticleNotes {
        url: url.to_string(),
        ..notes
    })
}

/// What the writer is given: the topic, then one Markdown section per article.
pub fn summary_prompt(topic: &str, notes: &[ArticleNotes]) -> String {
    let mut prompt = format!("Topic: {topic}\n\nNotes on {} sources:\n", notes.len());
    for article in notes {
        prompt.push_str(&format!(
            "\n## {}\nSource: {}\n",
            article.title, article.url
        ));
        if !article.authors.is_empty() {
            prompt.push_str(&format!("Authors: {}\n", article.authors.join(", ")));
        }
        if let Some(published) = &article.published {
            prompt.push_str(&format!("Published: {published}\n"));
        }
        prompt.push_str(&article.summary);
        prompt.push('\n');
    }
    prompt
}

/// The web tools of the research workflow: the real web, or offline (the model is
/// [`weft::Offline`]) saved pages on a local server under a host name that resolves to it,
/// so stored URLs stay the same from run to run. Keep the returned server alive while the
/// tools are used. The web tools refuse local and private addresses (the URLs they fetch
/// come from pages and model output), so that one host is allowed explicitly, and nothing
/// else.
pub async fn web_tools(
    model: &ModelRef,
) -> weft::Result<(DuckDuckGo, ArticleReader, Option<weft_testkit::FakeLlm>)> {
    if model.provider() != "offline" {
        return Ok((DuckDuckGo::new(), ArticleReader::new(), None));
    }
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
    let (search, articles) = fixture_web_tools(&web);
    Ok((search, articles, Some(web)))
}

/// Web tools reading the fixture web served by `web` ([`weft_testkit::fixtures::serve_research_web`])
/// under [`WEB_HOST`](weft_testkit::fixtures::WEB_HOST), the one private host they allow.
pub fn fixture_web_tools(web: &weft_testkit::FakeLlm) -> (DuckDuckGo, ArticleReader) {
    use weft_testkit::fixtures::WEB_HOST;
    (
        DuckDuckGo::new()
            .base_url(format!("http://{WEB_HOST}"))
            .resolve(WEB_HOST, web.addr())
            .allow_private_host(WEB_HOST),
        ArticleReader::new()
            .resolve(WEB_HOST, web.addr())
            .allow_private_host(WEB_HOST),
    )
}
