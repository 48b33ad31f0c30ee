//! The `cdnsim` binary: parse, set up logging, dispatch. Everything else is in the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Warnings, and one line per request from `serve`, unless `RUST_LOG` says otherwise.
const DEFAULT_LOG: &str = "warn,cdnsim::server::http=info";

fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .compact()
        .init();
    cdnsim::cli::run(cdnsim::cli::Cli::parse()).into()
}
