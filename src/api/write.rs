//! The write actions' parameters and bodies: RefreshObjectCaches, PushObjectCache and
//! DescribeRefreshQuota (`ALIBABA-CDN-API.md` §4–§6, §8).
//!
//! Checks run in this order, the first failure answering: ObjectType, the booleans and the
//! other options, ObjectPath present, each path's form, the number of paths and of domains per
//! request, each domain owned (404 `InvalidDomain.NotFound`). The daily quota is the caller's
//! (it needs the ledger), after all of these.

use super::error::ApiError;
use super::params::Params;
use super::render::{Format, json_strings, xml_document};
use crate::event::{ObjectType, TaskId};
use crate::objpath;

/// Longest PushObjectCache URL, in characters.
pub const PRELOAD_PATH_CHARS_MAX: usize = 1_024;
use crate::scenario::{Limits, Quotas};

/// A checked submission: one object type, paths grouped by domain in order of first
/// appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    /// Type of every row.
    pub object_type: ObjectType,
    /// (domain index in the scenario, full paths), in request order.
    pub by_domain: Vec<(usize, Vec<String>)>,
}

impl WriteRequest {
    /// Rows the request creates.
    pub fn rows(&self) -> usize {
        self.by_domain.iter().map(|(_, p)| p.len()).sum()
    }

    /// RefreshObjectCaches: `ObjectPath`, `ObjectType` (File by default, Directory, Regex,
    /// IgnoreParams — any case; `ExQuery` is IgnoreParams), `Force`. `owned` gives the
    /// scenario's index of a domain the account owns.
    pub fn refresh(
        params: &Params,
        limits: &Limits,
        owned: impl Fn(&str) -> Option<usize>,
    ) -> Result<WriteRequest, ApiError> {
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
            Some(_) => return Err(ApiError::write_object_type()),
        };
        boolean(params, "Force")?;
        WriteRequest::paths(params, limits, object_type, owned)
    }

    /// PushObjectCache: `ObjectPath`, `Area` (domestic or overseas), `L2Preload`,
    /// `WithHeader` (a JSON object), `QueryHashkey`, `ConsistencyHash`. The options are
    /// checked and otherwise have no effect on the simulation.
    pub fn preload(
        params: &Params,
        limits: &Limits,
        owned: impl Fn(&str) -> Option<usize>,
    ) -> Result<WriteRequest, ApiError> {
        if let Some(area) = params.get("Area")
            && !["domestic", "overseas"].contains(&area)
        {
            return Err(ApiError::area_not_supported());
        }
        for name in ["L2Preload", "QueryHashkey", "ConsistencyHash"] {
            boolean(params, name)?;
        }
        if let Some(header) = params.get("WithHeader")
            && !serde_json::from_str::<serde_json::Value>(header).is_ok_and(|v| v.is_object())
        {
            return Err(ApiError::custom_header());
        }
        WriteRequest::paths(params, limits, ObjectType::Preload, owned)
    }

    fn paths(
        params: &Params,
        limits: &Limits,
        object_type: ObjectType,
        owned: impl Fn(&str) -> Option<usize>,
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
        let by_domain = by_domain
            .into_iter()
            .map(|(domain, paths)| {
                owned(&domain)
                    .map(|i| (i, paths))
                    .ok_or_else(|| ApiError::domain_not_found(&domain))
            })
            .collect::<Result<Vec<_>, _>>()?;
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

/// Which daily quota a type draws on.
pub fn quota_of(quotas: &Quotas, object_type: ObjectType) -> u32 {
    match object_type {
        ObjectType::File => quotas.url,
        ObjectType::Directory => quotas.dir,
        ObjectType::Regex => quotas.regex,
        ObjectType::IgnoreParams => quotas.ignore_params,
        ObjectType::Preload => quotas.preload,
    }
}

/// The RefreshObjectCaches (`RefreshTaskId`) or PushObjectCache (`PushTaskId`) body: the
/// distinct TaskIds, comma-joined.
pub fn submitted(format: Format, request_id: &str, preload: bool, task_ids: &[TaskId]) -> String {
    let ids: Vec<String> = task_ids.iter().map(TaskId::to_string).collect();
    let ids = ids.join(",");
    let (root, field) = if preload {
        ("PushObjectCacheResponse", "PushTaskId")
    } else {
        ("RefreshObjectCachesResponse", "RefreshTaskId")
    };
    match format {
        Format::Json => json_strings(&[(field, &ids), ("RequestId", request_id)]),
        Format::Xml => xml_document(
            root,
            &format!("<{field}>{ids}</{field}><RequestId>{request_id}</RequestId>"),
        ),
    }
}

/// Quota and remaining count of each type, for DescribeRefreshQuota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaView {
    /// (quota, remaining) for File, Directory, Regex, IgnoreParams, Preload in
    /// [`ObjectType::ALL`] order.
    pub by_type: [(u32, u32); 5],
    /// PreloadEdge quota (reported, never used).
    pub preload_edge: u32,
    /// Block quota (reported, never used).
    pub block: u32,
}

/// The DescribeRefreshQuota body: every value a string, in the documented demo's order.
pub fn quota(format: Format, request_id: &str, view: &QuotaView) -> String {
    let of = |t: ObjectType| view.by_type[t as usize];
    let pairs: [(&str, (u32, u32)); 7] = [
        ("Url", of(ObjectType::File)),
        ("Dir", of(ObjectType::Directory)),
        ("Preload", of(ObjectType::Preload)),
        ("Regex", of(ObjectType::Regex)),
        ("Block", (view.block, view.block)),
        ("IgnoreParams", of(ObjectType::IgnoreParams)),
        ("PreloadEdge", (view.preload_edge, view.preload_edge)),
    ];
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, (quota, remain)) in pairs {
        fields.push((format!("{name}Quota"), quota.to_string()));
        fields.push((format!("{name}Remain"), remain.to_string()));
    }
    match format {
        Format::Json => {
            let mut all: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            all.push(("RequestId", request_id));
            json_strings(&all)
        }
        Format::Xml => {
            let mut body = String::new();
            for (k, v) in fields {
                body.push_str(&format!("<{k}>{v}</{k}>"));
            }
            body.push_str(&format!("<RequestId>{request_id}</RequestId>"));
            xml_document("DescribeRefreshQuotaResponse", &body)
        }
    }
}
