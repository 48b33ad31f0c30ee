//! The rules in force as of any time, folded from the log's rule records.

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use crate::event::{Event, EventRef, RecordRef, RuleUse, Source, TimeMs};
use crate::scenario::rule::{Rule, RuleBook};

/// One rule record, checked. A use names its rule by an index into `RuleHistory::names`: a
/// rule with a probability records every call it draws for, so uses are most of the records.
#[derive(Debug, Clone)]
enum Change {
    Added(Rule),
    Used(u32, RuleUse),
    Deleted(String),
}

/// Every rule record of the log, in order, and the book they fold into.
#[derive(Debug, Default)]
pub struct RuleHistory {
    changes: Vec<(TimeMs, Change)>,
    now: RuleBook,
    /// The names uses refer to, each once.
    names: Vec<String>,
}

impl RuleHistory {
    /// Folds a record if it is a rule's; an error says why the record does not fit (a rule
    /// that does not read, a name taken or unknown, a use of the wrong kind).
    pub fn apply(&mut self, record: &RecordRef<'_>) -> Result<(), String> {
        let change = match record.event {
            EventRef::RuleAdded { rule, source: _ } => {
                let rule = Rule::from_json(rule).map_err(|e| format!("a logged rule: {e}"))?;
                self.now
                    .add(rule.clone(), record.at_ms)
                    .map_err(|e| e.to_string())?;
                Change::Added(rule)
            }
            EventRef::RuleUsed { name, by } => {
                self.now.note_use(name, by).map_err(|e| e.to_string())?;
                let index = match self.names.iter().rposition(|n| n == name) {
                    Some(i) => i,
                    None => {
                        self.names.push(name.to_owned());
                        self.names.len() - 1
                    }
                };
                Change::Used(index as u32, by)
            }
            EventRef::RuleDeleted { name } => {
                self.now.delete(name).map_err(|e| e.to_string())?;
                Change::Deleted(name.to_owned())
            }
            _ => return Ok(()),
        };
        self.changes.push((record.at_ms, change));
        Ok(())
    }

    /// The rules in force as of `at_ms` (every record at or before it folded).
    pub fn as_of(&self, at_ms: TimeMs) -> RuleBook {
        let upto = self.changes.partition_point(|(t, _)| *t <= at_ms);
        if upto == self.changes.len() {
            return self.now.clone();
        }
        let mut book = RuleBook::default();
        for (t, change) in &self.changes[..upto] {
            // Every change folded once already, in this order: none fails now.
            let _ = match change {
                Change::Added(rule) => book.add(rule.clone(), *t),
                Change::Used(i, by) => book.note_use(&self.names[*i as usize], *by),
                Change::Deleted(name) => book.delete(name),
            };
        }
        book
    }

    /// Rule records folded.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// True before any rule record.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A snapshot holds the rule records themselves (a rule as its canonical JSON, as the log
/// does); reading it back folds them again, so the book is checked as it was the first time.
impl Encode for RuleHistory {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        (self.changes.len() as u64).encode(e)?;
        for (at_ms, change) in &self.changes {
            let event = match change {
                Change::Added(rule) => Event::RuleAdded {
                    rule: rule.to_json_string(),
                    // Not kept: the history does not tell the two apart.
                    source: Source::Api,
                },
                Change::Used(i, by) => Event::RuleUsed {
                    name: self.names[*i as usize].clone(),
                    by: *by,
                },
                Change::Deleted(name) => Event::RuleDeleted { name: name.clone() },
            };
            (*at_ms, event).encode(e)?;
        }
        Ok(())
    }
}

impl<Context> Decode<Context> for RuleHistory {
    fn decode<D: Decoder<Context = Context>>(d: &mut D) -> Result<RuleHistory, DecodeError> {
        let records: Vec<(TimeMs, Event)> = Decode::decode(d)?;
        let mut history = RuleHistory::default();
        for (seq, (at_ms, event)) in records.iter().enumerate() {
            let record = RecordRef {
                seq: seq as u64,
                at_ms: *at_ms,
                event: event.as_ref(),
            };
            if !event.as_ref().is_task_event() {
                history.apply(&record).map_err(DecodeError::OtherString)?;
            }
        }
        Ok(history)
    }
}

bincode::impl_borrow_decode!(RuleHistory);
