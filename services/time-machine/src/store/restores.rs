//! A restore as set-based statements, and the restore log.
//!
//! Restoring to chat version T at head H (new version N = H + 1) is two statements per kind:
//! close the current versions that started after T (they were not current at T), and copy the
//! versions that were current at T but have ended since (deleted or edited after T) as new
//! versions opening at N. Versions current both at T and now are left alone. History is never
//! rewritten: everything before N reads exactly as it did.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, Value};
use uuid::Uuid;

use super::{CURRENT, statement};

/// Which messages or files a restore is limited to (`None`: all of them).
#[derive(Debug, Clone, Default)]
pub struct RestoreFilter {
    pub ids: Option<Vec<Uuid>>,
    pub positions: Option<(i64, i64)>,
}

impl RestoreFilter {
    fn values(&self) -> [Value; 4] {
        let (low, high) = match self.positions {
            Some((low, high)) => (Some(low), Some(high)),
            None => (None, None),
        };
        [
            self.ids.is_some().into(),
            self.ids.clone().unwrap_or_default().into(),
            low.into(),
            high.into(),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct EndedVersion {
    pub version_id: Uuid,
    pub item_id: Uuid,
    pub tokens: i64,
}

#[derive(Debug, Clone)]
pub struct CopiedVersion {
    pub version_id: Uuid,
    pub item_id: Uuid,
    pub version: i32,
    pub sha256: String,
    pub tokens: i64,
    /// Messages: the position. Files: none.
    pub position: i64,
    /// Files: what the chain records of a file version.
    pub name: String,
    pub mime_type: String,
    pub media_file_id: Option<Uuid>,
    pub media_version: i32,
}

/// $1 chat, $2 target version, $3 the new version, then the filter ($4 limited, $5 ids,
/// $6 lowest position, $7 highest position).
const MESSAGE_FILTER: &str = "(NOT $4 OR message_id = ANY($5)) \
    AND ($6::bigint IS NULL OR position BETWEEN $6 AND $7)";

pub async fn end_messages_started_after<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    target_version: i32,
    new_version: i32,
    filter: &RestoreFilter,
) -> Result<Vec<EndedVersion>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "UPDATE message_versions c SET valid_to = $3 \
                 WHERE c.chat_id = $1 AND c.valid_to = $8 AND c.valid_from > $2 AND {MESSAGE_FILTER} \
                   AND NOT EXISTS (SELECT 1 FROM message_versions t WHERE t.message_id = c.message_id \
                     AND t.valid_from <= $2 AND t.valid_to > $2 AND t.content_sha256 = c.content_sha256) \
                 RETURNING c.id, c.message_id, c.tokens"
            ),
            [chat_id.into(), target_version.into(), new_version.into()]
                .into_iter()
                .chain(filter.values())
                .chain([CURRENT.into()]),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(EndedVersion {
                version_id: row.try_get("", "id")?,
                item_id: row.try_get("", "message_id")?,
                tokens: row.try_get("", "tokens")?,
            })
        })
        .collect()
}

pub struct CopyContext<'a> {
    pub chat_id: Uuid,
    pub target_version: i32,
    pub head_version: i32,
    pub new_version: i32,
    pub actor: &'a str,
    pub reason: &'a str,
    pub created_at: DateTime<Utc>,
}

pub async fn copy_messages_ended_since<C: ConnectionTrait>(
    connection: &C,
    copy: &CopyContext<'_>,
    filter: &RestoreFilter,
) -> Result<Vec<CopiedVersion>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "WITH target AS ( \
                   SELECT * FROM message_versions t \
                   WHERE t.chat_id = $1 AND t.valid_from <= $2 AND t.valid_to > $2 AND t.valid_to <= $8 AND {MESSAGE_FILTER} \
                     AND NOT EXISTS (SELECT 1 FROM message_versions c WHERE c.message_id = t.message_id \
                       AND c.valid_to = $12 AND c.content_sha256 = t.content_sha256) \
                 ), bumped AS ( \
                   UPDATE messages m SET latest_version = m.latest_version + 1 FROM target \
                   WHERE m.id = target.message_id RETURNING m.id, m.latest_version \
                 ) INSERT INTO message_versions (id, tenant_id, chat_id, message_id, version, position, role, content, \
                     parts, metadata, tokens, content_sha256, edit_reason, edited_by, restored_from, valid_from, created_at) \
                   SELECT gen_random_uuid(), t.tenant_id, t.chat_id, t.message_id, b.latest_version, t.position, t.role, \
                     t.content, t.parts, t.metadata, t.tokens, t.content_sha256, $9, $10, t.id, $3, $11 \
                   FROM target t JOIN bumped b ON b.id = t.message_id \
                 RETURNING id, message_id, version, content_sha256, tokens, position"
            ),
            [
                copy.chat_id.into(),
                copy.target_version.into(),
                copy.new_version.into(),
            ]
            .into_iter()
            .chain(filter.values())
            .chain([
                copy.head_version.into(),
                copy.reason.into(),
                copy.actor.into(),
                copy.created_at.into(),
                CURRENT.into(),
            ]),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(CopiedVersion {
                version_id: row.try_get("", "id")?,
                item_id: row.try_get("", "message_id")?,
                version: row.try_get("", "version")?,
                sha256: row.try_get("", "content_sha256")?,
                tokens: row.try_get("", "tokens")?,
                position: row.try_get("", "position")?,
                name: String::new(),
                mime_type: String::new(),
                media_file_id: None,
                media_version: 0,
            })
        })
        .collect()
}

/// $1 chat, $2 target version, $3 the new version, $4 limited, $5 file ids.
const FILE_FILTER: &str = "(NOT $4 OR file_id = ANY($5))";

pub async fn end_files_started_after<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    target_version: i32,
    new_version: i32,
    file_ids: Option<&[Uuid]>,
) -> Result<Vec<EndedVersion>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "UPDATE file_versions c SET valid_to = $3 \
                 WHERE c.chat_id = $1 AND c.valid_to = $6 AND c.valid_from > $2 AND {FILE_FILTER} \
                   AND NOT EXISTS (SELECT 1 FROM file_versions t WHERE t.file_id = c.file_id \
                     AND t.valid_from <= $2 AND t.valid_to > $2 AND t.sha256 = c.sha256 AND t.name = c.name) \
                 RETURNING c.id, c.file_id"
            ),
            [
                chat_id.into(),
                target_version.into(),
                new_version.into(),
                file_ids.is_some().into(),
                file_ids.map(<[Uuid]>::to_vec).unwrap_or_default().into(),
                CURRENT.into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(EndedVersion {
                version_id: row.try_get("", "id")?,
                item_id: row.try_get("", "file_id")?,
                tokens: 0,
            })
        })
        .collect()
}

pub async fn copy_files_ended_since<C: ConnectionTrait>(
    connection: &C,
    copy: &CopyContext<'_>,
    file_ids: Option<&[Uuid]>,
) -> Result<Vec<CopiedVersion>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "WITH target AS ( \
                   SELECT * FROM file_versions t \
                   WHERE t.chat_id = $1 AND t.valid_from <= $2 AND t.valid_to > $2 AND t.valid_to <= $6 AND {FILE_FILTER} \
                     AND NOT EXISTS (SELECT 1 FROM file_versions c WHERE c.file_id = t.file_id \
                       AND c.valid_to = $9 AND c.sha256 = t.sha256 AND c.name = t.name) \
                 ), bumped AS ( \
                   UPDATE chat_files f SET latest_version = f.latest_version + 1 FROM target \
                   WHERE f.id = target.file_id RETURNING f.id, f.latest_version \
                 ) INSERT INTO file_versions (id, tenant_id, chat_id, file_id, version, name, mime_type, size_bytes, \
                     sha256, source, message_id, description, extracted_text, media_file_id, media_version, created_by, \
                     restored_from, valid_from, created_at) \
                   SELECT gen_random_uuid(), t.tenant_id, t.chat_id, t.file_id, b.latest_version, t.name, t.mime_type, \
                     t.size_bytes, t.sha256, t.source, t.message_id, t.description, t.extracted_text, t.media_file_id, \
                     t.media_version, $7, t.id, $3, $8 \
                   FROM target t JOIN bumped b ON b.id = t.file_id \
                 RETURNING id, file_id, version, sha256, name, mime_type, media_file_id, media_version"
            ),
            [
                copy.chat_id.into(),
                copy.target_version.into(),
                copy.new_version.into(),
                file_ids.is_some().into(),
                file_ids.map(<[Uuid]>::to_vec).unwrap_or_default().into(),
                copy.head_version.into(),
                copy.actor.into(),
                copy.created_at.into(),
                CURRENT.into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(CopiedVersion {
                version_id: row.try_get("", "id")?,
                item_id: row.try_get("", "file_id")?,
                version: row.try_get("", "version")?,
                sha256: row.try_get("", "sha256")?,
                tokens: 0,
                position: 0,
                name: row.try_get("", "name")?,
                mime_type: row.try_get("", "mime_type")?,
                media_file_id: row.try_get("", "media_file_id")?,
                media_version: row.try_get("", "media_version")?,
            })
        })
        .collect()
}

pub struct RestoreLogEntry<'a> {
    pub restore_id: Uuid,
    pub tenant_id: Uuid,
    pub chat_id: Uuid,
    pub user_id: &'a str,
    pub target_snapshot_id: Uuid,
    pub previous_snapshot_id: Option<Uuid>,
    pub result_snapshot_id: Uuid,
    pub scope: &'a str,
    pub message_ids: Vec<Uuid>,
    pub file_ids: Vec<Uuid>,
    pub messages_restored: i32,
    pub messages_removed: i32,
    pub files_restored: i32,
    pub files_removed: i32,
    pub reason: &'a str,
}

pub async fn log<C: ConnectionTrait>(
    connection: &C,
    entry: &RestoreLogEntry<'_>,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO restores (id, tenant_id, chat_id, user_id, target_snapshot_id, previous_snapshot_id, \
               result_snapshot_id, scope, message_ids, file_ids, messages_restored, messages_removed, \
               files_restored, files_removed, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            [
                entry.restore_id.into(),
                entry.tenant_id.into(),
                entry.chat_id.into(),
                entry.user_id.into(),
                entry.target_snapshot_id.into(),
                entry.previous_snapshot_id.into(),
                entry.result_snapshot_id.into(),
                entry.scope.into(),
                entry.message_ids.clone().into(),
                entry.file_ids.clone().into(),
                entry.messages_restored.into(),
                entry.messages_removed.into(),
                entry.files_restored.into(),
                entry.files_removed.into(),
                entry.reason.into(),
            ],
        ))
        .await?;
    Ok(())
}

/// What a restore snapshot's event reports: the restore logged with it.
pub struct LoggedRestore {
    pub scope: String,
    pub messages_restored: i32,
    pub messages_removed: i32,
    pub files_restored: i32,
    pub files_removed: i32,
}

pub async fn by_result_snapshot<C: ConnectionTrait>(
    connection: &C,
    snapshot_id: Uuid,
) -> Result<Option<LoggedRestore>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT scope, messages_restored, messages_removed, files_restored, files_removed \
             FROM restores WHERE result_snapshot_id = $1",
            [snapshot_id.into()],
        ))
        .await?;
    row.map(|row| {
        Ok(LoggedRestore {
            scope: row.try_get("", "scope")?,
            messages_restored: row.try_get("", "messages_restored")?,
            messages_removed: row.try_get("", "messages_removed")?,
            files_restored: row.try_get("", "files_restored")?,
            files_removed: row.try_get("", "files_removed")?,
        })
    })
    .transpose()
}
