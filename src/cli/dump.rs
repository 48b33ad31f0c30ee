//! `cdnsim dump LOG [--after SEQ] [--limit N]`: events as JSON lines.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};
use crate::dump::json_line;
use crate::log::{LogFile, Records};

/// Print events as JSON lines, one per record, in log order.
///
/// Line shape: {"seq":0,"at":"2018-01-10T09:48:29.123Z","type":"Created","row":0,
/// "task_id":"704225667","domain":"aaa.com","object_path":"http://aaa.com/1.txt",
/// "object_type":"file","source":"scenario"}; Progressed adds "process", Failed adds "reason".
/// Damage stops the dump after the last good record, with exit 1.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The log file (`*.cdnlog`).
    log: PathBuf,
    /// Only events with a sequence number greater than SEQ.
    #[arg(long, value_name = "SEQ")]
    after: Option<u64>,
    /// At most N events.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let records = match args.after {
        None => Records::open(&args.log)?,
        Some(after) => match after.checked_add(1) {
            Some(from) => LogFile::open(&args.log)?.records_from_seq(from)?,
            None => return Ok(Outcome::Ok),
        },
    };
    let limit = args.limit.unwrap_or(u64::MAX);
    for record in records.take(usize::try_from(limit).unwrap_or(usize::MAX)) {
        writeln!(out, "{}", json_line(&record?))?;
    }
    Ok(Outcome::Ok)
}
