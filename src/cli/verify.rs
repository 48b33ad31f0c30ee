//! `cdnsim verify LOG`: check every record of a log.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};
use crate::log::{HEADER_LEN, LogError, Records};
use crate::time::format_ms;

/// Check every record of a log: frames, checksums, decoding, dense sequence numbers and
/// non-decreasing times, whole batches, and the synced checkpoint beside a served log.
///
/// Exit 0 with a one-line summary when the log is whole; exit 1 naming the byte offset and
/// sequence number of the first damaged record, saying which kind it is: a torn tail (never
/// synced, so never acknowledged: `serve` cuts it on restart) or damage inside the synced part
/// (acknowledged records: only `cdnsim repair` drops them) or corruption; exit 2 when the file
/// is not a cdnsim log or cannot be read.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The log file (`*.cdnlog`).
    log: PathBuf,
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let mut records = Records::open(&args.log)?;
    let header = *records.header();
    let (mut count, mut first, mut last) = (0u64, None, None);
    for record in records.by_ref() {
        let record = match record {
            Ok(record) => record,
            Err(e) => return Err(against_checkpoint(&args.log, e, out)?.into()),
        };
        count += 1;
        first.get_or_insert(record.at_ms);
        last = Some(record.at_ms);
    }
    // A log shorter than its checkpoint lost synced records.
    crate::log::check_against_checkpoint(&args.log)?;
    let span = match (first, last) {
        (Some(a), Some(b)) => format!("{} .. {}", format_ms(a), format_ms(b)),
        _ => "no records".to_owned(),
    };
    writeln!(
        out,
        "ok: {}: {count} records, {span}, {} bytes (header {HEADER_LEN}), format v{}, seed {}, \
         scenario {}",
        args.log.display(),
        records.offset(),
        header.format_version,
        header.seed,
        header.fingerprint_hex(),
    )?;
    Ok(Outcome::Ok)
}

/// Damage found by reading, told apart with the synced checkpoint: inside the synced part it
/// is [`LogError::SyncedDamage`]; a torn tail past it gets a note that nothing acknowledged
/// is lost.
fn against_checkpoint(
    log: &std::path::Path,
    error: LogError,
    out: &mut dyn Write,
) -> Result<LogError, CliError> {
    if let Err(synced) = crate::log::check_against_checkpoint(log) {
        return Ok(synced);
    }
    if let (LogError::TornTail { .. }, Some(synced)) = (&error, crate::log::read_synced(log)?) {
        writeln!(
            out,
            "note: the damage is past the synced part of the log (durable up to byte {}): \
             no acknowledged write is in it; `cdnsim serve` cuts it on restart",
            synced.len
        )?;
    }
    Ok(error)
}
