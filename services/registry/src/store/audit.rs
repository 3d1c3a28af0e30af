//! `audit_log`: who changed what, with the state before and after.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr};
use radiant_proto::registry::AuditEntry;
use uuid::Uuid;

use super::statement;
use crate::domain::rfc3339;

pub struct NewAuditEntry<'a> {
    pub actor: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub action: &'a str,
    pub summary: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: &'a str,
}

pub async fn record(
    connection: &impl ConnectionTrait,
    entry: NewAuditEntry<'_>,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO audit_log (audit_id, actor, entity_type, entity_id, action, summary, before_state, after_state, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                Uuid::now_v7().into(),
                entry.actor.into(),
                entry.entity_type.into(),
                entry.entity_id.into(),
                entry.action.into(),
                entry.summary.into(),
                entry.before.into(),
                entry.after.into(),
                entry.request_id.into(),
            ],
        ))
        .await?;
    Ok(())
}

pub async fn list(
    connection: &impl ConnectionTrait,
    entity_type: &str,
    entity_id: &str,
    limit: u32,
) -> Result<Vec<AuditEntry>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT audit_id, actor, entity_type, entity_id, action, summary, before_state, after_state, request_id, at \
             FROM audit_log WHERE ($1 = '' OR entity_type = $1) AND ($2 = '' OR entity_id = $2) ORDER BY at DESC, audit_id DESC LIMIT $3",
            [entity_type.into(), entity_id.into(), i64::from(limit).into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let state = |name: &str| -> Result<String, DbErr> {
                Ok(row
                    .try_get::<Option<serde_json::Value>>("", name)?
                    .map(|value| value.to_string())
                    .unwrap_or_default())
            };
            Ok(AuditEntry {
                audit_id: row.try_get::<Uuid>("", "audit_id")?.to_string(),
                actor: row.try_get("", "actor")?,
                entity_type: row.try_get("", "entity_type")?,
                entity_id: row.try_get("", "entity_id")?,
                action: row.try_get("", "action")?,
                summary: row.try_get("", "summary")?,
                before_json: state("before_state")?,
                after_json: state("after_state")?,
                at: rfc3339(row.try_get::<DateTime<Utc>>("", "at")?),
                request_id: row.try_get("", "request_id")?,
            })
        })
        .collect()
}
