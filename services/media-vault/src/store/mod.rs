//! SQL of the vault, one module per table family. Every statement is parameterized; tenant
//! tables are reached only inside `radiant_db::with_tenant` transactions, where row level
//! security limits them to the caller's tenant.

pub mod blobs;
pub mod files;
pub mod idempotency;
pub mod purge_jobs;
pub mod sessions;
pub mod variants;

use radiant_db::sea_orm::{DbBackend, Statement, Value};

pub(crate) fn statement(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub(crate) fn timestamp(time: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}
