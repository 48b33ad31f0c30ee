//! Writes: a checked request is decided against the read model (owned domains, daily quota)
//! under the log's writer, its rows are created by the simulator at the clock, logged and
//! applied.

use super::{Engine, EngineError, Producer};
use crate::api::{ApiError, WriteRequest, decide};
use crate::drive::Sink;
use crate::event::{TaskId, TimeMs};
use crate::locks;
use crate::sim::Submission;

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
        let mut result = self.create(&mut p, submissions, now_ms);
        if self.commit.is_per_write() && result.is_ok() {
            result = self.sync_and_release(&mut p).and(result);
        }
        if result.is_err() {
            p.fail();
            self.stop();
        }
        result.map_err(unavailable)
    }

    fn create(
        &self,
        p: &mut Producer,
        submissions: Vec<Submission>,
        now_ms: TimeMs,
    ) -> Result<(Vec<TaskId>, u64), EngineError> {
        self.produce(p, now_ms)?;
        let Producer {
            sim,
            writer,
            batch,
            pending,
            ..
        } = &mut *p;
        batch.clear();
        let mut task_ids: Vec<TaskId> = Vec::new();
        for submission in submissions {
            // Ids never repeat across domains (the batcher keys them by domain).
            task_ids.extend(sim.submit(submission, batch));
        }
        // One atomic batch, held back from readers until it is durable.
        super::Live {
            engine: self,
            writer,
            pending,
            hold: true,
        }
        .take(batch)?;
        // Whatever the new rows made due already (a zero queue delay) follows them at once,
        // so the log never holds back an event due by the clock — and a restart, which
        // re-runs each write the same way, finds the same order.
        self.produce(p, now_ms)?;
        Ok((task_ids, p.writer.next_seq()))
    }
}

/// The answer to a write the log could not take.
pub(super) fn unavailable(e: EngineError) -> ApiError {
    tracing::error!(error = %e, "a write failed");
    ApiError::unavailable(&e.to_string())
}
