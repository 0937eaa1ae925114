//! `weft`: inspect the sessions and runs in a weft store.
//!
//! ```text
//! weft sessions list --db PATH [--workflow W] [--user U] [--limit N] [--offset N] [--json]
//! weft sessions show ID --db PATH [--json]
//! weft sessions rm ID --db PATH
//! weft runs list --db PATH [--status S[,S…]] [--session ID] [--workflow W] [--limit N] [--json]
//! weft runs show RUN_ID --db PATH [--json]
//! weft runs tail RUN_ID --db PATH [--after SEQ] [--interval-ms MS] [--json | --plain]
//! ```
//!
//! Every command takes `--postgres URL` (or `WEFT_POSTGRES_URL`) instead of `--db PATH` for a
//! store kept in PostgreSQL, and `--prefix` for sled stores opened with a non-default tree
//! prefix. Output formats, human and `--json`, are described in [`output`]. `list`, `show`
//! and `tail` open the store read-only: they change nothing in it (a run left `running` by a
//! process that died stays `running` until a program opens the store to write).
//!
//! `runs list --status` takes `running`, `completed`, `failed`, `cancelled`, `interrupted`
//! and `paused`. `runs tail` prints a run's events (a progress line on a terminal, plain
//! lines otherwise) and follows the run while it goes on, which needs a store other
//! processes write meanwhile: PostgreSQL. A sled store is held by one process at a time, so
//! `tail` on sled reads a store no program holds (a run that ended, or was interrupted, or
//! whose program exited); see [`tail`].

mod cli;
mod output;
mod tail;
mod time;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let mut output = cli::Output::default();
    let result = cli::run(args, &mut output);
    eprint!("{}", output.notes);
    // A reader that stops early (`weft sessions show … | head`) is no error.
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout
        .write_all(output.out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: could not write the output: {err}");
            return ExitCode::FAILURE;
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
