//! Hosts the example workflows (research, cache, simple, validation) over HTTP, offline by
//! default like the other examples.
//!
//! ```text
//! cargo run --example serve -- --port 0 --db PATH
//! ```
//! Prints `listening on http://127.0.0.1:PORT` when it is ready; open that address for the
//! playground. `--port` defaults to 8080 (0: any free port), `--db` to `data/serve.db` (a sled
//! store: runs interrupted by a crash are resumed when the server starts again). On Ctrl-C or
//! SIGTERM, runs in flight get `--grace` seconds (default 10) to finish, then are recorded
//! `interrupted` and resumed by the next start. API keys:
//! `WEFT_API_KEYS=key1,key2`. A model: `WEFT_MODEL`, `OPENAI_API_KEY` or `ANTHROPIC_API_KEY`
//! (else the offline model). The README shows curl commands for each route.

use std::net::Ipv4Addr;

use weft::prelude::*;
use weft::serve::Server;
use weft_examples::cache::CacheWorkflow;
use weft_examples::research::{web_tools, ResearchWorkflow};
use weft_examples::simple::SimpleWorkflow;
use weft_examples::validation::ValidationWorkflow;

/// The command line: `--port N`, `--db PATH`, `--grace SECS`.
struct Args {
    port: u16,
    db: String,
    grace: u64,
}

fn args() -> weft::Result<Args> {
    let mut parsed = Args {
        port: 8080,
        db: "data/serve.db".to_string(),
        grace: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| weft::Error::Config(format!("`{name}` needs a value")))
        };
        match arg.as_str() {
            "--port" => {
                let text = value("--port")?;
                parsed.port = text.parse().map_err(|_| {
                    weft::Error::Config(format!(
                        "`--port {text}`: give a port number (0: any free port)"
                    ))
                })?;
            }
            "--db" => parsed.db = value("--db")?,
            "--grace" => {
                let text = value("--grace")?;
                parsed.grace = text.parse().map_err(|_| {
                    weft::Error::Config(format!("`--grace {text}`: give whole seconds"))
                })?;
            }
            "--postgres" => {
                return Err(weft::Error::Config(
                    "`--postgres` is not supported yet: use `--db PATH` (a sled store)".into(),
                ))
            }
            other => {
                return Err(weft::Error::Config(format!(
                    "unknown argument `{other}`: use `--port N`, `--db PATH` and `--grace SECS`"
                )))
            }
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let args = args()?;
    let model = weft::model_from_env()?;
    // Offline, the research workflow reads saved pages from a local server (kept alive here).
    let (search, articles, _local_web) = web_tools(&model).await?;
    let storage = SledStorage::open(&args.db)?;

    let research_model = model.clone();
    let server = Server::new(storage)
        .workflow(move || {
            ResearchWorkflow::builder()
                .model(Some(research_model.clone()))
                .search(search.clone())
                .articles(articles.clone())
        })
        .workflow(CacheWorkflow::builder)
        .workflow(SimpleWorkflow::builder)
        .workflow(ValidationWorkflow::builder)
        .shutdown_grace(std::time::Duration::from_secs(args.grace));

    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, args.port))
        .await
        .map_err(|err| {
            weft::Error::Config(format!("could not listen on port {}: {err}", args.port))
        })?;
    let bound = server.bind(listener).await?;
    println!("listening on http://{}", bound.local_addr()?);
    bound.serve().await
}
