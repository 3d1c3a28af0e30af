//! `workflows`: deleting a workflow marks it deleted; it stays readable in the audit log.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::registry::Workflow;

use super::{json_value, statement};
use crate::domain::rfc3339;

const COLUMNS: &str = "workflow_id, enabled, document, revision, created_at, updated_at";

fn from_row(row: &QueryResult) -> Result<Workflow, DbErr> {
    let document: serde_json::Value = row.try_get("", "document")?;
    let mut workflow: Workflow = serde_json::from_value(document)
        .map_err(|error| DbErr::Custom(format!("workflow document: {error}")))?;
    workflow.workflow_id = row.try_get("", "workflow_id")?;
    workflow.enabled = row.try_get("", "enabled")?;
    workflow.revision = row.try_get::<i64>("", "revision")?.max(0) as u64;
    workflow.created_at = rfc3339(row.try_get::<DateTime<Utc>>("", "created_at")?);
    workflow.updated_at = rfc3339(row.try_get::<DateTime<Utc>>("", "updated_at")?);
    Ok(workflow)
}

fn document(workflow: &Workflow) -> Result<serde_json::Value, DbErr> {
    let mut stored = workflow.clone();
    stored.revision = 0;
    stored.created_at.clear();
    stored.updated_at.clear();
    serde_json::to_value(stored).map_err(|error| DbErr::Custom(error.to_string()))
}

/// False when the id is taken (by a live or a deleted workflow).
pub async fn insert(connection: &impl ConnectionTrait, workflow: &Workflow) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "INSERT INTO workflows (workflow_id, name, category, enabled, document) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [
                workflow.workflow_id.clone().into(),
                workflow.name.clone().into(),
                workflow.category.clone().into(),
                workflow.enabled.into(),
                json_value(document(workflow)?),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn get(
    connection: &impl ConnectionTrait,
    workflow_id: &str,
) -> Result<Option<Workflow>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!(
                "SELECT {COLUMNS} FROM workflows WHERE workflow_id = $1 AND deleted_at IS NULL"
            ),
            [workflow_id.into()],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()
}

pub async fn lock(
    connection: &impl ConnectionTrait,
    workflow_id: &str,
) -> Result<Option<Workflow>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM workflows WHERE workflow_id = $1 AND deleted_at IS NULL FOR UPDATE"),
            [workflow_id.into()],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()
}

pub async fn replace(
    connection: &impl ConnectionTrait,
    workflow: &Workflow,
) -> Result<Workflow, DbErr> {
    connection
        .query_one_raw(statement(
            &format!(
                "UPDATE workflows SET name = $2, category = $3, enabled = $4, document = $5, revision = revision + 1, updated_at = now() \
                 WHERE workflow_id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
            ),
            [
                workflow.workflow_id.clone().into(),
                workflow.name.clone().into(),
                workflow.category.clone().into(),
                workflow.enabled.into(),
                json_value(document(workflow)?),
            ],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()?
        .ok_or_else(|| DbErr::RecordNotFound(workflow.workflow_id.clone()))
}

pub async fn mark_deleted(
    connection: &impl ConnectionTrait,
    workflow_id: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE workflows SET deleted_at = now(), enabled = false, revision = revision + 1, updated_at = now() WHERE workflow_id = $1",
            [workflow_id.into()],
        ))
        .await?;
    Ok(())
}

pub async fn list(
    connection: &impl ConnectionTrait,
    include_disabled: bool,
) -> Result<Vec<Workflow>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {COLUMNS} FROM workflows WHERE deleted_at IS NULL AND ($1 OR enabled) ORDER BY category, name"),
            [include_disabled.into()],
        ))
        .await?;
    rows.iter().map(from_row).collect()
}

/// Workflows that use a model in one of their tasks.
pub async fn ids_using_model(
    connection: &impl ConnectionTrait,
    model_id: &str,
) -> Result<Vec<String>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT workflow_id FROM workflows WHERE deleted_at IS NULL \
             AND document -> 'tasks' @> jsonb_build_array(jsonb_build_object('model_id', $1::text)) ORDER BY workflow_id",
            [model_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get("", "workflow_id"))
        .collect()
}

pub async fn count(connection: &impl ConnectionTrait) -> Result<u32, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT count(*) AS count FROM workflows WHERE deleted_at IS NULL",
            [],
        ))
        .await?;
    Ok(row
        .map(|row| row.try_get::<i64>("", "count"))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u32)
}
