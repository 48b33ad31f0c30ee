//! `cdnsim check SCENARIO`: validate a scenario file without simulating it.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};
use crate::scenario::Scenario;
use crate::time::format_ms;

/// Validate a scenario file: syntax, types, ranges, names and cross-references.
///
/// Exit 0 with a summary (domains, workloads, expected rows, fingerprint); exit 2 with
/// FILE:LINE:COLUMN: KEY: MESSAGE for the first problem found.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The scenario file (`scenarios/*.toml`).
    scenario: PathBuf,
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let scenario = Scenario::load(&args.scenario)?;
    let hours = scenario.duration_ms as f64 / 3_600_000.0;
    let rows: f64 = scenario
        .workloads
        .iter()
        .map(|w| {
            let active_h = (w.end_ms - w.start_ms).max(0) as f64 / 3_600_000.0;
            let per_type: f64 = w
                .mix
                .iter()
                .map(|(t, &weight)| {
                    let cap = scenario.limits.per_request(t);
                    let (lo, hi) = (w.urls_min.min(cap), w.urls_max.min(cap));
                    weight * (f64::from(lo) + f64::from(hi)) / 2.0
                })
                .sum::<f64>()
                / w.mix.0.iter().sum::<f64>();
            w.rate_per_hour * active_h * per_type
        })
        .sum::<f64>()
        + scenario
            .scripts
            .iter()
            .map(|s| s.paths.len() as f64)
            .sum::<f64>()
        + 0.0; // never print "-0"
    let fingerprint: String = scenario
        .fingerprint()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    writeln!(
        out,
        "ok: {}: {} domains, {} workloads, {} incidents, {} scripts, {} rules; {hours:.1} h \
         from {}; about {rows:.0} rows; seed {}; fingerprint {fingerprint}",
        args.scenario.display(),
        scenario.domains.len(),
        scenario.workloads.len(),
        scenario.incidents.len(),
        scenario.scripts.len(),
        scenario.rules.len(),
        format_ms(scenario.start_ms),
        scenario.seed,
    )?;
    Ok(Outcome::Ok)
}
