//! `credentials` (encrypted provider keys, one active version per provider) and
//! `credential_uses` (every decryption, for the audit).

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::registry::CredentialInfo;
use uuid::Uuid;

use super::statement;
use crate::domain::{rfc3339, rfc3339_optional};

const COLUMNS: &str = "credential_id, provider_id, version, key_hint, active, created_by, created_at, rotated_at, last_used_at, use_count";

fn info_from_row(row: &QueryResult) -> Result<CredentialInfo, DbErr> {
    Ok(CredentialInfo {
        credential_id: row.try_get::<Uuid>("", "credential_id")?.to_string(),
        provider_id: row.try_get("", "provider_id")?,
        version: row.try_get::<i32>("", "version")?.max(0) as u32,
        key_hint: row.try_get("", "key_hint")?,
        active: row.try_get("", "active")?,
        created_by: row.try_get("", "created_by")?,
        created_at: rfc3339(row.try_get::<DateTime<Utc>>("", "created_at")?),
        rotated_at: rfc3339_optional(row.try_get("", "rotated_at")?),
        last_used_at: rfc3339_optional(row.try_get("", "last_used_at")?),
        use_count: row.try_get::<i64>("", "use_count")?.max(0) as u64,
    })
}

/// The next version number of a provider's key, with the provider's active key locked.
pub async fn next_version(
    connection: &impl ConnectionTrait,
    provider_id: &str,
) -> Result<i32, DbErr> {
    // serializes concurrent rotations of one provider
    connection
        .execute_raw(statement(
            "SELECT pg_advisory_xact_lock(hashtext('registry.credentials'), hashtext($1))",
            [provider_id.into()],
        ))
        .await?;
    let row = connection
        .query_one_raw(statement(
            "SELECT COALESCE(max(version), 0) + 1 AS next FROM credentials WHERE provider_id = $1",
            [provider_id.into()],
        ))
        .await?;
    Ok(row
        .map(|row| row.try_get::<i32>("", "next"))
        .transpose()?
        .unwrap_or(1))
}

/// Deactivates the active key (rotation or revocation); returns whether there was one.
pub async fn deactivate(
    connection: &impl ConnectionTrait,
    provider_id: &str,
    revoke: bool,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "UPDATE credentials SET active = false, rotated_at = CASE WHEN $2 THEN rotated_at ELSE now() END, \
             revoked_at = CASE WHEN $2 THEN now() ELSE revoked_at END WHERE provider_id = $1 AND active",
            [provider_id.into(), revoke.into()],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

pub struct NewCredential<'a> {
    pub provider_id: &'a str,
    pub version: i32,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub key_hint: String,
    pub created_by: &'a str,
}

pub async fn insert(
    connection: &impl ConnectionTrait,
    new: NewCredential<'_>,
) -> Result<CredentialInfo, DbErr> {
    connection
        .query_one_raw(statement(
            &format!(
                "INSERT INTO credentials (credential_id, provider_id, version, nonce, ciphertext, key_hint, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
            ),
            [
                Uuid::now_v7().into(),
                new.provider_id.into(),
                new.version.into(),
                new.nonce.into(),
                new.ciphertext.into(),
                new.key_hint.into(),
                new.created_by.into(),
            ],
        ))
        .await?
        .map(|row| info_from_row(&row))
        .transpose()?
        .ok_or_else(|| DbErr::Custom("insert returned no row".to_string()))
}

pub async fn list(connection: &impl ConnectionTrait) -> Result<Vec<CredentialInfo>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {COLUMNS} FROM credentials ORDER BY provider_id, version DESC"),
            [],
        ))
        .await?;
    rows.iter().map(info_from_row).collect()
}

pub async fn latest(
    connection: &impl ConnectionTrait,
    provider_id: &str,
) -> Result<Option<CredentialInfo>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM credentials WHERE provider_id = $1 ORDER BY version DESC LIMIT 1"),
            [provider_id.into()],
        ))
        .await?
        .map(|row| info_from_row(&row))
        .transpose()
}

/// The active key's ciphertext, counted as used by `used_by` for `purpose` (audited).
pub struct Sealed {
    pub credential_id: Uuid,
    pub version: i32,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub async fn use_active(
    connection: &impl ConnectionTrait,
    provider_id: &str,
    used_by: &str,
    purpose: &str,
    request_id: &str,
) -> Result<Option<Sealed>, DbErr> {
    let Some(row) = connection
        .query_one_raw(statement(
            "UPDATE credentials SET last_used_at = now(), use_count = use_count + 1 WHERE provider_id = $1 AND active \
             RETURNING credential_id, version, nonce, ciphertext",
            [provider_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let sealed = Sealed {
        credential_id: row.try_get("", "credential_id")?,
        version: row.try_get("", "version")?,
        nonce: row.try_get("", "nonce")?,
        ciphertext: row.try_get("", "ciphertext")?,
    };
    connection
        .execute_raw(statement(
            "INSERT INTO credential_uses (credential_id, used_by, purpose, request_id) VALUES ($1, $2, $3, $4)",
            [sealed.credential_id.into(), used_by.into(), purpose.into(), request_id.into()],
        ))
        .await?;
    Ok(Some(sealed))
}
