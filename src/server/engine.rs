//! The server's state: the projection, the clock, and — when serving a scenario — the
//! simulator and the log writer that produce events as the clock moves.
//!
//! Time only moves forward, and only through [`Engine::advance_to`]: it runs the simulator up
//! to the new time, appends the events to the log, applies them to the projection in batches
//! (so readers wait at most one batch for the write lock), and only then publishes the new
//! time. A request reads the clock once and asks the projection "as of" that time, so it
//! never sees half of an advance. Blocking work (disk, simulation) is for blocking threads;
//! the HTTP layer calls in through `spawn_blocking`.
//!
//! std locks, not tokio's: no lock is held across an `.await`, and the critical sections are
//! short (a query is microseconds; a batch is one `BATCH_EVENTS` fold).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use crate::event::{Event, RecordRef, TimeMs};
use crate::log::{Header, LogError, LogWriter, Records};
use crate::projection::{Projection, ProjectionError};
use crate::scenario::{Limits, Scenario};
use crate::sim::{BATCH_EVENTS, Simulator};

/// The log's file name inside a data directory.
pub const LOG_FILE: &str = "events.cdnlog";

/// Why the engine cannot start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Reading or writing the log.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Folding the log.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A data directory could not be prepared.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The data directory's log belongs to another scenario or seed.
    #[error(
        "{path} was written by another scenario or seed (its fingerprint {found}, seed {found_seed}; \
         this scenario's {expected}, seed {expected_seed}); start with --fresh to move it aside, \
         or choose another --data-dir"
    )]
    OtherScenario {
        /// The log.
        path: PathBuf,
        /// The log's fingerprint (hex).
        found: String,
        /// The log's seed.
        found_seed: u64,
        /// The scenario's fingerprint (hex).
        expected: String,
        /// The scenario's seed.
        expected_seed: u64,
    },
    /// Re-running the scenario does not reproduce the log.
    #[error("{path}: seq {seq}: re-running the scenario does not reproduce the log ({detail})")]
    Diverged {
        /// The log.
        path: PathBuf,
        /// The first differing record.
        seq: u64,
        /// What differs.
        detail: String,
    },
    /// A previous advance failed; the writer refuses further writes.
    #[error("the log writer stopped after an earlier error; restart the server")]
    Stopped,
}

/// The simulator and the writer of a served scenario.
struct Producer {
    sim: Simulator,
    writer: LogWriter,
    batch: Vec<(TimeMs, Event)>,
    failed: bool,
}

/// The server's state. See the module docs.
pub struct Engine {
    projection: RwLock<Projection>,
    /// The clock: every event at or before it is applied.
    now_ms: AtomicI64,
    /// Events a reader of the log file may read (all of them when serving a finished log).
    visible_events: AtomicU64,
    producer: Option<Mutex<Producer>>,
    log_path: PathBuf,
    header: Header,
    limits: Limits,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("log_path", &self.log_path)
            .field("now_ms", &self.now_ms())
            .field("read_only", &self.read_only())
            .finish()
    }
}

impl Engine {
    /// Serves a finished log read-only, the clock at `at_ms` (default: its last event).
    pub fn open_log(path: &Path, at_ms: Option<TimeMs>) -> Result<Engine, EngineError> {
        let header = *Records::open(path)?.header();
        let projection = Projection::from_log(path)?;
        let now_ms = at_ms.or(projection.last_ms()).unwrap_or(0);
        Ok(Engine {
            projection: RwLock::new(projection),
            now_ms: AtomicI64::new(now_ms),
            visible_events: AtomicU64::new(u64::MAX),
            producer: None,
            log_path: path.to_owned(),
            header,
            limits: Limits::default(),
        })
    }

    /// Serves `scenario` live from `data_dir`: a new log, or the one already there (which
    /// re-running the scenario must reproduce). `fresh` moves an existing log aside first.
    /// The clock starts at `at_ms` (default: the scenario's start), or at the log's end if
    /// that is later.
    pub fn open_scenario(
        scenario: Scenario,
        data_dir: &Path,
        at_ms: Option<TimeMs>,
        fresh: bool,
    ) -> Result<Engine, EngineError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EngineError::Io { path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let log_path = data_dir.join(LOG_FILE);
        if fresh && log_path.exists() {
            let aside = data_dir.join(format!("{LOG_FILE}.old"));
            std::fs::rename(&log_path, &aside).map_err(io(&log_path))?;
            tracing::warn!(old = %aside.display(), "--fresh: moved the previous log aside");
        }
        let header = Header::new(scenario.fingerprint(), scenario.seed);
        let start_ms = scenario.start_ms;
        let limits = scenario.limits.clone();
        let mut sim = Simulator::new(scenario);
        let mut projection = Projection::new();
        let writer = if log_path.exists() {
            // open_append cuts a torn tail and warns, naming the offset.
            let (mut writer, _recovery) = LogWriter::open_append(&log_path)?;
            let found = *writer.header();
            if found.scenario_fingerprint != header.scenario_fingerprint
                || found.seed != header.seed
            {
                return Err(EngineError::OtherScenario {
                    path: log_path,
                    found: found.fingerprint_hex(),
                    found_seed: found.seed,
                    expected: header.fingerprint_hex(),
                    expected_seed: header.seed,
                });
            }
            replay(&log_path, &mut sim, &mut projection, &mut writer)?;
            writer
        } else {
            LogWriter::create(&log_path, header)?
        };
        let now_ms = at_ms
            .unwrap_or(start_ms)
            .max(projection.last_ms().unwrap_or(TimeMs::MIN));
        let engine = Engine {
            visible_events: AtomicU64::new(writer.next_seq()),
            projection: RwLock::new(projection),
            now_ms: AtomicI64::new(TimeMs::MIN),
            producer: Some(Mutex::new(Producer {
                sim,
                writer,
                batch: Vec::with_capacity(BATCH_EVENTS + 1_024),
                failed: false,
            })),
            log_path,
            header,
            limits,
        };
        engine.advance_to(now_ms)?;
        Ok(engine)
    }

    /// The clock.
    pub fn now_ms(&self) -> TimeMs {
        self.now_ms.load(Ordering::Acquire)
    }

    /// True when serving a finished log (write actions are refused).
    pub fn read_only(&self) -> bool {
        self.producer.is_none()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The log's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// API limits (the scenario's; today's defaults for a finished log).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Records of the log file that readers may read: seq below this.
    pub fn visible_events(&self) -> u64 {
        self.visible_events.load(Ordering::Acquire)
    }

    /// The projection, for reading.
    pub fn projection(&self) -> RwLockReadGuard<'_, Projection> {
        match self.projection.read() {
            Ok(guard) => guard,
            // A panic while folding leaves a projection that is only missing events after
            // the published clock; queries as of the clock are still right.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Moves the clock to `to_ms` (never backwards): simulates, logs and applies every event
    /// up to it first. Blocking.
    pub fn advance_to(&self, to_ms: TimeMs) -> Result<(), EngineError> {
        let Some(producer) = &self.producer else {
            self.now_ms.fetch_max(to_ms, Ordering::AcqRel);
            return Ok(());
        };
        let mut p = match producer.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if p.failed {
            return Err(EngineError::Stopped);
        }
        if to_ms <= self.now_ms() {
            return Ok(());
        }
        let result = self.produce(&mut p, to_ms);
        if result.is_err() {
            p.failed = true;
        }
        result?;
        self.visible_events
            .store(p.writer.next_seq(), Ordering::Release);
        self.now_ms.fetch_max(to_ms, Ordering::AcqRel);
        Ok(())
    }

    fn produce(&self, p: &mut Producer, to_ms: TimeMs) -> Result<(), EngineError> {
        let Producer {
            sim, writer, batch, ..
        } = p;
        loop {
            batch.clear();
            let done = sim.advance_to(to_ms, batch, BATCH_EVENTS);
            let first_seq = writer.next_seq();
            for (at_ms, event) in batch.iter() {
                writer.append(*at_ms, event)?;
            }
            writer.flush()?;
            let mut projection = match self.projection.write() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            for (i, (at_ms, event)) in batch.iter().enumerate() {
                projection.apply(&RecordRef {
                    seq: first_seq + i as u64,
                    at_ms: *at_ms,
                    event: event.as_ref(),
                })?;
            }
            drop(projection);
            if done {
                return Ok(());
            }
        }
    }

    /// Flushes and syncs the log (at shutdown).
    pub fn sync(&self) -> Result<(), EngineError> {
        if let Some(producer) = &self.producer {
            let mut p = match producer.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            p.writer.sync()?;
        }
        Ok(())
    }
}

/// Folds an existing log while re-running the scenario beside it: every record must be the
/// event the simulator produces. Events the simulator still has at the log's last time (a
/// crash in the middle of a batch) are appended.
fn replay(
    path: &Path,
    sim: &mut Simulator,
    projection: &mut Projection,
    writer: &mut LogWriter,
) -> Result<(), EngineError> {
    let Some(last_ms) = writer.last_ms() else {
        return Ok(());
    };
    let diverged = |seq, detail: String| EngineError::Diverged {
        path: path.to_owned(),
        seq,
        detail,
    };
    let mut records = Records::open(path)?;
    let mut expected: Vec<(TimeMs, Event)> = Vec::new();
    let (mut next, mut done) = (0, false);
    while let Some(record) = records.next_ref() {
        let record = record?;
        if next == expected.len() && !done {
            expected.clear();
            next = 0;
            done = sim.advance_to(last_ms, &mut expected, BATCH_EVENTS);
        }
        let Some((at_ms, event)) = expected.get(next) else {
            return Err(diverged(
                record.seq,
                "the log has events the scenario does not".into(),
            ));
        };
        if *at_ms != record.at_ms || event.as_ref() != record.event {
            return Err(diverged(
                record.seq,
                format!(
                    "log: {:?} at {}; scenario: {:?} at {}",
                    record.event, record.at_ms, event, at_ms
                ),
            ));
        }
        projection.apply(&record)?;
        next += 1;
    }
    // The rest of the last time's events, if the log stopped among them.
    let mut rest: Vec<(TimeMs, Event)> = expected.split_off(next);
    while !done {
        done = sim.advance_to(last_ms, &mut rest, BATCH_EVENTS);
    }
    if !rest.is_empty() {
        tracing::warn!(events = rest.len(), "completing the log's last instant");
        for (at_ms, event) in &rest {
            let seq = writer.append(*at_ms, event)?;
            projection.apply(&RecordRef {
                seq,
                at_ms: *at_ms,
                event: event.as_ref(),
            })?;
        }
        writer.sync()?;
    }
    Ok(())
}
