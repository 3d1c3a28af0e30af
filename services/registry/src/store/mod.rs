//! SQL of the registry, one module per table family. Every statement is parameterized.
//! Models and workflows keep their indexed facts in columns and the rest as a JSON document
//! (the protobuf message the registry validated), so the catalogue can grow fields without a
//! migration per field.

pub mod audit;
pub mod credentials;
pub mod licenses;
pub mod live;
pub mod models;
pub mod providers;
pub mod sync_runs;
pub mod workflows;

use radiant_db::sea_orm::{DbBackend, Statement, Value};

pub(crate) fn statement(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

pub(crate) fn json_value(value: serde_json::Value) -> Value {
    value.into()
}
