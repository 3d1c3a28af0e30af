//! `files` and `file_versions`: a file is (tenant, scope, name); each upload adds a version.

use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::media;
use uuid::Uuid;

use super::{statement, timestamp};
use crate::domain::{self, FileLifecycle};
use crate::storage::ObjectLocation;

/// A version with its file and the location of its bytes.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub file_id: Uuid,
    pub version_id: Uuid,
    pub scope: String,
    pub name: String,
    pub version: i32,
    pub latest_version: i32,
    pub mime_type: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub location: ObjectLocation,
    pub source: String,
    pub upload_status: String,
    pub processing_status: String,
    pub lifecycle_status: String,
    pub file_lifecycle: String,
    pub legal_hold: bool,
    pub deduplicated: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
}

const VERSION_SELECT: &str = "SELECT v.file_id, v.id AS version_id, f.scope, f.name, v.version, f.latest_version, \
    v.mime_type, v.size_bytes, v.blob_sha256, b.s3_bucket, b.s3_key, b.s3_version_id, v.source, v.upload_status, \
    v.processing_status, v.lifecycle_status, f.lifecycle_status AS file_lifecycle, f.legal_hold, v.deduplicated, \
    v.created_at, v.created_by \
    FROM file_versions v JOIN files f ON f.id = v.file_id JOIN blobs b ON b.sha256 = v.blob_sha256";

impl VersionRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            file_id: row.try_get("", "file_id")?,
            version_id: row.try_get("", "version_id")?,
            scope: row.try_get("", "scope")?,
            name: row.try_get("", "name")?,
            version: row.try_get("", "version")?,
            latest_version: row.try_get("", "latest_version")?,
            mime_type: row.try_get("", "mime_type")?,
            size_bytes: row.try_get::<i64>("", "size_bytes")?.max(0) as u64,
            sha256: row.try_get("", "blob_sha256")?,
            location: ObjectLocation {
                bucket: row.try_get("", "s3_bucket")?,
                key: row.try_get("", "s3_key")?,
                version_id: row.try_get("", "s3_version_id")?,
            },
            source: row.try_get("", "source")?,
            upload_status: row.try_get("", "upload_status")?,
            processing_status: row.try_get("", "processing_status")?,
            lifecycle_status: row.try_get("", "lifecycle_status")?,
            file_lifecycle: row.try_get("", "file_lifecycle")?,
            legal_hold: row.try_get("", "legal_hold")?,
            deduplicated: row.try_get("", "deduplicated")?,
            created_at: row.try_get("", "created_at")?,
            created_by: row.try_get("", "created_by")?,
        })
    }

    pub fn to_proto(&self, variants: Vec<media::Variant>) -> media::FileVersion {
        media::FileVersion {
            file_id: self.file_id.to_string(),
            version_id: self.version_id.to_string(),
            scope: self.scope.clone(),
            name: self.name.clone(),
            version: self.version.max(0) as u32,
            latest_version: self.latest_version.max(0) as u32,
            mime_type: self.mime_type.clone(),
            size_bytes: self.size_bytes,
            sha256: self.sha256.clone(),
            s3_bucket: self.location.bucket.clone(),
            s3_key: self.location.key.clone(),
            s3_version_id: self.location.version_id.clone(),
            source: domain::source_from(&self.source) as i32,
            upload_status: domain::upload_status_from(&self.upload_status) as i32,
            processing_status: domain::processing_status_from(&self.processing_status) as i32,
            lifecycle_status: domain::lifecycle_status_from(&self.lifecycle_status) as i32,
            file_lifecycle: domain::lifecycle_status_from(&self.file_lifecycle) as i32,
            legal_hold: self.legal_hold,
            deduplicated: self.deduplicated,
            created_at: Some(timestamp(self.created_at)),
            created_by: self.created_by.clone(),
            variants,
        }
    }
}

/// The file's id and the number of the version about to be written: creates the file at
/// version 1 or bumps its counter in one statement, so concurrent uploads of the same name get
/// distinct numbers. Storing into a tombstoned file brings it back, unless it is under legal
/// hold (a hold freezes the lifecycle; the new version is still kept).
pub async fn allocate_version<C: ConnectionTrait>(
    connection: &C,
    tenant_id: Uuid,
    scope: &str,
    name: &str,
) -> Result<(Uuid, i32), DbErr> {
    let row = connection
        .query_one_raw(statement(
            "INSERT INTO files (id, tenant_id, scope, name, latest_version) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (tenant_id, scope, name) DO UPDATE SET latest_version = files.latest_version + 1, \
               lifecycle_status = CASE WHEN files.legal_hold THEN files.lifecycle_status ELSE 'active' END, \
               updated_at = now() \
             RETURNING id, latest_version",
            [Uuid::now_v7().into(), tenant_id.into(), scope.into(), name.into()],
        ))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    Ok((row.try_get("", "id")?, row.try_get("", "latest_version")?))
}

pub struct NewVersion<'a> {
    pub version_id: Uuid,
    pub tenant_id: Uuid,
    pub file_id: Uuid,
    pub version: i32,
    pub sha256: &'a str,
    pub mime_type: &'a str,
    pub size_bytes: u64,
    pub source: &'a str,
    pub processing_status: &'a str,
    pub deduplicated: bool,
    pub created_by: &'a str,
}

/// Inserts the version and archives the ones it supersedes.
pub async fn insert_version<C: ConnectionTrait>(
    connection: &C,
    new: &NewVersion<'_>,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO file_versions (id, tenant_id, file_id, version, blob_sha256, mime_type, size_bytes, source, \
               processing_status, deduplicated, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            [
                new.version_id.into(),
                new.tenant_id.into(),
                new.file_id.into(),
                new.version.into(),
                new.sha256.into(),
                new.mime_type.into(),
                (new.size_bytes as i64).into(),
                new.source.into(),
                new.processing_status.into(),
                new.deduplicated.into(),
                new.created_by.into(),
            ],
        ))
        .await?;
    connection
        .execute_raw(statement(
            "UPDATE file_versions SET lifecycle_status = 'archived' \
             WHERE file_id = $1 AND version < $2 AND lifecycle_status = 'active'",
            [new.file_id.into(), new.version.into()],
        ))
        .await?;
    Ok(())
}

/// A version of the file; `None` for the version means the newest.
pub async fn get_version<C: ConnectionTrait>(
    connection: &C,
    file_id: Uuid,
    version: Option<i32>,
) -> Result<Option<VersionRow>, DbErr> {
    let row = match version {
        Some(version) => {
            connection
                .query_one_raw(statement(
                    &format!("{VERSION_SELECT} WHERE v.file_id = $1 AND v.version = $2"),
                    [file_id.into(), version.into()],
                ))
                .await?
        }
        None => {
            connection
                .query_one_raw(statement(
                    &format!(
                        "{VERSION_SELECT} WHERE v.file_id = $1 ORDER BY v.version DESC LIMIT 1"
                    ),
                    [file_id.into()],
                ))
                .await?
        }
    };
    row.as_ref().map(VersionRow::from_row).transpose()
}

pub async fn get_version_by_id<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
) -> Result<Option<VersionRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("{VERSION_SELECT} WHERE v.id = $1"),
            [version_id.into()],
        ))
        .await?;
    row.as_ref().map(VersionRow::from_row).transpose()
}

pub async fn list_versions<C: ConnectionTrait>(
    connection: &C,
    file_id: Uuid,
) -> Result<Vec<VersionRow>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("{VERSION_SELECT} WHERE v.file_id = $1 ORDER BY v.version"),
            [file_id.into()],
        ))
        .await?;
    rows.iter().map(VersionRow::from_row).collect()
}

/// Whether this tenant already holds the content in a version that is not purged (row level
/// security limits the lookup to the tenant of the transaction).
pub async fn tenant_holds_blob<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
) -> Result<bool, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT EXISTS (SELECT 1 FROM file_versions WHERE blob_sha256 = $1 AND lifecycle_status <> 'deleted') AS held",
            [sha256.into()],
        ))
        .await?;
    match row {
        Some(row) => row.try_get("", "held"),
        None => Ok(false),
    }
}

pub struct FileState {
    pub lifecycle: FileLifecycle,
    pub legal_hold: bool,
}

/// Locks the file row for a lifecycle change.
pub async fn lock_file<C: ConnectionTrait>(
    connection: &C,
    file_id: Uuid,
) -> Result<Option<FileState>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT lifecycle_status, legal_hold FROM files WHERE id = $1 FOR UPDATE",
            [file_id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(FileState {
        lifecycle: FileLifecycle::parse(&row.try_get::<String>("", "lifecycle_status")?),
        legal_hold: row.try_get("", "legal_hold")?,
    }))
}

pub async fn set_lifecycle<C: ConnectionTrait>(
    connection: &C,
    file_id: Uuid,
    lifecycle: FileLifecycle,
    reason: &str,
    changed_by: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE files SET lifecycle_status = $2, lifecycle_reason = NULLIF($3, ''), lifecycle_changed_by = $4, \
               lifecycle_changed_at = now(), updated_at = now() WHERE id = $1",
            [file_id.into(), lifecycle.as_str().into(), reason.into(), changed_by.into()],
        ))
        .await?;
    Ok(())
}

pub async fn set_legal_hold<C: ConnectionTrait>(
    connection: &C,
    file_id: Uuid,
    hold: bool,
    reason: &str,
    changed_by: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE files SET legal_hold = $2, legal_hold_reason = NULLIF($3, ''), legal_hold_by = $4, \
               legal_hold_at = now(), updated_at = now() WHERE id = $1",
            [file_id.into(), hold.into(), reason.into(), changed_by.into()],
        ))
        .await?;
    Ok(())
}

/// Marks every version of the file deleted; returns the blobs they referenced (one entry per
/// released reference).
pub async fn delete_versions<C: ConnectionTrait>(
    connection: &C,
    file_id: Uuid,
) -> Result<Vec<String>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "UPDATE file_versions SET lifecycle_status = 'deleted' \
             WHERE file_id = $1 AND lifecycle_status <> 'deleted' RETURNING blob_sha256",
            [file_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get("", "blob_sha256"))
        .collect()
}

/// The version's lifecycle, locked against a concurrent purge until the transaction ends.
pub async fn lock_version_lifecycle<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
) -> Result<Option<String>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT lifecycle_status FROM file_versions WHERE id = $1 FOR SHARE",
            [version_id.into()],
        ))
        .await?;
    row.map(|row| row.try_get("", "lifecycle_status"))
        .transpose()
}

pub async fn set_processing_status<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
    processing_status: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE file_versions SET processing_status = $2 WHERE id = $1",
            [version_id.into(), processing_status.into()],
        ))
        .await?;
    Ok(())
}
