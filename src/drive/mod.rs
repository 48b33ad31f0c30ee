//! Drivers: the only code that moves events from the simulator to the log and from the log to
//! the read model.
//!
//! One loop, [`run_to`], asks the simulator for the events up to a time in batches of
//! [`BATCH_EVENTS`] and hands each batch to a [`Sink`]. The sinks differ only in where a batch
//! goes: a writer thread for `cdnsim simulate` ([`simulate_to_log`]), the log and then the
//! read model for `cdnsim serve` (the server's engine) and for the end of a resume
//! ([`resume`]). [`append`] and [`apply`] are the two halves every log-backed sink uses, and
//! [`load`] folds a whole log into a [`ReadModel`] through the same `apply`.

pub mod resume;
pub mod snapshot;

use std::path::Path;
use std::sync::Arc;

use crate::event::{Event, RecordRef, TimeMs};
use crate::log::{IndexEntry, LogBackend, LogError, LogWriter, Records, SparseIndex};
use crate::model::{Account, Origin, ReadModel};
use crate::projection::ProjectionError;
use crate::scenario::Scenario;
use crate::sim::{BATCH_EVENTS, Simulator, Stats};

/// Why a log could not be folded or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// Reading or writing the log.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Folding a record.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

/// Where a driver's batches of events go.
pub trait Sink {
    /// Why a batch could not be taken.
    type Error;

    /// Takes the next batch (never empty), in time order. The sink may keep the vector's
    /// contents (leaving it empty); the driver clears it before the next batch.
    fn take(&mut self, events: &mut Vec<(TimeMs, Event)>) -> Result<(), Self::Error>;
}

/// Runs `sim` up to `to_ms`, handing every event due by then to `sink` in batches; `batch` is
/// the buffer they are built in (kept by the caller so its capacity is reused).
pub fn run_to<S: Sink>(
    sim: &mut Simulator,
    batch: &mut Vec<(TimeMs, Event)>,
    to_ms: TimeMs,
    sink: &mut S,
) -> Result<(), S::Error> {
    while !step(sim, batch, to_ms, sink)? {}
    Ok(())
}

/// One batch of [`run_to`]: true once everything due by `to_ms` has gone to `sink`.
pub fn step<S: Sink>(
    sim: &mut Simulator,
    batch: &mut Vec<(TimeMs, Event)>,
    to_ms: TimeMs,
    sink: &mut S,
) -> Result<bool, S::Error> {
    batch.clear();
    let done = sim.advance_to(to_ms, batch, BATCH_EVENTS);
    if !batch.is_empty() {
        sink.take(batch)?;
    }
    Ok(done)
}

/// Appends `events` to the log as one atomic batch and hands them to the OS; returns the seq
/// of the first.
pub fn append(writer: &mut LogWriter, events: &[(TimeMs, Event)]) -> Result<u64, LogError> {
    let first_seq = writer.append_batch(events)?;
    writer.flush()?;
    Ok(first_seq)
}

/// Folds `events`, logged from `first_seq` on, into `model`.
pub fn apply(
    model: &mut ReadModel,
    first_seq: u64,
    events: &[(TimeMs, Event)],
) -> Result<(), ProjectionError> {
    for (i, (at_ms, event)) in events.iter().enumerate() {
        model.apply(&RecordRef {
            seq: first_seq + i as u64,
            at_ms: *at_ms,
            event: event.as_ref(),
        })?;
    }
    Ok(())
}

/// Folds the whole log at `path` into a read model answering for `account`.
pub fn load(path: &Path, account: Account) -> Result<ReadModel, DriveError> {
    load_noting(path, account, |_| {})
}

/// [`load`], and the log's sparse index from the same read (for reading it from a seq later).
pub fn load_indexed(path: &Path, account: Account) -> Result<(ReadModel, SparseIndex), DriveError> {
    let mut index = SparseIndex::default();
    let model = load_noting(path, account, |entry| index.note(entry))?;
    Ok((model, index))
}

/// [`load`], telling `note` where each record starts.
fn load_noting(
    path: &Path,
    account: Account,
    mut note: impl FnMut(IndexEntry),
) -> Result<ReadModel, DriveError> {
    let mut records = Records::open(path)?;
    let header = *records.header();
    let origin = Origin {
        fingerprint: header.scenario_fingerprint,
        seed: header.seed,
    };
    let mut model = ReadModel::new(origin, account);
    loop {
        let offset = records.offset();
        let Some(record) = records.next_ref() else {
            break;
        };
        let record = record?;
        note(IndexEntry {
            seq: record.seq,
            at_ms: record.at_ms,
            offset,
        });
        model.apply(&record)?;
    }
    model.shrink_to_fit();
    Ok(model)
}

/// Batches in flight between the simulating and the writing thread: enough for the simulator
/// to go on while the writer waits for a sync (tens of milliseconds, about ten batches here).
const CHANNEL_BATCHES: usize = 16;
/// The writer syncs after this many bytes, so that the disk works while the simulator runs
/// instead of all at the end.
const SYNC_EVERY_BYTES: u64 = 32 * 1024 * 1024;

/// Hands batches to a writer thread over a bounded channel, and takes the emptied ones back
/// (a fresh batch is a third of a megabyte of new pages, which the kernel must fault in).
struct ThreadSink {
    batches: crossbeam_channel::Sender<Vec<(TimeMs, Event)>>,
    spares: crossbeam_channel::Receiver<Vec<(TimeMs, Event)>>,
}

/// The writer thread stopped; its own error says why.
struct WriterGone;

impl Sink for ThreadSink {
    type Error = WriterGone;

    fn take(&mut self, events: &mut Vec<(TimeMs, Event)>) -> Result<(), WriterGone> {
        let spare = self.spares.try_recv();
        let spare = spare.unwrap_or_else(|_| Vec::with_capacity(BATCH_EVENTS + 1_024));
        let batch = std::mem::replace(events, spare);
        self.batches.send(batch).map_err(|_| WriterGone)
    }
}

/// Simulates `scenario` until every lifecycle has finished, writing a new log at `path` (which
/// must not exist) and syncing it: the simulator runs on the calling thread, a writer thread
/// appends. `on_batch` sees the stats after each batch (for progress). Returns the final
/// stats.
pub fn simulate_to_log(
    scenario: Scenario,
    path: &Path,
    on_batch: impl FnMut(&Stats),
) -> Result<Stats, LogError> {
    simulate_committing(scenario, path, None, on_batch)
}

/// [`simulate_to_log`], the file at `path` being the working file of `backend` (when given):
/// every [`SYNC_EVERY_BYTES`] and at the end, what was written is committed to it. The
/// backend must hold the new log's header already.
pub fn simulate_committing(
    scenario: Scenario,
    path: &Path,
    backend: Option<Arc<dyn LogBackend>>,
    mut on_batch: impl FnMut(&Stats),
) -> Result<Stats, LogError> {
    let header = crate::log::Header::new(scenario.fingerprint(), scenario.seed);
    let mut writer = LogWriter::create(path, header)?;
    // A readable handle: the backend reads the bytes it commits.
    let handle = std::fs::File::open(path).map_err(|e| LogError::io(path, "open", e))?;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<(TimeMs, Event)>>(CHANNEL_BATCHES);
    let (spare_tx, spare_rx) = crossbeam_channel::bounded(CHANNEL_BATCHES);
    let write_thread = std::thread::spawn(move || -> Result<(), LogError> {
        let commit = |writer: &mut LogWriter| match &backend {
            // A working file: the backend makes the records durable, not an fsync.
            Some(backend) => writer
                .flush()
                .and_then(|()| backend.commit(&handle, writer.len_bytes())),
            None => writer.sync(),
        };
        let mut committed = 0;
        for mut batch in rx {
            for (at_ms, event) in &batch {
                writer.append(*at_ms, event)?;
            }
            batch.clear();
            // Full (the simulator has spares enough) or gone: the batch is dropped.
            let _ = spare_tx.try_send(batch);
            if writer.len_bytes() - committed >= SYNC_EVERY_BYTES {
                commit(&mut writer)?;
                committed = writer.len_bytes();
            }
        }
        commit(&mut writer)?;
        writer.sync()
    });
    let mut sim = Simulator::new(scenario);
    let mut sink = ThreadSink {
        batches: tx,
        spares: spare_rx,
    };
    // Room for the rows of one more submission beyond the soft limit.
    let mut batch = Vec::with_capacity(BATCH_EVENTS + 1_024);
    // Batch by batch (not one `run_to` to the end) so progress is reported as it goes. An
    // error means the writer stopped: its own error is returned below.
    while let Ok(done) = step(&mut sim, &mut batch, TimeMs::MAX, &mut sink) {
        on_batch(sim.stats());
        if done {
            break;
        }
    }
    drop(sink);
    match write_thread.join() {
        Ok(result) => result?,
        Err(_) => {
            let e = std::io::Error::other("the log writer thread panicked");
            return Err(LogError::io(path, "write", e));
        }
    }
    Ok(sim.stats().clone())
}
