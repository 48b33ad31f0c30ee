//! `cdnsim diff LOG_A LOG_B`: compare two logs event by event.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};
use crate::dump::json_line;
use crate::log::Records;

/// Compare two logs: headers (format, seed, scenario fingerprint), then events in order.
///
/// Exit 0 when they are equal; exit 1 naming the first differing sequence number with both
/// events (or where one log ends early), after any header difference; exit 2 when a file is
/// not a cdnsim log.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The first log.
    log_a: PathBuf,
    /// The second log.
    log_b: PathBuf,
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let mut a = Records::open(&args.log_a)?;
    let mut b = Records::open(&args.log_b)?;
    let (ha, hb) = (*a.header(), *b.header());
    let mut differ = false;
    if ha.format_version != hb.format_version {
        writeln!(
            out,
            "headers differ: format v{} vs v{}",
            ha.format_version, hb.format_version
        )?;
        differ = true;
    }
    if ha.seed != hb.seed {
        writeln!(out, "headers differ: seed {} vs {}", ha.seed, hb.seed)?;
        differ = true;
    }
    if ha.scenario_fingerprint != hb.scenario_fingerprint {
        let (fa, fb) = (ha.fingerprint_hex(), hb.fingerprint_hex());
        writeln!(out, "headers differ: scenario fingerprint {fa} vs {fb}")?;
        differ = true;
    }
    let mut seq = 0u64;
    loop {
        match (a.next().transpose()?, b.next().transpose()?) {
            (None, None) => break,
            (Some(ra), Some(rb)) if ra == rb => seq += 1,
            (ra, rb) => {
                let show = |r: Option<crate::event::Record>| match r {
                    Some(r) => json_line(&r),
                    None => format!("(log ends after {seq} events)"),
                };
                writeln!(out, "first difference at seq {seq}:")?;
                writeln!(out, "  {}: {}", args.log_a.display(), show(ra))?;
                writeln!(out, "  {}: {}", args.log_b.display(), show(rb))?;
                return Ok(Outcome::Found);
            }
        }
    }
    if differ {
        writeln!(out, "events: identical ({seq} events)")?;
        return Ok(Outcome::Found);
    }
    writeln!(out, "identical: {seq} events")?;
    Ok(Outcome::Ok)
}
