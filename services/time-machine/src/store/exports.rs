//! `exports`: export bundles, from request to ready (or failed), downloadable until expiry.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::tm;
use uuid::Uuid;

use super::{non_negative, optional_rfc3339, rfc3339, statement};

const EXPORT_COLUMNS: &str = "id, chat_id, user_id, format, zip_text_format, include_media, include_version_history, \
    from_snapshot_id, to_snapshot_id, from_version, to_version, status, error_message, attempts, media_file_id, \
    media_version, file_name, size_bytes, sha256, download_count, expires_at, created_at, completed_at";

#[derive(Debug, Clone)]
pub struct ExportRow {
    pub export_id: Uuid,
    pub chat_id: Uuid,
    pub user_id: String,
    pub format: String,
    pub zip_text_format: String,
    pub include_media: bool,
    pub include_version_history: bool,
    pub from_snapshot_id: Option<Uuid>,
    pub to_snapshot_id: Uuid,
    pub from_version: i32,
    pub to_version: i32,
    pub status: String,
    pub error_message: String,
    pub attempts: i32,
    pub media_file_id: Option<Uuid>,
    pub media_version: Option<i32>,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub download_count: i32,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl ExportRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            export_id: row.try_get("", "id")?,
            chat_id: row.try_get("", "chat_id")?,
            user_id: row.try_get("", "user_id")?,
            format: row.try_get("", "format")?,
            zip_text_format: row.try_get("", "zip_text_format")?,
            include_media: row.try_get("", "include_media")?,
            include_version_history: row.try_get("", "include_version_history")?,
            from_snapshot_id: row.try_get("", "from_snapshot_id")?,
            to_snapshot_id: row.try_get("", "to_snapshot_id")?,
            from_version: row.try_get("", "from_version")?,
            to_version: row.try_get("", "to_version")?,
            status: row.try_get("", "status")?,
            error_message: row.try_get("", "error_message")?,
            attempts: row.try_get("", "attempts")?,
            media_file_id: row.try_get("", "media_file_id")?,
            media_version: row.try_get("", "media_version")?,
            file_name: row.try_get("", "file_name")?,
            size_bytes: row.try_get("", "size_bytes")?,
            sha256: row.try_get("", "sha256")?,
            download_count: row.try_get("", "download_count")?,
            expires_at: row.try_get("", "expires_at")?,
            created_at: row.try_get("", "created_at")?,
            completed_at: row.try_get("", "completed_at")?,
        })
    }

    /// A ready bundle past its expiry is expired, whether or not the row says so yet.
    pub fn effective_status(&self, now: DateTime<Utc>) -> &str {
        if self.status == "ready" && self.expires_at <= now {
            return "expired";
        }
        &self.status
    }

    pub fn to_proto(&self, now: DateTime<Utc>) -> tm::ExportBundle {
        tm::ExportBundle {
            export_id: self.export_id.to_string(),
            chat_id: self.chat_id.to_string(),
            format: self.format.clone(),
            zip_text_format: self.zip_text_format.clone(),
            include_media: self.include_media,
            include_version_history: self.include_version_history,
            from_snapshot_id: self
                .from_snapshot_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            to_snapshot_id: self.to_snapshot_id.to_string(),
            from_version: self.from_version.max(0) as u32,
            to_version: self.to_version.max(0) as u32,
            status: self.effective_status(now).to_string(),
            error_message: self.error_message.clone(),
            size_bytes: non_negative(self.size_bytes),
            sha256: self.sha256.clone(),
            file_name: self.file_name.clone(),
            download_url: String::new(),
            expires_at: rfc3339(self.expires_at),
            created_at: rfc3339(self.created_at),
            completed_at: optional_rfc3339(self.completed_at),
            download_count: self.download_count.max(0) as u32,
        }
    }
}

pub struct NewExport<'a> {
    pub export_id: Uuid,
    pub tenant_id: Uuid,
    pub chat_id: Uuid,
    pub user_id: &'a str,
    pub format: &'a str,
    pub zip_text_format: &'a str,
    pub include_media: bool,
    pub include_version_history: bool,
    pub from_snapshot_id: Option<Uuid>,
    pub to_snapshot_id: Uuid,
    pub from_version: i32,
    pub to_version: i32,
    pub idempotency_key: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

/// `None` when the idempotency key is taken (the caller reads that export).
pub async fn insert<C: ConnectionTrait>(
    connection: &C,
    new: &NewExport<'_>,
) -> Result<Option<ExportRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "INSERT INTO exports (id, tenant_id, chat_id, user_id, format, zip_text_format, include_media, \
                   include_version_history, from_snapshot_id, to_snapshot_id, from_version, to_version, \
                   idempotency_key, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT DO NOTHING RETURNING {EXPORT_COLUMNS}"
            ),
            [
                new.export_id.into(),
                new.tenant_id.into(),
                new.chat_id.into(),
                new.user_id.into(),
                new.format.into(),
                new.zip_text_format.into(),
                new.include_media.into(),
                new.include_version_history.into(),
                new.from_snapshot_id.into(),
                new.to_snapshot_id.into(),
                new.from_version.into(),
                new.to_version.into(),
                new.idempotency_key.map(str::to_string).into(),
                new.expires_at.into(),
            ],
        ))
        .await?;
    row.as_ref().map(ExportRow::from_row).transpose()
}

pub async fn find_by_key<C: ConnectionTrait>(
    connection: &C,
    user_id: &str,
    key: &str,
) -> Result<Option<ExportRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {EXPORT_COLUMNS} FROM exports WHERE user_id = $1 AND idempotency_key = $2 \
                 AND tenant_id = radiant_current_tenant()"
            ),
            [user_id.into(), key.into()],
        ))
        .await?;
    row.as_ref().map(ExportRow::from_row).transpose()
}

pub async fn get<C: ConnectionTrait>(
    connection: &C,
    export_id: Uuid,
) -> Result<Option<ExportRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE id = $1"),
            [export_id.into()],
        ))
        .await?;
    row.as_ref().map(ExportRow::from_row).transpose()
}

/// Takes the export for rendering; `None` when it is finished already (a redelivered job).
pub async fn claim<C: ConnectionTrait>(
    connection: &C,
    export_id: Uuid,
) -> Result<Option<ExportRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "UPDATE exports SET status = 'processing', attempts = attempts + 1, \
                   started_at = coalesce(started_at, now()), updated_at = now() \
                 WHERE id = $1 AND status IN ('pending', 'processing') RETURNING {EXPORT_COLUMNS}"
            ),
            [export_id.into()],
        ))
        .await?;
    row.as_ref().map(ExportRow::from_row).transpose()
}

pub struct Completed<'a> {
    pub media_file_id: Uuid,
    pub media_version: i32,
    pub file_name: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn complete<C: ConnectionTrait>(
    connection: &C,
    export_id: Uuid,
    completed: &Completed<'_>,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE exports SET status = 'ready', media_file_id = $2, media_version = $3, file_name = $4, \
               size_bytes = $5, sha256 = $6, expires_at = $7, completed_at = now(), updated_at = now(), \
               error_message = '' \
             WHERE id = $1 AND status = 'processing'",
            [
                export_id.into(),
                completed.media_file_id.into(),
                completed.media_version.into(),
                completed.file_name.into(),
                completed.size_bytes.into(),
                completed.sha256.into(),
                completed.expires_at.into(),
            ],
        ))
        .await?;
    Ok(())
}

pub async fn fail<C: ConnectionTrait>(
    connection: &C,
    export_id: Uuid,
    message: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE exports SET status = 'failed', error_message = $2, completed_at = now(), updated_at = now() \
             WHERE id = $1 AND status IN ('pending', 'processing')",
            [export_id.into(), message.into()],
        ))
        .await?;
    Ok(())
}

/// A failed export asked for again (same idempotency key): back to pending.
pub async fn requeue<C: ConnectionTrait>(connection: &C, export_id: Uuid) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE exports SET status = 'pending', error_message = '', completed_at = NULL, updated_at = now() \
             WHERE id = $1 AND status = 'failed'",
            [export_id.into()],
        ))
        .await?;
    Ok(())
}

pub async fn record_download<C: ConnectionTrait>(
    connection: &C,
    export_id: Uuid,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE exports SET download_count = download_count + 1, updated_at = now() WHERE id = $1",
            [export_id.into()],
        ))
        .await?;
    Ok(())
}

pub async fn mark_expired<C: ConnectionTrait>(
    connection: &C,
    export_id: Uuid,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE exports SET status = 'expired', updated_at = now() \
             WHERE id = $1 AND status = 'ready' AND expires_at <= now()",
            [export_id.into()],
        ))
        .await?;
    Ok(())
}
