//! `blob_purge_jobs`: the outbox of physical deletions.

use radiant_db::sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::statement;
use crate::storage::ObjectLocation;

pub async fn enqueue<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
    location: &ObjectLocation,
    requested_by: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO blob_purge_jobs (id, blob_sha256, s3_bucket, s3_key, s3_version_id, requested_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            [
                Uuid::now_v7().into(),
                sha256.into(),
                location.bucket.clone().into(),
                location.key.clone().into(),
                location.version_id.clone().into(),
                requested_by.into(),
            ],
        ))
        .await?;
    Ok(())
}

pub struct PurgeJob {
    pub id: Uuid,
    pub sha256: String,
    pub location: ObjectLocation,
    pub attempts: i32,
}

/// Locks the oldest pending job no other worker holds.
pub async fn lock_next<C: ConnectionTrait>(connection: &C) -> Result<Option<PurgeJob>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT id, blob_sha256, s3_bucket, s3_key, s3_version_id, attempts FROM blob_purge_jobs \
             WHERE status = 'pending' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            [],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(PurgeJob {
        id: row.try_get("", "id")?,
        sha256: row.try_get("", "blob_sha256")?,
        location: ObjectLocation {
            bucket: row.try_get("", "s3_bucket")?,
            key: row.try_get("", "s3_key")?,
            version_id: row.try_get("", "s3_version_id")?,
        },
        attempts: row.try_get("", "attempts")?,
    }))
}

pub async fn finish<C: ConnectionTrait>(
    connection: &C,
    job_id: Uuid,
    status: &str,
    error: Option<&str>,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE blob_purge_jobs SET status = $2, last_error = $3, attempts = attempts + 1, processed_at = now() WHERE id = $1",
            [job_id.into(), status.into(), error.map(str::to_string).into()],
        ))
        .await?;
    Ok(())
}

pub async fn record_failure<C: ConnectionTrait>(
    connection: &C,
    job_id: Uuid,
    error: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE blob_purge_jobs SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
            [job_id.into(), error.into()],
        ))
        .await?;
    Ok(())
}
