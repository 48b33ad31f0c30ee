//! `cdnsim repair LOG --truncate-at OFFSET`: cut a damaged log back, keeping a backup.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};

/// Cut a log at a byte offset, keeping a copy of it as it was.
///
/// `cdnsim serve` never cuts records that were synced (and so may have been acknowledged to a
/// client): when it finds damage inside the synced part of its log it stops, naming the
/// offset to give here. OFFSET must be the end of a whole batch (a whole record in a
/// version-1 log) at or before the first damage. The log is first copied to LOG.bak.N (never
/// overwriting), then cut, and its synced checkpoint set to the new end.
///
/// Exit 0 with what was cut; 2 when OFFSET is not such a place or the log cannot be read.
///
/// Example: cdnsim repair cdnsim-data/quickstart/events.cdnlog --truncate-at 1048576
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The log file (`*.cdnlog`).
    log: PathBuf,
    /// Where to cut: the byte offset named by `serve` or `verify`.
    #[arg(long, value_name = "OFFSET")]
    truncate_at: u64,
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    // A log in a data directory that a server holds is the server's: never cut under it.
    let lock_path = args
        .log
        .parent()
        .map(|dir| dir.join("lock"))
        .filter(|p| p.exists());
    let _lock = match &lock_path {
        Some(path) => {
            let file = std::fs::File::open(path)?;
            if file.try_lock().is_err() {
                return Err(CliError::Usage(format!(
                    "{} is locked: a cdnsim server holds this data directory; stop it first",
                    path.display()
                )));
            }
            Some(file)
        }
        None => None,
    };
    let cut = crate::log::truncate_at(&args.log, args.truncate_at)?;
    writeln!(
        out,
        "cut {}: {} bytes from byte {} on; {} records kept; the log as it was is {}",
        args.log.display(),
        cut.bytes,
        args.truncate_at,
        cut.records,
        cut.backup.display()
    )?;
    Ok(Outcome::Ok)
}
