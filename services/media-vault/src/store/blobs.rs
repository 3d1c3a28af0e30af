//! `blobs`: one row per distinct content, shared by every tenant, with its reference count.

use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::statement;
use crate::storage::ObjectLocation;

#[derive(Debug, Clone)]
pub struct BlobRow {
    pub sha256: String,
    pub size_bytes: u64,
    pub mime_type: String,
    pub location: ObjectLocation,
    pub ref_count: i32,
    pub status: String,
}

impl BlobRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            sha256: row.try_get("", "sha256")?,
            size_bytes: row.try_get::<i64>("", "size_bytes")?.max(0) as u64,
            mime_type: row.try_get("", "mime_type")?,
            location: ObjectLocation {
                bucket: row.try_get("", "s3_bucket")?,
                key: row.try_get("", "s3_key")?,
                version_id: row.try_get("", "s3_version_id")?,
            },
            ref_count: row.try_get("", "ref_count")?,
            status: row.try_get("", "status")?,
        })
    }
}

const COLUMNS: &str =
    "sha256, size_bytes, mime_type, s3_bucket, s3_key, s3_version_id, ref_count, status";
/// Bytes in storage that have not failed an integrity check: the only ones a new reference may
/// share without uploading.
const SOUND: &str = "status = 'stored' AND integrity_status IN ('unverified', 'ok')";
/// In the upload upsert: the stored copy stays (the new one is redundant).
const KEEP: &str = "(blobs.status = 'stored' AND blobs.integrity_status IN ('unverified', 'ok'))";

/// The blob whose bytes are in storage now, if any.
pub async fn find_stored<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
) -> Result<Option<BlobRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM blobs WHERE sha256 = $1 AND {SOUND}"),
            [sha256.into()],
        ))
        .await?;
    row.as_ref().map(BlobRow::from_row).transpose()
}

/// One more reference to content that is already stored; `None` when it is not (any more),
/// and the caller has to upload the bytes.
pub async fn reference_existing<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
    size_bytes: u64,
) -> Result<Option<BlobRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "UPDATE blobs SET ref_count = ref_count + 1 \
                 WHERE sha256 = $1 AND size_bytes = $2 AND {SOUND} RETURNING {COLUMNS}"
            ),
            [sha256.into(), (size_bytes as i64).into()],
        ))
        .await?;
    row.as_ref().map(BlobRow::from_row).transpose()
}

/// One more reference to content whose bytes were just written at `location`. When the blob
/// is already stored and sound (another upload of the same bytes won the race) the existing
/// location is kept and the returned row tells the caller its own object version is redundant;
/// a blob that was purged, or whose stored copy failed its integrity check, takes the new
/// (verified) bytes, which repairs every version that references it.
pub async fn reference_uploaded<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
    size_bytes: u64,
    mime_type: &str,
    location: &ObjectLocation,
) -> Result<BlobRow, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "INSERT INTO blobs (sha256, size_bytes, mime_type, s3_bucket, s3_key, s3_version_id, ref_count) \
                 VALUES ($1, $2, $3, $4, $5, $6, 1) \
                 ON CONFLICT (sha256) DO UPDATE SET \
                   ref_count = CASE WHEN blobs.status = 'stored' THEN blobs.ref_count + 1 ELSE 1 END, \
                   s3_bucket = CASE WHEN {KEEP} THEN blobs.s3_bucket ELSE EXCLUDED.s3_bucket END, \
                   s3_key = CASE WHEN {KEEP} THEN blobs.s3_key ELSE EXCLUDED.s3_key END, \
                   s3_version_id = CASE WHEN {KEEP} THEN blobs.s3_version_id ELSE EXCLUDED.s3_version_id END, \
                   last_verified_at = CASE WHEN {KEEP} THEN blobs.last_verified_at ELSE NULL END, \
                   integrity_status = CASE WHEN {KEEP} THEN blobs.integrity_status ELSE 'unverified' END, \
                   status = 'stored', purged_at = NULL \
                 RETURNING {COLUMNS}"
            ),
            [
                sha256.into(),
                (size_bytes as i64).into(),
                mime_type.into(),
                location.bucket.clone().into(),
                location.key.clone().into(),
                location.version_id.clone().into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotInserted)?;
    BlobRow::from_row(&row)
}

/// One reference fewer; returns the row after the change (a zero count is the caller's cue to
/// schedule the purge job).
pub async fn release<C: ConnectionTrait>(connection: &C, sha256: &str) -> Result<BlobRow, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "UPDATE blobs SET ref_count = ref_count - 1 WHERE sha256 = $1 AND ref_count > 0 RETURNING {COLUMNS}"
            ),
            [sha256.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("blob {sha256} has no reference to release")))?;
    BlobRow::from_row(&row)
}

/// Locks the blob for the purge job's decision.
pub async fn lock<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
) -> Result<Option<BlobRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM blobs WHERE sha256 = $1 FOR UPDATE"),
            [sha256.into()],
        ))
        .await?;
    row.as_ref().map(BlobRow::from_row).transpose()
}

pub async fn set_status<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
    from_status: &str,
    to_status: &str,
    version_id: &str,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "UPDATE blobs SET status = $3, purged_at = CASE WHEN $3 = 'purged' THEN now() ELSE purged_at END \
             WHERE sha256 = $1 AND status = $2 AND s3_version_id = $4",
            [sha256.into(), from_status.into(), to_status.into(), version_id.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn count_stored<C: ConnectionTrait>(connection: &C) -> Result<u64, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT count(*) AS stored FROM blobs WHERE status = 'stored'",
            [],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "stored")?.max(0) as u64,
        None => 0,
    })
}

/// The `limit` least recently verified stored blobs (never verified first).
pub async fn least_recently_verified<C: ConnectionTrait>(
    connection: &C,
    limit: u64,
) -> Result<Vec<BlobRow>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "SELECT {COLUMNS} FROM blobs WHERE status = 'stored' \
                 ORDER BY last_verified_at NULLS FIRST, sha256 LIMIT $1"
            ),
            [(limit as i64).into()],
        ))
        .await?;
    rows.iter().map(BlobRow::from_row).collect()
}

/// Stored blobs after `after` in hash order (the full check pages through all of them).
pub async fn stored_page<C: ConnectionTrait>(
    connection: &C,
    after: &str,
    limit: u64,
) -> Result<Vec<BlobRow>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {COLUMNS} FROM blobs WHERE status = 'stored' AND sha256 > $1 ORDER BY sha256 LIMIT $2"),
            [after.into(), (limit as i64).into()],
        ))
        .await?;
    rows.iter().map(BlobRow::from_row).collect()
}

pub async fn record_verification<C: ConnectionTrait>(
    connection: &C,
    sha256: &str,
    version_id: &str,
    integrity_status: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE blobs SET integrity_status = $3, last_verified_at = now() WHERE sha256 = $1 AND s3_version_id = $2",
            [sha256.into(), version_id.into(), integrity_status.into()],
        ))
        .await?;
    Ok(())
}
