//! The write actions' shared parts: the checked [`WriteRequest`] of RefreshObjectCaches and
//! PushObjectCache, and [`decide`], the pure decision of what a write submits.
//!
//! Checks run in this order, the first failure answering: ObjectType, the booleans and the
//! other options, ObjectPath present, each path's form, the number of paths and of domains per
//! request (all from the parameters alone), then each domain owned (404
//! `InvalidDomain.NotFound`) and the daily quota (from the read model, in [`decide`]).

use super::error::{ApiError, ErrorKind};
use super::params::Params;
use crate::event::{Event, ObjectType, Source, TimeMs};
use crate::model::{ReadModel, day_start_ms};
use crate::objpath;
use crate::scenario::Limits;
use crate::sim::Submission;

/// Longest PushObjectCache URL, in characters.
pub const PRELOAD_PATH_CHARS_MAX: usize = 1_024;

/// A checked submission: one object type, paths grouped by domain in order of first
/// appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    /// Type of every row.
    pub object_type: ObjectType,
    /// (domain, full paths), domains in order of first appearance.
    pub by_domain: Vec<(String, Vec<String>)>,
}

impl WriteRequest {
    /// Rows the request creates.
    pub fn rows(&self) -> usize {
        self.by_domain.iter().map(|(_, p)| p.len()).sum()
    }

    /// RefreshObjectCaches: `ObjectPath`, `ObjectType` (File by default, Directory, Regex,
    /// IgnoreParams — any case; `ExQuery` is IgnoreParams), `Force`.
    pub fn refresh(params: &Params, limits: &Limits) -> Result<WriteRequest, ApiError> {
        let object_type = match params.get("ObjectType") {
            None => ObjectType::File,
            Some(t) if t.eq_ignore_ascii_case("File") => ObjectType::File,
            Some(t) if t.eq_ignore_ascii_case("Directory") => ObjectType::Directory,
            Some(t) if t.eq_ignore_ascii_case("Regex") => ObjectType::Regex,
            Some(t)
                if t.eq_ignore_ascii_case("IgnoreParams") || t.eq_ignore_ascii_case("ExQuery") =>
            {
                ObjectType::IgnoreParams
            }
            Some(_) => return Err(ApiError::from(ErrorKind::InvalidObjectTypeMalformed)),
        };
        boolean(params, "Force")?;
        WriteRequest::paths(params, limits, object_type)
    }

    /// PushObjectCache: `ObjectPath`, `Area` (domestic or overseas), `L2Preload`,
    /// `WithHeader` (a JSON object), `QueryHashkey`, `ConsistencyHash`. The options are
    /// checked and otherwise have no effect on the simulation.
    pub fn preload(params: &Params, limits: &Limits) -> Result<WriteRequest, ApiError> {
        if let Some(area) = params.get("Area")
            && !["domestic", "overseas"].contains(&area)
        {
            return Err(ApiError::from(ErrorKind::InvalidAreaValueNotSupported));
        }
        for name in ["L2Preload", "QueryHashkey", "ConsistencyHash"] {
            boolean(params, name)?;
        }
        if let Some(header) = params.get("WithHeader")
            && !serde_json::from_str::<serde_json::Value>(header).is_ok_and(|v| v.is_object())
        {
            return Err(ApiError::from(ErrorKind::InvalidCustomHeader));
        }
        WriteRequest::paths(params, limits, ObjectType::Preload)
    }

    fn paths(
        params: &Params,
        limits: &Limits,
        object_type: ObjectType,
    ) -> Result<WriteRequest, ApiError> {
        let raw = params
            .get("ObjectPath")
            .ok_or_else(|| ApiError::missing("MissingParameter", "ObjectPath"))?;
        let lines: Vec<&str> = raw
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .collect();
        if lines.is_empty() {
            return Err(ApiError::missing("MissingParameter", "ObjectPath"));
        }
        let mut checked = Vec::with_capacity(lines.len());
        for line in &lines {
            // A preload URL has at most 1,024 characters, as submitted.
            if object_type.is_preload() && line.trim().chars().count() > PRELOAD_PATH_CHARS_MAX {
                return Err(ApiError::preload_path_too_long(
                    line,
                    PRELOAD_PATH_CHARS_MAX,
                ));
            }
            let path = objpath::normalize(line).map_err(|e| ApiError::path_malformed(line, &e))?;
            if object_type == ObjectType::Directory && !path.path.ends_with('/') {
                return Err(ApiError::directory_without_slash(line));
            }
            checked.push(path);
        }
        let per_request = limits.per_request(object_type) as usize;
        if checked.len() > per_request {
            return Err(ApiError::over_limit(per_request, object_type));
        }
        let mut by_domain: Vec<(String, Vec<String>)> = Vec::new();
        for path in checked {
            match by_domain.iter_mut().find(|(d, _)| *d == path.domain) {
                Some((_, paths)) => paths.push(path.path),
                None => by_domain.push((path.domain, vec![path.path])),
            }
        }
        if by_domain.len() > limits.domains_per_request as usize {
            return Err(ApiError::too_many_domains(limits.domains_per_request));
        }
        Ok(WriteRequest {
            object_type,
            by_domain,
        })
    }
}

/// A boolean parameter: `true`/`false` in any case, or absent.
fn boolean(params: &Params, name: &'static str) -> Result<Option<bool>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_boolean(name)),
    }
}

/// What a write submits, decided against the state as of `now_ms`: one [`Submission`] per
/// domain, in request order — or the error the write answers (a domain the account does not
/// own, or a daily quota the rows would exceed). `held_back` are records already logged but not
/// yet in the model (earlier writes waiting for their fsync): their API rows count against the
/// quota too. Pure: the caller holds the log's writer, so neither can change between this
/// decision and the append.
pub fn decide(
    model: &ReadModel,
    held_back: &[(TimeMs, Event)],
    request: &WriteRequest,
    now_ms: TimeMs,
) -> Result<Vec<Submission>, ApiError> {
    let account = model.account();
    let mut submissions = Vec::with_capacity(request.by_domain.len());
    for (domain, paths) in &request.by_domain {
        let index = account
            .domain_index(domain)
            .ok_or_else(|| ApiError::domain_not_found(domain))?;
        submissions.push(Submission {
            domain: index,
            object_type: request.object_type,
            paths: paths.clone(),
        });
    }
    let object_type = request.object_type;
    let day_ms = day_start_ms(now_ms, account.quotas.reset_utc_offset_s);
    let in_flight = held_back
        .iter()
        .filter(|(at_ms, event)| {
            (day_ms..=now_ms).contains(at_ms)
                && matches!(
                    event,
                    Event::Created { object_type: t, source: Source::Api, .. } if *t == object_type
                )
        })
        .count() as u64;
    let used = model.quota_used(object_type, now_ms) + in_flight;
    if used + request.rows() as u64 > u64::from(account.quotas.daily(object_type)) {
        return Err(ApiError::quota_exceeded(object_type.is_preload()));
    }
    Ok(submissions)
}

/// Given the records a log holds, when a write is asked for, then these submissions or this
/// error.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, RecordRef, Source, TaskId};
    use crate::model::{Account, Origin};
    use crate::scenario::Quotas;

    /// 2026-11-20T12:00:00 in UTC+8, where the quota day starts.
    const NOON: TimeMs = 1_795_147_200_000;
    /// The quota day's first millisecond (local midnight).
    const MIDNIGHT: TimeMs = 1_795_104_000_000;

    fn account() -> Account {
        Account {
            domains: vec!["a.com".into(), "b.com".into()],
            quotas: Quotas {
                url: 3,
                preload: 2,
                ..Quotas::default()
            },
            limits: Limits::default(),
        }
    }

    /// Given these rows (time, domain, type, source) in the log.
    fn given(rows: &[(TimeMs, &str, ObjectType, Source)]) -> ReadModel {
        let origin = Origin {
            fingerprint: [0; 32],
            seed: 0,
        };
        let mut model = ReadModel::new(origin, account());
        for (i, &(at_ms, domain, object_type, source)) in rows.iter().enumerate() {
            let event = Event::Created {
                row: i as u64,
                task_id: TaskId(100 + i as u64),
                domain: domain.to_owned(),
                object_path: format!("http://{domain}/{i}"),
                object_type,
                source,
            };
            let record = RecordRef {
                seq: i as u64,
                at_ms,
                event: event.as_ref(),
            };
            model.apply(&record).expect("a valid row");
        }
        model
    }

    /// When this write (paths, newline-separated, of one type) is asked for at `now_ms`.
    fn when(
        model: &ReadModel,
        object_type: ObjectType,
        paths: &[&str],
        now_ms: TimeMs,
    ) -> Result<Vec<Submission>, ApiError> {
        let joined = paths.join("\n");
        let limits = &model.account().limits;
        let request = if object_type.is_preload() {
            WriteRequest::preload(
                &[("ObjectPath", joined.as_str())].into_iter().collect(),
                limits,
            )
        } else {
            let params = [
                ("ObjectPath", joined.as_str()),
                ("ObjectType", object_type.as_str()),
            ];
            WriteRequest::refresh(&params.into_iter().collect(), limits)
        };
        decide(model, &[], &request.expect("valid parameters"), now_ms)
    }

    fn api(
        at_ms: TimeMs,
        domain: &str,
        object_type: ObjectType,
    ) -> (TimeMs, &str, ObjectType, Source) {
        (at_ms, domain, object_type, Source::Api)
    }

    #[test]
    fn a_write_submits_one_submission_per_domain_in_request_order() {
        let model = given(&[]);
        let then = when(
            &model,
            ObjectType::File,
            &["http://b.com/1", "a.com/2", "http://b.com/3"],
            NOON,
        );
        let submission = |domain, paths: &[&str]| Submission {
            domain,
            object_type: ObjectType::File,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        };
        assert_eq!(
            then,
            Ok(vec![
                submission(1, &["http://b.com/1", "http://b.com/3"]),
                submission(0, &["http://a.com/2"]),
            ])
        );
    }

    #[test]
    fn the_daily_quota_counts_todays_api_rows_of_the_same_type() {
        let model = given(&[
            api(MIDNIGHT - 1, "a.com", ObjectType::File), // yesterday
            api(MIDNIGHT, "a.com", ObjectType::File),
            api(NOON - 1, "b.com", ObjectType::File),
            api(NOON - 1, "a.com", ObjectType::Directory), // another quota
            (NOON - 1, "a.com", ObjectType::File, Source::Scenario), // not the account's call
        ]);
        // Two of three used today: one more fits, two do not.
        assert!(when(&model, ObjectType::File, &["a.com/x"], NOON).is_ok());
        let over = when(&model, ObjectType::File, &["a.com/x", "a.com/y"], NOON);
        assert_eq!(over.map_err(|e| e.code()), Err("QuotaExceeded.Refresh"));
        // As of midnight only one of today's rows existed: two more fitted then.
        assert!(when(&model, ObjectType::File, &["a.com/x", "a.com/y"], MIDNIGHT).is_ok());
        assert!(when(&model, ObjectType::File, &["a.com/x", "a.com/y"], NOON - 1).is_err());
    }

    #[test]
    fn the_quota_resets_at_local_midnight() {
        let model = given(&[
            api(MIDNIGHT - 3, "a.com", ObjectType::File),
            api(MIDNIGHT - 2, "a.com", ObjectType::File),
            api(MIDNIGHT - 1, "a.com", ObjectType::File),
        ]);
        let three = ["a.com/x", "a.com/y", "a.com/z"];
        assert!(when(&model, ObjectType::File, &three, MIDNIGHT - 1).is_err());
        assert!(when(&model, ObjectType::File, &three, MIDNIGHT).is_ok());
    }

    #[test]
    fn preloads_draw_on_their_own_quota() {
        let model = given(&[
            api(NOON - 5, "a.com", ObjectType::File),
            api(NOON - 4, "a.com", ObjectType::File),
            api(NOON - 3, "a.com", ObjectType::File),
            api(NOON - 2, "a.com", ObjectType::Preload),
        ]);
        assert!(when(&model, ObjectType::Preload, &["http://a.com/p"], NOON).is_ok());
        let over = when(
            &model,
            ObjectType::Preload,
            &["http://a.com/p", "http://a.com/q"],
            NOON,
        );
        assert_eq!(over.map_err(|e| e.code()), Err("QuotaExceeded.Preload"));
    }

    #[test]
    fn rows_held_back_for_their_fsync_count_against_the_quota() {
        let model = given(&[api(NOON - 3, "a.com", ObjectType::File)]);
        let held = |at_ms: TimeMs, object_type, source| {
            let event = Event::Created {
                row: 9,
                task_id: crate::event::TaskId(9),
                domain: "a.com".into(),
                object_path: "http://a.com/held".into(),
                object_type,
                source,
            };
            (at_ms, event)
        };
        let request = WriteRequest {
            object_type: ObjectType::File,
            by_domain: vec![("a.com".into(), vec!["http://a.com/x".into()])],
        };
        // One in the model, one held back: a third fits, a fourth does not.
        let one = [held(NOON - 1, ObjectType::File, Source::Api)];
        assert!(decide(&model, &one, &request, NOON).is_ok());
        let two = [
            held(NOON - 2, ObjectType::File, Source::Api),
            held(NOON - 1, ObjectType::File, Source::Api),
        ];
        let over = decide(&model, &two, &request, NOON);
        assert_eq!(over.map_err(|e| e.code()), Err("QuotaExceeded.Refresh"));
        // Held-back rows of another type, of the scenario or of yesterday do not count.
        let others = [
            held(NOON - 2, ObjectType::Directory, Source::Api),
            held(NOON - 1, ObjectType::File, Source::Scenario),
            held(MIDNIGHT - 1, ObjectType::File, Source::Api),
        ];
        assert!(decide(&model, &others, &request, NOON).is_ok());
    }

    #[test]
    fn a_domain_the_account_does_not_own_answers_before_the_quota() {
        let model = given(&[
            api(NOON - 3, "a.com", ObjectType::File),
            api(NOON - 2, "a.com", ObjectType::File),
            api(NOON - 1, "a.com", ObjectType::File),
        ]);
        let then = when(&model, ObjectType::File, &["a.com/1", "c.com/1"], NOON)
            .map_err(|e| (e.status(), e.code(), e.message));
        assert_eq!(
            then,
            Err((
                404,
                "InvalidDomain.NotFound",
                "The domain [c.com] does not belong to you.".into()
            ))
        );
    }
}
