//! Arguments and what each command does.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use futures::executor::block_on;
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
    /// Shows one run: input, status, timing, usage, events and answer.
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
    fn open(&self) -> weft_runtime::Result<SledStorage> {
        if !Path::new(&self.db).exists() {
            return Err(weft_runtime::Error::Storage(format!(
                "there is no store at `{}`",
                self.db.display()
            )));
        }
        SledStorage::builder(&self.db).prefix(&self.prefix).open()
    }
}

/// Runs a parsed command; its output goes to `out`.
pub fn run(cli: Cli, out: &mut String) -> weft_runtime::Result<()> {
    match cli.command {
        Command::Sessions(SessionsCommand::List {
            store,
            workflow,
            user,
            limit,
            offset,
            json,
        }) => {
            let storage = store.open()?;
            let filter = SessionFilter {
                workflow_id: workflow,
                user_id: user,
                offset,
                limit,
            };
            let sessions = block_on(storage.list_sessions(filter))?;
            let mut rows = Vec::with_capacity(sessions.len());
            for session in sessions {
                let runs = block_on(storage.count_runs(&session.session_id))?;
                rows.push((session, runs));
            }
            output::sessions_list(out, &rows, json)
        }
        Command::Sessions(SessionsCommand::Show { id, store, json }) => {
            let storage = store.open()?;
            let session = block_on(storage.read_session(&id))?.ok_or_else(|| {
                weft_runtime::Error::Storage(format!("there is no session `{id}` in this store"))
            })?;
            let runs = block_on(storage.read_runs(&id))?;
            output::session_show(out, &session, &runs, json)
        }
        Command::Sessions(SessionsCommand::Rm { id, store }) => {
            let storage = store.open()?;
            let runs = block_on(storage.count_runs(&id))?;
            if block_on(storage.delete_session(&id))? {
                storage.flush()?;
                out.push_str(&format!("deleted session {id} and its {runs} run(s)\n"));
                Ok(())
            } else {
                Err(weft_runtime::Error::Storage(format!(
                    "there is no session `{id}` in this store"
                )))
            }
        }
        Command::Runs(RunsCommand::Show {
            run_id,
            store,
            json,
        }) => {
            let storage = store.open()?;
            let run = block_on(storage.read_run(&run_id))?.ok_or_else(|| {
                weft_runtime::Error::Storage(format!("there is no run `{run_id}` in this store"))
            })?;
            output::run_show(out, &run, json)
        }
    }
}
