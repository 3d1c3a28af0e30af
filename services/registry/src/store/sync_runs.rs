//! `sync_runs`: one row per sync job run, written when it starts and completed when it ends.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::registry::SyncRun;
use uuid::Uuid;

use super::statement;
use crate::domain::{rfc3339, rfc3339_optional};

const COLUMNS: &str = "sync_id, sync_type, trigger, status, providers_updated, models_added, models_updated, models_deprecated, \
    prices_updated, checked, errors, started_at, completed_at, duration_ms";

fn from_row(row: &QueryResult) -> Result<SyncRun, DbErr> {
    let count =
        |name: &str| -> Result<u32, DbErr> { Ok(row.try_get::<i32>("", name)?.max(0) as u32) };
    Ok(SyncRun {
        sync_id: row.try_get::<Uuid>("", "sync_id")?.to_string(),
        sync_type: row.try_get("", "sync_type")?,
        status: row.try_get("", "status")?,
        trigger: row.try_get("", "trigger")?,
        providers_updated: count("providers_updated")?,
        models_added: count("models_added")?,
        models_updated: count("models_updated")?,
        models_deprecated: count("models_deprecated")?,
        prices_updated: count("prices_updated")?,
        checked: count("checked")?,
        errors: row.try_get("", "errors")?,
        started_at: rfc3339(row.try_get::<DateTime<Utc>>("", "started_at")?),
        completed_at: rfc3339_optional(row.try_get("", "completed_at")?),
        duration_ms: row
            .try_get::<Option<i64>>("", "duration_ms")?
            .unwrap_or(0)
            .max(0) as u64,
    })
}

pub async fn start(
    connection: &impl ConnectionTrait,
    sync_type: &str,
    trigger: &str,
) -> Result<Uuid, DbErr> {
    let sync_id = Uuid::now_v7();
    connection
        .execute_raw(statement(
            "INSERT INTO sync_runs (sync_id, sync_type, trigger, status) VALUES ($1, $2, $3, 'running')",
            [sync_id.into(), sync_type.into(), trigger.into()],
        ))
        .await?;
    Ok(sync_id)
}

pub async fn finish(connection: &impl ConnectionTrait, run: &SyncRun) -> Result<SyncRun, DbErr> {
    let sync_id =
        Uuid::parse_str(&run.sync_id).map_err(|error| DbErr::Custom(error.to_string()))?;
    let count = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    connection
        .query_one_raw(statement(
            &format!(
                "UPDATE sync_runs SET status = $2, providers_updated = $3, models_added = $4, models_updated = $5, \
                 models_deprecated = $6, prices_updated = $7, checked = $8, errors = $9, completed_at = now(), \
                 duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint WHERE sync_id = $1 RETURNING {COLUMNS}"
            ),
            [
                sync_id.into(),
                run.status.clone().into(),
                count(run.providers_updated).into(),
                count(run.models_added).into(),
                count(run.models_updated).into(),
                count(run.models_deprecated).into(),
                count(run.prices_updated).into(),
                count(run.checked).into(),
                run.errors.clone().into(),
            ],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()?
        .ok_or_else(|| DbErr::RecordNotFound(run.sync_id.clone()))
}

pub async fn list(
    connection: &impl ConnectionTrait,
    sync_type: &str,
    limit: u32,
) -> Result<Vec<SyncRun>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {COLUMNS} FROM sync_runs WHERE ($1 = '' OR sync_type = $1) ORDER BY started_at DESC, sync_id DESC LIMIT $2"),
            [sync_type.into(), i64::from(limit).into()],
        ))
        .await?;
    rows.iter().map(from_row).collect()
}
