//! Moving the clock: the simulator runs up to the new time, every event due by then is logged
//! and applied, and only then is the time published.

use std::sync::atomic::Ordering;

use super::{Engine, EngineError};
use crate::event::TimeMs;
use crate::time::MAX_MS;

/// A move of the manual clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Forward by this many milliseconds from wherever the clock is when the move runs (two
    /// concurrent moves of 5 minutes move it 10).
    By(TimeMs),
    /// To this time, which must not be earlier than the clock.
    To(TimeMs),
}

impl Engine {
    /// Moves the clock to `to_ms` (never backwards, and never past the end of the timeline,
    /// where a live clock stops): simulates, logs and applies every event up to it first.
    /// Blocking.
    pub fn advance_to(&self, to_ms: TimeMs) -> Result<(), EngineError> {
        self.step_with(|now_ms| Ok(to_ms.min(MAX_MS).max(now_ms)))
    }

    /// Moves the manual clock; the target is worked out once the move has the writer, so
    /// concurrent moves add up. Blocking.
    pub fn step(&self, step: Step) -> Result<(), EngineError> {
        self.step_with(|now_ms| match step {
            Step::By(ms) => now_ms
                .checked_add(ms.max(0))
                .filter(|to_ms| *to_ms <= MAX_MS)
                .ok_or(EngineError::EndOfTime { now_ms }),
            Step::To(to_ms) if to_ms > MAX_MS => Err(EngineError::EndOfTime { now_ms }),
            Step::To(to_ms) if to_ms >= now_ms => Ok(to_ms),
            Step::To(to_ms) => Err(EngineError::Backwards { now_ms, to_ms }),
        })
    }

    fn step_with(
        &self,
        target: impl Fn(TimeMs) -> Result<TimeMs, EngineError>,
    ) -> Result<(), EngineError> {
        let Some(mut p) = self.producer() else {
            return self.step_read_only(target);
        };
        if p.failed {
            return Err(self.refusal());
        }
        let to_ms = target(self.now_ms())?;
        if to_ms <= self.now_ms() {
            return Ok(());
        }
        let mut result = self.produce(&mut p, to_ms);
        // Records held back for a write must be readable before the clock passes them.
        if result.is_ok() && !p.pending.events.is_empty() {
            result = self.sync_and_release(&mut p);
        }
        if result.is_err() {
            p.fail();
            self.stop();
        }
        result?;
        self.now_ms.fetch_max(to_ms, Ordering::AcqRel);
        self.changed.notify_waiters();
        Ok(())
    }

    /// A finished log has no writer to serialise moves: compare-and-swap, so concurrent moves
    /// add up.
    fn step_read_only(
        &self,
        target: impl Fn(TimeMs) -> Result<TimeMs, EngineError>,
    ) -> Result<(), EngineError> {
        let mut failure = None;
        let _ =
            self.now_ms
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now_ms| {
                    match target(now_ms) {
                        Ok(to_ms) => Some(to_ms.max(now_ms)),
                        Err(e) => {
                            failure = Some(e);
                            None
                        }
                    }
                });
        self.changed.notify_waiters();
        failure.map_or(Ok(()), Err)
    }
}
