//! `cdnsim publish` and `cdnsim export` (cargo feature `nats`): a log file into a NATS
//! JetStream stream, and back.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};
use crate::log::jetstream::{self, Target};

/// Put a log file into a new NATS JetStream stream (one per simulation), fenced so that
/// exactly one writer creates it; `cdnsim export` makes the file again, byte for byte.
///
/// Example: cdnsim publish run.cdnlog nats://127.0.0.1:4222/quickstart
#[derive(Debug, clap::Args)]
pub(super) struct PublishArgs {
    /// The log file.
    log: PathBuf,
    /// Where: nats://HOST:PORT[,HOST:PORT...]/SIM (one stream replica per server, at most 3).
    target: String,
}

/// Write the log held in a NATS JetStream stream to a new file, and check it whole.
///
/// Example: cdnsim export nats://127.0.0.1:4222/quickstart -o copy.cdnlog
#[derive(Debug, clap::Args)]
pub(super) struct ExportArgs {
    /// Where: nats://HOST:PORT[,HOST:PORT...]/SIM.
    target: String,
    /// The new file (it must not exist).
    #[arg(short, long, value_name = "LOG")]
    output: PathBuf,
}

pub(super) fn publish(args: &PublishArgs, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let target = Target::parse(&args.target).map_err(|e| CliError::Usage(e.to_string()))?;
    let done = jetstream::publish(&args.log, &target)?;
    writeln!(
        out,
        "published {} into {} ({} messages, {} bytes)",
        args.log.display(),
        target.stream(),
        done.messages,
        done.bytes
    )?;
    Ok(Outcome::Ok)
}

pub(super) fn export(args: &ExportArgs, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let target = Target::parse(&args.target).map_err(|e| CliError::Usage(e.to_string()))?;
    let records = jetstream::export(&target, &args.output)?;
    writeln!(
        out,
        "exported {} into {} ({records} records)",
        target.stream(),
        args.output.display()
    )?;
    Ok(Outcome::Ok)
}
