//! The data directory of a served scenario: one server at a time (a lock file), and `--fresh`
//! moving an earlier log aside.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::EngineError;

/// The log's file name inside a data directory.
pub const LOG_FILE: &str = "events.cdnlog";

/// An open data directory, locked for the life of this value.
#[derive(Debug)]
pub struct DataDir {
    /// The log's path.
    pub log_path: PathBuf,
    /// Held while the directory is served.
    _lock: File,
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
        let log_path = dir.join(LOG_FILE);
        if fresh && log_path.exists() {
            let aside = (1..)
                .map(|n| dir.join(format!("{LOG_FILE}.old.{n}")))
                .find(|p| !p.exists())
                .unwrap_or_else(|| dir.join(format!("{LOG_FILE}.old")));
            std::fs::rename(&log_path, &aside).map_err(io(&log_path))?;
            let checkpoint = crate::log::checkpoint_path(&log_path);
            if checkpoint.exists() {
                let aside = crate::log::checkpoint_path(&aside);
                std::fs::rename(&checkpoint, &aside).map_err(io(&checkpoint))?;
            }
            tracing::warn!(old = %aside.display(), "--fresh: moved the previous log aside");
        }
        Ok(DataDir {
            log_path,
            _lock: lock,
        })
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
