//! Rules at run time: added and deleted through `/_cdnsim/rules`, and the calls error rules
//! answer. Each is an input the simulator takes at the clock's time and the log records (held
//! back until durable, like a write's rows), so a restart re-makes it.

use std::sync::atomic::Ordering;

use super::{Engine, EngineError, Live, Producer};
use crate::drive::Sink;
use crate::event::{Event, TimeMs};
use crate::scenario::rule::{ACTIONS, BookError, ErrorRule, Rule};
use crate::sim::Simulator;

/// Why a rule could not be added or deleted.
#[derive(Debug, thiserror::Error)]
pub enum RuleChangeError {
    /// The name is taken, or unknown.
    #[error(transparent)]
    Book(#[from] BookError),
    /// A finished log takes no rules.
    #[error("a finished log (--log) is read-only: rules cannot be added or deleted")]
    ReadOnly,
    /// The log could not take the record.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// Adds `rule` at the clock's time; returns when it was added and the seq to await with
    /// [`Engine::durable`] before answering. Blocking.
    pub fn add_rule(&self, rule: Rule) -> Result<(TimeMs, u64), RuleChangeError> {
        let mut added_ms = 0;
        let end_seq = self.input(|sim, out| {
            added_ms = sim.now_ms();
            sim.add_rule(rule, out)
        })?;
        Ok((added_ms, end_seq.unwrap_or(0)))
    }

    /// Deletes the rule named `name`, or every rule; returns the seq to await. Blocking.
    pub fn delete_rules(&self, name: Option<&str>) -> Result<u64, RuleChangeError> {
        let end_seq = self.input(|sim, out| sim.delete_rules(name, out).map(drop))?;
        Ok(end_seq.unwrap_or(0))
    }

    /// True when a live error rule may answer calls of `action` (a cheap check, without the
    /// writer).
    pub fn may_inject(&self, action: &str) -> bool {
        let bits = self.error_actions.load(Ordering::Acquire);
        ACTIONS
            .iter()
            .position(|a| *a == action)
            .is_some_and(|i| bits & (1 << i) != 0)
    }

    /// A call of `action` at the clock's time: the error rule that answers it (`None`: the
    /// call runs as usual), and the seq to await with [`Engine::durable`] when the rules'
    /// draws for it were logged. Blocking.
    pub fn call_rule(&self, action: &str) -> Result<(Option<ErrorRule>, Option<u64>), EngineError> {
        let mut answer = None;
        let end_seq = self.input(|sim, out| {
            answer = sim.call(action, out);
            Ok::<(), BookError>(())
        });
        match end_seq {
            Ok(end_seq) => Ok((answer, end_seq)),
            Err(RuleChangeError::Engine(e)) => Err(e),
            Err(RuleChangeError::ReadOnly | RuleChangeError::Book(_)) => Ok((None, None)),
        }
    }

    /// Gives the simulator an input at the clock's time (after everything due by then, as a
    /// write does) and logs what it emits as one batch held back until durable; gives the seq
    /// to await, if it emitted anything.
    fn input(
        &self,
        make: impl FnOnce(&mut Simulator, &mut Vec<(TimeMs, Event)>) -> Result<(), BookError>,
    ) -> Result<Option<u64>, RuleChangeError> {
        let Some(mut p) = self.producer() else {
            return Err(RuleChangeError::ReadOnly);
        };
        if p.failed || self.is_stopped() {
            return Err(self.refusal().into());
        }
        let now_ms = self.now_ms();
        let mut result = self.produce(&mut p, now_ms);
        let mut made = Ok(());
        let mut logged = false;
        if result.is_ok() {
            let Producer {
                sim,
                writer,
                batch,
                pending,
                ..
            } = &mut *p;
            batch.clear();
            made = make(sim, batch);
            logged = !batch.is_empty();
            if logged {
                result = Live {
                    engine: self,
                    writer,
                    pending,
                    hold: true,
                }
                .take(batch);
            }
            if result.is_ok() {
                self.note_error_actions(sim);
            }
        }
        if self.commit.is_per_write() && logged && result.is_ok() {
            result = self.sync_and_release(&mut p);
        }
        if result.is_err() {
            p.fail();
            self.stop();
        }
        result?;
        made?;
        Ok(logged.then(|| p.writer.next_seq()))
    }

    /// Publishes which actions live error rules answer (for [`Engine::may_inject`]).
    pub(super) fn note_error_actions(&self, sim: &Simulator) {
        let bits = ACTIONS
            .iter()
            .enumerate()
            .filter(|(_, a)| sim.has_error_rule(a))
            .fold(0u32, |bits, (i, _)| bits | (1 << i));
        self.error_actions.store(bits, Ordering::Release);
    }
}
