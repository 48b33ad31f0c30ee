//! The `cdnsim` command line: one module per subcommand, each with its arguments beside its
//! `run` function. The binary in `src/bin/cdnsim.rs` only parses and dispatches.
//!
//! Exit codes: 0 ok, 1 a failure found (corruption, a difference), 2 bad usage or
//! unusable input.

mod check;
pub mod diagnostics;
mod diff;
mod dump;
#[cfg(feature = "nats")]
mod nats;
mod query;
mod repair;
mod serve;
mod simulate;
mod verify;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::log::LogError;
use crate::scenario::ScenarioError;

/// Deterministic local simulator of Alibaba Cloud CDN refresh and preload tasks.
///
/// Scenarios become an append-only event log; the log answers DescribeRefreshTasks as of any
/// moment of the simulated timeline. Set RUST_LOG (e.g. RUST_LOG=debug) for diagnostics on
/// stderr.
#[derive(Debug, Parser)]
#[command(name = "cdnsim", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Simulate(simulate::Args),
    Check(check::Args),
    Verify(verify::Args),
    Dump(dump::Args),
    Diff(diff::Args),
    Query(query::Args),
    Serve(Box<serve::Args>),
    Repair(repair::Args),
    #[cfg(feature = "nats")]
    Publish(nats::PublishArgs),
    #[cfg(feature = "nats")]
    Export(nats::ExportArgs),
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: the command found a failure (corruption, a difference).
    Found,
    /// Exit 2: bad usage or unusable input.
    BadInput,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::Found => ExitCode::from(1),
            Outcome::BadInput => ExitCode::from(2),
        }
    }
}

/// Runs a parsed command line, printing results to stdout and problems to stderr.
pub fn run(cli: Cli) -> Outcome {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(&args, &mut out),
        Command::Check(args) => check::run(&args, &mut out),
        Command::Verify(args) => verify::run(&args, &mut out),
        Command::Dump(args) => dump::run(&args, &mut out),
        Command::Diff(args) => diff::run(&args, &mut out),
        Command::Query(args) => query::run(&args, &mut out),
        Command::Serve(args) => serve::run(&args, &mut out),
        Command::Repair(args) => repair::run(&args, &mut out),
        #[cfg(feature = "nats")]
        Command::Publish(args) => nats::publish(&args, &mut out),
        #[cfg(feature = "nats")]
        Command::Export(args) => nats::export(&args, &mut out),
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(outcome), Ok(())) => outcome,
        // A reader that closed early (`| head`) is not an error; the outcome stands.
        (Ok(outcome), Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => outcome,
        (Err(CliError::Io(e)), _) if e.kind() == io::ErrorKind::BrokenPipe => Outcome::Ok,
        (Err(e), _) => {
            diagnostics::flush();
            eprintln!("error: {e}");
            e.outcome()
        }
        (Ok(_), Err(e)) => {
            diagnostics::flush();
            eprintln!("error: writing output: {e}");
            Outcome::BadInput
        }
    }
}

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Drive(#[from] crate::drive::DriveError),
    #[error(transparent)]
    Serve(#[from] crate::server::ServeError),
    #[error("{0}")]
    Usage(String),
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
    #[cfg(feature = "nats")]
    #[error(transparent)]
    JetStream(#[from] crate::log::jetstream::JetStreamError),
}

impl CliError {
    fn outcome(&self) -> Outcome {
        match self {
            CliError::Log(e) if e.is_damage() => Outcome::Found,
            CliError::Drive(crate::drive::DriveError::Log(e)) if e.is_damage() => Outcome::Found,
            _ => Outcome::BadInput,
        }
    }
}
