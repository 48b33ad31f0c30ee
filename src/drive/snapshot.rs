//! Snapshots: the simulator's state and the read model, written every so many events into a
//! served scenario's data directory, so that a restart re-runs only the records after the
//! newest one instead of the whole log.
//!
//! A snapshot is tied to a point of the log — its length in bytes, its record count, the time
//! of its last record — and to a CRC-32C of the log's bytes up to that point (header
//! included: fingerprint and seed). A restart trusts a snapshot only when the log it opens
//! has exactly those bytes there; the records after it are still re-run and compared with
//! the log one by one. Anything else — another scenario or seed, a log cut shorter, different
//! bytes, a damaged or unreadable file, a version this build does not read — is ignored with
//! a warning naming the file, and the next older snapshot (or the whole log) is used instead.
//!
//! ```text
//! snapshot := header | body
//! header   := "CDNSIMSN" | version u16 LE | 0u16 | fingerprint [u8; 32] | seed u64 LE
//!           | log_len u64 LE | records u64 LE | last_ms i64 LE | log_crc u32 LE
//!           | body_len u64 LE | body_crc u32 LE | header_crc u32 LE          (96 bytes)
//! body     := the simulator's image | the read model's image   (`log::codec::encode_state_to`)
//! ```
//!
//! Files are `snap-<records, 20 digits>.cdnsnap` in the data directory's `snapshots/`, written
//! to a temporary name, synced and renamed, so a crash leaves either the whole file or none.
//! The newest [`KEEP`] are kept.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::event::TimeMs;
use crate::log::{Header, codec};
use crate::model::{OwnedModelImage, ReadModel};
use crate::sim::{SimImage, Simulator};

/// The snapshot format this build writes and reads. A change to the images (a field of the
/// simulator or the projection) bumps it: older snapshots are then ignored, never misread.
pub const SNAPSHOT_VERSION: u16 = 4;

/// The directory, inside a data directory, that holds its snapshots.
pub const SNAPSHOT_DIR: &str = "snapshots";

/// Snapshots kept: the newest, and one before it in case the newest turns out damaged.
pub const KEEP: usize = 2;

const MAGIC: &[u8; 8] = b"CDNSIMSN";
const HEADER_LEN: usize = 96;
const SUFFIX: &str = ".cdnsnap";

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Reading or writing a file.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The state could not be encoded.
    #[error("encoding a snapshot: {0}")]
    Encode(#[from] codec::CodecError),
}

fn io(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let path = path.to_owned();
    move |source| SnapshotError::Io {
        path,
        action,
        source,
    }
}

/// A point of a log: its first `len` bytes, holding `records` records, the last at
/// `last_ms`, whose CRC-32C is `crc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPoint {
    /// Bytes, header included (a batch ends there).
    pub len: u64,
    /// Records in them.
    pub records: u64,
    /// Time of the last of them.
    pub last_ms: TimeMs,
    /// CRC-32C of the bytes.
    pub crc: u32,
}

/// A running CRC-32C of a log's first `len` bytes, extended as the log grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest {
    /// Bytes covered.
    pub len: u64,
    /// Their CRC-32C.
    pub crc: u32,
}

impl Digest {
    /// Extends the digest over the file's bytes up to `to_len` (reading only the new ones).
    pub fn extend(&mut self, log: &Path, to_len: u64) -> Result<(), SnapshotError> {
        if to_len < self.len {
            *self = Digest::default();
        }
        let mut file = File::open(log).map_err(io(log, "open"))?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(self.len))
            .map_err(io(log, "seek"))?;
        let mut chunk = vec![0u8; 1 << 20];
        while self.len < to_len {
            let want = chunk.len().min((to_len - self.len) as usize);
            file.read_exact(&mut chunk[..want])
                .map_err(io(log, "read"))?;
            self.crc = crc32c::crc32c_append(self.crc, &chunk[..want]);
            self.len += want as u64;
        }
        Ok(())
    }
}

/// The fixed header of a snapshot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SnapHeader {
    version: u16,
    fingerprint: [u8; 32],
    seed: u64,
    point: LogPoint,
    body_len: u64,
    body_crc: u32,
}

impl SnapHeader {
    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(MAGIC);
        out[8..10].copy_from_slice(&self.version.to_le_bytes());
        out[12..44].copy_from_slice(&self.fingerprint);
        out[44..52].copy_from_slice(&self.seed.to_le_bytes());
        out[52..60].copy_from_slice(&self.point.len.to_le_bytes());
        out[60..68].copy_from_slice(&self.point.records.to_le_bytes());
        out[68..76].copy_from_slice(&self.point.last_ms.to_le_bytes());
        out[76..80].copy_from_slice(&self.point.crc.to_le_bytes());
        out[80..88].copy_from_slice(&self.body_len.to_le_bytes());
        out[88..92].copy_from_slice(&self.body_crc.to_le_bytes());
        let crc = crc32c::crc32c(&out[0..92]);
        out[92..96].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn from_bytes(b: &[u8; HEADER_LEN]) -> Result<SnapHeader, String> {
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]));
        if &b[0..8] != MAGIC {
            return Err("not a cdnsim snapshot".into());
        }
        if crc32c::crc32c(&b[0..92]) != u32_at(92) {
            return Err("its header checksum does not match".into());
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != SNAPSHOT_VERSION {
            return Err(format!(
                "it is snapshot format version {version}; this build reads version \
                 {SNAPSHOT_VERSION}"
            ));
        }
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(&b[12..44]);
        Ok(SnapHeader {
            version,
            fingerprint,
            seed: u64_at(44),
            point: LogPoint {
                len: u64_at(52),
                records: u64_at(60),
                last_ms: u64_at(68) as i64,
                crc: u32_at(76),
            },
            body_len: u64_at(80),
            body_crc: u32_at(88),
        })
    }
}

/// The file name of the snapshot after `records` records.
fn file_name(records: u64) -> String {
    format!("snap-{records:020}{SUFFIX}")
}

/// Counts and checksums what goes through it to the file.
struct Checksummed<W> {
    inner: W,
    len: u64,
    crc: u32,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.crc = crc32c::crc32c_append(self.crc, &bytes[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A snapshot written under its temporary name, not yet durable: [`Unsynced::finish`] syncs
/// it and gives it its name (off the writer's path, on a thread of its own).
#[derive(Debug)]
pub struct Unsynced {
    file: File,
    temporary: PathBuf,
    path: PathBuf,
    dir: PathBuf,
}

impl Unsynced {
    /// Makes the snapshot durable under its name, then removes all but the newest [`KEEP`].
    /// Returns its path.
    pub fn finish(self) -> Result<PathBuf, SnapshotError> {
        let done = self
            .file
            .sync_all()
            .and_then(|()| std::fs::rename(&self.temporary, &self.path))
            .and_then(|()| File::open(&self.dir)?.sync_all());
        if let Err(e) = done {
            let _ = std::fs::remove_file(&self.temporary);
            return Err(io(&self.path, "sync")(e));
        }
        prune(&self.dir, KEEP);
        Ok(self.path)
    }
}

/// Writes a snapshot of `sim` and `model`, both exactly as of `point` of the log with
/// `header`, into `dir` (created if needed), streaming the images to the file; it becomes
/// the snapshot of its name once [`Unsynced::finish`] has synced it.
pub fn write(
    dir: &Path,
    header: &Header,
    point: LogPoint,
    sim: &Simulator,
    model: &ReadModel,
) -> Result<Unsynced, SnapshotError> {
    std::fs::create_dir_all(dir).map_err(io(dir, "create"))?;
    let path = dir.join(file_name(point.records));
    let temporary = dir.join(format!(".{}.tmp", file_name(point.records)));
    let written = write_to(&temporary, header, point, sim, model);
    match written {
        Ok(file) => Ok(Unsynced {
            file,
            temporary,
            path,
            dir: dir.to_owned(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

/// The snapshot's bytes into a new file at `temporary`: a header left blank, the body
/// streamed, then the header with the body's length and checksum.
fn write_to(
    temporary: &Path,
    header: &Header,
    point: LogPoint,
    sim: &Simulator,
    model: &ReadModel,
) -> Result<File, SnapshotError> {
    let mut file = File::create(temporary).map_err(io(temporary, "create"))?;
    file.write_all(&[0u8; HEADER_LEN])
        .map_err(io(temporary, "write"))?;
    // Buffered before the checksum, so that it runs over large pieces.
    let mut out = std::io::BufWriter::with_capacity(
        1 << 20,
        Checksummed {
            inner: file,
            len: 0,
            crc: 0,
        },
    );
    codec::encode_state_to(&sim.image(), &mut out)?;
    codec::encode_state_to(&model.image(), &mut out)?;
    let body = out
        .into_inner()
        .map_err(|e| io(temporary, "write")(e.into_error()))?;
    let head = SnapHeader {
        version: SNAPSHOT_VERSION,
        fingerprint: header.scenario_fingerprint,
        seed: header.seed,
        point,
        body_len: body.len,
        body_crc: body.crc,
    };
    let mut file = body.inner;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))
        .and_then(|_| file.write_all(&head.to_bytes()))
        .map_err(io(temporary, "write"))?;
    Ok(file)
}

/// The snapshot files in `dir`, by the record count in their names, oldest first.
fn list(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let records = name.strip_prefix("snap-")?.strip_suffix(SUFFIX)?;
            Some((records.parse().ok()?, entry.path()))
        })
        .collect();
    found.sort();
    found
}

/// Removes all but the newest `keep` snapshots (a file that cannot be removed is a warning).
pub fn prune(dir: &Path, keep: usize) {
    let found = list(dir);
    let excess = found.len().saturating_sub(keep);
    for (_, path) in &found[..excess] {
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove an old snapshot");
        }
    }
}

/// Removes every snapshot in `dir` (the log they describe was moved aside).
pub fn clear(dir: &Path) {
    prune(dir, 0);
}

/// A state read back from a snapshot, not yet checked against the scenario: the simulator's
/// and the read model's images as of `point`.
#[derive(Debug)]
pub struct Found {
    /// Where in the log the state is.
    pub point: LogPoint,
    /// The snapshot file.
    pub path: PathBuf,
    sim: SimImage,
    model: OwnedModelImage,
}

impl Found {
    /// Puts `sim` and `model` (a new simulator of the scenario, an empty model of the log) in
    /// the snapshot's state; an error says why the state is not theirs, and leaves them as
    /// they were.
    pub fn restore(self, sim: &mut Simulator, model: &mut ReadModel) -> Result<LogPoint, String> {
        let restored = ReadModel::from_image(model.origin(), model.account().clone(), self.model);
        if restored.event_count() != self.point.records {
            return Err("its read model is not at its point".into());
        }
        sim.restore(self.sim, self.point.last_ms)
            .map_err(|e| format!("its simulator is not this scenario's: {e}"))?;
        *model = restored;
        Ok(self.point)
    }
}

/// The newest snapshot in `dir` that belongs to the log at `log` (its header `header`, at
/// most `log_len` bytes long): same scenario and seed, a point within the log whose bytes
/// match the snapshot's checksum, an intact body that decodes. Every snapshot passed over is
/// named in a warning saying why. The log's checksums are computed on a thread of their own
/// while the newest candidate is read and decoded.
pub fn load_newest(dir: &Path, log: &Path, header: &Header, log_len: u64) -> Option<Found> {
    let mut candidates = Vec::new();
    for (_, path) in list(dir).into_iter().rev() {
        match read_header(&path, header, log_len) {
            Ok(head) => candidates.push((path, head)),
            Err(why) => ignore(&path, &why),
        }
    }
    let (newest_path, newest_head) = candidates.first()?;
    let mut lens: Vec<u64> = candidates.iter().map(|(_, h)| h.point.len).collect();
    lens.sort_unstable();
    let (crcs, newest) = std::thread::scope(|scope| {
        let crcs = scope.spawn(|| digests_at(log, &lens));
        let newest = read_body(newest_path, newest_head);
        (crcs.join(), newest)
    });
    let crcs = match crcs {
        Ok(Ok(crcs)) => crcs,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the log to check snapshots");
            return None;
        }
        Err(_) => return None,
    };
    let mut newest = Some(newest);
    for (path, head) in candidates {
        // The first candidate's body was read already.
        let body = newest.take().unwrap_or_else(|| read_body(&path, &head));
        if crcs.get(&head.point.len) != Some(&head.point.crc) {
            ignore(
                &path,
                "the log's bytes up to its point are not the ones it was taken at",
            );
            continue;
        }
        match body {
            Ok((sim, model)) => {
                return Some(Found {
                    point: head.point,
                    path,
                    sim,
                    model,
                });
            }
            Err(why) => ignore(&path, &why),
        }
    }
    None
}

/// The CRC-32C of the log's first `len` bytes for each of `lens` (ascending), in one pass.
fn digests_at(log: &Path, lens: &[u64]) -> Result<BTreeMap<u64, u32>, SnapshotError> {
    let mut digest = Digest::default();
    let mut crcs = BTreeMap::new();
    for &len in lens {
        digest.extend(log, len)?;
        crcs.insert(len, digest.crc);
    }
    Ok(crcs)
}

/// Warns that the snapshot at `path` is not used, and why.
pub fn ignore(path: &Path, why: &str) {
    tracing::warn!(path = %path.display(), "ignoring a snapshot: {why}");
}

/// The header of the snapshot at `path`, if it may belong to the log (`header`, `log_len`).
fn read_header(path: &Path, header: &Header, log_len: u64) -> Result<SnapHeader, String> {
    let mut bytes = [0u8; HEADER_LEN];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read it: {e}"))?;
    let head = SnapHeader::from_bytes(&bytes)?;
    if head.fingerprint != header.scenario_fingerprint || head.seed != header.seed {
        return Err("it was taken of another scenario or seed".into());
    }
    if head.point.len > log_len || head.point.len <= crate::log::HEADER_LEN as u64 {
        return Err(format!(
            "its point (byte {}) is not within the log (bytes {} to {log_len})",
            head.point.len,
            crate::log::HEADER_LEN
        ));
    }
    Ok(head)
}

/// The images in the snapshot at `path` whose header is `head`.
fn read_body(path: &Path, head: &SnapHeader) -> Result<(SimImage, OwnedModelImage), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    if file_len != HEADER_LEN as u64 + head.body_len {
        return Err(format!(
            "it is {file_len} bytes long; its header says {}",
            HEADER_LEN as u64 + head.body_len
        ));
    }
    let mut body = Vec::with_capacity(head.body_len as usize);
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(HEADER_LEN as u64))
        .and_then(|_| file.read_to_end(&mut body))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if crc32c::crc32c(&body) != head.body_crc {
        return Err("its body checksum does not match (the file is damaged)".into());
    }
    codec::decode_state(&body).map_err(|e| format!("its state does not decode: {e}"))
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, ObjectType, RecordRef, Source, TaskId};
    use crate::log::codec;
    use crate::projection::{DescribeQuery, Projection};

    /// A projection's image keeps every kind of path: those stored without their
    /// `http(s)://DOMAIN` and those stored whole. After a round trip each path finds the same
    /// rows, and gives back the same text.
    #[test]
    fn a_projection_image_keeps_every_kind_of_path() {
        let rows = [
            ("a.com", "http://a.com/x"),
            ("a.com", "https://a.com/x"),
            ("a.com", "ftp://a.com/x"),
            ("b.a.com", "http://b.a.com"),
            ("a.com", "http://a.com.example/x"),
            ("a.com", "http://A.com/x"),
            ("a.com", "http://a.com/x"),
        ];
        let mut p = Projection::new();
        for (row, (domain, path)) in rows.iter().enumerate() {
            let created = Event::Created {
                row: row as u64,
                task_id: TaskId(7),
                domain: (*domain).into(),
                object_path: (*path).into(),
                object_type: ObjectType::File,
                source: Source::Api,
            };
            let record = RecordRef {
                seq: row as u64,
                at_ms: 1_000,
                event: created.as_ref(),
            };
            p.apply(&record).expect("applies");
        }
        let mut image = Vec::new();
        codec::encode_state_to(&p, &mut image).expect("encodes");
        let back: Projection = codec::decode_state(&image).expect("decodes");
        for (_, path) in rows {
            let query = DescribeQuery {
                at_ms: 2_000,
                task_id: None,
                object_path: Some(path.to_owned()),
                domain: None,
                object_type: None,
                status: None,
                window_ms: (0, 2_000),
                page_number: 1,
                page_size: 50,
            };
            let (before, after) = (p.describe(&query), back.describe(&query));
            let want = rows.iter().filter(|(_, p)| *p == path).count() as u64;
            assert_eq!(before.total, want, "{path}");
            assert_eq!(after.total, want, "{path}");
            assert!(after.rows.iter().all(|r| r.object_path == path), "{path}");
            assert_eq!(before.rows, after.rows, "{path}");
        }
    }
}
