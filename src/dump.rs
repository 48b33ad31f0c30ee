//! The JSON-lines view of events that `dump` prints and `/_cdnsim/events` serves.
//!
//! `{"seq":0,"at":"2018-01-10T09:48:29.123Z","type":"Created","row":0,"task_id":"704225667",
//! "domain":"aaa.com","object_path":"http://aaa.com/1.txt","object_type":"file","source":"scenario"}`;
//! `Progressed` adds `"process":"42%"`, `Failed` adds `"reason":"Origin timeout"`. A rule's
//! records: `{"seq":..,"at":..,"type":"RuleAdded","rule":{...},"source":"api"}` (the rule as
//! stored), `{..,"type":"RuleUsed","row":12,"name":"origin-down"}` (a lifecycle rule decided
//! row 12) or `{..,"type":"RuleUsed","name":"throttle","call":0}` (an error rule answered the
//! first call it drew for; `"passed":true` when a rule with a probability drew and let the
//! call through), `{..,"type":"RuleDeleted","name":"throttle"}`.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::event::{Event, Record, RuleUse};
use crate::time::format_ms;

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    at: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<RuleText<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passed: Option<bool>,
}

/// A logged rule: its JSON as an object, or (were it not JSON) as a string.
#[derive(Serialize)]
#[serde(untagged)]
enum RuleText<'a> {
    Json(Box<RawValue>),
    Text(&'a str),
}

/// One record as a JSON line (without the newline).
pub fn json_line(record: &Record) -> String {
    let mut line = Line {
        seq: record.seq,
        at: format_ms(record.at_ms),
        kind: record.event.kind(),
        row: record.event.row(),
        task_id: None,
        domain: None,
        object_path: None,
        object_type: None,
        source: None,
        process: None,
        reason: None,
        rule: None,
        name: None,
        call: None,
        passed: None,
    };
    match &record.event {
        Event::Created {
            task_id,
            domain,
            object_path,
            object_type,
            source,
            ..
        } => {
            line.task_id = Some(task_id.to_string());
            line.domain = Some(domain);
            line.object_path = Some(object_path);
            line.object_type = Some(object_type.as_str());
            line.source = Some(source.as_str());
        }
        Event::Progressed { process, .. } => line.process = Some(process.to_string()),
        Event::Completed { .. } => {}
        Event::Failed { reason, .. } => line.reason = Some(reason.as_str()),
        Event::RuleAdded { rule, source } => {
            line.rule = Some(match RawValue::from_string(rule.clone()) {
                Ok(json) => RuleText::Json(json),
                Err(_) => RuleText::Text(rule),
            });
            line.source = Some(source.as_str());
        }
        Event::RuleUsed { name, by } => {
            line.name = Some(name);
            match by {
                RuleUse::Row(_) => {}
                RuleUse::Call(call) => line.call = Some(*call),
                RuleUse::Passed(call) => {
                    line.call = Some(*call);
                    line.passed = Some(true);
                }
            }
        }
        Event::RuleDeleted { name } => line.name = Some(name),
    }
    // Serialising a struct of strings and integers cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ObjectType, Source, TaskId};

    #[test]
    fn matches_the_spec_example() {
        let record = Record {
            seq: 0,
            at_ms: 1_515_577_709_123,
            event: Event::Created {
                row: 0,
                task_id: TaskId(704_225_667),
                domain: "aaa.com".into(),
                object_path: "http://aaa.com/1.txt".into(),
                object_type: ObjectType::File,
                source: Source::Scenario,
            },
        };
        assert_eq!(
            json_line(&record),
            r#"{"seq":0,"at":"2018-01-10T09:48:29.123Z","type":"Created","row":0,"task_id":"704225667","domain":"aaa.com","object_path":"http://aaa.com/1.txt","object_type":"file","source":"scenario"}"#
        );
    }
}
