//! `cdnsim simulate SCENARIO -o LOG`: run a scenario to its end into a log.
//!
//! The simulator runs on this thread and hands batches of events over a bounded
//! crossbeam channel to a writer thread ([`crate::drive::simulate_committing`]). The log is
//! written to `LOG.partial` and renamed over `LOG` only once it is complete and synced, so an
//! existing log is never lost to a failed run. `-o nats://…/SIM` publishes it into a new
//! stream as it goes instead (through a temporary working file).

// Wall-clock time here only measures the run for the progress bar and the summary; it never
// reaches the simulator or the log.
#![allow(clippy::disallowed_methods)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{CliError, Outcome};
use crate::drive::simulate_committing;
use crate::event::{FailReason, TimeMs};
use crate::log::LogError;
use crate::scenario::Scenario;
use crate::sim::Stats;
use crate::time::format_ms;

/// Run a scenario to its end (every lifecycle finished) into a log file.
///
/// The same scenario and seed always give a byte-identical log. Progress shows on stderr when
/// it is a terminal and the run takes longer than a second; a summary ends the run.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The scenario file (`scenarios/*.toml`).
    scenario: PathBuf,
    /// Where to write the log (replaced only when the new one is complete); or, in a build
    /// with the `nats` feature, a new NATS JetStream stream, nats://HOST:PORT[,HOST:PORT...]/SIM
    /// (published as it is simulated, staged in a temporary file; refused if SIM holds a log).
    #[arg(short = 'o', long = "output", value_name = "LOG")]
    output: PathBuf,
    /// Use this seed instead of the scenario's (for seed sweeps).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// No progress bar on stderr (it is shown only on a terminal, after a second); the
    /// summary still goes to stdout.
    #[arg(short, long)]
    quiet: bool,
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let mut scenario = Scenario::load(&args.scenario)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let started = Instant::now();
    if let Some(url) = args.output.to_str().filter(|o| o.starts_with("nats://")) {
        let seed = scenario.seed;
        let start_ms = scenario.start_ms;
        let bar = progress_bar(args.quiet, scenario.duration_ms);
        let (stats, bytes) = simulate_to_stream(scenario, url, bar)?;
        summary(out, args, seed, start_ms, &stats, bytes, started.elapsed())?;
        return Ok(Outcome::Ok);
    }
    let partial = partial_path(&args.output);
    // A partial file can only be left over from an interrupted run of ours.
    let _ = std::fs::remove_file(&partial);
    let (seed, start_ms, duration_ms) = (scenario.seed, scenario.start_ms, scenario.duration_ms);
    let result = simulate_into(
        scenario,
        &partial,
        None,
        progress_bar(args.quiet, duration_ms),
    );
    let (stats, bytes) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    if let Err(e) = std::fs::rename(&partial, &args.output) {
        let _ = std::fs::remove_file(&partial);
        return Err(LogError::io(&args.output, "rename the finished log into place", e).into());
    }
    crate::log::sync_parent_dir(&args.output)?;
    let wall = started.elapsed();
    summary(out, args, seed, start_ms, &stats, bytes, wall)?;
    Ok(Outcome::Ok)
}

fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// A progress bar over the scenario's virtual duration, shown after a second on a terminal.
fn progress_bar(quiet: bool, duration_ms: i64) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(duration_ms).unwrap_or(0)),
        ProgressDrawTarget::hidden(),
    );
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {percent}% of virtual time, ETA {eta}  {msg}",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    Some(bar)
}

/// Runs the simulator into a new log at `path`; returns the stats and the log's size.
fn simulate_into(
    scenario: Scenario,
    path: &Path,
    backend: Option<std::sync::Arc<dyn crate::log::LogBackend>>,
    bar: Option<ProgressBar>,
) -> Result<(Stats, u64), LogError> {
    let start_ms = scenario.start_ms;
    let began = Instant::now();
    let mut shown = false;
    let stats = simulate_committing(scenario, path, backend, |stats| {
        let Some(bar) = &bar else { return };
        if !shown && began.elapsed() > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            shown = true;
        }
        let virtual_ms = stats.last_ms.unwrap_or(start_ms) - start_ms;
        bar.set_position(u64::try_from(virtual_ms).unwrap_or(0));
        bar.set_message(format!("{} events", stats.events));
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok((stats, bytes))
}

/// Simulates into a new stream at `url` (`nats://…/SIM`), through a temporary working file.
#[cfg(feature = "nats")]
fn simulate_to_stream(
    scenario: Scenario,
    url: &str,
    bar: Option<ProgressBar>,
) -> Result<(Stats, u64), CliError> {
    use crate::log::jetstream::{JetStreamBackend, Target};
    let target = Target::parse(url).map_err(|e| CliError::Usage(e.to_string()))?;
    let backend = JetStreamBackend::connect(&target)?;
    let header = crate::log::Header::new(scenario.fingerprint(), scenario.seed);
    backend.create(&header.to_bytes())?;
    let staging = tempfile::Builder::new().prefix("cdnsim-").tempdir()?;
    let work = staging.path().join("working.cdnlog");
    Ok(simulate_into(
        scenario,
        &work,
        Some(std::sync::Arc::new(backend)),
        bar,
    )?)
}

/// Without the `nats` feature there is no stream to write to.
#[cfg(not(feature = "nats"))]
fn simulate_to_stream(
    _scenario: Scenario,
    url: &str,
    _bar: Option<ProgressBar>,
) -> Result<(Stats, u64), CliError> {
    Err(CliError::Usage(format!(
        "-o {url}: this cdnsim was built without the nats feature (cargo build --features nats)"
    )))
}

fn summary(
    out: &mut dyn Write,
    args: &Args,
    seed: u64,
    start_ms: TimeMs,
    stats: &Stats,
    bytes: u64,
    wall: Duration,
) -> std::io::Result<()> {
    let failed: Vec<String> = FailReason::ALL
        .iter()
        .zip(stats.failed)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    let (first, last) = (
        stats.first_ms.unwrap_or(start_ms),
        stats.last_ms.unwrap_or(start_ms),
    );
    let span = humantime::format_duration(Duration::from_millis((last - first).max(0) as u64));
    let secs = wall.as_secs_f64();
    writeln!(
        out,
        "simulated {} (seed {seed}) into {}",
        args.scenario.display(),
        args.output.display()
    )?;
    writeln!(
        out,
        "  rows     {} (completed {}, failed {}: {})",
        stats.rows,
        stats.completed,
        stats.failed_total(),
        failed.join(", ")
    )?;
    writeln!(out, "  events   {} ({bytes} bytes)", stats.events)?;
    writeln!(
        out,
        "  virtual  {} .. {} ({span})",
        format_ms(first),
        format_ms(last)
    )?;
    writeln!(
        out,
        "  wall     {secs:.3} s, {:.0} events/s",
        stats.events as f64 / secs.max(1e-9)
    )
}
