//! Routing history: one row per decision, written in batches (one multi-row statement per
//! tenant per batch), read newest first.

use radiant_db::sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement};
use radiant_proto::brain::RoutingRecord;
use uuid::Uuid;

/// A decision as it is stored.
#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: String,
    pub request_id: String,
    pub source: String,
    pub requested_model: String,
    pub model_id: String,
    pub provider_id: String,
    pub basis: String,
    pub rule_id: Option<Uuid>,
    pub task_type: String,
    pub task_source: String,
    pub confidence: f64,
    pub estimated_cost_usd: f64,
    pub summary: String,
    pub explanation: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Writes one tenant's rows with one statement (arrays unnested server-side).
pub async fn insert_batch(
    transaction: &DatabaseTransaction,
    rows: &[DecisionRow],
) -> Result<(), DbErr> {
    macro_rules! column {
        ($field:ident) => {
            rows.iter()
                .map(|row| row.$field.clone())
                .collect::<Vec<_>>()
        };
    }
    let explanations: Vec<String> = rows.iter().map(|row| row.explanation.to_string()).collect();
    transaction
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO routing_decisions (id, tenant_id, user_id, request_id, source, requested_model, \
                model_id, provider_id, basis, rule_id, task_type, task_source, confidence, \
                estimated_cost_usd, summary, explanation, created_at) \
             SELECT id, tenant_id, user_id, request_id, source, requested_model, model_id, provider_id, \
                basis, NULLIF(rule_id, '')::uuid, task_type, task_source, confidence, estimated_cost_usd, summary, \
                explanation::jsonb, created_at \
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], \
                $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                $13::float8[], $14::float8[], $15::text[], $16::text[], $17::timestamptz[]) \
                AS batch(id, tenant_id, user_id, request_id, source, requested_model, model_id, \
                provider_id, basis, rule_id, task_type, task_source, confidence, estimated_cost_usd, \
                summary, explanation, created_at) \
             ON CONFLICT (id) DO NOTHING",
            [
                column!(id).into(),
                column!(tenant_id).into(),
                column!(user_id).into(),
                column!(request_id).into(),
                column!(source).into(),
                column!(requested_model).into(),
                column!(model_id).into(),
                column!(provider_id).into(),
                column!(basis).into(),
                rows.iter().map(|row| row.rule_id.map(|id| id.to_string()).unwrap_or_default()).collect::<Vec<_>>().into(),
                column!(task_type).into(),
                column!(task_source).into(),
                column!(confidence).into(),
                column!(estimated_cost_usd).into(),
                column!(summary).into(),
                explanations.into(),
                column!(created_at).into(),
            ],
        ))
        .await?;
    Ok(())
}

pub async fn recent(
    transaction: &DatabaseTransaction,
    user_id: Option<&str>,
    limit: u32,
) -> Result<Vec<RoutingRecord>, DbErr> {
    let rows = transaction
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id, user_id, source, requested_model, model_id, provider_id, basis, rule_id, \
                task_type, confidence, estimated_cost_usd, summary, explanation::text AS explanation, \
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_at \
             FROM routing_decisions WHERE ($1::text IS NULL OR user_id = $1) \
             ORDER BY created_at DESC, id DESC LIMIT $2",
            [user_id.map(str::to_string).into(), i64::from(limit).into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let id: Uuid = row.try_get("", "id")?;
            let rule_id: Option<Uuid> = row.try_get("", "rule_id")?;
            Ok(RoutingRecord {
                decision_id: id.to_string(),
                user_id: row.try_get("", "user_id")?,
                source: row.try_get("", "source")?,
                requested_model: row.try_get("", "requested_model")?,
                model_id: row.try_get("", "model_id")?,
                provider_id: row.try_get("", "provider_id")?,
                basis: row.try_get("", "basis")?,
                rule_id: rule_id.map(|id| id.to_string()).unwrap_or_default(),
                task_type: row.try_get("", "task_type")?,
                confidence: row.try_get("", "confidence")?,
                estimated_cost_usd: row.try_get("", "estimated_cost_usd")?,
                summary: row.try_get("", "summary")?,
                created_at: row.try_get("", "created_at")?,
                explanation_json: row.try_get("", "explanation")?,
            })
        })
        .collect()
}
