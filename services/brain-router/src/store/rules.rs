//! Routing rules: a tenant's own and the global ones (`tenant_id IS NULL`), soft-deleted.

use radiant_db::sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, QueryResult, Statement, Value,
};
use radiant_proto::brain::{RoutingRule, RuleConditions};
use uuid::Uuid;

const COLUMNS: &str = "id, tenant_id, name, priority, conditions, target_model, fallback_models, \
     active, created_by, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_at, \
     to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS updated_at";

fn rule_of(row: &QueryResult) -> Result<RoutingRule, DbErr> {
    let conditions: serde_json::Value = row.try_get("", "conditions")?;
    let conditions: RuleConditions = serde_json::from_value(conditions).unwrap_or_default();
    let tenant_id: Option<Uuid> = row.try_get("", "tenant_id")?;
    let id: Uuid = row.try_get("", "id")?;
    Ok(RoutingRule {
        rule_id: id.to_string(),
        global: tenant_id.is_none(),
        name: row.try_get("", "name")?,
        priority: row.try_get("", "priority")?,
        conditions: Some(conditions),
        target_model: row.try_get("", "target_model")?,
        fallback_models: row.try_get("", "fallback_models")?,
        active: row.try_get("", "active")?,
        created_by: row.try_get("", "created_by")?,
        created_at: row.try_get("", "created_at")?,
        updated_at: row.try_get("", "updated_at")?,
    })
}

/// The rules a tenant sees: its own and the global ones, not deleted.
pub async fn visible(transaction: &DatabaseTransaction) -> Result<Vec<RoutingRule>, DbErr> {
    let rows = transaction
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT {COLUMNS} FROM routing_rules WHERE deleted_at IS NULL ORDER BY priority, id"
            ),
        ))
        .await?;
    rows.iter().map(rule_of).collect()
}

/// Inserts the rule, or updates it when its id exists (and is visible, so of this tenant or
/// global): `None` when the id belongs to nobody visible.
pub async fn upsert(
    transaction: &DatabaseTransaction,
    tenant_id: Option<Uuid>,
    rule_id: Uuid,
    rule: &RoutingRule,
    actor: &str,
) -> Result<Option<RoutingRule>, DbErr> {
    let conditions = serde_json::to_value(rule.conditions.clone().unwrap_or_default())
        .unwrap_or_else(|_| serde_json::json!({}));
    let values: Vec<Value> = vec![
        rule_id.into(),
        tenant_id.into(),
        rule.name.clone().into(),
        rule.priority.into(),
        conditions.into(),
        rule.target_model.clone().into(),
        rule.fallback_models.clone().into(),
        rule.active.into(),
        actor.to_string().into(),
    ];
    let row = transaction
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "INSERT INTO routing_rules (id, tenant_id, name, priority, conditions, target_model, fallback_models, active, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, priority = EXCLUDED.priority, \
                 conditions = EXCLUDED.conditions, target_model = EXCLUDED.target_model, \
                 fallback_models = EXCLUDED.fallback_models, active = EXCLUDED.active, updated_at = now() \
                 WHERE routing_rules.deleted_at IS NULL \
                   AND routing_rules.tenant_id IS NOT DISTINCT FROM EXCLUDED.tenant_id \
                 RETURNING {COLUMNS}"
            ),
            values,
        ))
        .await?;
    row.as_ref().map(rule_of).transpose()
}

/// Deactivates and marks the rule deleted; `false` when no visible rule has the id.
pub async fn delete(
    transaction: &DatabaseTransaction,
    rule_id: Uuid,
    global: bool,
) -> Result<bool, DbErr> {
    let result = transaction
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE routing_rules SET active = false, deleted_at = now(), updated_at = now() \
             WHERE id = $1 AND deleted_at IS NULL AND (tenant_id IS NULL) = $2",
            [rule_id.into(), global.into()],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}
