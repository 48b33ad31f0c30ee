//! Rules at run time: added and deleted through `/_cdnsim/rules`, and the calls error rules
//! answer. Each is an input the simulator takes at the clock's time and the log records (held
//! back until durable, like a write's rows), so a restart re-makes it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Engine, EngineError};
use crate::api::ApiError;
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
    /// The record was appended but its fsync failed.
    #[error(transparent)]
    Unsynced(ApiError),
}

impl Engine {
    /// Adds `rule` at the clock's time (on a blocking thread); returns, once its record is
    /// durable, the time it was added.
    pub async fn add_rule(self: &Arc<Self>, rule: Rule) -> Result<TimeMs, RuleChangeError> {
        self.durable_input(move |sim, out| {
            let added_ms = sim.now_ms();
            sim.add_rule(rule, out).map(|()| added_ms)
        })
        .await
    }

    /// Deletes the rule named `name`, or every rule (on a blocking thread); returns once the
    /// records are durable.
    pub async fn delete_rules(
        self: &Arc<Self>,
        name: Option<String>,
    ) -> Result<(), RuleChangeError> {
        self.durable_input(move |sim, out| sim.delete_rules(name.as_deref(), out).map(drop))
            .await
    }

    /// [`Engine::input`] on a blocking thread, then [`Engine::durable`] for what it logged.
    async fn durable_input<T: Send + 'static>(
        self: &Arc<Self>,
        make: impl FnOnce(&mut Simulator, &mut Vec<(TimeMs, Event)>) -> Result<T, BookError>
        + Send
        + 'static,
    ) -> Result<T, RuleChangeError> {
        let blocking = Arc::clone(self);
        let (made, end_seq) = tokio::task::spawn_blocking(move || blocking.input(make))
            .await
            .map_err(|e| EngineError::Join(e.to_string()))??;
        if let Some(end_seq) = end_seq {
            self.durable(end_seq)
                .await
                .map_err(RuleChangeError::Unsynced)?;
        }
        Ok(made)
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
        let called = self.input(|sim, out| Ok::<_, BookError>(sim.call(action, out)));
        match called {
            Ok(called) => Ok(called),
            Err(RuleChangeError::Engine(e)) => Err(e),
            // Neither happens to a call (it is never read-only here, never fsynced here).
            Err(
                RuleChangeError::ReadOnly | RuleChangeError::Book(_) | RuleChangeError::Unsynced(_),
            ) => Ok((None, None)),
        }
    }

    /// A rule input at the clock's time ([`Engine::log_input`]); gives what `make` gave and
    /// the seq to await, if it logged anything. The error-rule bits are published once the
    /// records are appended. Blocking.
    fn input<T>(
        &self,
        make: impl FnOnce(&mut Simulator, &mut Vec<(TimeMs, Event)>) -> Result<T, BookError>,
    ) -> Result<(T, Option<u64>), RuleChangeError> {
        let Some(mut p) = self.producer() else {
            return Err(RuleChangeError::ReadOnly);
        };
        if p.failed || self.is_stopped() {
            return Err(self.refusal().into());
        }
        let now_ms = self.now_ms();
        let result = self.log_input(&mut p, now_ms, make);
        let logged = result.as_ref().is_ok_and(|(_, logged)| *logged);
        if result.is_ok() {
            self.note_error_actions(&p.sim);
        }
        let made = self.settle(&mut p, result, logged)?.0?;
        Ok((made, logged.then(|| p.writer.next_seq())))
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
