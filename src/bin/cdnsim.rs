//! The `cdnsim` binary: parse, set up logging, dispatch. Everything else is in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let flush = cdnsim::cli::diagnostics::init();
    let code = cdnsim::cli::run(cdnsim::cli::Cli::parse());
    drop(flush);
    code.into()
}
