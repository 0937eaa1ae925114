//! Hosts the example workflows (research, approval, cache, review, simple, validation) over HTTP, offline by
//! default like the other examples.
//!
//! ```text
//! cargo run --example serve -- --port 0 --db PATH
//! cargo run --example serve -- --port 0 --postgres postgres://user:pass@127.0.0.1:5432/db
//! ```
//! Prints `listening on http://127.0.0.1:PORT` when it is ready; open that address for the
//! playground. `--port` defaults to 8080 (0: any free port), `--db` to `data/serve.db` (a sled
//! store: runs interrupted by a crash are resumed when the server starts again).
//! `--postgres URL` keeps everything in PostgreSQL instead, so that several servers can share
//! it: a run whose server dies is taken over by another once its claim lapses (`--lease-ms`,
//! default 30000), and a client can follow any run from any server. `--postgres-schema NAME`
//! keeps weft's tables in that schema (created if missing). On Ctrl-C or
//! SIGTERM, runs in flight get `--grace` seconds (default 10) to finish, then are recorded
//! `interrupted` and resumed by the next start. API keys:
//! `WEFT_API_KEYS=key1,key2`. A model: `WEFT_MODEL`, `OPENAI_API_KEY` or `ANTHROPIC_API_KEY`
//! (else the offline model). The README shows curl commands for each route.

use std::net::Ipv4Addr;

use weft::prelude::*;
use weft::serve::Server;
use weft_examples::approval::ApprovalWorkflow;
use weft_examples::cache::CacheWorkflow;
use weft_examples::research::{web_tools, ResearchWorkflow};
use weft_examples::review::ReviewWorkflow;
use weft_examples::simple::SimpleWorkflow;
use weft_examples::validation::ValidationWorkflow;

/// The command line: `--port N`, `--db PATH` or `--postgres URL` (with `--postgres-schema
/// NAME`, `--lease-ms N`), `--grace SECS`.
struct Args {
    port: u16,
    db: String,
    postgres: Option<String>,
    schema: Option<String>,
    lease_ms: Option<u64>,
    grace: u64,
}

fn args() -> weft::Result<Args> {
    let mut parsed = Args {
        port: 8080,
        db: "data/serve.db".to_string(),
        postgres: None,
        schema: None,
        lease_ms: None,
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
            "--postgres" => parsed.postgres = Some(value("--postgres")?),
            "--postgres-schema" => parsed.schema = Some(value("--postgres-schema")?),
            "--lease-ms" => {
                let text = value("--lease-ms")?;
                parsed.lease_ms = Some(text.parse().map_err(|_| {
                    weft::Error::Config(format!("`--lease-ms {text}`: give whole milliseconds"))
                })?);
            }
            other => {
                return Err(weft::Error::Config(format!(
                    "unknown argument `{other}`: use `--port N`, `--db PATH` or `--postgres URL` (with `--postgres-schema NAME`, `--lease-ms N`), and `--grace SECS`"
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
    let storage: weft::StorageRef = match &args.postgres {
        Some(url) => {
            let mut builder = weft::PostgresStorage::builder(url);
            if let Some(schema) = &args.schema {
                builder = builder.schema(schema);
            }
            if let Some(lease) = args.lease_ms {
                builder = builder.lease(std::time::Duration::from_millis(lease));
            }
            std::sync::Arc::new(builder.connect().await?)
        }
        None => std::sync::Arc::new(SledStorage::open(&args.db)?),
    };

    let research_model = model.clone();
    let server = Server::new(storage)
        .workflow(move || {
            ResearchWorkflow::builder()
                .model(Some(research_model.clone()))
                .search(search.clone())
                .articles(articles.clone())
        })
        .workflow(ApprovalWorkflow::builder)
        .workflow(CacheWorkflow::builder)
        .workflow(ReviewWorkflow::builder)
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
