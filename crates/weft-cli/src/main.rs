//! `weft`: inspect the sessions and runs in a weft store.
//!
//! ```text
//! weft sessions list --db PATH [--workflow W] [--user U] [--limit N] [--offset N] [--json]
//! weft sessions show ID --db PATH [--json]
//! weft sessions rm ID --db PATH
//! weft runs show RUN_ID --db PATH [--json]
//! ```
//!
//! Every command takes `--prefix` for stores opened with a non-default tree prefix. Output
//! formats, human and `--json`, are described in [`output`].

mod cli;
mod output;
mod time;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
