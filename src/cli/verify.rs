//! `cdnsim verify LOG`: check every record of a log.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};
use crate::log::{HEADER_LEN, Records};
use crate::time::format_ms;

/// Check every record of a log: frames, checksums, decoding, dense sequence numbers and
/// non-decreasing times.
///
/// Exit 0 with a one-line summary when the log is whole; exit 1 naming the byte offset and
/// sequence number of the first damaged record (a torn tail or corruption); exit 2 when the
/// file is not a cdnsim log or cannot be read.
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
        let record = record?;
        count += 1;
        first.get_or_insert(record.at_ms);
        last = Some(record.at_ms);
    }
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
