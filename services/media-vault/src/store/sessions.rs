//! `upload_sessions` (tenant rows) and `multipart_uploads` (their S3 side, without tenant data,
//! so the sweeper can abort abandoned uploads of every tenant).

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use uuid::Uuid;

use super::statement;
use crate::domain::PartPlan;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub created_by: String,
    pub scope: String,
    pub name: String,
    pub mime_type: String,
    pub source: String,
    pub plan: PartPlan,
    pub sha256: String,
    pub s3_key: String,
    pub s3_upload_id: Option<String>,
    pub assembled_s3_version_id: Option<String>,
    pub upload_status: String,
    pub completing_since: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    pub version_id: Option<Uuid>,
    pub deduplicated: bool,
    pub expires_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, created_by, scope, name, mime_type, source, size_bytes, sha256, part_size_bytes, part_count, \
    s3_key, s3_upload_id, assembled_s3_version_id, upload_status, completing_since, failure_reason, version_id, deduplicated, expires_at";

impl SessionRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get("", "id")?,
            created_by: row.try_get("", "created_by")?,
            scope: row.try_get("", "scope")?,
            name: row.try_get("", "name")?,
            mime_type: row.try_get("", "mime_type")?,
            source: row.try_get("", "source")?,
            plan: PartPlan {
                size_bytes: row.try_get::<i64>("", "size_bytes")?.max(0) as u64,
                part_size_bytes: row.try_get::<i64>("", "part_size_bytes")?.max(1) as u64,
                part_count: row.try_get::<i32>("", "part_count")?.max(0) as u32,
            },
            sha256: row.try_get("", "sha256")?,
            s3_key: row.try_get("", "s3_key")?,
            s3_upload_id: row.try_get("", "s3_upload_id")?,
            assembled_s3_version_id: row.try_get("", "assembled_s3_version_id")?,
            upload_status: row.try_get("", "upload_status")?,
            completing_since: row.try_get("", "completing_since")?,
            failure_reason: row.try_get("", "failure_reason")?,
            version_id: row.try_get("", "version_id")?,
            deduplicated: row.try_get("", "deduplicated")?,
            expires_at: row.try_get("", "expires_at")?,
        })
    }

    pub fn is_open(&self) -> bool {
        matches!(self.upload_status.as_str(), "pending" | "uploading")
    }
}

pub struct NewSession<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub created_by: &'a str,
    pub scope: &'a str,
    pub name: &'a str,
    pub mime_type: &'a str,
    pub source: &'a str,
    pub plan: PartPlan,
    pub sha256: &'a str,
    pub s3_bucket: &'a str,
    pub s3_key: &'a str,
    pub s3_upload_id: Option<&'a str>,
    pub upload_status: &'a str,
    pub version_id: Option<Uuid>,
    pub deduplicated: bool,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert<C: ConnectionTrait>(
    connection: &C,
    new: &NewSession<'_>,
) -> Result<SessionRow, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "INSERT INTO upload_sessions (id, tenant_id, created_by, scope, name, mime_type, source, size_bytes, \
                   sha256, part_size_bytes, part_count, s3_bucket, s3_key, s3_upload_id, upload_status, version_id, \
                   deduplicated, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING {COLUMNS}"
            ),
            [
                new.id.into(),
                new.tenant_id.into(),
                new.created_by.into(),
                new.scope.into(),
                new.name.into(),
                new.mime_type.into(),
                new.source.into(),
                (new.plan.size_bytes as i64).into(),
                new.sha256.into(),
                (new.plan.part_size_bytes as i64).into(),
                (new.plan.part_count as i32).into(),
                new.s3_bucket.into(),
                new.s3_key.into(),
                new.s3_upload_id.map(str::to_string).into(),
                new.upload_status.into(),
                new.version_id.into(),
                new.deduplicated.into(),
                new.expires_at.into(),
            ],
        ))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    SessionRow::from_row(&row)
}

pub async fn get<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
) -> Result<Option<SessionRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM upload_sessions WHERE id = $1"),
            [session_id.into()],
        ))
        .await?;
    row.as_ref().map(SessionRow::from_row).transpose()
}

/// pending → uploading, once part URLs were handed out.
pub async fn mark_uploading<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE upload_sessions SET upload_status = 'uploading', updated_at = now() \
             WHERE id = $1 AND upload_status = 'pending'",
            [session_id.into()],
        ))
        .await?;
    Ok(())
}

/// Takes the right to complete an open session and returns the claim (its timestamp); `None`
/// when another completion holds it (a claim older than `stale_after_seconds` is taken over:
/// its holder died). Only the holder of the current claim can complete or fail the session.
pub async fn claim_completion<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
    stale_after_seconds: i64,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "UPDATE upload_sessions SET completing_since = clock_timestamp(), updated_at = now() \
             WHERE id = $1 AND upload_status IN ('pending', 'uploading') \
               AND (completing_since IS NULL OR completing_since < now() - make_interval(secs => $2)) \
             RETURNING completing_since",
            [session_id.into(), (stale_after_seconds as f64).into()],
        ))
        .await?;
    row.map(|row| row.try_get("", "completing_since"))
        .transpose()
}

pub async fn record_assembled<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
    s3_version_id: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE upload_sessions SET assembled_s3_version_id = $2, updated_at = now() WHERE id = $1",
            [session_id.into(), s3_version_id.into()],
        ))
        .await?;
    Ok(())
}

/// Gives the claim up (only if it is still `claim`), so another request may complete.
pub async fn release_completion<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
    claim: DateTime<Utc>,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE upload_sessions SET completing_since = NULL, updated_at = now() \
             WHERE id = $1 AND completing_since = $2",
            [session_id.into(), claim.into()],
        ))
        .await?;
    Ok(())
}

/// Completes the session if `claim` is still the current claim of an open session; false
/// otherwise (aborted meanwhile, or taken over), and the caller must not record anything.
pub async fn mark_completed<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
    version_id: Uuid,
    claim: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "UPDATE upload_sessions SET upload_status = 'completed', version_id = $2, completing_since = NULL, \
               updated_at = now() \
             WHERE id = $1 AND upload_status IN ('pending', 'uploading') AND completing_since = $3",
            [session_id.into(), version_id.into(), claim.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Fails the session if `claim` is still its current claim; false otherwise.
pub async fn mark_failed_under_claim<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
    reason: &str,
    claim: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "UPDATE upload_sessions SET upload_status = 'failed', failure_reason = $2, completing_since = NULL, \
               updated_at = now() \
             WHERE id = $1 AND upload_status IN ('pending', 'uploading') AND completing_since = $3",
            [session_id.into(), reason.into(), claim.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// An open session ends as failed (verification failed, aborted, expired).
pub async fn mark_failed<C: ConnectionTrait>(
    connection: &C,
    session_id: Uuid,
    reason: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE upload_sessions SET upload_status = 'failed', failure_reason = $2, completing_since = NULL, \
               updated_at = now() WHERE id = $1 AND upload_status IN ('pending', 'uploading')",
            [session_id.into(), reason.into()],
        ))
        .await?;
    Ok(())
}

pub async fn insert_multipart<C: ConnectionTrait>(
    connection: &C,
    s3_upload_id: &str,
    session_id: Uuid,
    s3_bucket: &str,
    s3_key: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO multipart_uploads (s3_upload_id, session_id, s3_bucket, s3_key, expires_at) VALUES ($1, $2, $3, $4, $5)",
            [s3_upload_id.into(), session_id.into(), s3_bucket.into(), s3_key.into(), expires_at.into()],
        ))
        .await?;
    Ok(())
}

pub async fn close_multipart<C: ConnectionTrait>(
    connection: &C,
    s3_upload_id: &str,
    status: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE multipart_uploads SET status = $2, closed_at = now() WHERE s3_upload_id = $1 AND status = 'open'",
            [s3_upload_id.into(), status.into()],
        ))
        .await?;
    Ok(())
}

pub struct ExpiredMultipart {
    pub s3_upload_id: String,
    pub s3_key: String,
}

pub async fn expired_multiparts<C: ConnectionTrait>(
    connection: &C,
    limit: u64,
) -> Result<Vec<ExpiredMultipart>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT s3_upload_id, s3_key FROM multipart_uploads WHERE status = 'open' AND expires_at < now() \
             ORDER BY expires_at LIMIT $1",
            [(limit as i64).into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(ExpiredMultipart {
                s3_upload_id: row.try_get("", "s3_upload_id")?,
                s3_key: row.try_get("", "s3_key")?,
            })
        })
        .collect()
}
