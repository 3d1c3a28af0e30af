//! `chat_files` and `file_versions`: a file is (chat, name), its id the media vault's file id;
//! each version points at the vault version holding its bytes and is current for a range of
//! chat versions.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::tm;
use uuid::Uuid;

use super::{CURRENT, api_valid_to, non_negative, rfc3339, statement};
use crate::domain::content::preview;

pub(crate) const FILE_COLUMNS: &str = "v.id, v.chat_id, v.file_id, v.version, v.name, v.mime_type, v.size_bytes, \
    v.sha256, v.source, v.message_id, v.description, left(v.extracted_text, 300) AS extracted_preview, \
    v.media_file_id, v.media_version, v.created_by, v.restored_from, v.valid_from, v.valid_to, v.created_at, \
    f.latest_version";

#[derive(Debug, Clone)]
pub struct FileVersionRow {
    pub version_id: Uuid,
    pub chat_id: Uuid,
    pub file_id: Uuid,
    pub version: i32,
    pub name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub source: String,
    pub message_id: Option<Uuid>,
    pub description: String,
    pub extracted_preview: String,
    pub media_file_id: Uuid,
    pub media_version: i32,
    pub created_by: String,
    pub restored_from: Option<Uuid>,
    pub valid_from: i32,
    pub valid_to: i32,
    pub created_at: DateTime<Utc>,
    pub latest_version: i32,
}

impl FileVersionRow {
    pub(crate) fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            version_id: row.try_get("", "id")?,
            chat_id: row.try_get("", "chat_id")?,
            file_id: row.try_get("", "file_id")?,
            version: row.try_get("", "version")?,
            name: row.try_get("", "name")?,
            mime_type: row.try_get("", "mime_type")?,
            size_bytes: row.try_get("", "size_bytes")?,
            sha256: row.try_get("", "sha256")?,
            source: row.try_get("", "source")?,
            message_id: row.try_get("", "message_id")?,
            description: row.try_get("", "description")?,
            extracted_preview: row.try_get("", "extracted_preview")?,
            media_file_id: row.try_get("", "media_file_id")?,
            media_version: row.try_get("", "media_version")?,
            created_by: row.try_get("", "created_by")?,
            restored_from: row.try_get("", "restored_from")?,
            valid_from: row.try_get("", "valid_from")?,
            valid_to: row.try_get("", "valid_to")?,
            created_at: row.try_get("", "created_at")?,
            latest_version: row.try_get("", "latest_version")?,
        })
    }

    pub fn is_current(&self) -> bool {
        self.valid_to == CURRENT
    }

    pub fn to_proto(&self) -> tm::ChatFile {
        tm::ChatFile {
            file_version_id: self.version_id.to_string(),
            file_id: self.file_id.to_string(),
            chat_id: self.chat_id.to_string(),
            name: self.name.clone(),
            version: self.version.max(0) as u32,
            mime_type: self.mime_type.clone(),
            size_bytes: non_negative(self.size_bytes),
            sha256: self.sha256.clone(),
            source: self.source.clone(),
            message_id: self.message_id.map(|id| id.to_string()).unwrap_or_default(),
            description: self.description.clone(),
            extracted_text_preview: preview(&self.extracted_preview, 200),
            media_file_id: self.media_file_id.to_string(),
            media_version: self.media_version.max(0) as u32,
            created_at: rfc3339(self.created_at),
            created_by: self.created_by.clone(),
            restored_from_version_id: self
                .restored_from
                .map(|id| id.to_string())
                .unwrap_or_default(),
            valid_from: self.valid_from.max(0) as u32,
            valid_to: api_valid_to(self.valid_to),
            version_count: self.latest_version.max(0) as u32,
        }
    }
}

fn rows(rows: Vec<QueryResult>) -> Result<Vec<FileVersionRow>, DbErr> {
    rows.iter().map(FileVersionRow::from_row).collect()
}

const FROM_FILES: &str = "FROM file_versions v JOIN chat_files f ON f.id = v.file_id";

/// The files current at `version`, by name.
pub async fn as_of<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    version: i32,
) -> Result<Vec<FileVersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {FILE_COLUMNS} {FROM_FILES} \
                     WHERE v.chat_id = $1 AND v.valid_to > $2 AND v.valid_from <= $2 ORDER BY v.name"
                ),
                [chat_id.into(), version.into()],
            ))
            .await?,
    )
}

/// The last version of every file that is no longer current (deleted from the chat).
pub async fn deleted<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
) -> Result<Vec<FileVersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {FILE_COLUMNS} {FROM_FILES} \
                     WHERE v.chat_id = $1 AND v.version = f.latest_version AND v.valid_to <> $2 ORDER BY v.name"
                ),
                [chat_id.into(), CURRENT.into()],
            ))
            .await?,
    )
}

pub async fn current<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    file_id: Uuid,
) -> Result<Option<FileVersionRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {FILE_COLUMNS} {FROM_FILES} WHERE v.file_id = $1 AND v.chat_id = $2 AND v.valid_to = $3"
            ),
            [file_id.into(), chat_id.into(), CURRENT.into()],
        ))
        .await?;
    row.as_ref().map(FileVersionRow::from_row).transpose()
}

/// The file's id in the chat, looked up by id first and then by name.
pub async fn find_file_id<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    file_id: Option<Uuid>,
    name: &str,
) -> Result<Option<Uuid>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT id FROM chat_files WHERE chat_id = $1 AND (id = $2 OR name = $3) \
             ORDER BY (id = $2) DESC NULLS LAST LIMIT 1",
            [chat_id.into(), file_id.into(), name.into()],
        ))
        .await?;
    row.map(|row| row.try_get("", "id")).transpose()
}

pub async fn versions<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    file_id: Uuid,
) -> Result<Vec<FileVersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {FILE_COLUMNS} {FROM_FILES} WHERE v.file_id = $1 AND v.chat_id = $2 ORDER BY v.version DESC"
                ),
                [file_id.into(), chat_id.into()],
            ))
            .await?,
    )
}

/// A file version by its own id (downloads), with the chat it belongs to.
pub async fn by_version_id<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
) -> Result<Option<FileVersionRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {FILE_COLUMNS} {FROM_FILES} WHERE v.id = $1"),
            [version_id.into()],
        ))
        .await?;
    row.as_ref().map(FileVersionRow::from_row).transpose()
}

/// File versions whose range starts or ends in `(low, high]`.
pub async fn changed_between<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    low: i32,
    high: i32,
) -> Result<Vec<FileVersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {FILE_COLUMNS} {FROM_FILES} WHERE v.chat_id = $1 \
                     AND ((v.valid_from > $2 AND v.valid_from <= $3) OR (v.valid_to > $2 AND v.valid_to <= $3))"
                ),
                [chat_id.into(), low.into(), high.into()],
            ))
            .await?,
    )
}

pub async fn all<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
) -> Result<Vec<FileVersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!("SELECT {FILE_COLUMNS} {FROM_FILES} WHERE v.chat_id = $1 ORDER BY v.valid_from, v.id"),
                [chat_id.into()],
            ))
            .await?,
    )
}
