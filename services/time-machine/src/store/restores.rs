//! A restore's statements, and the restore log.
//!
//! Restoring to chat version T at head H (new version N = H + 1): one range read fetches the
//! versions current now or at T (every one has `valid_to` after T); the plan
//! (`domain::restore_plan`) picks the current versions to close and the versions of T to copy
//! as new versions opening at N; then one statement closes and one copies, by primary key.
//! Versions that are the same at T and now are left alone, and nothing before N is rewritten.
//! Every statement is a range read of one chat or a lookup by primary key, so its plan cannot
//! turn into a scan of other chats whatever the statistics say.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use uuid::Uuid;

use super::{CURRENT, statement};
use crate::domain::restore_plan::RangedVersion;

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

/// The rows of a range read (`id`, `item_id`, `identity`, `version`, `valid_from`,
/// `valid_to`), for the plan.
fn ranged_versions(rows: &[QueryResult]) -> Result<Vec<RangedVersion>, DbErr> {
    rows.iter()
        .map(|row| {
            Ok(RangedVersion {
                version_id: row.try_get("", "id")?,
                item_id: row.try_get("", "item_id")?,
                identity: row.try_get("", "identity")?,
                version: row.try_get("", "version")?,
                valid_from: row.try_get("", "valid_from")?,
                valid_to: row.try_get("", "valid_to")?,
            })
        })
        .collect()
}

/// The chat's message versions current now or at `target_version`, within the filter.
pub async fn message_versions_after<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    target_version: i32,
    filter: &RestoreFilter,
) -> Result<Vec<RangedVersion>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT id, message_id AS item_id, content_sha256 AS identity, version, valid_from, valid_to \
             FROM message_versions \
             WHERE chat_id = $1 AND valid_to > $2 \
               AND (NOT $3 OR message_id = ANY($4)) AND ($5::bigint IS NULL OR position BETWEEN $5 AND $6)",
            [chat_id.into(), target_version.into()]
                .into_iter()
                .chain(filter.values()),
        ))
        .await?;
    ranged_versions(&rows)
}

pub async fn end_message_versions<C: ConnectionTrait>(
    connection: &C,
    version_ids: &[Uuid],
    new_version: i32,
) -> Result<Vec<EndedVersion>, DbErr> {
    if version_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = connection
        .query_all_raw(statement(
            "UPDATE message_versions v SET valid_to = $2 FROM unnest($1::uuid[]) AS ended(id) \
             WHERE v.id = ended.id AND v.valid_to = $3 RETURNING v.id, v.message_id, v.tokens",
            [
                version_ids.to_vec().into(),
                new_version.into(),
                CURRENT.into(),
            ],
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
    pub new_version: i32,
    pub actor: &'a str,
    pub reason: &'a str,
    pub created_at: DateTime<Utc>,
}

/// Bumps the version counters of the given files and answers each one's new number. Joined
/// through `unnest`, every row is found by its primary key.
async fn bump_file_counters<C: ConnectionTrait>(
    connection: &C,
    file_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i32>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "UPDATE chat_files f SET latest_version = f.latest_version + 1 FROM unnest($1::uuid[]) AS bump(id) \
             WHERE f.id = bump.id RETURNING f.id, f.latest_version",
            [file_ids.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "latest_version")?)))
        .collect()
}

/// Writes the given versions again as new current versions of their messages, numbered as
/// given (the plan's `copy_numbers`). A copy has no search row of its own: it is its
/// original's text (migration 0005).
pub async fn copy_message_versions<C: ConnectionTrait>(
    connection: &C,
    version_ids: &[Uuid],
    numbers: &[i32],
    copy: &CopyContext<'_>,
) -> Result<Vec<CopiedVersion>, DbErr> {
    if version_ids.is_empty() {
        return Ok(Vec::new());
    }
    if numbers.len() != version_ids.len() {
        return Err(DbErr::Custom(
            "a restore numbered a different count of versions than it copies".to_string(),
        ));
    }
    let new_ids: Vec<Uuid> = version_ids.iter().map(|_| Uuid::now_v7()).collect();
    let rows = connection
        .query_all_raw(statement(
            "WITH copies AS MATERIALIZED ( \
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS copy(new_id, source_id, version) \
             ), inserted AS ( \
               INSERT INTO message_versions (id, tenant_id, chat_id, message_id, version, position, role, content, \
                 parts, metadata, tokens, content_sha256, edit_reason, edited_by, restored_from, valid_from, created_at, \
                 message_created_at) \
               SELECT c.new_id, t.tenant_id, t.chat_id, t.message_id, c.version, t.position, t.role, t.content, \
                 t.parts, t.metadata, t.tokens, t.content_sha256, $4, $5, t.id, $6, $7, t.message_created_at \
               FROM copies c JOIN message_versions t ON t.id = c.source_id \
               RETURNING id, message_id, version, content_sha256, tokens, position \
             ) SELECT * FROM inserted",
            [
                new_ids.into(),
                version_ids.to_vec().into(),
                numbers.to_vec().into(),
                copy.reason.into(),
                copy.actor.into(),
                copy.new_version.into(),
                copy.created_at.into(),
            ],
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

/// The chat's file versions current now or at `target_version`, of these files (`None`: all).
pub async fn file_versions_after<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    target_version: i32,
    file_ids: Option<&[Uuid]>,
) -> Result<Vec<RangedVersion>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT id, file_id AS item_id, sha256 || ' ' || name AS identity, version, valid_from, valid_to \
             FROM file_versions \
             WHERE chat_id = $1 AND valid_to > $2 AND (NOT $3 OR file_id = ANY($4))",
            [
                chat_id.into(),
                target_version.into(),
                file_ids.is_some().into(),
                file_ids.map(<[Uuid]>::to_vec).unwrap_or_default().into(),
            ],
        ))
        .await?;
    ranged_versions(&rows)
}

pub async fn end_file_versions<C: ConnectionTrait>(
    connection: &C,
    version_ids: &[Uuid],
    new_version: i32,
) -> Result<Vec<EndedVersion>, DbErr> {
    if version_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = connection
        .query_all_raw(statement(
            "UPDATE file_versions v SET valid_to = $2 FROM unnest($1::uuid[]) AS ended(id) \
             WHERE v.id = ended.id AND v.valid_to = $3 RETURNING v.id, v.file_id",
            [
                version_ids.to_vec().into(),
                new_version.into(),
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

pub async fn copy_file_versions<C: ConnectionTrait>(
    connection: &C,
    version_ids: &[Uuid],
    file_ids: &[Uuid],
    copy: &CopyContext<'_>,
) -> Result<Vec<CopiedVersion>, DbErr> {
    if version_ids.is_empty() {
        return Ok(Vec::new());
    }
    let numbers = bump_file_counters(connection, file_ids).await?;
    let mut new_ids = Vec::with_capacity(version_ids.len());
    let mut versions = Vec::with_capacity(version_ids.len());
    for file_id in file_ids {
        let number = numbers.get(file_id).copied().ok_or_else(|| {
            DbErr::Custom(format!(
                "file {file_id} was not found to number its restored version"
            ))
        })?;
        new_ids.push(Uuid::now_v7());
        versions.push(number);
    }
    let rows = connection
        .query_all_raw(statement(
            "WITH copies AS MATERIALIZED ( \
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS copy(new_id, source_id, version) \
             ) INSERT INTO file_versions (id, tenant_id, chat_id, file_id, version, name, mime_type, size_bytes, \
                 sha256, source, message_id, description, extracted_text, media_file_id, media_version, created_by, \
                 restored_from, valid_from, created_at) \
               SELECT c.new_id, t.tenant_id, t.chat_id, t.file_id, c.version, t.name, t.mime_type, t.size_bytes, \
                 t.sha256, t.source, t.message_id, t.description, t.extracted_text, t.media_file_id, t.media_version, \
                 $4, t.id, $5, $6 \
               FROM copies c JOIN file_versions t ON t.id = c.source_id \
             RETURNING id, file_id, version, sha256, name, mime_type, media_file_id, media_version",
            [
                new_ids.into(),
                version_ids.to_vec().into(),
                versions.into(),
                copy.actor.into(),
                copy.new_version.into(),
                copy.created_at.into(),
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
