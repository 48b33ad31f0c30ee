//! Resuming a scenario's log: folding it while re-running the scenario and the recorded API
//! submissions beside it, so that the simulator ends in the state the log was written with
//! (its queue, random streams and TaskId batches) — or the first record that differs is named.

use std::path::{Path, PathBuf};

use super::snapshot::LogPoint;
use super::{DriveError, Sink, append, apply, run_to};
use crate::event::{Event, EventRef, RecordRef, RuleUse, Source, TimeMs};
use crate::log::{IndexEntry, LogWriter, Records};
use crate::model::ReadModel;
use crate::scenario::rule::Rule;
use crate::sim::{BATCH_EVENTS, Simulator, Submission};

/// Why a log cannot be resumed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// Reading, folding or completing the log.
    #[error(transparent)]
    Drive(#[from] DriveError),
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
}

impl From<crate::log::LogError> for ResumeError {
    fn from(e: crate::log::LogError) -> ResumeError {
        ResumeError::Drive(e.into())
    }
}

impl From<crate::projection::ProjectionError> for ResumeError {
    fn from(e: crate::projection::ProjectionError) -> ResumeError {
        ResumeError::Drive(e.into())
    }
}

/// Folds the log at `path` (open for appending in `writer`) into `model` while re-running
/// `sim` beside it: every record must be the event the simulator produces. A submission is
/// re-made row by row at its time (rows draw from the API's stream one after another, so
/// splitting a submission changes nothing), after every event due by then — as the server does
/// before each write — and never with an advance between the rows of one write. Events the
/// simulator still has at the log's last time (a crash in the middle of a batch) are appended.
pub fn resume(
    path: &Path,
    sim: &mut Simulator,
    model: &mut ReadModel,
    writer: &mut LogWriter,
) -> Result<(), ResumeError> {
    resume_from(path, None, sim, model, writer)
}

/// [`resume`] from a point of the log (`from`, a snapshot's) at which `sim` and `model` are
/// already: only the records after it are re-run, compared and folded.
pub fn resume_from(
    path: &Path,
    from: Option<LogPoint>,
    sim: &mut Simulator,
    model: &mut ReadModel,
    writer: &mut LogWriter,
) -> Result<(), ResumeError> {
    let Some(last_ms) = writer.last_ms() else {
        return Ok(());
    };
    let mut records = Records::open_at(
        path,
        from.map(|point| IndexEntry {
            seq: point.records,
            at_ms: point.last_ms,
            offset: point.len,
        }),
    )?;
    let mut replay = Replay {
        path,
        sim,
        expected: Vec::new(),
        next: 0,
        after_api_row: false,
    };
    while let Some(record) = records.next_ref() {
        let record = record?;
        replay.check(&record)?;
        model.apply(&record)?;
    }
    // The rest of the last time's events, if the log stopped among them.
    let Replay {
        sim,
        mut expected,
        next,
        ..
    } = replay;
    let mut rest: Vec<(TimeMs, Event)> = expected.split_off(next);
    let mut sink = Owned { writer, model };
    if !rest.is_empty() {
        sink.take(&mut rest)?;
    }
    let mut batch = Vec::new();
    run_to(sim, &mut batch, last_ms, &mut sink)?;
    sink.writer.sync()?;
    Ok(())
}

/// Appends to the log and folds into a model the caller owns (no lock: nothing reads it yet).
struct Owned<'a> {
    writer: &'a mut LogWriter,
    model: &'a mut ReadModel,
}

impl Sink for Owned<'_> {
    type Error = DriveError;

    fn take(&mut self, events: &mut Vec<(TimeMs, Event)>) -> Result<(), DriveError> {
        tracing::warn!(events = events.len(), "completing the log's last instant");
        let first_seq = append(self.writer, events)?;
        apply(self.model, first_seq, events)?;
        Ok(())
    }
}

/// The simulator re-run beside the log, and the events it produced that the log has not yet
/// been compared with.
struct Replay<'a> {
    path: &'a Path,
    sim: &'a mut Simulator,
    expected: Vec<(TimeMs, Event)>,
    /// The first event of `expected` not yet compared.
    next: usize,
    /// The previous record created an API row: the simulator does not advance before the next
    /// row of the same write (the server did not either).
    after_api_row: bool,
}

impl Replay<'_> {
    fn diverged(&self, seq: u64, detail: String) -> ResumeError {
        ResumeError::Diverged {
            path: self.path.to_owned(),
            seq,
            detail,
        }
    }

    /// Checks that `record` is the next event the simulator produces. The server's inputs —
    /// an API row, a rule added or deleted through the endpoint, a call an error rule
    /// answered — are made again first, at their time.
    fn check(&mut self, record: &RecordRef<'_>) -> Result<(), ResumeError> {
        let api_row = self.remake(record)?;
        let Some((at_ms, event)) = self.expected.get(self.next) else {
            let detail = "the log has events the scenario does not".into();
            return Err(self.diverged(record.seq, detail));
        };
        if *at_ms != record.at_ms || event.as_ref() != record.event {
            let detail = format!(
                "log: {:?} at {}; scenario: {:?} at {}",
                record.event, record.at_ms, event, at_ms
            );
            return Err(self.diverged(record.seq, detail));
        }
        self.next += 1;
        self.after_api_row = api_row;
        Ok(())
    }

    /// Makes the simulator produce what `record` should be: the input it records, or the
    /// events due by its time. True when the record belongs to an API write's rows.
    fn remake(&mut self, record: &RecordRef<'_>) -> Result<bool, ResumeError> {
        Ok(match record.event {
            EventRef::Created {
                source: Source::Api,
                domain,
                object_path,
                object_type,
                ..
            } => {
                let submission = Submission {
                    domain: self.api_domain(record.seq, domain)?,
                    object_type,
                    paths: vec![object_path.to_owned()],
                };
                self.input(record, |sim, out| {
                    sim.submit(submission, out);
                    Ok(())
                })?;
                true
            }
            // Made with the API row before it: compared as it is.
            EventRef::RuleUsed {
                by: RuleUse::Row(_),
                ..
            } => true,
            EventRef::RuleAdded {
                rule,
                source: Source::Api,
            } => {
                let rule = Rule::from_json(rule).map_err(|e| self.diverged(record.seq, e))?;
                self.input(record, |sim, out| {
                    sim.add_rule(rule, out).map_err(|e| e.to_string())
                })?;
                false
            }
            EventRef::RuleDeleted { name } => {
                self.input(record, |sim, out| {
                    sim.delete_rules(Some(name), out)
                        .map(drop)
                        .map_err(|e| e.to_string())
                })?;
                false
            }
            EventRef::RuleUsed {
                name,
                by: by @ (RuleUse::Call(_) | RuleUse::Passed(_)),
            } => {
                self.input(record, |sim, out| {
                    sim.replay_call(name, by, out).map_err(|e| e.to_string())
                })?;
                false
            }
            _ => {
                if self.next == self.expected.len() {
                    self.expected.clear();
                    self.next = 0;
                    while !self
                        .sim
                        .advance_to(record.at_ms, &mut self.expected, BATCH_EVENTS)
                        && self.expected.is_empty()
                    {}
                }
                false
            }
        })
    }

    fn api_domain(&self, seq: u64, domain: &str) -> Result<usize, ResumeError> {
        self.sim.scenario().domain_index(domain).ok_or_else(|| {
            let detail = format!("an API row for {domain}, which the scenario does not have");
            self.diverged(seq, detail)
        })
    }

    /// Re-makes the input `record` records with `make`: first everything due by its time
    /// (unless it follows a row of the same write), which must be nothing the log does not
    /// have.
    fn input(
        &mut self,
        record: &RecordRef<'_>,
        make: impl FnOnce(&mut Simulator, &mut Vec<(TimeMs, Event)>) -> Result<(), String>,
    ) -> Result<(), ResumeError> {
        let early = "the scenario has events due before this input (an API row or a rule's record)";
        if self.next < self.expected.len() {
            return Err(self.diverged(record.seq, early.into()));
        }
        self.expected.clear();
        self.next = 0;
        // The rows of one write are made at one instant with no advance between them; any
        // later record, or one at a later time, comes after everything due by its time.
        if !(self.after_api_row && record.at_ms == self.sim.now_ms()) {
            while !self
                .sim
                .advance_to(record.at_ms, &mut self.expected, BATCH_EVENTS)
            {}
            if !self.expected.is_empty() {
                return Err(self.diverged(record.seq, early.into()));
            }
        }
        make(self.sim, &mut self.expected).map_err(|e| self.diverged(record.seq, e))
    }
}
