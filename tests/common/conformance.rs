//! The log backend conformance suite: what every [`LogBackend`] must do, run against the file
//! (tests/log_backend.rs) and against a JetStream stream on a real cluster (tests/nats.rs).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cdnsim::event::{Event, TimeMs};
use cdnsim::log::{Header, LogBackend, LogFile, LogWriter};

/// Where a suite's logs live.
pub trait Place {
    /// A new writer of the log `name`: its backend and its working file (the log itself for
    /// the file; a new path for each writer of a stream).
    fn writer(&self, name: &str) -> (Arc<dyn LogBackend>, PathBuf);
    /// A path for an exported copy (must not exist).
    fn out(&self, name: &str) -> PathBuf;
}

/// The events of the quickstart scenario's log, and the header it would be served with.
pub fn quickstart() -> (Header, Vec<(TimeMs, Event)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("q.cdnlog");
    let scenario =
        cdnsim::scenario::Scenario::load(&crate::common::http::scenario_path("quickstart.toml"))
            .expect("valid");
    let header = Header::batched(scenario.fingerprint(), scenario.seed);
    cdnsim::drive::simulate_to_log(scenario, &path, |_| {}).expect("simulates");
    let (_, records) = cdnsim::log::read_all(&path).expect("reads");
    let events = records.into_iter().map(|r| (r.at_ms, r.event)).collect();
    (header, events)
}

/// A writer: the backend, the working file's writer and a readable handle on it.
pub struct Writer {
    pub backend: Arc<dyn LogBackend>,
    pub path: PathBuf,
    pub log: LogWriter,
    handle: std::fs::File,
}

impl Writer {
    /// Prepares `backend` at `path` for a log with `header`, then opens the working file.
    pub fn open(backend: Arc<dyn LogBackend>, path: PathBuf, header: &Header) -> Writer {
        Writer::try_open(backend, path, header).expect("prepares")
    }

    /// [`Writer::open`], refused when the backend refuses to prepare.
    pub fn try_open(
        backend: Arc<dyn LogBackend>,
        path: PathBuf,
        header: &Header,
    ) -> Result<Writer, String> {
        backend.prepare(&path, header).map_err(|e| e.to_string())?;
        let log = if path.exists() {
            LogWriter::open_append(&path).expect("reopens").0
        } else {
            LogWriter::create(&path, *header).expect("creates")
        };
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("opens");
        Ok(Writer {
            backend,
            path,
            log,
            handle,
        })
    }

    /// Appends `events` as batches of `batch`, committing after each.
    pub fn append(&mut self, events: &[(TimeMs, Event)], batch: usize) -> Result<(), String> {
        for chunk in events.chunks(batch) {
            self.log.append_batch(chunk).map_err(|e| e.to_string())?;
            self.commit()?;
        }
        Ok(())
    }

    /// Commits everything appended.
    pub fn commit(&mut self) -> Result<(), String> {
        self.log.flush().map_err(|e| e.to_string())?;
        self.backend
            .commit(&self.handle, self.log.len_bytes())
            .map_err(|e| e.to_string())
    }
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("reads")
}

/// Group commits of many sizes go in, and the export is the working file byte for byte, a
/// whole log with every record.
pub fn round_trip(place: &dyn Place) {
    let (header, events) = quickstart();
    let (backend, path) = place.writer("roundtrip");
    let mut w = Writer::open(backend, path, &header);
    let (first, rest) = events.split_at(events.len().min(1_000));
    w.append(first, 1).expect("one event at a time");
    w.append(rest, 4_096).expect("large batches");
    let out = place.out("roundtrip");
    let len = w.backend.export(&out).expect("exports");
    assert_eq!(len, w.log.len_bytes());
    assert_eq!(
        bytes(&out),
        bytes(&w.path),
        "the export is the working file"
    );
    let copy = LogFile::open(&out).expect("a log");
    assert!(copy.damage().is_none());
    assert_eq!(copy.summary().records, events.len() as u64);
}

/// A new writer of an existing log starts from it (its working file holds it) and continues
/// it; the export holds both writers' records in order.
pub fn a_second_writer_continues(place: &dyn Place) {
    let (header, events) = quickstart();
    let half = events.len() / 2;
    let (backend, path) = place.writer("continue");
    let mut first = Writer::open(backend, path, &header);
    first.append(&events[..half], 1_000).expect("appends");
    drop(first);
    let (backend, path) = place.writer("continue");
    let mut second = Writer::open(backend, path, &header);
    assert_eq!(
        second.log.next_seq(),
        half as u64,
        "it starts where the log ends"
    );
    second.append(&events[half..], 1_000).expect("continues");
    let out = place.out("continue");
    second.backend.export(&out).expect("exports");
    let copy = LogFile::open(&out).expect("a log");
    assert!(copy.damage().is_none());
    assert_eq!(copy.summary().records, events.len() as u64);
    assert_eq!(bytes(&out), bytes(&second.path));
}

/// Two writers of one log at once: only one appends. The other is refused when it prepares
/// or at its first commit, and the log holds exactly the first one's records.
pub fn one_writer_at_a_time(place: &dyn Place) {
    let (header, events) = quickstart();
    let (backend, path) = place.writer("race");
    let mut a = Writer::open(backend, path, &header);
    a.append(&events[..10], 10)
        .expect("the first writer appends");
    let (backend, path) = place.writer("race");
    match Writer::try_open(backend, path, &header) {
        Err(why) => assert!(why.contains("another writer"), "{why}"),
        Ok(mut b) => {
            a.append(&events[10..20], 10)
                .expect("the first writer goes on");
            let refused = b.append(&events[10..30], 20);
            assert!(refused.is_err(), "the second writer must be refused");
        }
    }
    // Whichever way the second was refused, the first writer goes on.
    let done = a.log.next_seq() as usize;
    a.append(&events[done..20], 10)
        .expect("the first writer goes on");
    let out = place.out("race");
    a.backend.export(&out).expect("exports");
    assert_eq!(LogFile::open(&out).expect("a log").summary().records, 20);
    assert_eq!(bytes(&out), bytes(&a.path));
}

/// Runs the whole suite.
pub fn run(place: &dyn Place) {
    round_trip(place);
    a_second_writer_continues(place);
    one_writer_at_a_time(place);
}
