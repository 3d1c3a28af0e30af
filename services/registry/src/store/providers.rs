//! `providers`.

use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::registry::Provider;

use super::statement;

const COLUMNS: &str = "p.provider_id, p.display_name, p.api_kind, p.base_url, p.docs_url, p.env_vars, p.requires_credential, p.enabled, \
    EXISTS (SELECT 1 FROM credentials c WHERE c.provider_id = p.provider_id AND c.active) AS has_credential, \
    (SELECT count(*) FROM models m WHERE m.provider_id = p.provider_id) AS model_count";

fn from_row(row: &QueryResult) -> Result<Provider, DbErr> {
    Ok(Provider {
        provider_id: row.try_get("", "provider_id")?,
        display_name: row.try_get("", "display_name")?,
        api_kind: row.try_get("", "api_kind")?,
        base_url: row.try_get("", "base_url")?,
        docs_url: row.try_get("", "docs_url")?,
        env_vars: row.try_get("", "env_vars")?,
        requires_credential: row.try_get("", "requires_credential")?,
        enabled: row.try_get("", "enabled")?,
        has_credential: row.try_get("", "has_credential")?,
        model_count: row.try_get::<i64>("", "model_count")?.max(0) as u32,
        health: None,
    })
}

/// Inserts or refreshes a provider from `source`; an admin's edits are not overwritten by a
/// sync (only rows that came from the same source are refreshed).
pub async fn upsert(
    connection: &impl ConnectionTrait,
    provider: &Provider,
    source: &str,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "INSERT INTO providers (provider_id, display_name, api_kind, base_url, docs_url, env_vars, requires_credential, source) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (provider_id) DO UPDATE SET display_name = EXCLUDED.display_name, base_url = EXCLUDED.base_url, \
               docs_url = EXCLUDED.docs_url, env_vars = EXCLUDED.env_vars, updated_at = now() \
             WHERE providers.source = EXCLUDED.source AND (providers.display_name, providers.base_url, providers.docs_url, providers.env_vars) \
               IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.base_url, EXCLUDED.docs_url, EXCLUDED.env_vars)",
            [
                provider.provider_id.clone().into(),
                provider.display_name.clone().into(),
                provider.api_kind.clone().into(),
                provider.base_url.clone().into(),
                provider.docs_url.clone().into(),
                provider.env_vars.clone().into(),
                provider.requires_credential.into(),
                source.into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn all(connection: &impl ConnectionTrait) -> Result<Vec<Provider>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {COLUMNS} FROM providers p ORDER BY p.provider_id"),
            [],
        ))
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(
    connection: &impl ConnectionTrait,
    provider_id: &str,
) -> Result<Option<Provider>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM providers p WHERE p.provider_id = $1"),
            [provider_id.into()],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()
}
