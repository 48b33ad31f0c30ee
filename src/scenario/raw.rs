//! The scenario file exactly as TOML spells it. Every table denies unknown keys; values that
//! can be checked alone check themselves ([`super::values`]); fields that take part in checks
//! across fields keep their [`Spanned`] position for the error message.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::values::{Instant, Millis, NonNegative, Probability, ReasonName, TypeName};
use crate::event::ObjectType;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub seed: u64,
    pub start: Instant,
    pub duration: Spanned<Millis>,
    pub task_id_start: Option<u64>,
    #[serde(default, rename = "domain")]
    pub domains: Vec<RawDomain>,
    #[serde(default, rename = "workload")]
    pub workloads: Vec<RawWorkload>,
    #[serde(default)]
    pub lifecycle: Option<RawLifecycle>,
    pub failures: Option<Spanned<RawFailures>>,
    #[serde(default, rename = "incident")]
    pub incidents: Vec<RawIncident>,
    #[serde(default, rename = "script")]
    pub scripts: Vec<RawScript>,
    pub limits: Option<RawLimits>,
    pub quotas: Option<RawQuotas>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Spanned<super::rule::RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDomain {
    pub name: Spanned<String>,
    pub weight: Option<Spanned<NonNegative>>,
    pub scheme: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub name: Spanned<String>,
    pub arrival: Option<Spanned<String>>,
    pub rate_per_hour: NonNegative,
    pub domains: Option<Vec<Spanned<String>>>,
    pub mix: Option<Spanned<BTreeMap<String, NonNegative>>>,
    pub urls_per_submission: Option<Spanned<RawCount>>,
    pub paths: Option<RawPaths>,
    pub start: Option<Spanned<Instant>>,
    pub end: Option<Spanned<Instant>>,
}

/// `5` or `{ min = 1, max = 20 }`.
#[derive(Debug)]
pub(super) struct RawCount {
    pub min: u32,
    pub max: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    min: u32,
    max: u32,
}

impl<'de> Deserialize<'de> for RawCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number or a table { min = .., max = .. }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawCount, E> {
                let n = u32::try_from(v)
                    .map_err(|_| E::custom(format!("must be a whole number >= 0, got {v}")))?;
                Ok(RawCount { min: n, max: n })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawCount, E> {
                let n = u32::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))?;
                Ok(RawCount { min: n, max: n })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCount, A::Error> {
                let r = RawRange::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawCount {
                    min: r.min,
                    max: r.max,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPaths {
    pub count: Option<Spanned<u32>>,
    pub zipf_exponent: Option<NonNegative>,
    pub prefix: Option<Spanned<String>>,
}

/// `"5m"`, `{ min = "5m", max = "6m" }` or `{ median = "10m", p95 = "25m" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDist {
    pub min: Option<Millis>,
    pub max: Option<Millis>,
    pub median: Option<Millis>,
    pub p95: Option<Millis>,
}

#[derive(Debug)]
pub(super) enum RawDistOrFixed {
    Fixed(Millis),
    Dist(RawDist),
}

impl<'de> Deserialize<'de> for RawDistOrFixed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDistOrFixed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration (\"5m\") or a table { min, max } or { median, p95 } of durations",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDistOrFixed, E> {
                Millis::deserialize(de::value::StrDeserializer::<E>::new(v))
                    .map(RawDistOrFixed::Fixed)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDistOrFixed, A::Error> {
                RawDist::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawDistOrFixed::Dist)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLifecycle {
    pub queue_delay: Option<Spanned<RawDistOrFixed>>,
    pub progress_steps: Option<Spanned<u32>>,
    pub processing: Option<RawProcessing>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProcessing {
    pub file: Option<Spanned<RawDistOrFixed>>,
    pub directory: Option<Spanned<RawDistOrFixed>>,
    pub regex: Option<Spanned<RawDistOrFixed>>,
    #[serde(rename = "IgnoreParams")]
    pub ignore_params: Option<Spanned<RawDistOrFixed>>,
    pub preload: Option<Spanned<RawDistOrFixed>>,
}

impl RawProcessing {
    /// The entry of one object type (its key is the type's name).
    pub fn get(&self, object_type: ObjectType) -> Option<&Spanned<RawDistOrFixed>> {
        match object_type {
            ObjectType::File => self.file.as_ref(),
            ObjectType::Directory => self.directory.as_ref(),
            ObjectType::Regex => self.regex.as_ref(),
            ObjectType::IgnoreParams => self.ignore_params.as_ref(),
            ObjectType::Preload => self.preload.as_ref(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFailures {
    pub internal_error: Option<Probability>,
    pub origin_timeout: Option<Probability>,
    pub origin_5xx: Option<Probability>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIncident {
    pub domain: Spanned<String>,
    pub start: Instant,
    pub end: Spanned<Instant>,
    pub failure_rate: Probability,
    pub reason: Option<ReasonName>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScript {
    pub at: Spanned<Instant>,
    pub domain: Spanned<String>,
    #[serde(rename = "type")]
    pub object_type: Option<TypeName>,
    pub paths: Spanned<Vec<Spanned<String>>>,
    pub outcome: Option<Spanned<String>>,
    pub reason: Option<Spanned<ReasonName>>,
    pub queue_delay: Option<Millis>,
    pub processing: Option<Millis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub page_size_max: Option<Spanned<u32>>,
    pub page_number_max: Option<Spanned<u32>>,
    pub history: Option<Spanned<Millis>>,
    pub refresh_urls_per_request: Option<Spanned<u32>>,
    pub refresh_dirs_per_request: Option<Spanned<u32>>,
    pub refresh_regex_per_request: Option<Spanned<u32>>,
    pub preload_urls_per_request: Option<Spanned<u32>>,
    pub domains_per_request: Option<Spanned<u32>>,
    pub rows_per_refresh_task: Option<Spanned<u32>>,
    pub rows_per_preload_task: Option<Spanned<u32>>,
    pub task_ids_per_query: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuotas {
    pub url: Option<u32>,
    pub dir: Option<u32>,
    pub regex: Option<u32>,
    #[serde(rename = "IgnoreParams")]
    pub ignore_params: Option<u32>,
    pub preload: Option<u32>,
    pub preload_edge: Option<u32>,
    pub block: Option<u32>,
    pub reset_utc_offset: Option<Spanned<String>>,
}
