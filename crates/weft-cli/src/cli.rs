//! Arguments and what each command does.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use weft_postgres::PostgresStorage;
use weft_runtime::storage::LoggedEvent;
use weft_runtime::{RunRecord, RunStatus, SessionFilter, SledStorage, StorageRef};

use crate::{output, tail};

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
    /// Lists runs, most recently started first: every run of the store's sessions, and runs
    /// left interrupted.
    ///
    /// A session is stored when its first run ends, so the first run of a session while it
    /// is running or paused is listed only with `--session ID` (`runs show` and `runs tail`
    /// find it by its id).
    List {
        #[command(flatten)]
        store: Store,
        /// Only runs with this status; repeat it or separate statuses with commas
        /// (`--status paused,failed`).
        #[arg(long, value_enum, value_delimiter = ',')]
        status: Vec<StatusArg>,
        /// Only the runs of this session (found even before the session is stored).
        #[arg(long)]
        session: Option<String>,
        /// Only runs of this workflow.
        #[arg(long)]
        workflow: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON (see the `output` module for its shape).
        #[arg(long)]
        json: bool,
    },
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
    /// Prints a run's events and follows the run while it goes on: steps, agents, tool calls,
    /// and the answer's text as it arrives.
    ///
    /// On a terminal a progress line shows what the run is doing below the text; otherwise
    /// (or with `--plain`) every event but text is a line `[seq] Event detail`, text is
    /// written as it comes, and the last line is `status: STATUS`. It exits 0 when the run
    /// completed or paused (it prints the question the run waits for), 1 when it failed, was
    /// cancelled, or stopped unfinished (interrupted) with nothing to take it over.
    ///
    /// Live following needs a store other processes can write meanwhile: PostgreSQL
    /// (`--postgres`), where `tail` polls a `running` run, and an `interrupted` one that
    /// another worker takes over, until it ends (Ctrl-C stops following). A sled store (`--db`) is held by one process
    /// at a time: while a program runs on it, `tail` cannot open it ("in use by another
    /// process"); once that program exits, `tail` prints what its runs logged and how they
    /// ended (a run it finds `running` was left so by a process that died).
    Tail {
        /// The run id.
        run_id: String,
        #[command(flatten)]
        store: Store,
        /// Print only the items after this seq (a reader's last seen one).
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// How often to look for new items of a run that goes on, in milliseconds.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
        interval_ms: u64,
        /// Print each item as one line of JSON (the logged item with its `seq`), then the
        /// run's status as `{"run_id", "status", "following", "error", "pause"}`.
        #[arg(long, conflicts_with = "plain")]
        json: bool,
        /// Plain lines even on a terminal.
        #[arg(long)]
        plain: bool,
    },
}

/// A run status, as `--status` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StatusArg {
    Running,
    Completed,
    Failed,
    Cancelled,
    Interrupted,
    Paused,
}

impl From<StatusArg> for RunStatus {
    fn from(status: StatusArg) -> RunStatus {
        match status {
            StatusArg::Running => RunStatus::Running,
            StatusArg::Completed => RunStatus::Completed,
            StatusArg::Failed => RunStatus::Failed,
            StatusArg::Cancelled => RunStatus::Cancelled,
            StatusArg::Interrupted => RunStatus::Interrupted,
            StatusArg::Paused => RunStatus::Paused,
        }
    }
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
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
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

/// How many logged items `runs show` and `runs tail` read at a time.
pub(crate) const PAGE: usize = 512;

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

/// The runs `runs list` lists, most recently started first, with how many unreadable
/// sessions it skipped: a session's runs with `--session`, else every run of every session
/// and the runs `interrupted_runs` names (whose session may not be stored).
fn list_runs(
    storage: &StorageRef,
    session: Option<&str>,
) -> weft_runtime::Result<(Vec<RunRecord>, usize)> {
    if let Some(session) = session {
        let mut runs = block_on(storage.read_runs(session))?;
        newest_first(&mut runs);
        return Ok((runs, 0));
    }
    let listing = block_on(storage.list_sessions_counted(SessionFilter::default()))?;
    let mut runs = Vec::new();
    for session in &listing.sessions {
        runs.extend(block_on(storage.read_runs(&session.session_id))?);
    }
    let mut seen: HashSet<String> = runs.iter().map(|run| run.run_id.clone()).collect();
    for run in block_on(storage.interrupted_runs(None))? {
        if seen.insert(run.run_id.clone()) {
            runs.push(run);
        }
    }
    newest_first(&mut runs);
    Ok((runs, listing.skipped))
}

fn newest_first(runs: &mut [RunRecord]) {
    runs.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.run_id.cmp(&b.run_id))
    });
}

/// The error for something the command was asked about that the store does not hold.
pub(crate) fn not_found(message: String) -> weft_runtime::Error {
    weft_runtime::Error::Storage {
        message,
        source: None,
    }
}

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The store could not be opened or read, or holds no such thing.
    Weft(weft_runtime::Error),
    /// The run `runs tail` followed did not complete: it failed, was cancelled, or was
    /// interrupted.
    Run(String),
    /// The output could not be written.
    Io(std::io::Error),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Weft(err) => err.fmt(f),
            CliError::Run(message) => f.write_str(message),
            CliError::Io(err) => write!(f, "could not write the output: {err}"),
        }
    }
}

impl From<weft_runtime::Error> for CliError {
    fn from(err: weft_runtime::Error) -> Self {
        CliError::Weft(err)
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::Io(err)
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

/// Runs a parsed command; what it prints goes to `printed`, except `runs tail`'s, which goes
/// to stdout as it comes.
pub fn run(cli: Cli, printed: &mut Output) -> Result<(), CliError> {
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
            Ok(output::sessions_list(out, &rows, listing.skipped, json)?)
        }
        Command::Sessions(SessionsCommand::Show { id, store, json }) => {
            let storage = store.open_read_only()?.storage;
            let session = block_on(storage.read_session(&id))?
                .ok_or_else(|| not_found(format!("there is no session `{id}` in this store")))?;
            let runs = block_on(storage.read_runs(&id))?;
            Ok(output::session_show(out, &session, &runs, json)?)
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
                Err(not_found(format!("there is no session `{id}` in this store")).into())
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
            Ok(output::run_show(out, &run, &items, json)?)
        }
        Command::Runs(RunsCommand::List {
            store,
            status,
            session,
            workflow,
            limit,
            json,
        }) => {
            let storage = store.open_read_only()?.storage;
            let statuses: Vec<RunStatus> = status.into_iter().map(RunStatus::from).collect();
            let (runs, skipped) = list_runs(&storage, session.as_deref())?;
            let runs: Vec<RunRecord> = runs
                .into_iter()
                .filter(|run| statuses.is_empty() || statuses.contains(&run.status))
                .filter(|run| workflow.as_ref().is_none_or(|w| &run.workflow_id == w))
                .take(limit.unwrap_or(usize::MAX))
                .collect();
            if skipped > 0 {
                printed.notes.push_str(&output::skipped_note(skipped));
            }
            Ok(output::runs_list(out, &runs, skipped, json)?)
        }
        Command::Runs(RunsCommand::Tail {
            run_id,
            store,
            after,
            interval_ms,
            json,
            plain,
        }) => {
            let storage = store.open_read_only()?.storage;
            let mode = if json {
                tail::Mode::Json
            } else if plain || !std::io::stdout().is_terminal() {
                tail::Mode::Plain
            } else {
                tail::Mode::Terminal
            };
            let options = tail::Options {
                after,
                interval: Duration::from_millis(interval_ms),
                mode,
            };
            tail::follow(&storage, &run_id, &options)
        }
    }
}
