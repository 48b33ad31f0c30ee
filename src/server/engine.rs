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

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

use super::ledger::{Ledger, day_start_ms};
use crate::api::ApiError;
use crate::api::write::{QuotaView, WriteRequest, quota_of};
use crate::event::{Event, EventRef, ObjectType, RecordRef, Source, TaskId, TimeMs};
use crate::log::{Header, LogError, LogWriter, Records};
use crate::projection::{Projection, ProjectionError};
use crate::scenario::{Limits, Quotas, Scenario};
use crate::sim::{BATCH_EVENTS, Simulator, Submission};

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
    /// A manual clock asked to go back.
    #[error("the clock only moves forward")]
    Backwards {
        /// The clock.
        now_ms: TimeMs,
        /// The time asked for.
        to_ms: TimeMs,
    },
    /// A blocking task failed.
    #[error("internal error: {0}")]
    Join(String),
    /// Another process serves this data directory.
    #[error("{path} is locked: another cdnsim serves this data directory")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
}

/// Group commit: writers wait until a sync covers their records; one of them syncs for all.
#[derive(Debug, Default)]
struct Durable {
    /// Records known durable: seq below this.
    synced: u64,
    /// A sync is running.
    syncing: bool,
    /// A sync failed: the log's state on disk is unknown.
    failed: bool,
}

/// A move of the manual clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Forward by this many milliseconds from wherever the clock is when the move runs (two
    /// concurrent moves of 5 minutes move it 10).
    By(TimeMs),
    /// To this time, which must not be earlier than the clock.
    To(TimeMs),
}

/// How writes become durable before they are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Concurrent writes share one fsync (the default).
    Group,
    /// Each write fsyncs on its own, holding the writer (the baseline of the write bench).
    PerWrite,
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
    /// API rows per type over time, for the daily quotas.
    ledger: RwLock<Ledger>,
    quotas: Quotas,
    /// The scenario's domains (the account's), in scenario order.
    domains: Vec<String>,
    commit: Commit,
    durable: Mutex<Durable>,
    /// Sent after every group-commit sync (success or failure), to wake the waiting writes.
    durable_changed: tokio::sync::watch::Sender<u64>,
    /// A handle on the log for group-commit fsyncs.
    sync_file: Option<File>,
    /// Held for the engine's life: one server per data directory.
    _lock: Option<File>,
    /// A write or an advance failed: the log refuses more (health reports it).
    stopped: std::sync::atomic::AtomicBool,
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
        let mut records = Records::open(path)?;
        let header = *records.header();
        let mut projection = Projection::new();
        let mut ledger = Ledger::default();
        while let Some(record) = records.next_ref() {
            let record = record?;
            ledger.note(&record);
            projection.apply(&record)?;
        }
        projection.shrink_to_fit();
        let now_ms = at_ms.or(projection.last_ms()).unwrap_or(0);
        Ok(Engine {
            projection: RwLock::new(projection),
            ledger: RwLock::new(ledger),
            quotas: Quotas::default(),
            domains: Vec::new(),
            commit: Commit::Group,
            durable: Mutex::new(Durable::default()),
            durable_changed: tokio::sync::watch::Sender::new(0),
            sync_file: None,
            _lock: None,
            stopped: Default::default(),
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
        commit: Commit,
    ) -> Result<Engine, EngineError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EngineError::Io { path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let lock_path = data_dir.join("lock");
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        // A server that is just exiting may still hold the lock for a moment (or a process
        // forked from one, until it execs): try for a second before giving up.
        let mut attempts = 0;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if attempts < 20 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(EngineError::Locked { path: lock_path });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
            }
        }
        let log_path = data_dir.join(LOG_FILE);
        if fresh && log_path.exists() {
            let aside = (1..)
                .map(|n| data_dir.join(format!("{LOG_FILE}.old.{n}")))
                .find(|p| !p.exists())
                .unwrap_or_else(|| data_dir.join(format!("{LOG_FILE}.old")));
            std::fs::rename(&log_path, &aside).map_err(io(&log_path))?;
            tracing::warn!(old = %aside.display(), "--fresh: moved the previous log aside");
        }
        let header = Header::new(scenario.fingerprint(), scenario.seed);
        let start_ms = scenario.start_ms;
        let limits = scenario.limits.clone();
        let quotas = scenario.quotas.clone();
        let domains: Vec<String> = scenario.domains.iter().map(|d| d.name.clone()).collect();
        let mut sim = Simulator::new(scenario);
        let mut projection = Projection::new();
        let mut ledger = Ledger::default();
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
            replay(
                &log_path,
                &mut sim,
                &mut projection,
                &mut ledger,
                &mut writer,
            )?;
            writer
        } else {
            LogWriter::create(&log_path, header)?
        };
        // Never before the scenario's start (the simulator is there already) nor before the
        // log's last event.
        let now_ms = at_ms
            .unwrap_or(start_ms)
            .max(start_ms)
            .max(projection.last_ms().unwrap_or(TimeMs::MIN));
        let sync_file = Some(writer.sync_handle()?);
        let engine = Engine {
            visible_events: AtomicU64::new(writer.next_seq()),
            projection: RwLock::new(projection),
            ledger: RwLock::new(ledger),
            quotas,
            domains,
            commit,
            durable: Mutex::new(Durable {
                synced: writer.next_seq(),
                ..Durable::default()
            }),
            durable_changed: tokio::sync::watch::Sender::new(0),
            sync_file,
            _lock: Some(lock),
            stopped: Default::default(),
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

    /// The writer; a panic while it was held left the simulator and the log half-way, so the
    /// engine stops.
    fn lock_producer<'a>(&self, producer: &'a Mutex<Producer>) -> MutexGuard<'a, Producer> {
        match producer.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut p = poisoned.into_inner();
                p.failed = true;
                self.stopped.store(true, Ordering::Release);
                p
            }
        }
    }

    /// True once a write, an fsync or an advance failed: the log takes nothing more until a
    /// restart.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
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
        self.step_with(|now_ms| Ok(to_ms.max(now_ms)))
    }

    /// Moves the manual clock; the target is worked out once the move has the writer, so
    /// concurrent moves add up. Blocking.
    pub fn step(&self, step: Step) -> Result<(), EngineError> {
        self.step_with(|now_ms| match step {
            Step::By(ms) => Ok(now_ms.saturating_add(ms.max(0))),
            Step::To(to_ms) if to_ms >= now_ms => Ok(to_ms),
            Step::To(to_ms) => Err(EngineError::Backwards { now_ms, to_ms }),
        })
    }

    fn step_with(
        &self,
        target: impl Fn(TimeMs) -> Result<TimeMs, EngineError>,
    ) -> Result<(), EngineError> {
        let Some(producer) = &self.producer else {
            // No writer to serialise moves: compare-and-swap, so concurrent moves add up.
            let mut failure = None;
            let _ = self
                .now_ms
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now_ms| {
                    match target(now_ms) {
                        Ok(to_ms) => Some(to_ms.max(now_ms)),
                        Err(e) => {
                            failure = Some(e);
                            None
                        }
                    }
                });
            return failure.map_or(Ok(()), Err);
        };
        let mut p = match producer.lock() {
            Ok(guard) => guard,
            // A panic while producing left the simulator and the writer half-way.
            Err(poisoned) => {
                let mut p = poisoned.into_inner();
                p.failed = true;
                self.stopped.store(true, Ordering::Release);
                p
            }
        };
        if p.failed {
            return Err(EngineError::Stopped);
        }
        let to_ms = target(self.now_ms())?;
        if to_ms <= self.now_ms() {
            return Ok(());
        }
        let result = self.produce(&mut p, to_ms);
        if result.is_err() {
            p.failed = true;
            self.stopped.store(true, Ordering::Release);
        }
        result?;
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
            self.append_apply(writer, batch)?;
            if done {
                return Ok(());
            }
        }
    }

    /// Appends events to the log, hands them to the OS, then folds them into the projection
    /// (one write-lock hold per call: readers wait at most one batch).
    fn append_apply(
        &self,
        writer: &mut LogWriter,
        events: &[(TimeMs, Event)],
    ) -> Result<(), EngineError> {
        if events.is_empty() {
            return Ok(());
        }
        let first_seq = writer.next_seq();
        for (at_ms, event) in events {
            writer.append(*at_ms, event)?;
        }
        writer.flush()?;
        let mut projection = match self.projection.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (i, (at_ms, event)) in events.iter().enumerate() {
            projection.apply(&RecordRef {
                seq: first_seq + i as u64,
                at_ms: *at_ms,
                event: event.as_ref(),
            })?;
        }
        drop(projection);
        self.visible_events
            .fetch_max(writer.next_seq(), Ordering::AcqRel);
        Ok(())
    }

    /// The scenario's index of a domain the account owns.
    pub fn domain_index(&self, name: &str) -> Option<usize> {
        self.domains.iter().position(|d| d == name)
    }

    /// Creates the rows of a write at the clock's time: the simulator first catches up with
    /// the clock (so a restart re-running the log sees the same order), then the rows are
    /// logged, applied and counted against the quota. With [`Commit::PerWrite`] they are
    /// synced before this returns; with [`Commit::Group`] the caller must await
    /// [`Engine::durable`] with the returned seq before answering. Blocking.
    pub fn write(&self, request: &WriteRequest) -> Result<(Vec<TaskId>, u64), ApiError> {
        let Some(producer) = &self.producer else {
            return Err(ApiError::read_only("this action"));
        };
        let mut p = self.lock_producer(producer);
        if p.failed || self.is_stopped() {
            return Err(unavailable(EngineError::Stopped));
        }
        let now_ms = self.now_ms();
        let object_type = request.object_type;
        let rows = request.rows() as u64;
        let day_ms = day_start_ms(now_ms, self.quotas.reset_utc_offset_s);
        let used = read(&self.ledger).used(object_type, day_ms, now_ms);
        if used + rows > u64::from(quota_of(&self.quotas, object_type)) {
            return Err(ApiError::quota_exceeded(object_type.is_preload()));
        }
        let mut result = self.create(&mut p, request, now_ms);
        if self.commit == Commit::PerWrite && result.is_ok() {
            result = p.writer.sync().map_err(EngineError::from).and(result);
        }
        if result.is_err() {
            p.failed = true;
            self.stopped.store(true, Ordering::Release);
        }
        result.map_err(unavailable)
    }

    /// Waits until every record below `end_seq` is on disk. Group commit: the first waiter
    /// to find no sync running runs one on a blocking thread — flush under the writer's lock,
    /// fsync without it — and every write appended before it rides along; the others wait
    /// (asynchronously) for it to finish.
    pub async fn durable(self: &std::sync::Arc<Self>, end_seq: u64) -> Result<(), ApiError> {
        if self.commit == Commit::PerWrite {
            return Ok(()); // `write` synced already
        }
        loop {
            // Subscribe before looking, so that a sync finishing in between still wakes us.
            let mut changed = self.durable_changed.subscribe();
            let lead = {
                let mut d = lock(&self.durable);
                if d.synced >= end_seq {
                    return Ok(());
                }
                if d.failed {
                    return Err(unavailable(EngineError::Stopped));
                }
                let lead = !d.syncing;
                d.syncing = true;
                lead
            };
            if !lead {
                let _ = changed.changed().await;
                continue;
            }
            // The sync and its bookkeeping run to the end on their own thread, even if this
            // request is dropped (its client went away) while waiting: the others depend on it.
            let engine = std::sync::Arc::clone(self);
            let synced = match tokio::task::spawn_blocking(move || engine.sync_and_publish()).await
            {
                Ok(synced) => synced,
                // Never ran (the runtime is shutting down): nobody else will clear the flag.
                Err(e) => {
                    let mut d = lock(&self.durable);
                    d.syncing = false;
                    d.failed = true;
                    drop(d);
                    self.stopped.store(true, Ordering::Release);
                    self.durable_changed.send_modify(|_| {});
                    Err(EngineError::Join(e.to_string()))
                }
            };
            synced.map_err(unavailable)?;
        }
    }

    fn create(
        &self,
        p: &mut Producer,
        request: &WriteRequest,
        now_ms: TimeMs,
    ) -> Result<(Vec<TaskId>, u64), EngineError> {
        self.produce(p, now_ms)?;
        let Producer {
            sim, writer, batch, ..
        } = &mut *p;
        batch.clear();
        let mut task_ids: Vec<TaskId> = Vec::new();
        for (domain, paths) in &request.by_domain {
            let submission = Submission {
                domain: *domain,
                object_type: request.object_type,
                paths: paths.clone(),
            };
            // Ids never repeat across domains (the batcher keys them by domain).
            task_ids.extend(sim.submit(submission, batch));
        }
        self.append_apply(writer, batch)?;
        write(&self.ledger).add(request.object_type, now_ms, request.rows() as u64);
        // Whatever the new rows made due already (a zero queue delay) follows them at once,
        // so the log never holds back an event due by the clock — and a restart, which
        // re-runs each write the same way, finds the same order.
        self.produce(p, now_ms)?;
        Ok((task_ids, p.writer.next_seq()))
    }

    /// One group-commit sync, then the new durable point published to the waiters.
    fn sync_and_publish(&self) -> Result<u64, EngineError> {
        let synced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.sync_once()))
            .unwrap_or_else(|_| Err(EngineError::Join("the sync panicked".into())));
        let mut d = lock(&self.durable);
        d.syncing = false;
        match &synced {
            Ok(upto) => d.synced = d.synced.max(*upto),
            Err(_) => {
                d.failed = true;
                self.stopped.store(true, Ordering::Release);
            }
        }
        let synced_now = d.synced;
        drop(d);
        self.durable_changed.send_replace(synced_now);
        synced
    }

    /// One group-commit sync: flush, note how far, fsync without holding the writer.
    fn sync_once(&self) -> Result<u64, EngineError> {
        let Some(producer) = &self.producer else {
            return Ok(0);
        };
        let upto = {
            let mut p = lock(producer);
            p.writer.flush()?;
            p.writer.next_seq()
        };
        if let Some(file) = &self.sync_file {
            file.sync_data().map_err(|e| EngineError::Io {
                path: self.log_path.clone(),
                source: e,
            })?;
        }
        Ok(upto)
    }

    /// Quotas and what is left of them as of `at_ms`.
    pub fn quota_view(&self, at_ms: TimeMs) -> QuotaView {
        let day_ms = day_start_ms(at_ms, self.quotas.reset_utc_offset_s);
        let ledger = read(&self.ledger);
        let by_type = ObjectType::ALL.map(|t| {
            let quota = quota_of(&self.quotas, t);
            let used = ledger.used(t, day_ms, at_ms);
            (quota, u64::from(quota).saturating_sub(used) as u32)
        });
        QuotaView {
            by_type,
            preload_edge: self.quotas.preload_edge,
            block: self.quotas.block,
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

fn unavailable(e: EngineError) -> ApiError {
    tracing::error!(error = %e, "a write failed");
    ApiError::unavailable(&e.to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    match lock.read() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    match lock.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Folds an existing log while re-running the scenario and the recorded API submissions
/// beside it: every record must be the event the simulator produces. A submission is re-made
/// row by row at its time (rows draw from the API's stream one after another, so splitting a
/// submission changes nothing), after every event due by then — as the server does before
/// each write. Events the simulator still has at the log's last time (a crash in the middle
/// of a batch) are appended.
fn replay(
    path: &Path,
    sim: &mut Simulator,
    projection: &mut Projection,
    ledger: &mut Ledger,
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
    let mut next = 0;
    // Rows of one write follow each other with nothing between them: the simulator does not
    // advance between them (the server did not either).
    let mut after_api_row = false;
    while let Some(record) = records.next_ref() {
        let record = record?;
        let api_row = matches!(
            record.event,
            EventRef::Created {
                source: Source::Api,
                ..
            }
        );
        if let EventRef::Created {
            source: Source::Api,
            domain,
            object_path,
            object_type,
            ..
        } = record.event
        {
            let early = || {
                diverged(
                    record.seq,
                    "the scenario has events due before this API row".into(),
                )
            };
            if next < expected.len() {
                return Err(early());
            }
            expected.clear();
            next = 0;
            if !after_api_row {
                while !sim.advance_to(record.at_ms, &mut expected, BATCH_EVENTS) {}
                if !expected.is_empty() {
                    return Err(early());
                }
            }
            let Some(domain) = sim.scenario().domain_index(domain) else {
                return Err(diverged(
                    record.seq,
                    format!("an API row for {domain}, which the scenario does not have"),
                ));
            };
            let submission = Submission {
                domain,
                object_type,
                paths: vec![object_path.to_owned()],
            };
            sim.submit(submission, &mut expected);
        } else if next == expected.len() {
            expected.clear();
            next = 0;
            while !sim.advance_to(record.at_ms, &mut expected, BATCH_EVENTS) && expected.is_empty()
            {
            }
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
        ledger.note(&record);
        projection.apply(&record)?;
        next += 1;
        after_api_row = api_row;
    }
    // The rest of the last time's events, if the log stopped among them.
    let mut rest: Vec<(TimeMs, Event)> = expected.split_off(next);
    while !sim.advance_to(last_ms, &mut rest, BATCH_EVENTS) {}
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
