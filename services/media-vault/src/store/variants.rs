//! `variants`: thumbnails and display images derived from an image version.

use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::media;
use uuid::Uuid;

use super::statement;
use crate::domain;
use crate::storage::ObjectLocation;

fn variant_from_row(row: &QueryResult) -> Result<media::Variant, DbErr> {
    let optional_u32 = |column: &str| -> Result<u32, DbErr> {
        Ok(row
            .try_get::<Option<i32>>("", column)?
            .unwrap_or_default()
            .max(0) as u32)
    };
    Ok(media::Variant {
        variant_type: row.try_get("", "variant_type")?,
        recipe_version: row.try_get("", "recipe_version")?,
        processing_status: domain::processing_status_from(
            &row.try_get::<String>("", "processing_status")?,
        ) as i32,
        mime_type: row
            .try_get::<Option<String>>("", "mime_type")?
            .unwrap_or_default(),
        width: optional_u32("width")?,
        height: optional_u32("height")?,
        size_bytes: row
            .try_get::<Option<i64>>("", "size_bytes")?
            .unwrap_or_default()
            .max(0) as u64,
        sha256: row
            .try_get::<Option<String>>("", "blob_sha256")?
            .unwrap_or_default(),
        failure_reason: row
            .try_get::<Option<String>>("", "failure_reason")?
            .unwrap_or_default(),
    })
}

/// Variants of the given versions that are not purged, keyed by version id.
pub async fn for_versions<C: ConnectionTrait>(
    connection: &C,
    version_ids: &[Uuid],
) -> Result<Vec<(Uuid, media::Variant)>, DbErr> {
    if version_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = connection
        .query_all_raw(statement(
            "SELECT version_id, variant_type, recipe_version, processing_status, mime_type, width, height, size_bytes, \
               blob_sha256, failure_reason FROM variants \
             WHERE version_id = ANY($1) AND NOT purged ORDER BY version_id, variant_type, recipe_version",
            [version_ids.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "version_id")?, variant_from_row(row)?)))
        .collect()
}

/// Creates the variant row as pending unless it exists; returns its processing status.
pub async fn ensure_row<C: ConnectionTrait>(
    connection: &C,
    tenant_id: Uuid,
    version_id: Uuid,
    variant_type: &str,
    recipe_version: &str,
) -> Result<String, DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO variants (id, tenant_id, version_id, variant_type, recipe_version, processing_status) \
             VALUES ($1, $2, $3, $4, $5, 'processing') ON CONFLICT (version_id, variant_type, recipe_version) DO NOTHING",
            [Uuid::now_v7().into(), tenant_id.into(), version_id.into(), variant_type.into(), recipe_version.into()],
        ))
        .await?;
    let row = connection
        .query_one_raw(statement(
            "SELECT processing_status FROM variants WHERE version_id = $1 AND variant_type = $2 AND recipe_version = $3",
            [version_id.into(), variant_type.into(), recipe_version.into()],
        ))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    row.try_get("", "processing_status")
}

pub struct CompletedVariant<'a> {
    pub sha256: &'a str,
    pub mime_type: &'a str,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
}

/// Marks the variant completed; true only for the call that completed it, so the blob
/// reference is added exactly once however often the job is delivered.
pub async fn complete<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
    variant_type: &str,
    recipe_version: &str,
    variant: &CompletedVariant<'_>,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "UPDATE variants SET processing_status = 'completed', blob_sha256 = $4, mime_type = $5, width = $6, \
               height = $7, size_bytes = $8, failure_reason = NULL, updated_at = now() \
             WHERE version_id = $1 AND variant_type = $2 AND recipe_version = $3 AND processing_status <> 'completed' AND NOT purged",
            [
                version_id.into(),
                variant_type.into(),
                recipe_version.into(),
                variant.sha256.into(),
                variant.mime_type.into(),
                (variant.width as i32).into(),
                (variant.height as i32).into(),
                (variant.size_bytes as i64).into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn fail<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
    variant_type: &str,
    recipe_version: &str,
    reason: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE variants SET processing_status = 'failed', failure_reason = $4, updated_at = now() \
             WHERE version_id = $1 AND variant_type = $2 AND recipe_version = $3 AND processing_status <> 'completed'",
            [version_id.into(), variant_type.into(), recipe_version.into(), reason.into()],
        ))
        .await?;
    Ok(())
}

pub struct VariantObject {
    pub location: ObjectLocation,
    pub mime_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// The newest completed variant of this type.
pub async fn find_completed<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
    variant_type: &str,
) -> Result<Option<VariantObject>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT b.s3_bucket, b.s3_key, b.s3_version_id, v.mime_type, v.size_bytes, v.blob_sha256 \
             FROM variants v JOIN blobs b ON b.sha256 = v.blob_sha256 \
             WHERE v.version_id = $1 AND v.variant_type = $2 AND v.processing_status = 'completed' AND NOT v.purged \
             ORDER BY v.updated_at DESC LIMIT 1",
            [version_id.into(), variant_type.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(VariantObject {
        location: ObjectLocation {
            bucket: row.try_get("", "s3_bucket")?,
            key: row.try_get("", "s3_key")?,
            version_id: row.try_get("", "s3_version_id")?,
        },
        mime_type: row
            .try_get::<Option<String>>("", "mime_type")?
            .unwrap_or_default(),
        size_bytes: row
            .try_get::<Option<i64>>("", "size_bytes")?
            .unwrap_or_default()
            .max(0) as u64,
        sha256: row.try_get("", "blob_sha256")?,
    }))
}

/// Marks every variant of every version of the file purged (a variant still being made is
/// never completed afterwards); returns the blobs of the completed ones.
pub async fn purge_for_file<C: ConnectionTrait>(
    connection: &C,
    file_id: Uuid,
) -> Result<Vec<String>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "UPDATE variants SET purged = true, updated_at = now() \
             WHERE version_id IN (SELECT id FROM file_versions WHERE file_id = $1) AND NOT purged \
             RETURNING blob_sha256",
            [file_id.into()],
        ))
        .await?;
    let mut blobs = Vec::new();
    for row in &rows {
        if let Some(sha256) = row.try_get::<Option<String>>("", "blob_sha256")? {
            blobs.push(sha256);
        }
    }
    Ok(blobs)
}
