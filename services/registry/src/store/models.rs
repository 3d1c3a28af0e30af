//! `models`: one row per model, external and self-hosted alike.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use radiant_proto::registry::{ListModelsRequest, Model, Pricing};

use super::{json_value, statement};
use crate::domain::catalogue_diff::Known;
use crate::domain::rfc3339;

const COLUMNS: &str = "model_id, provider_id, hosting, status, enabled, source, document, revision, created_at, updated_at";

/// The stored document: the model without what the columns or live state say.
fn document(model: &Model) -> serde_json::Value {
    let mut stored = model.clone();
    stored.live = None;
    stored.revision = 0;
    stored.created_at.clear();
    stored.updated_at.clear();
    stored.provider_name.clear();
    serde_json::to_value(stored).unwrap_or(serde_json::Value::Null)
}

fn from_row(row: &QueryResult) -> Result<Model, DbErr> {
    let document: serde_json::Value = row.try_get("", "document")?;
    let mut model: Model = serde_json::from_value(document)
        .map_err(|error| DbErr::Custom(format!("model document: {error}")))?;
    model.model_id = row.try_get("", "model_id")?;
    model.provider_id = row.try_get("", "provider_id")?;
    model.hosting = row.try_get("", "hosting")?;
    model.status = row.try_get("", "status")?;
    model.enabled = row.try_get("", "enabled")?;
    model.source = row.try_get("", "source")?;
    model.revision = row.try_get::<i64>("", "revision")?.max(0) as u64;
    model.created_at = rfc3339(row.try_get::<DateTime<Utc>>("", "created_at")?);
    model.updated_at = rfc3339(row.try_get::<DateTime<Utc>>("", "updated_at")?);
    Ok(model)
}

/// Inserts a model; false when its id is taken (nothing is changed then).
pub async fn insert(
    connection: &impl ConnectionTrait,
    model: &Model,
    source_key: Option<&str>,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "INSERT INTO models (model_id, provider_id, hosting, display_name, category, status, enabled, source, source_key, document) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            [
                model.model_id.clone().into(),
                model.provider_id.clone().into(),
                model.hosting.clone().into(),
                model.display_name.clone().into(),
                model.category.clone().into(),
                model.status.clone().into(),
                model.enabled.into(),
                model.source.clone().into(),
                source_key.map(str::to_string).into(),
                json_value(document(model)),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn get(
    connection: &impl ConnectionTrait,
    model_id: &str,
) -> Result<Option<Model>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM models WHERE model_id = $1"),
            [model_id.into()],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()
}

/// The model, locked until the transaction ends.
pub async fn lock(
    connection: &impl ConnectionTrait,
    model_id: &str,
) -> Result<Option<Model>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM models WHERE model_id = $1 FOR UPDATE"),
            [model_id.into()],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()
}

/// Replaces a locked model's document and columns; returns the new revision.
pub async fn replace(connection: &impl ConnectionTrait, model: &Model) -> Result<u64, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "UPDATE models SET provider_id = $2, hosting = $3, display_name = $4, category = $5, status = $6, \
             enabled = $7, document = $8, revision = revision + 1, updated_at = now() \
             WHERE model_id = $1 RETURNING revision",
            [
                model.model_id.clone().into(),
                model.provider_id.clone().into(),
                model.hosting.clone().into(),
                model.display_name.clone().into(),
                model.category.clone().into(),
                model.status.clone().into(),
                model.enabled.into(),
                json_value(document(model)),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(model.model_id.clone()))?;
    Ok(row.try_get::<i64>("", "revision")?.max(0) as u64)
}

/// Every model, for the in-memory catalogue.
pub async fn all(connection: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {COLUMNS} FROM models ORDER BY model_id"),
            [],
        ))
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn list(
    connection: &impl ConnectionTrait,
    request: &ListModelsRequest,
    limit: u32,
) -> Result<(Vec<Model>, u32), DbErr> {
    let search = if request.search.is_empty() {
        None
    } else {
        let escaped = request
            .search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        Some(format!("%{escaped}%"))
    };
    let filters = "($1 = '' OR hosting = $1) AND ($2 = '' OR category = $2) AND ($3 = '' OR provider_id = $3) \
        AND ($4 = '' OR status = $4) AND ($5 OR enabled) AND ($6::text IS NULL OR display_name ILIKE $6 OR model_id ILIKE $6)";
    let values: Vec<Value> = vec![
        request.hosting.clone().into(),
        request.category.clone().into(),
        request.provider_id.clone().into(),
        request.status.clone().into(),
        request.include_disabled.into(),
        search.into(),
    ];
    let total = connection
        .query_one_raw(statement(
            &format!("SELECT count(*) AS total FROM models WHERE {filters}"),
            values.clone(),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "total"))
        .transpose()?
        .unwrap_or(0);
    let mut page_values = values;
    page_values.push(i64::from(limit).into());
    page_values.push(i64::from(request.offset).into());
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "SELECT {COLUMNS} FROM models WHERE {filters} ORDER BY hosting, category, display_name, model_id LIMIT $7 OFFSET $8"
            ),
            page_values,
        ))
        .await?;
    let models = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((models, total.max(0) as u32))
}

/// The models a source contributed, by their key in that source.
pub async fn known_from_source(
    connection: &impl ConnectionTrait,
    source: &str,
) -> Result<HashMap<String, Known>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT source_key, model_id, status, document -> 'pricing' AS pricing FROM models \
             WHERE source = $1 AND source_key IS NOT NULL",
            [source.into()],
        ))
        .await?;
    let mut known = HashMap::with_capacity(rows.len());
    for row in rows {
        let pricing: Option<serde_json::Value> = row.try_get("", "pricing")?;
        known.insert(
            row.try_get::<String>("", "source_key")?,
            Known {
                model_id: row.try_get("", "model_id")?,
                status: row.try_get("", "status")?,
                pricing: pricing
                    .and_then(|pricing| serde_json::from_value::<Pricing>(pricing).ok())
                    .unwrap_or_default(),
            },
        );
    }
    Ok(known)
}

pub async fn set_pricing(
    connection: &impl ConnectionTrait,
    model_id: &str,
    pricing: &Pricing,
) -> Result<(), DbErr> {
    let pricing =
        serde_json::to_value(pricing).map_err(|error| DbErr::Custom(error.to_string()))?;
    connection
        .execute_raw(statement(
            "UPDATE models SET document = jsonb_set(document, '{pricing}', $2), revision = revision + 1, updated_at = now() \
             WHERE model_id = $1",
            [model_id.into(), json_value(pricing)],
        ))
        .await?;
    Ok(())
}

pub async fn set_status(
    connection: &impl ConnectionTrait,
    model_ids: &[String],
    status: &str,
) -> Result<u64, DbErr> {
    if model_ids.is_empty() {
        return Ok(0);
    }
    let result = connection
        .execute_raw(statement(
            "UPDATE models SET status = $2, revision = revision + 1, updated_at = now() \
             WHERE model_id = ANY($1) AND status <> $2",
            [model_ids.to_vec().into(), status.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// (key, count) pairs of one grouping column.
pub async fn counts_by(
    connection: &impl ConnectionTrait,
    column: CountColumn,
) -> Result<Vec<(String, u32)>, DbErr> {
    let column = match column {
        CountColumn::Hosting => "hosting",
        CountColumn::Category => "category",
        CountColumn::Provider => "provider_id",
        CountColumn::Status => "status",
    };
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {column} AS key, count(*) AS count FROM models GROUP BY 1 ORDER BY 2 DESC, 1"),
            [],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "key")?,
                row.try_get::<i64>("", "count")?.max(0) as u32,
            ))
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
pub enum CountColumn {
    Hosting,
    Category,
    Provider,
    Status,
}
