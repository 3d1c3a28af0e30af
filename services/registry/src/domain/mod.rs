//! The registry's rules, without I/O: vocabularies and validation ([`vocabulary`],
//! [`validation`]), model selection ([`selection`]), health aggregation ([`health`]), thermal
//! transitions ([`thermal`]), catalogue diffs for syncs ([`catalogue_diff`]) and workflow DAGs
//! ([`workflow`]).

pub mod catalogue_diff;
pub mod health;
pub mod selection;
pub mod thermal;
pub mod validation;
pub mod vocabulary;
pub mod workflow;

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 with milliseconds, the registry's one time format on the wire.
pub fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn rfc3339_optional(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map(rfc3339).unwrap_or_default()
}
