//! Running a scenario to its end into a log: the simulator on the calling thread hands
//! batches over a bounded crossbeam channel to a writer thread.

use std::path::Path;

use crate::event::{Event, TimeMs};
use crate::log::{Header, LogError, LogWriter};
use crate::scenario::Scenario;

use super::{Simulator, Stats};

/// Events per batch handed to the writer thread.
pub const BATCH_EVENTS: usize = 8_192;
/// Batches in flight between the threads.
const CHANNEL_BATCHES: usize = 4;
/// The writer syncs after this many bytes, so that the disk works while the simulator runs
/// instead of all at the end.
const SYNC_EVERY_BYTES: u64 = 32 * 1024 * 1024;

/// Simulates `scenario` until every lifecycle has finished, writing a new log at `path` (which
/// must not exist) and syncing it. `on_batch` sees the stats after each batch (for progress).
/// Returns the final stats.
pub fn simulate_to_log(
    scenario: Scenario,
    path: &Path,
    mut on_batch: impl FnMut(&Stats),
) -> Result<Stats, LogError> {
    let header = Header::new(scenario.fingerprint(), scenario.seed);
    let mut writer = LogWriter::create(path, header)?;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<(TimeMs, Event)>>(CHANNEL_BATCHES);
    let write_thread = std::thread::spawn(move || -> Result<(), LogError> {
        let mut synced = 0;
        for batch in rx {
            for (at_ms, event) in &batch {
                writer.append(*at_ms, event)?;
            }
            if writer.len_bytes() - synced >= SYNC_EVERY_BYTES {
                writer.sync()?;
                synced = writer.len_bytes();
            }
        }
        writer.sync()
    });
    let mut sim = Simulator::new(scenario);
    loop {
        // Room for the rows of one more submission beyond the soft limit.
        let mut batch = Vec::with_capacity(BATCH_EVENTS + 1_024);
        let done = sim.advance_to(TimeMs::MAX, &mut batch, BATCH_EVENTS);
        if !batch.is_empty() && tx.send(batch).is_err() {
            break; // the writer stopped: its error is returned below
        }
        on_batch(sim.stats());
        if done {
            break;
        }
    }
    drop(tx);
    match write_thread.join() {
        Ok(result) => result?,
        Err(_) => {
            let e = std::io::Error::other("the log writer thread panicked");
            return Err(LogError::io(path, "write", e));
        }
    }
    Ok(sim.stats().clone())
}
