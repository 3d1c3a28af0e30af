//! `idempotency_keys`: the stored response of a create/complete, replayed for the same key.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::statement;

pub struct StoredResponse {
    pub request_sha256: String,
    pub response: Vec<u8>,
}

pub struct IdempotencyScope<'a> {
    pub tenant_id: Uuid,
    pub user_id: &'a str,
    pub operation: &'a str,
    pub key: &'a str,
}

/// The unexpired response stored under the key, if any.
pub async fn find<C: ConnectionTrait>(
    connection: &C,
    scope: &IdempotencyScope<'_>,
) -> Result<Option<StoredResponse>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT request_sha256, response FROM idempotency_keys \
             WHERE tenant_id = $1 AND user_id = $2 AND operation = $3 AND key = $4 AND expires_at > now()",
            [scope.tenant_id.into(), scope.user_id.into(), scope.operation.into(), scope.key.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(StoredResponse {
        request_sha256: row.try_get("", "request_sha256")?,
        response: row.try_get("", "response")?,
    }))
}

/// Stores the response in the transaction of the work itself. False when a concurrent request
/// with the same key committed first: the caller rolls back and replays that one.
pub async fn store<C: ConnectionTrait>(
    connection: &C,
    scope: &IdempotencyScope<'_>,
    request_sha256: &str,
    response: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "INSERT INTO idempotency_keys (tenant_id, user_id, operation, key, request_sha256, response, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, user_id, operation, key) DO UPDATE SET request_sha256 = EXCLUDED.request_sha256, \
               response = EXCLUDED.response, created_at = now(), expires_at = EXCLUDED.expires_at \
             WHERE idempotency_keys.expires_at <= now()",
            [
                scope.tenant_id.into(),
                scope.user_id.into(),
                scope.operation.into(),
                scope.key.into(),
                request_sha256.into(),
                response.to_vec().into(),
                expires_at.into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}
