//! Writes: a checked request is decided against the read model (owned domains, daily quota)
//! under the log's writer, its rows are created by the simulator at the clock, logged and
//! applied.

use super::{Engine, EngineError, Producer};
use crate::api::{ApiError, WriteRequest, decide};
use crate::drive::Sink;
use crate::event::{Event, TaskId, TimeMs};
use crate::locks;
use crate::sim::Simulator;

impl Engine {
    /// Makes a write at the clock's time: decides it (the caller checked its parameters), lets
    /// the simulator catch up with the clock (so a restart re-running the log sees the same
    /// order), then logs its rows as one atomic batch. Readers see them only once they are
    /// durable: with [`super::Commit::PerWrite`] before this returns; with
    /// [`super::Commit::Group`] the caller must await [`Engine::durable`] with the returned
    /// seq before answering. A failure cuts the log back to what was durable. Blocking.
    pub fn write(&self, request: &WriteRequest) -> Result<(Vec<TaskId>, u64), ApiError> {
        let Some(mut p) = self.producer() else {
            return Err(ApiError::read_only("this action"));
        };
        if p.failed || self.is_stopped() {
            return Err(unavailable(self.refusal()));
        }
        let now_ms = self.now_ms();
        // The writer is held: neither the model nor the held-back records change between this
        // decision and the append.
        let submissions = decide(
            &locks::read(&self.model),
            &p.pending.events,
            request,
            now_ms,
        )?;
        let logged = self.log_input(&mut p, now_ms, |sim, batch| {
            let mut task_ids: Vec<TaskId> = Vec::new();
            for submission in submissions {
                // Ids never repeat across domains (the batcher keys them by domain).
                task_ids.extend(sim.submit(submission, batch));
            }
            task_ids
        });
        let task_ids = self.settle(&mut p, logged.map(|(ids, _)| ids), true);
        task_ids
            .map(|ids| (ids, p.writer.next_seq()))
            .map_err(unavailable)
    }

    /// Gives the simulator an input at `now_ms` — after everything due by then, so that a
    /// restart re-running the log sees the same order — and logs what `make` emits as one
    /// atomic batch held back from readers until it is durable. Whatever that made due at
    /// once (a zero queue delay) follows it, so the log never holds back an event due by the
    /// clock. Gives `make`'s value and whether anything was logged.
    pub(super) fn log_input<T>(
        &self,
        p: &mut Producer,
        now_ms: TimeMs,
        make: impl FnOnce(&mut Simulator, &mut Vec<(TimeMs, Event)>) -> T,
    ) -> Result<(T, bool), EngineError> {
        self.produce(p, now_ms)?;
        let Producer {
            sim,
            writer,
            batch,
            pending,
            ..
        } = &mut *p;
        batch.clear();
        let made = make(sim, batch);
        let logged = !batch.is_empty();
        if logged {
            super::Live {
                engine: self,
                writer,
                pending,
                hold: true,
            }
            .take(batch)?;
            self.produce(p, now_ms)?;
        }
        Ok((made, logged))
    }

    /// Ends an input: with [`super::Commit::PerWrite`], syncs what it logged now; after any
    /// failure, cuts the log back to what was durable and takes nothing more.
    pub(super) fn settle<T>(
        &self,
        p: &mut Producer,
        mut result: Result<T, EngineError>,
        logged: bool,
    ) -> Result<T, EngineError> {
        if self.commit.is_per_write() && logged && result.is_ok() {
            result = self.sync_and_release(p).and(result);
        }
        if result.is_err() {
            p.fail();
            self.stop();
        }
        result
    }
}

/// The answer to a write the log could not take.
pub(super) fn unavailable(e: EngineError) -> ApiError {
    tracing::error!(error = %e, "a write failed");
    ApiError::unavailable(&e.to_string())
}
