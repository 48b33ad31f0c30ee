//! The read model: everything a reading action needs, folded from the log by one
//! [`ReadModel::apply`].
//!
//! It holds the temporal [`Projection`] (task rows as of any time), the quota [`Ledger`] (API
//! rows per type over time), the [`Account`] the API answers for (its domains, quotas and
//! limits) and what names the state for RequestIds. Every path that folds records — loading a
//! log, resuming a scenario, live appends, `cdnsim query` — goes through `apply`, so they
//! cannot disagree. A request reads one `&ReadModel` for its RequestId and its body.

mod ledger;
mod rules;

pub use ledger::{Ledger, day_start_ms};
pub use rules::RuleHistory;

use crate::event::{ObjectType, PerType, RecordRef, TimeMs};
use crate::projection::{Projection, ProjectionError};
use crate::scenario::{Limits, Quotas, Scenario};

/// The account the API answers for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// The domains it owns, in scenario order (a write's domain index is a position here).
    /// Empty when serving a finished log: nothing can be written there.
    pub domains: Vec<String>,
    /// Daily quotas.
    pub quotas: Quotas,
    /// API limits.
    pub limits: Limits,
}

impl Account {
    /// The account a scenario describes.
    pub fn of(scenario: &Scenario) -> Account {
        Account {
            domains: scenario.domains.iter().map(|d| d.name.clone()).collect(),
            quotas: scenario.quotas.clone(),
            limits: scenario.limits.clone(),
        }
    }

    /// The index of a domain the account owns.
    pub fn domain_index(&self, name: &str) -> Option<usize> {
        self.domains.iter().position(|d| d == name)
    }
}

/// What names a log: its scenario fingerprint and seed (from the log's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// SHA-256 of the scenario without its seed.
    pub fingerprint: [u8; 32],
    /// The seed.
    pub seed: u64,
}

/// Quota and remaining count of each type as of a time, for DescribeRefreshQuota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaView {
    /// (quota, remaining) per type.
    pub by_type: PerType<(u32, u32)>,
    /// PreloadEdge quota (reported, never used).
    pub preload_edge: u32,
    /// Block quota (reported, never used).
    pub block: u32,
}

/// A read model's state as a snapshot writes it (see [`ReadModel::image`]).
#[derive(Debug, bincode::Encode)]
pub struct ModelImage<'a> {
    projection: &'a Projection,
    ledger: &'a Ledger,
    rules: &'a RuleHistory,
}

/// [`ModelImage`] read back: the same fields, owned.
#[derive(Debug, bincode::Decode)]
pub struct OwnedModelImage {
    projection: Projection,
    ledger: Ledger,
    rules: RuleHistory,
}

/// The read model. See the module docs.
#[derive(Debug)]
pub struct ReadModel {
    projection: Projection,
    ledger: Ledger,
    account: Account,
    origin: Origin,
    rules: RuleHistory,
}

impl ReadModel {
    /// An empty model of a log named `origin`, answering for `account`.
    pub fn new(origin: Origin, account: Account) -> ReadModel {
        ReadModel {
            projection: Projection::new(),
            ledger: Ledger::default(),
            account,
            origin,
            rules: RuleHistory::default(),
        }
    }

    /// Folds the next record of the log.
    pub fn apply(&mut self, record: &RecordRef<'_>) -> Result<(), ProjectionError> {
        if !record.event.is_task_event() {
            self.rules
                .apply(record)
                .map_err(|detail| ProjectionError::BadRecord {
                    seq: record.seq,
                    detail,
                })?;
        }
        self.projection.apply(record)?;
        self.ledger.apply(record);
        Ok(())
    }

    /// Gives back spare capacity (after a bulk load).
    pub fn shrink_to_fit(&mut self) {
        self.projection.shrink_to_fit();
    }

    /// The task rows.
    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    /// The projection alone, for those that need nothing else (benches).
    pub fn into_projection(self) -> Projection {
        self.projection
    }

    /// What a snapshot keeps of this model: everything folded from the log (the account and
    /// the origin come from the scenario and the log's header).
    pub fn image(&self) -> ModelImage<'_> {
        ModelImage {
            projection: &self.projection,
            ledger: &self.ledger,
            rules: &self.rules,
        }
    }

    /// A model of `origin` answering for `account`, in the state an image read back holds.
    pub fn from_image(origin: Origin, account: Account, image: OwnedModelImage) -> ReadModel {
        ReadModel {
            projection: image.projection,
            ledger: image.ledger,
            account,
            origin,
            rules: image.rules,
        }
    }

    /// The rules as the log recorded them.
    pub fn rules(&self) -> &RuleHistory {
        &self.rules
    }

    /// The account.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// What names this exact state, for RequestIds: the log's fingerprint and seed, and how
    /// many events have been applied.
    pub fn state_id(&self) -> Vec<u8> {
        let mut id = self.origin.fingerprint.to_vec();
        id.extend(self.origin.seed.to_le_bytes());
        id.extend(self.projection.event_count().to_le_bytes());
        id
    }

    /// Events applied so far.
    pub fn event_count(&self) -> u64 {
        self.projection.event_count()
    }

    /// The log this model folds: its scenario fingerprint and seed.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Time of the last event applied.
    pub fn last_ms(&self) -> Option<TimeMs> {
        self.projection.last_ms()
    }

    /// API rows of `object_type` counted against the quota day holding `at_ms`, up to it.
    pub fn quota_used(&self, object_type: ObjectType, at_ms: TimeMs) -> u64 {
        let day_ms = day_start_ms(at_ms, self.account.quotas.reset_utc_offset_s);
        self.ledger.used(object_type, day_ms, at_ms)
    }

    /// Quotas and what is left of them as of `at_ms`.
    pub fn quota_view(&self, at_ms: TimeMs) -> QuotaView {
        let quotas = &self.account.quotas;
        let by_type = PerType::from_fn(|t| {
            let quota = quotas.daily(t);
            let used = self.quota_used(t, at_ms);
            (quota, u64::from(quota).saturating_sub(used) as u32)
        });
        QuotaView {
            by_type,
            preload_edge: quotas.preload_edge,
            block: quotas.block,
        }
    }
}
