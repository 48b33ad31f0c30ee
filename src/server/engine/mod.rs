//! The server's state: the read model, the clock, and — when serving a scenario — the
//! simulator and the log writer that produce events as the clock moves.
//!
//! Time only moves forward, and only through [`Engine::advance_to`] / [`Engine::step`]
//! (`clock.rs`): the driver runs the simulator up to the new time, appends the events to the
//! log, applies them to the read model in batches (so readers wait at most one batch for the
//! write lock), and only then publishes the new time. A request reads the clock once and asks
//! the model "as of" that time, so it never sees half of an advance. Writes are decided, logged
//! and applied in `write.rs`, and made durable by group commit in `commit.rs`; the data
//! directory (its lock, `--fresh`) is `datadir.rs`. Blocking work (disk, simulation) is for
//! blocking threads; the HTTP layer calls in through `spawn_blocking`.
//!
//! std locks, not tokio's: no lock is held across an `.await`, and the critical sections are
//! short (a query is microseconds; a batch is one `BATCH_EVENTS` fold).

mod clock;
mod commit;
mod datadir;
mod rules;
mod snapshots;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

pub use clock::Step;
pub use commit::Commit;
pub use datadir::LOG_FILE;
pub use rules::RuleChangeError;
pub use snapshots::Snapshots;

use crate::drive::resume::{ResumeError, resume, resume_from};
use crate::drive::snapshot::{self, LogPoint};
use crate::drive::{self, DriveError, Sink};
use crate::event::{Event, TimeMs};
use crate::locks;
use crate::log::{FileBackend, Header, IndexEntry, LogBackend, LogError, LogWriter, SharedIndex};
use crate::model::{Account, Origin, ReadModel};
use crate::projection::ProjectionError;
use crate::scenario::Scenario;
use crate::sim::{BATCH_EVENTS, Simulator};
use commit::{GroupCommit, Store};
use datadir::DataDir;
use snapshots::Snapshotter;

/// Why the engine cannot start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Reading, writing or folding the log.
    #[error(transparent)]
    Drive(#[from] DriveError),
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
    #[error(transparent)]
    Diverged(ResumeError),
    /// A previous advance failed; the writer refuses further writes.
    #[error("the log writer stopped after an earlier error; restart the server")]
    Stopped,
    /// A reset started a new timeline; this one takes nothing more.
    #[error("the timeline was reset while this request was under way; retry it")]
    Retired,
    /// A finished log cannot be reset.
    #[error("a finished log (--log) is read-only and cannot be reset")]
    ReadOnly,
    /// A log kept whole by its backend (a stream) cannot be moved aside.
    #[error(
        "the log at {0} is append-only and cannot be reset: serve another simulation (another \
         SIM) to start over"
    )]
    AppendOnly(String),
    /// A manual clock asked to go back.
    #[error("the clock only moves forward")]
    Backwards {
        /// The clock.
        now_ms: TimeMs,
        /// The time asked for.
        to_ms: TimeMs,
    },
    /// A clock move would pass the end of the timeline.
    #[error("the clock cannot pass the end of the timeline, 9999-12-31T23:59:59.999Z")]
    EndOfTime {
        /// The clock.
        now_ms: TimeMs,
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

impl From<LogError> for EngineError {
    fn from(e: LogError) -> EngineError {
        EngineError::Drive(e.into())
    }
}

impl From<ProjectionError> for EngineError {
    fn from(e: ProjectionError) -> EngineError {
        EngineError::Drive(e.into())
    }
}

impl From<ResumeError> for EngineError {
    fn from(e: ResumeError) -> EngineError {
        match e {
            ResumeError::Drive(e) => e.into(),
            diverged => EngineError::Diverged(diverged),
        }
    }
}

/// How a served scenario's log is made durable and checkpointed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durability {
    /// How writes are committed.
    pub commit: Commit,
    /// When snapshots are taken, and whether a restart may start from one.
    pub snapshots: Snapshots,
}

/// The simulator and the writer of a served scenario.
struct Producer {
    sim: Simulator,
    writer: LogWriter,
    batch: Vec<(TimeMs, Event)>,
    /// Logged, not yet durable, so not yet applied: a write's records and everything after
    /// them, in log order.
    pending: Pending,
    failed: bool,
    snapshots: Snapshotter,
}

/// Records logged but held back from readers until they are durable.
#[derive(Debug, Default)]
struct Pending {
    /// The seq of `events[0]`.
    first_seq: u64,
    events: Vec<(TimeMs, Event)>,
}

impl Producer {
    /// A write or a sync failed: the log's end is unknown. Cuts it back to what is durable
    /// (no record that was never acknowledged survives a restart), drops what was held back,
    /// and refuses everything from now on.
    fn fail(&mut self) {
        self.failed = true;
        self.pending.events.clear();
        if let Err(e) = self.writer.roll_back() {
            tracing::error!(error = %e, "cutting the log back to its synced length failed");
        }
    }
}

/// The server's state. See the module docs.
pub struct Engine {
    model: RwLock<ReadModel>,
    /// The clock: every event at or before it is applied.
    now_ms: AtomicI64,
    /// Records of the log file a reader may read (all of them when serving a finished log).
    visible_events: AtomicU64,
    /// A write or an advance failed: the log takes nothing more (health reports it).
    stopped: AtomicBool,
    /// The simulator and the log writer; `None` when serving a finished log.
    producer: Option<Mutex<Producer>>,
    commit: GroupCommit,
    log_path: PathBuf,
    /// The log's sparse seq → offset index (the writer's, growing with the log).
    index: SharedIndex,
    /// Held for the engine's life (one server per data directory), until a reset hands it to
    /// the next timeline's engine.
    data_dir: Mutex<Option<DataDir>>,
    /// A reset replaced this engine: it takes no more writes or clock moves.
    retired: AtomicBool,
    /// Which actions (bits in `scenario::rule::ACTIONS` order) a live error rule answers.
    error_actions: AtomicU32,
    /// Woken whenever the clock moves or records become readable (replicas wait on it).
    changed: tokio::sync::Notify,
    /// Which timeline this is: resets since the server started.
    timeline: AtomicU64,
    /// The records a snapshot covered when this engine started (the rest were re-run).
    restored_from: Option<u64>,
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
    /// A read replica's state: an empty model of the primary's log (its `origin`), answering
    /// for its `account`, filled by [`Engine::apply_frames`]. It has no log file of its own.
    pub fn follower(origin: Origin, account: Account) -> Engine {
        Engine {
            model: RwLock::new(ReadModel::new(origin, account)),
            now_ms: AtomicI64::new(TimeMs::MIN),
            visible_events: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            producer: None,
            commit: GroupCommit::new(Commit::Group, None, 0),
            log_path: PathBuf::new(),
            index: SharedIndex::default(),
            data_dir: Mutex::new(None),
            retired: AtomicBool::new(false),
            error_actions: AtomicU32::new(0),
            changed: tokio::sync::Notify::new(),
            timeline: AtomicU64::new(0),
            restored_from: None,
        }
    }

    /// A replica applies framed records (`crate::log::wire`) that continue its model; returns
    /// how many. A record out of order (its seq, or a time earlier than the last one or
    /// outside the timeline), or one the model refuses, is an error and nothing after it is
    /// applied.
    pub fn apply_frames(&self, bytes: &[u8]) -> Result<u64, String> {
        self.apply_records(crate::log::wire::WireRecords::new(bytes))
    }

    /// [`Engine::apply_frames`] for a piece of a log's record section of format `version`
    /// (whole batches: a stream's messages).
    pub fn apply_log_frames(&self, bytes: &[u8], version: u16) -> Result<u64, String> {
        self.apply_records(crate::log::wire::WireRecords::of_log(bytes, version))
    }

    fn apply_records(&self, records: crate::log::wire::WireRecords<'_>) -> Result<u64, String> {
        let mut model = locks::write(&self.model);
        let mut applied = 0;
        for record in records {
            let record = record.map_err(|e| e.to_string())?;
            let expected = model.event_count();
            if record.seq != expected {
                return Err(format!(
                    "record {} came where {expected} was due",
                    record.seq
                ));
            }
            let in_order = model.last_ms().is_none_or(|last| record.at_ms >= last);
            if !in_order || !(crate::time::MIN_MS..=crate::time::MAX_MS).contains(&record.at_ms) {
                return Err(format!("record {} has a time out of order", record.seq));
            }
            model.apply(&record).map_err(|e| e.to_string())?;
            applied += 1;
        }
        drop(model);
        if applied > 0 {
            self.changed.notify_waiters();
        }
        Ok(applied)
    }

    /// The records a snapshot covered when this engine started (only those after them were
    /// re-run); `None` when the whole log was re-run, or there was none.
    pub fn restored_from(&self) -> Option<u64> {
        self.restored_from
    }

    /// Which timeline this is (resets since the server started).
    pub fn timeline(&self) -> u64 {
        self.timeline.load(Ordering::Acquire)
    }

    /// Names this engine the timeline after `previous` (a reset made it).
    pub fn follow_timeline(&self, previous: &Engine) {
        self.timeline
            .store(previous.timeline() + 1, Ordering::Release);
    }

    /// A replica's clock: the primary's, once every record up to it is applied. Never moves
    /// back.
    pub fn follow_clock(&self, now_ms: TimeMs) {
        self.now_ms.fetch_max(now_ms, Ordering::AcqRel);
        self.changed.notify_waiters();
    }

    /// Waits until the clock moves, records become readable or the timeline ends, at most
    /// `wait`, unless `(now_ms, events)` is already not what is seen now.
    pub async fn changed_from(&self, now_ms: TimeMs, events: u64, wait: std::time::Duration) {
        let notified = self.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let same = self.now_ms() == now_ms && self.model().event_count() == events;
        if same && !self.is_retired() {
            let _ = tokio::time::timeout(wait, notified).await;
        }
    }

    /// Waits, at most `wait`, until `seq` records are applied and the clock has reached the
    /// last of the records applied by then (a replica answering after a write it was told
    /// of); at once on a server that wrote them. False when `wait` ran out first.
    pub async fn applied(&self, seq: u64, wait: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        let mut needed: Option<TimeMs> = None;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (events, last_ms) = {
                let model = self.model();
                (model.event_count(), model.last_ms())
            };
            if events >= seq {
                let at = *needed.get_or_insert(last_ms.unwrap_or(TimeMs::MIN));
                if self.now_ms() >= at {
                    return true;
                }
            }
            if self.is_retired() || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// Wakes every waiter of [`Engine::changed_from`] (a reset ended this timeline).
    pub fn wake_waiters(&self) {
        self.changed.notify_waiters();
    }

    /// Serves a finished log read-only, the clock at `at_ms` (default: its last event).
    pub fn open_log(path: &Path, at_ms: Option<TimeMs>) -> Result<Engine, EngineError> {
        let (model, index) = drive::load_indexed(path, Account::default())?;
        let now_ms = at_ms.or(model.last_ms()).unwrap_or(0);
        Ok(Engine {
            model: RwLock::new(model),
            now_ms: AtomicI64::new(now_ms),
            visible_events: AtomicU64::new(u64::MAX),
            stopped: AtomicBool::new(false),
            producer: None,
            commit: GroupCommit::new(Commit::Group, None, 0),
            log_path: path.to_owned(),
            index: std::sync::Arc::new(RwLock::new(index)),
            data_dir: Mutex::new(None),
            retired: AtomicBool::new(false),
            error_actions: AtomicU32::new(0),
            changed: tokio::sync::Notify::new(),
            timeline: AtomicU64::new(0),
            restored_from: None,
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
        durability: Durability,
        backend: Option<Arc<dyn LogBackend>>,
    ) -> Result<Engine, EngineError> {
        let dir = DataDir::open(data_dir, fresh)?;
        Engine::open_in(scenario, dir, at_ms, durability, backend)
    }

    /// Serves `scenario` live from an opened (locked) data directory, its log kept by
    /// `backend` (default: the file in the directory). The backend first makes the working
    /// file hold its log; re-running the scenario must reproduce it before anything is
    /// appended.
    fn open_in(
        scenario: Scenario,
        dir: DataDir,
        at_ms: Option<TimeMs>,
        durability: Durability,
        backend: Option<Arc<dyn LogBackend>>,
    ) -> Result<Engine, EngineError> {
        let log_path = dir.log_path.clone();
        let header = Header::batched(scenario.fingerprint(), scenario.seed);
        let backend = backend.unwrap_or_else(|| Arc::new(FileBackend::new(&log_path)));
        backend.prepare(&log_path, &header)?;
        let start_ms = scenario.start_ms;
        let origin = Origin {
            fingerprint: header.scenario_fingerprint,
            seed: header.seed,
        };
        let mut model = ReadModel::new(origin, Account::of(&scenario));
        let mut sim = Simulator::new(scenario);
        let mut snapshots = Snapshotter::new(dir.snapshot_dir(), durability.snapshots.every);
        let (writer, restored) = if log_path.exists() {
            let from_snapshot = !durability.snapshots.verify_full;
            let snapshot_dir = from_snapshot.then_some(snapshots.dir.as_path());
            reopen(&log_path, &header, snapshot_dir, &mut sim, &mut model)?
        } else {
            (LogWriter::create(&log_path, header)?, None)
        };
        snapshots.restored(restored);
        // Never before the scenario's start (the simulator is there already) nor before the
        // log's last event.
        let now_ms = at_ms
            .unwrap_or(start_ms)
            .max(start_ms)
            .max(model.last_ms().unwrap_or(TimeMs::MIN))
            .max(backend.resumed_clock().unwrap_or(TimeMs::MIN));
        // Its own handle, readable (a backend may read the bytes it commits): an fsync of any
        // handle covers the file.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(|e| LogError::io(&log_path, "open", e))?;
        let index = writer.index();
        let engine = Engine {
            model: RwLock::new(model),
            now_ms: AtomicI64::new(TimeMs::MIN),
            visible_events: AtomicU64::new(writer.next_seq()),
            stopped: AtomicBool::new(false),
            commit: GroupCommit::new(
                durability.commit,
                Some(Store { file, backend }),
                writer.next_seq(),
            ),
            producer: Some(Mutex::new(Producer {
                sim,
                writer,
                batch: Vec::with_capacity(BATCH_EVENTS + 1_024),
                pending: Pending::default(),
                failed: false,
                snapshots,
            })),
            log_path,
            index,
            data_dir: Mutex::new(Some(dir)),
            retired: AtomicBool::new(false),
            error_actions: AtomicU32::new(0),
            changed: tokio::sync::Notify::new(),
            timeline: AtomicU64::new(0),
            restored_from: restored.map(|point| point.records),
        };
        engine.advance_to(now_ms)?;
        if let Some(mut p) = engine.producer() {
            engine.note_error_actions(&p.sim);
            // What resuming appended (the rest of the last time's events) goes to the
            // backend now, not with the first write.
            engine.sync_and_release(&mut p)?;
        }
        Ok(engine)
    }

    /// Ends this timeline and starts a new one in the same data directory: writes and clock
    /// moves here stop (those waiting answer [`EngineError::Retired`]), the log is synced and
    /// moved aside (keeping `keep_old` old logs), and a new engine starts `scenario` at
    /// `at_ms` (default: its start). Blocking.
    pub fn renew(
        &self,
        scenario: Scenario,
        at_ms: Option<TimeMs>,
        durability: Durability,
        keep_old: usize,
    ) -> Result<Engine, EngineError> {
        let Some(mut p) = self.producer() else {
            return Err(EngineError::ReadOnly);
        };
        if !self.can_restart() {
            return Err(EngineError::AppendOnly(self.log_backend()));
        }
        // A clone: the lock stays held by this engine until the new one has started.
        let Some(dir) = locks::lock(&self.data_dir).clone() else {
            return Err(EngineError::Retired);
        };
        if !p.failed
            && let Err(e) = p.writer.finish()
        {
            p.fail();
            self.stop();
            return Err(e.into());
        }
        // The last snapshot named before the snapshots go with the log.
        p.snapshots.settle();
        // Nothing has changed if the log cannot be moved aside: this timeline goes on.
        dir.move_log_aside(keep_old)?;
        self.retired.store(true, Ordering::Release);
        p.failed = true;
        drop(p);
        match Engine::open_in(scenario, dir, at_ms, durability, None) {
            Ok(new) => {
                locks::lock(&self.data_dir).take();
                Ok(new)
            }
            Err(e) => {
                // No timeline to serve: health says so; the data directory stays locked.
                self.stop();
                Err(e)
            }
        }
    }

    /// True once a reset replaced this engine (if it is still the one served, the reset
    /// failed half-way: health reports it).
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Why this engine takes no more writes or clock moves: reset, or stopped by an error.
    fn refusal(&self) -> EngineError {
        if self.retired.load(Ordering::Acquire) {
            EngineError::Retired
        } else {
            EngineError::Stopped
        }
    }

    /// The clock.
    pub fn now_ms(&self) -> TimeMs {
        self.now_ms.load(Ordering::Acquire)
    }

    /// True once a write, an fsync or an advance failed: the log takes nothing more until a
    /// restart.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Stops the log: nothing more is written until a restart (and a stream's lease goes,
    /// for a standby to take over).
    fn stop(&self) {
        if !self.stopped.swap(true, Ordering::AcqRel)
            && let Some(backend) = self.commit.backend()
        {
            backend.abandon();
        }
    }

    /// True when serving a finished log (write actions are refused).
    pub fn read_only(&self) -> bool {
        self.producer.is_none()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Where to start reading the log file for the record `seq`: the sparse index's entry at
    /// or before it (`None`: the start).
    pub fn index_entry(&self, seq: u64) -> Option<IndexEntry> {
        locks::read(&self.index).at_or_before_seq(seq)
    }

    /// Records of the log file that readers may read: seq below this.
    pub fn visible_events(&self) -> u64 {
        self.visible_events.load(Ordering::Acquire)
    }

    /// The read model, for reading: one consistent state for as long as the guard is held
    /// (never across an `.await`).
    pub fn model(&self) -> RwLockReadGuard<'_, ReadModel> {
        // A panic while folding leaves a model that is only missing events after the
        // published clock; answers as of the clock are still right.
        locks::read(&self.model)
    }

    /// The writer, or `None` when serving a finished log. A panic while it was held left the
    /// simulator and the log half-way, so the engine stops.
    fn producer(&self) -> Option<MutexGuard<'_, Producer>> {
        let producer = self.producer.as_ref()?;
        let (mut p, poisoned) = locks::was_poisoned(producer);
        if poisoned {
            p.failed = true;
            self.stop();
        }
        Some(p)
    }

    /// Runs the simulator up to `to_ms`, logging and applying every event due by then; then
    /// takes a snapshot if one is due.
    fn produce(&self, p: &mut Producer, to_ms: TimeMs) -> Result<(), EngineError> {
        let Producer {
            sim,
            writer,
            batch,
            pending,
            ..
        } = &mut *p;
        let mut sink = Live {
            engine: self,
            writer,
            pending,
            hold: false,
        };
        drive::run_to(sim, batch, to_ms, &mut sink)?;
        // After the whole move, not inside it: one snapshot per operation at most, so that
        // a long move pays for one (a snapshot costs the whole state, however few records
        // came since the last).
        self.snapshot_if_due(p)
    }

    /// Applies the held-back records below seq `upto` (now durable) and lets readers see them.
    fn release(&self, p: &mut Producer, upto: u64) -> Result<(), EngineError> {
        let pending = &mut p.pending;
        let n = (upto.saturating_sub(pending.first_seq) as usize).min(pending.events.len());
        if n == 0 {
            return Ok(());
        }
        let released: Vec<(TimeMs, Event)> = pending.events.drain(..n).collect();
        drive::apply(&mut locks::write(&self.model), pending.first_seq, &released)?;
        pending.first_seq += n as u64;
        self.visible_events
            .fetch_max(pending.first_seq, Ordering::AcqRel);
        self.changed.notify_waiters();
        Ok(())
    }

    /// Syncs now and releases everything held back (before the clock moves past it).
    fn sync_and_release(&self, p: &mut Producer) -> Result<(), EngineError> {
        let point = p.writer.flush_for_sync()?;
        self.commit.commit_to(point.len)?;
        p.writer.note_synced(point.len, point.records)?;
        self.release(p, point.records)?;
        self.commit.synced_up_to(point.records);
        Ok(())
    }

    /// Commits everything logged so far, then records the clock in the log backend (a
    /// stream's watermark, for its replicas) unless it is still `last`; the clock recorded.
    /// Blocking.
    pub fn watermark(&self, last: Option<TimeMs>) -> Result<Option<TimeMs>, EngineError> {
        let (Some(mut p), Some(backend)) = (self.producer(), self.commit.backend()) else {
            return Ok(None);
        };
        if p.failed {
            return Err(self.refusal());
        }
        let now_ms = self.now_ms();
        if last == Some(now_ms) {
            return Ok(last);
        }
        let result = self
            .sync_and_release(&mut p)
            .and_then(|()| Ok(backend.watermark(now_ms)?));
        if result.is_err() {
            p.fail();
            self.stop();
        }
        result.map(|()| Some(now_ms))
    }

    /// True unless the log backend keeps the log whole (a stream): a reset moves the log aside.
    pub fn can_restart(&self) -> bool {
        self.commit.backend().is_none_or(|b| b.can_restart())
    }

    /// Where the log is kept: its path, or the stream (`nats://…/SIM`).
    pub fn log_backend(&self) -> String {
        match self.commit.backend() {
            Some(backend) => backend.describe(),
            None => self.log_path.display().to_string(),
        }
    }

    /// Commits the log and syncs its checkpoint (at shutdown).
    pub fn sync(&self) -> Result<(), EngineError> {
        if let Some(producer) = &self.producer {
            let mut p = locks::lock(producer);
            if !p.failed {
                // Everything committed and applied, then the state as of the log's end
                // snapshotted, so that the next start re-runs nothing.
                self.sync_and_release(&mut p)?;
                if p.snapshots.every > 0 {
                    self.snapshot(&mut p);
                }
                p.snapshots.settle();
                p.writer.finish()?;
                if let Some(backend) = self.commit.backend() {
                    backend.close();
                }
            }
        }
        Ok(())
    }
}

/// The server's sink: append and hand to the OS, then fold under the model's write lock
/// (one hold per batch: readers wait at most one batch), then let log readers see them —
/// unless records are held back until durable (`hold`, a write's rows, or anything after
/// them): those wait in `pending` for [`Engine::release`].
struct Live<'a> {
    engine: &'a Engine,
    writer: &'a mut LogWriter,
    pending: &'a mut Pending,
    hold: bool,
}

impl Sink for Live<'_> {
    type Error = EngineError;

    fn take(&mut self, events: &mut Vec<(TimeMs, Event)>) -> Result<(), EngineError> {
        let first_seq = drive::append(self.writer, events)?;
        if self.hold || !self.pending.events.is_empty() {
            if self.pending.events.is_empty() {
                self.pending.first_seq = first_seq;
            }
            self.pending.events.append(events);
            return Ok(());
        }
        drive::apply(&mut locks::write(&self.engine.model), first_seq, events)?;
        self.engine
            .visible_events
            .fetch_max(self.writer.next_seq(), Ordering::AcqRel);
        self.engine.changed.notify_waiters();
        Ok(())
    }
}

/// Reopens an existing log for appending (cutting a torn tail, with a warning naming the
/// offset), checks it belongs to this scenario, and resumes it into `sim` and `model`: from
/// the newest snapshot in `snapshots` that matches the log (read while the log is scanned),
/// or from the start. Gives the point of the snapshot used.
fn reopen(
    log_path: &Path,
    header: &Header,
    snapshots: Option<&Path>,
    sim: &mut Simulator,
    model: &mut ReadModel,
) -> Result<(LogWriter, Option<LogPoint>), EngineError> {
    let file_len = std::fs::metadata(log_path).map_or(0, |m| m.len());
    let (opened, found) = std::thread::scope(|scope| {
        // On a thread of its own while the log is scanned; no thread, no snapshot.
        let loading = snapshots.and_then(|dir| {
            std::thread::Builder::new()
                .name("snapshot-load".into())
                .spawn_scoped(scope, move || {
                    snapshot::load_newest(dir, log_path, header, file_len)
                })
                .ok()
        });
        let opened = LogWriter::open_append(log_path);
        (opened, loading.and_then(|l| l.join().ok().flatten()))
    });
    let (mut writer, _recovery) = opened?;
    let found_header = *writer.header();
    if !found_header.has_batches() {
        tracing::warn!(
            path = %log_path.display(),
            "this log is format version 1: a write that fails half-way may leave some of its \
             rows; --fresh starts a version-2 log, whose writes are atomic"
        );
    }
    if found_header.scenario_fingerprint != header.scenario_fingerprint
        || found_header.seed != header.seed
    {
        return Err(EngineError::OtherScenario {
            path: log_path.to_owned(),
            found: found_header.fingerprint_hex(),
            found_seed: found_header.seed,
            expected: header.fingerprint_hex(),
            expected_seed: header.seed,
        });
    }
    let restored = found.and_then(|found| {
        let path = found.path.clone();
        let restored = if found.point.len > writer.len_bytes() {
            Err("the log was cut before its point".to_owned())
        } else {
            found.restore(sim, model)
        };
        restored
            .inspect_err(|why| snapshot::ignore(&path, why))
            .ok()
            .map(|point| (point, path))
    });
    let Some((point, path)) = restored else {
        resume(log_path, sim, model, &mut writer)?;
        return Ok((writer, None));
    };
    tracing::info!(
        snapshot = %path.display(),
        records = point.records,
        rerun = writer.next_seq() - point.records,
        "resuming from a snapshot"
    );
    resume_from(log_path, Some(point), sim, model, &mut writer)?;
    Ok((writer, Some(point)))
}
