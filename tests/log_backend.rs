//! The log backend conformance suite (tests/common/conformance.rs) against the file log; the
//! same suite runs against a JetStream stream in tests/nats.rs.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use cdnsim::log::{FileBackend, LogBackend};
use common::conformance::{self, Place};

/// Logs as files in a temporary directory: a log's working file is the log.
struct Files(tempfile::TempDir);

impl Place for Files {
    fn writer(&self, name: &str) -> (Arc<dyn LogBackend>, PathBuf) {
        let path = self.0.path().join(format!("{name}.cdnlog"));
        (Arc::new(FileBackend::new(&path)), path)
    }

    fn out(&self, name: &str) -> PathBuf {
        self.0.path().join(format!("{name}.export.cdnlog"))
    }
}

#[test]
fn the_file_backend_conforms() {
    conformance::run(&Files(tempfile::tempdir().expect("tempdir")));
}
