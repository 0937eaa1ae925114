//! Arguments and what each command does.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use futures::executor::block_on;
use weft_runtime::storage::LoggedEvent;
use weft_runtime::{SessionFilter, SledStorage, WorkflowStorage};

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

/// Which store to open.
#[derive(Args, Debug)]
struct Store {
    /// The store's path (what `SledStorage::open` was given).
    #[arg(long)]
    db: PathBuf,
    /// The tree prefix the store was opened with.
    #[arg(long, default_value = weft_runtime::storage::DEFAULT_PREFIX)]
    prefix: String,
}

impl Store {
    /// Opens the store to read it: nothing in it changes, not even runs a dead process left
    /// `running` (they show as they are).
    fn open_read_only(&self) -> weft_runtime::Result<SledStorage> {
        SledStorage::builder(&self.db)
            .prefix(&self.prefix)
            .read_only()
            .open()
    }

    /// Opens the store to change it (which also marks runs of a dead process `interrupted`).
    fn open_writable(&self) -> weft_runtime::Result<SledStorage> {
        if !Path::new(&self.db).exists() {
            return Err(not_found(format!(
                "there is no store at `{}`; check the path",
                self.db.display()
            )));
        }
        SledStorage::builder(&self.db).prefix(&self.prefix).open()
    }
}

/// How many logged items `runs show` reads at a time.
const PAGE: usize = 512;

/// A run's whole event log, read page by page.
fn read_log(storage: &SledStorage, run_id: &str) -> weft_runtime::Result<Vec<LoggedEvent>> {
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
            let storage = store.open_read_only()?;
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
            let storage = store.open_read_only()?;
            let session = block_on(storage.read_session(&id))?
                .ok_or_else(|| not_found(format!("there is no session `{id}` in this store")))?;
            let runs = block_on(storage.read_runs(&id))?;
            output::session_show(out, &session, &runs, json)
        }
        Command::Sessions(SessionsCommand::Rm { id, store }) => {
            let storage = store.open_writable()?;
            let runs = block_on(storage.count_runs(&id))?;
            if block_on(storage.delete_session(&id))? {
                storage.flush()?;
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
            let storage = store.open_read_only()?;
            let run = block_on(storage.read_run(&run_id))?
                .ok_or_else(|| not_found(format!("there is no run `{run_id}` in this store")))?;
            let items = read_log(&storage, &run_id)?;
            output::run_show(out, &run, &items, json)
        }
    }
}
