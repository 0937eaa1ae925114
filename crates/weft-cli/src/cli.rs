//! Arguments and what each command does.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use weft_postgres::PostgresStorage;
use weft_runtime::storage::LoggedEvent;
use weft_runtime::{SessionFilter, SledStorage, StorageRef};

use crate::output;

/// Inspect the sessions and runs in a weft store.
#[derive(Parser, Debug)]
#[command(name = "weft", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Workflow sessions: list, show, remove.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Workflow runs.
    #[command(subcommand)]
    Runs(RunsCommand),
}

#[derive(Subcommand, Debug)]
enum SessionsCommand {
    /// Lists sessions, most recently updated first.
    List {
        #[command(flatten)]
        store: Store,
        /// Only sessions of this workflow.
        #[arg(long)]
        workflow: Option<String>,
        /// Only sessions of this user.
        #[arg(long)]
        user: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
        /// Skip this many first.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Print JSON (see the `output` module for its shape).
        #[arg(long)]
        json: bool,
    },
    /// Shows a session: its state, and its runs with status, timing and token usage.
    Show {
        /// The session id.
        id: String,
        #[command(flatten)]
        store: Store,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deletes a session and its runs.
    Rm {
        /// The session id.
        id: String,
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Subcommand, Debug)]
enum RunsCommand {
    /// Shows one run: input, status, timing, usage, its logged events and answer.
    Show {
        /// The run id.
        run_id: String,
        #[command(flatten)]
        store: Store,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which store to open: a sled store (`--db PATH`) or a PostgreSQL database
/// (`--postgres URL`).
#[derive(Args, Debug)]
struct Store {
    /// The store's path (what `SledStorage::open` was given).
    #[arg(
        long,
        required_unless_present = "postgres",
        conflicts_with = "postgres"
    )]
    db: Option<PathBuf>,
    /// The tree prefix the sled store was opened with.
    #[arg(long, default_value = weft_runtime::storage::DEFAULT_PREFIX)]
    prefix: String,
    /// A PostgreSQL database weft keeps its store in, as a URL
    /// (`postgres://user:password@host:5432/db`; `WEFT_POSTGRES_URL` if set).
    #[arg(long, env = "WEFT_POSTGRES_URL", hide_env_values = true)]
    postgres: Option<String>,
    /// The schema weft's tables are in, when not the database's default (`PostgresStorage`'s
    /// `.schema(..)`, the serve example's `--postgres-schema`).
    #[arg(long, requires = "postgres")]
    postgres_schema: Option<String>,
}

/// An open store, and the sled store behind it if it is one (flushed after a change).
struct Opened {
    storage: StorageRef,
    sled: Option<SledStorage>,
}

impl Opened {
    /// Makes a change durable: sled flushes; PostgreSQL's commits are durable already.
    fn flush(&self) -> weft_runtime::Result<()> {
        match &self.sled {
            Some(sled) => sled.flush(),
            None => Ok(()),
        }
    }
}

impl Store {
    /// Opens the store to read it: nothing in a sled store changes, not even runs a dead
    /// process left `running` (they show as they are).
    fn open_read_only(&self) -> weft_runtime::Result<Opened> {
        match &self.db {
            Some(db) => self.sled(
                SledStorage::builder(db)
                    .prefix(&self.prefix)
                    .read_only()
                    .open()?,
            ),
            None => self.postgres(),
        }
    }

    /// Opens the store to change it (which also marks runs of a dead process `interrupted`
    /// in a sled store).
    fn open_writable(&self) -> weft_runtime::Result<Opened> {
        match &self.db {
            Some(db) => {
                if !Path::new(db).exists() {
                    return Err(not_found(format!(
                        "there is no store at `{}`; check the path",
                        db.display()
                    )));
                }
                self.sled(SledStorage::builder(db).prefix(&self.prefix).open()?)
            }
            None => self.postgres(),
        }
    }

    fn sled(&self, sled: SledStorage) -> weft_runtime::Result<Opened> {
        Ok(Opened {
            storage: Arc::new(sled.clone()),
            sled: Some(sled),
        })
    }

    fn postgres(&self) -> weft_runtime::Result<Opened> {
        let url = self.postgres.as_deref().ok_or_else(|| {
            weft_runtime::Error::Config("give a store: `--db PATH` or `--postgres URL`".into())
        })?;
        let mut builder = PostgresStorage::builder(url).pool_size(2);
        if let Some(schema) = &self.postgres_schema {
            builder = builder.schema(schema);
        }
        let storage = block_on(builder.connect())?;
        Ok(Opened {
            storage: Arc::new(storage),
            sled: None,
        })
    }
}

/// Runs `future` to completion on the CLI's runtime (PostgreSQL's connections need Tokio).
fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(err) => {
                eprintln!("error: could not start the async runtime: {err}");
                std::process::exit(1)
            }
        }
    })
}

/// How many logged items `runs show` reads at a time.
const PAGE: usize = 512;

/// A run's whole event log, read page by page.
fn read_log(storage: &StorageRef, run_id: &str) -> weft_runtime::Result<Vec<LoggedEvent>> {
    let mut items: Vec<LoggedEvent> = Vec::new();
    loop {
        let after = items.last().map_or(0, |item| item.seq);
        let page = block_on(storage.read_events(run_id, after, PAGE))?;
        let done = page.len() < PAGE;
        items.extend(page);
        if done {
            return Ok(items);
        }
    }
}

/// The error for something the command was asked about that the store does not hold.
fn not_found(message: String) -> weft_runtime::Error {
    weft_runtime::Error::Storage {
        message,
        source: None,
    }
}

/// What a command prints: `out` goes to stdout, `notes` to stderr (so they never mix with
/// `--json`).
#[derive(Debug, Default)]
pub struct Output {
    /// The command's output.
    pub out: String,
    /// Remarks about it, e.g. how many unreadable sessions a listing skipped.
    pub notes: String,
}

/// Runs a parsed command; what it prints goes to `printed`.
pub fn run(cli: Cli, printed: &mut Output) -> weft_runtime::Result<()> {
    let out = &mut printed.out;
    match cli.command {
        Command::Sessions(SessionsCommand::List {
            store,
            workflow,
            user,
            limit,
            offset,
            json,
        }) => {
            let storage = store.open_read_only()?.storage;
            let filter = SessionFilter {
                workflow_id: workflow,
                user_id: user,
                offset,
                limit,
            };
            let listing = block_on(storage.list_sessions_counted(filter))?;
            let mut rows = Vec::with_capacity(listing.sessions.len());
            for session in listing.sessions {
                let runs = block_on(storage.count_runs(&session.session_id))?;
                rows.push((session, runs));
            }
            if listing.skipped > 0 {
                printed
                    .notes
                    .push_str(&output::skipped_note(listing.skipped));
            }
            output::sessions_list(out, &rows, listing.skipped, json)
        }
        Command::Sessions(SessionsCommand::Show { id, store, json }) => {
            let storage = store.open_read_only()?.storage;
            let session = block_on(storage.read_session(&id))?
                .ok_or_else(|| not_found(format!("there is no session `{id}` in this store")))?;
            let runs = block_on(storage.read_runs(&id))?;
            output::session_show(out, &session, &runs, json)
        }
        Command::Sessions(SessionsCommand::Rm { id, store }) => {
            let opened = store.open_writable()?;
            let storage = &opened.storage;
            let runs = block_on(storage.count_runs(&id))?;
            if block_on(storage.delete_session(&id))? {
                opened.flush()?;
                out.push_str(&format!("deleted session {id} and its {runs} run(s)\n"));
                Ok(())
            } else {
                Err(not_found(format!(
                    "there is no session `{id}` in this store"
                )))
            }
        }
        Command::Runs(RunsCommand::Show {
            run_id,
            store,
            json,
        }) => {
            let storage = store.open_read_only()?.storage;
            let run = block_on(storage.read_run(&run_id))?
                .ok_or_else(|| not_found(format!("there is no run `{run_id}` in this store")))?;
            let items = read_log(&storage, &run_id)?;
            output::run_show(out, &run, &items, json)
        }
    }
}
