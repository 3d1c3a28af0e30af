//! SQL of the time machine, one module per table family. Every statement is parameterized;
//! tenant tables are reached only inside tenant transactions, where row level security limits
//! them to the caller's tenant.

pub mod chats;
pub mod exports;
pub mod files;
pub mod messages;
pub mod outbox;
pub mod restores;
pub mod search;
pub mod snapshots;
pub mod writes;

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{DbBackend, Statement, Value};

/// `valid_to` of a version that is still current.
pub const CURRENT: i32 = i32::MAX;

pub(crate) fn statement(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn optional_rfc3339(time: Option<DateTime<Utc>>) -> String {
    time.map(rfc3339).unwrap_or_default()
}

/// The current instant at the database's precision (microseconds), so what is hashed before
/// the insert is exactly what is read back afterwards.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A version's `valid_to` as the API shows it: 0 while current.
pub fn api_valid_to(valid_to: i32) -> u32 {
    if valid_to == CURRENT {
        0
    } else {
        valid_to.max(0) as u32
    }
}

pub fn non_negative(value: i64) -> u64 {
    value.max(0) as u64
}
