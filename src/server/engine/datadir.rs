//! The data directory of a served scenario: one server at a time (a lock file), and `--fresh`
//! moving an earlier log aside.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::EngineError;

/// The log's file name inside a data directory.
pub const LOG_FILE: &str = "events.cdnlog";

/// An open data directory, locked while any clone of this value lives.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The log's path.
    pub log_path: PathBuf,
    /// Held while the directory is served.
    _lock: std::sync::Arc<File>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + use<> {
    let path = path.to_owned();
    move |source| EngineError::Io { path, source }
}

impl DataDir {
    /// Creates `dir` if needed and locks it (waiting up to a second for a server that is just
    /// exiting); with `fresh`, moves an existing log aside to `events.cdnlog.old.N`.
    pub fn open(dir: &Path, fresh: bool) -> Result<DataDir, EngineError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = lock(&dir.join("lock"))?;
        let data_dir = DataDir {
            log_path: dir.join(LOG_FILE),
            _lock: std::sync::Arc::new(lock),
        };
        if fresh {
            data_dir.move_log_aside(usize::MAX)?;
        }
        Ok(data_dir)
    }

    /// Where the log's snapshots go.
    pub fn snapshot_dir(&self) -> PathBuf {
        let dir = self.log_path.parent().unwrap_or(Path::new("."));
        dir.join(crate::drive::snapshot::SNAPSHOT_DIR)
    }

    /// Moves the log (and its checkpoint) aside to `events.cdnlog.old.N`, N one more than the
    /// highest there, never overwriting; then removes the oldest moved-aside logs beyond
    /// `keep`. Nothing to do without a log.
    pub fn move_log_aside(&self, keep: usize) -> Result<(), EngineError> {
        if !self.log_path.exists() {
            return Ok(());
        }
        let dir = self.log_path.parent().unwrap_or(Path::new("."));
        let mut old = self.old_logs(dir)?;
        let next = old.last().map_or(1, |(n, _)| n + 1);
        let aside = dir.join(format!("{LOG_FILE}.old.{next}"));
        std::fs::rename(&self.log_path, &aside).map_err(io(&self.log_path))?;
        let checkpoint = crate::log::checkpoint_path(&self.log_path);
        if checkpoint.exists() {
            let aside = crate::log::checkpoint_path(&aside);
            std::fs::rename(&checkpoint, &aside).map_err(io(&checkpoint))?;
        }
        tracing::warn!(old = %aside.display(), "moved the previous log aside");
        // They describe the log just moved aside.
        crate::drive::snapshot::clear(&self.snapshot_dir());
        old.push((next, aside));
        let excess = old.len().saturating_sub(keep);
        // The log is aside already: a file that cannot be removed is only worth a warning.
        for (_, path) in old.iter().take(excess) {
            for file in [path.clone(), crate::log::checkpoint_path(path)] {
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(path = %file.display(), error = %e, "cannot remove an old log")
                    }
                }
            }
        }
        Ok(())
    }

    /// The logs moved aside so far, oldest (lowest N) first.
    fn old_logs(&self, dir: &Path) -> Result<Vec<(u64, PathBuf)>, EngineError> {
        let prefix = format!("{LOG_FILE}.old.");
        let mut old: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let n = name.strip_prefix(&prefix)?.parse::<u64>().ok()?;
                Some((n, entry.path()))
            })
            .collect();
        old.sort();
        Ok(old)
    }
}

/// Takes the lock file. A server that is just exiting may still hold it for a moment (or a
/// process forked from one, until it execs): try for a second before giving up.
fn lock(path: &Path) -> Result<File, EngineError> {
    let file = File::create(path).map_err(io(path))?;
    let mut attempts = 0;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if attempts < 20 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EngineError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(path)(e)),
        }
    }
}
