//! The daily quotas' ledger: rows submitted through the API, per type, over time, so that
//! "used today" can be answered as of any replay time. Rebuilt from the log's `Created`
//! events with source = api; one entry per (type, millisecond) with a running total.

use crate::event::{EventRef, ObjectType, PerType, RecordRef, Source, TimeMs};

const DAY_MS: TimeMs = 86_400_000;

/// Start of the quota day holding `at_ms`, when days start at local midnight of a zone
/// `offset_s` seconds east of UTC.
pub fn day_start_ms(at_ms: TimeMs, offset_s: i32) -> TimeMs {
    let offset_ms = TimeMs::from(offset_s) * 1000;
    (at_ms + offset_ms).div_euclid(DAY_MS) * DAY_MS - offset_ms
}

/// API rows per type: `(time, rows submitted up to and including it)`, time-ordered.
#[derive(Debug, Default, Clone, bincode::Encode, bincode::Decode)]
pub struct Ledger {
    by_type: PerType<Vec<(TimeMs, u64)>>,
}

impl Ledger {
    /// Counts `rows` API rows of `object_type` at `at_ms` (times must not decrease).
    fn add(&mut self, object_type: ObjectType, at_ms: TimeMs, rows: u64) {
        let entries = &mut self.by_type[object_type];
        match entries.last_mut() {
            Some((at, total)) if *at == at_ms => *total += rows,
            last => {
                let total = last.map_or(0, |(_, t)| *t) + rows;
                entries.push((at_ms, total));
            }
        }
    }

    /// Counts a log record if it creates an API row (the only way rows get in).
    pub fn apply(&mut self, record: &RecordRef<'_>) {
        if let EventRef::Created {
            object_type,
            source: Source::Api,
            ..
        } = record.event
        {
            self.add(object_type, record.at_ms, 1);
        }
    }

    /// API rows of `object_type` created in `from_ms..=to_ms`.
    pub fn used(&self, object_type: ObjectType, from_ms: TimeMs, to_ms: TimeMs) -> u64 {
        let entries = &self.by_type[object_type];
        let upto = |t: TimeMs| {
            let n = entries.partition_point(|(at, _)| *at <= t);
            n.checked_sub(1).map_or(0, |i| entries[i].1)
        };
        upto(to_ms).saturating_sub(upto(from_ms - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_local_midnight() {
        // 2026-11-20T15:59:59.999Z is 23:59:59.999 in UTC+8; a millisecond later is a new day.
        let before = 1_795_190_399_999;
        assert_eq!(day_start_ms(before, 8 * 3600), 1_795_104_000_000);
        assert_eq!(day_start_ms(before + 1, 8 * 3600), before + 1);
        assert_eq!(day_start_ms(before + 1, 0), 1_795_132_800_000);
        assert_eq!(day_start_ms(-1, 0), -DAY_MS);
    }

    #[test]
    fn used_counts_a_closed_range() {
        let mut ledger = Ledger::default();
        ledger.add(ObjectType::File, 100, 3);
        ledger.add(ObjectType::File, 100, 2);
        ledger.add(ObjectType::File, 200, 1);
        ledger.add(ObjectType::Preload, 150, 7);
        assert_eq!(ledger.used(ObjectType::File, 0, 99), 0);
        assert_eq!(ledger.used(ObjectType::File, 100, 100), 5);
        assert_eq!(ledger.used(ObjectType::File, 101, 300), 1);
        assert_eq!(ledger.used(ObjectType::File, 0, 300), 6);
        assert_eq!(ledger.used(ObjectType::Preload, 0, 300), 7);
        assert_eq!(ledger.used(ObjectType::Regex, 0, 300), 0);
    }
}
