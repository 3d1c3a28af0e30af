//! The brain router's SQL: routing rules and routing history. Every statement runs inside a
//! tenant transaction ([`radiant_db::with_tenant`]), so row level security keeps tenants apart.

pub mod history;
pub mod rules;
