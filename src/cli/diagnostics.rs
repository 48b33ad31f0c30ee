//! Diagnostics on stderr: the `tracing` subscriber of the `cdnsim` binary.
//!
//! Warnings and errors are written at once. Lines below them — `serve`'s one line per request,
//! and `RUST_LOG=debug` output — are gathered and written in batches: at most
//! [`FLUSH_EVERY`] after they were logged, or as soon as [`BATCH_BYTES`] are waiting. A write
//! per request line was about a tenth of the server's CPU per request under load; one write
//! per batch is a small fraction of that. Order is kept: a warning first writes the lines
//! gathered before it. Lines still waiting are written when the [`Flush`] guard is dropped (at
//! the end of `main`); a process killed outright loses at most [`FLUSH_EVERY`] of them.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Warnings, and one line per request from `serve`, unless `RUST_LOG` says otherwise.
pub const DEFAULT_FILTER: &str = "warn,cdnsim::server::http=info";

/// The longest a gathered line waits before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Gathered bytes that are written at once, without waiting for [`FLUSH_EVERY`].
pub const BATCH_BYTES: usize = 32 * 1024;

/// Sets up the global subscriber (filter from `RUST_LOG`, else [`DEFAULT_FILTER`]; colour only
/// at a terminal without `NO_COLOR`). Keep the returned guard until the program ends.
pub fn init() -> Flush {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
    let colour =
        io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let stderr = Stderr::new(Box::new(io::stderr()), FLUSH_EVERY);
    let guard = stderr.flush_guard();
    let _ = INSTALLED.set(Arc::clone(&stderr.shared));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(stderr)
        .with_ansi(colour)
        .with_target(false)
        .compact()
        .try_init();
    if let Err(e) = installed {
        // Another subscriber was set first (a program embedding the library): keep it.
        tracing::warn!(error = %e, "diagnostics left to the subscriber already installed");
    }
    guard
}

/// The writer [`init`] installed, for [`flush`].
static INSTALLED: OnceLock<Arc<Mutex<Shared>>> = OnceLock::new();

/// Writes the lines gathered so far, before something is written to stderr outside tracing
/// (`eprintln!` of a command's final error), so that the order stays that of events.
pub fn flush() {
    if let Some(shared) = INSTALLED.get() {
        crate::locks::lock(shared).write_out();
    }
}

/// The gathered bytes and where they go.
struct Shared {
    pending: Vec<u8>,
    sink: Box<dyn Write + Send>,
}

impl Shared {
    /// Writes the gathered bytes and empties the buffer. A failed write drops them: there is
    /// no better place to report that stderr is gone.
    fn write_out(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.sink.write_all(&self.pending);
            let _ = self.sink.flush();
            self.pending.clear();
        }
    }
}

/// Writes the lines still gathered when dropped.
#[must_use = "gathered lines are written when the guard is dropped"]
pub struct Flush(Arc<Mutex<Shared>>);

impl Drop for Flush {
    fn drop(&mut self) {
        crate::locks::lock(&self.0).write_out();
    }
}

/// The subscriber's writer: a sink (stderr), batched below warnings.
#[derive(Clone)]
pub struct Stderr {
    shared: Arc<Mutex<Shared>>,
    /// False when the flushing thread could not be started: then every line is written at once.
    batched: bool,
}

impl Stderr {
    /// A writer to `sink` whose gathered lines a background thread writes every `every`.
    pub fn new(sink: Box<dyn Write + Send>, every: Duration) -> Stderr {
        let shared = Arc::new(Mutex::new(Shared {
            pending: Vec::with_capacity(BATCH_BYTES),
            sink,
        }));
        let weak = Arc::downgrade(&shared);
        let started = std::thread::Builder::new()
            .name("stderr-flush".into())
            .spawn(move || flush_loop(&weak, every));
        Stderr {
            shared,
            batched: started.is_ok(),
        }
    }

    /// A guard that writes what is still gathered when it is dropped.
    pub fn flush_guard(&self) -> Flush {
        Flush(Arc::clone(&self.shared))
    }
}

/// Writes the gathered lines every `every`, until the writer is gone.
fn flush_loop(shared: &Weak<Mutex<Shared>>, every: Duration) {
    loop {
        std::thread::sleep(every);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        crate::locks::lock(&shared).write_out();
    }
}

/// One event's writer: gathered, or straight to the sink after what was gathered.
pub struct Line<'a> {
    stderr: &'a Stderr,
    gather: bool,
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            stderr: self,
            gather: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line<'a> {
        // `tracing` orders levels by verbosity: WARN and ERROR are the ones at or below WARN.
        Line {
            stderr: self,
            gather: self.batched && *meta.level() > Level::WARN,
        }
    }
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut shared = crate::locks::lock(&self.stderr.shared);
        if self.gather {
            shared.pending.extend_from_slice(bytes);
            if shared.pending.len() >= BATCH_BYTES {
                shared.write_out();
            }
            Ok(bytes.len())
        } else {
            shared.write_out();
            let written = shared.sink.write(bytes)?;
            shared.sink.flush()?;
            Ok(written)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<u8>>>);

    impl Write for Seen {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            crate::locks::lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seen {
        fn text(&self) -> String {
            String::from_utf8_lossy(&crate::locks::lock(&self.0)).into_owned()
        }
    }

    /// A writer whose thread never flushes within a test (no test waits on the clock).
    fn writer() -> (Stderr, Seen) {
        let seen = Seen::default();
        let stderr = Stderr::new(Box::new(seen.clone()), Duration::from_secs(3600));
        assert!(stderr.batched, "the flushing thread started");
        (stderr, seen)
    }

    fn subscriber(stderr: Stderr) -> impl tracing::Subscriber {
        tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .with_writer(stderr)
            .with_ansi(false)
            .finish()
    }

    #[test]
    fn info_lines_wait_and_a_warning_writes_them_first_in_order() {
        let (stderr, seen) = writer();
        tracing::subscriber::with_default(subscriber(stderr), || {
            tracing::info!("first request");
            tracing::debug!("some detail");
            assert_eq!(seen.text(), "", "info and debug lines are gathered");
            tracing::warn!("a warning");
            let text = seen.text();
            let first = text.find("first request").expect("gathered line written");
            let detail = text.find("some detail").expect("gathered line written");
            let warning = text.find("a warning").expect("warning written at once");
            assert!(first < detail && detail < warning, "{text}");
        });
    }

    #[test]
    fn flush_writes_the_installed_writers_lines_before_a_plain_eprintln() {
        let (stderr, seen) = writer();
        // The only test that installs a writer: `init` is never called in unit tests.
        assert!(INSTALLED.set(Arc::clone(&stderr.shared)).is_ok());
        tracing::subscriber::with_default(subscriber(stderr), || {
            tracing::info!("a request line");
        });
        assert_eq!(seen.text(), "");
        flush();
        assert!(seen.text().contains("a request line"), "{}", seen.text());
    }

    #[test]
    fn the_guard_writes_what_is_left_and_a_full_batch_goes_at_once() {
        let (stderr, seen) = writer();
        let guard = stderr.flush_guard();
        tracing::subscriber::with_default(subscriber(stderr), || {
            tracing::info!("only line");
        });
        assert_eq!(seen.text(), "");
        drop(guard);
        assert!(seen.text().contains("only line"), "{}", seen.text());

        let (stderr, seen) = writer();
        tracing::subscriber::with_default(subscriber(stderr), || {
            let long = "x".repeat(1000);
            let mut lines = 0;
            while seen.text().is_empty() {
                tracing::info!("{long}");
                lines += 1;
                assert!(lines <= BATCH_BYTES / 1000 + 1, "no batch written");
            }
            assert!(lines >= BATCH_BYTES / 1100, "written after {lines} lines");
        });
    }
}
