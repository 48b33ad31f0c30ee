//! The synced checkpoint: a small file beside a version-2 log (`LOG.synced`) saying how far
//! the log is known durable — its length and record count after the last successful fsync.
//!
//! It tells the two kinds of damage at the end of a log apart: bytes past the checkpoint were
//! never synced, so no write they hold was acknowledged, and a restart may cut them as a torn
//! tail; damage before it hits records that were synced — acknowledged — and is never cut
//! silently. The writer rewrites it in place after every fsync (without an fsync of its own: a
//! checkpoint lost in a power failure only lags, which weakens the check, never wrongly
//! refuses) and syncs it at a clean shutdown.
//!
//! ```text
//! checkpoint := "CDNSIMSY" | len u64 LE | records u64 LE | crc u32 LE   (CRC-32C of the rest)
//! ```

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::LogError;

const MAGIC: &[u8; 8] = b"CDNSIMSY";
const LEN: usize = 28;

/// How far a log is known durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// Bytes of the log, header included.
    pub len: u64,
    /// Records in those bytes.
    pub records: u64,
}

/// The checkpoint file of the log at `log`.
pub fn checkpoint_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".synced");
    PathBuf::from(name)
}

impl Synced {
    fn to_bytes(self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[0..8].copy_from_slice(MAGIC);
        out[8..16].copy_from_slice(&self.len.to_le_bytes());
        out[16..24].copy_from_slice(&self.records.to_le_bytes());
        let crc = crc32c::crc32c(&out[0..24]);
        out[24..28].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Synced> {
        let bytes: &[u8; LEN] = bytes.try_into().ok()?;
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let crc = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
        (&bytes[0..8] == MAGIC && crc32c::crc32c(&bytes[0..24]) == crc).then(|| Synced {
            len: word(8),
            records: word(16),
        })
    }
}

/// The checkpoint of the log at `log`: `None` when there is none (a version-1 log, or one
/// from before checkpoints), or when it is damaged (with a warning: it only strengthens
/// checks, so going without it is safe).
pub fn read_synced(log: &Path) -> Result<Option<Synced>, LogError> {
    let path = checkpoint_path(log);
    let mut bytes = Vec::new();
    match File::open(&path) {
        Ok(file) => {
            file.take(LEN as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| LogError::io(&path, "read", e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io(&path, "open", e)),
    }
    let synced = Synced::from_bytes(&bytes);
    if synced.is_none() {
        tracing::warn!(path = %path.display(), "damaged synced checkpoint: ignored");
    }
    Ok(synced)
}

/// An open checkpoint file.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    file: File,
    path: PathBuf,
}

impl Checkpoint {
    /// Opens (creating) the checkpoint of the log at `log`.
    pub(crate) fn open(log: &Path) -> Result<Checkpoint, LogError> {
        let path = checkpoint_path(log);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| LogError::io(&path, "open", e))?;
        Ok(Checkpoint { file, path })
    }

    /// Records `synced`, made durable when `durable`.
    pub(crate) fn write(&self, synced: Synced, durable: bool) -> Result<(), LogError> {
        self.file
            .write_all_at(&synced.to_bytes(), 0)
            .map_err(|e| LogError::io(&self.path, "write", e))?;
        if durable {
            self.file
                .sync_data()
                .map_err(|e| LogError::io(&self.path, "sync", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let s = Synced {
            len: 12_345,
            records: 67,
        };
        assert_eq!(Synced::from_bytes(&s.to_bytes()), Some(s));
        for i in 0..LEN {
            let mut bytes = s.to_bytes();
            bytes[i] ^= 0x10;
            assert_eq!(Synced::from_bytes(&bytes), None, "byte {i}");
        }
        assert_eq!(Synced::from_bytes(&s.to_bytes()[..LEN - 1]), None);
    }
}
