//! `snapshots`: one row per change of a chat, numbered per chat, hash-chained.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::tm;
use uuid::Uuid;

use super::{non_negative, rfc3339, statement};
use crate::domain::chain::SnapshotHeader;

const SNAPSHOT_COLUMNS: &str = "id, chat_id, version, trigger, trigger_message_id, trigger_file_id, description, \
    title, message_count, file_count, total_tokens, media_bytes, previous_snapshot_id, \
    restored_from_snapshot_id, checksum, actor, created_at";

#[derive(Debug, Clone)]
pub struct SnapshotRow {
    pub snapshot_id: Uuid,
    pub chat_id: Uuid,
    pub version: i32,
    pub trigger: String,
    pub trigger_message_id: Option<Uuid>,
    pub trigger_file_id: Option<Uuid>,
    pub description: String,
    pub title: String,
    pub message_count: i64,
    pub file_count: i64,
    pub total_tokens: i64,
    pub media_bytes: i64,
    pub previous_snapshot_id: Option<Uuid>,
    pub restored_from_snapshot_id: Option<Uuid>,
    pub checksum: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

impl SnapshotRow {
    pub(crate) fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            snapshot_id: row.try_get("", "id")?,
            chat_id: row.try_get("", "chat_id")?,
            version: row.try_get("", "version")?,
            trigger: row.try_get("", "trigger")?,
            trigger_message_id: row.try_get("", "trigger_message_id")?,
            trigger_file_id: row.try_get("", "trigger_file_id")?,
            description: row.try_get("", "description")?,
            title: row.try_get("", "title")?,
            message_count: row.try_get("", "message_count")?,
            file_count: row.try_get("", "file_count")?,
            total_tokens: row.try_get("", "total_tokens")?,
            media_bytes: row.try_get("", "media_bytes")?,
            previous_snapshot_id: row.try_get("", "previous_snapshot_id")?,
            restored_from_snapshot_id: row.try_get("", "restored_from_snapshot_id")?,
            checksum: row.try_get("", "checksum")?,
            actor: row.try_get("", "actor")?,
            created_at: row.try_get("", "created_at")?,
        })
    }

    pub fn version_number(&self) -> u32 {
        self.version.max(0) as u32
    }

    pub fn to_proto(&self) -> tm::Snapshot {
        let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        tm::Snapshot {
            snapshot_id: self.snapshot_id.to_string(),
            chat_id: self.chat_id.to_string(),
            version: self.version_number(),
            created_at: rfc3339(self.created_at),
            trigger: self.trigger.clone(),
            trigger_message_id: id(self.trigger_message_id),
            trigger_file_id: id(self.trigger_file_id),
            description: self.description.clone(),
            message_count: non_negative(self.message_count),
            file_count: non_negative(self.file_count),
            total_tokens: non_negative(self.total_tokens),
            media_bytes: non_negative(self.media_bytes),
            title: self.title.clone(),
            previous_snapshot_id: id(self.previous_snapshot_id),
            restored_from_snapshot_id: id(self.restored_from_snapshot_id),
            checksum: self.checksum.clone(),
            actor: self.actor.clone(),
        }
    }

    /// The header as the chain hashes it.
    pub fn header(&self) -> SnapshotHeader {
        SnapshotHeader {
            chat_id: self.chat_id,
            version: self.version_number(),
            trigger: self.trigger.clone(),
            trigger_message_id: self.trigger_message_id,
            trigger_file_id: self.trigger_file_id,
            description: self.description.clone(),
            title: self.title.clone(),
            message_count: non_negative(self.message_count),
            file_count: non_negative(self.file_count),
            total_tokens: non_negative(self.total_tokens),
            media_bytes: non_negative(self.media_bytes),
            restored_from_snapshot_id: self.restored_from_snapshot_id,
            actor: self.actor.clone(),
            created_at_micros: self.created_at.timestamp_micros(),
        }
    }
}

fn rows(rows: Vec<QueryResult>) -> Result<Vec<SnapshotRow>, DbErr> {
    rows.iter().map(SnapshotRow::from_row).collect()
}

/// The snapshot, only if it belongs to `chat_id` (a snapshot of another chat is not found).
pub async fn get_in_chat<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    snapshot_id: Uuid,
) -> Result<Option<SnapshotRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE id = $1 AND chat_id = $2"),
            [snapshot_id.into(), chat_id.into()],
        ))
        .await?;
    row.as_ref().map(SnapshotRow::from_row).transpose()
}

pub async fn get_by_version<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    version: i32,
) -> Result<Option<SnapshotRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 AND version = $2"
            ),
            [chat_id.into(), version.into()],
        ))
        .await?;
    row.as_ref().map(SnapshotRow::from_row).transpose()
}

/// The ids of the snapshots with these versions (where search hits and versions "appear").
pub async fn ids_by_version<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    versions: &[i32],
) -> Result<std::collections::HashMap<i32, Uuid>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT version, id FROM snapshots WHERE chat_id = $1 AND version = ANY($2)",
            [chat_id.into(), versions.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "version")?, row.try_get("", "id")?)))
        .collect()
}

/// A page of the timeline after `after_version` (exclusive; 0 = from the start of the order).
pub async fn page<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    newest_first: bool,
    after_version: Option<i32>,
    limit: u32,
) -> Result<Vec<SnapshotRow>, DbErr> {
    let sql = if newest_first {
        format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 AND ($2::integer IS NULL OR version < $2) \
             ORDER BY version DESC LIMIT $3"
        )
    } else {
        format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 AND ($2::integer IS NULL OR version > $2) \
             ORDER BY version LIMIT $3"
        )
    };
    rows(
        connection
            .query_all_raw(statement(
                &sql,
                [chat_id.into(), after_version.into(), (limit as i64).into()],
            ))
            .await?,
    )
}

/// Every snapshot of the chat with a version in [from, to], oldest first.
pub async fn in_version_range<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    from_version: i32,
    to_version: i32,
) -> Result<Vec<SnapshotRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 AND version BETWEEN $2 AND $3 \
                     ORDER BY version"
                ),
                [chat_id.into(), from_version.into(), to_version.into()],
            ))
            .await?,
    )
}

/// Snapshots taken in [from, to), oldest first.
pub async fn in_time_range<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<SnapshotRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 AND created_at >= $2 AND created_at < $3 \
                     ORDER BY created_at, version"
                ),
                [chat_id.into(), from.into(), to.into()],
            ))
            .await?,
    )
}

/// The newest snapshot taken at or before `instant` (the chat as it was then).
pub async fn latest_at_or_before<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    instant: DateTime<Utc>,
) -> Result<Option<SnapshotRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 AND created_at <= $2 \
                 ORDER BY version DESC LIMIT 1"
            ),
            [chat_id.into(), instant.into()],
        ))
        .await?;
    row.as_ref().map(SnapshotRow::from_row).transpose()
}

/// Per-day counts in a time zone (already validated: an IANA name PostgreSQL knows too).
pub async fn days<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    time_zone: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<tm::DayCount>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT to_char((created_at AT TIME ZONE $2)::date, 'YYYY-MM-DD') AS day, count(*) AS snapshots, \
               min(created_at) AS first_at, max(created_at) AS last_at \
             FROM snapshots WHERE chat_id = $1 \
               AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at < $4) \
             GROUP BY 1 ORDER BY 1",
            [chat_id.into(), time_zone.into(), from.into(), to.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(tm::DayCount {
                date: row.try_get("", "day")?,
                snapshot_count: non_negative(row.try_get("", "snapshots")?),
                first_snapshot_at: rfc3339(row.try_get("", "first_at")?),
                last_snapshot_at: rfc3339(row.try_get("", "last_at")?),
            })
        })
        .collect()
}

pub struct ChatSpan {
    pub total: u64,
    pub oldest: Option<DateTime<Utc>>,
    pub newest: Option<DateTime<Utc>>,
    pub restores: u64,
}

pub async fn span<C: ConnectionTrait>(connection: &C, chat_id: Uuid) -> Result<ChatSpan, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT count(*) AS total, min(created_at) AS oldest, max(created_at) AS newest, \
               count(*) FILTER (WHERE trigger = 'restore_performed') AS restores \
             FROM snapshots WHERE chat_id = $1",
            [chat_id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(ChatSpan {
            total: 0,
            oldest: None,
            newest: None,
            restores: 0,
        });
    };
    Ok(ChatSpan {
        total: non_negative(row.try_get("", "total")?),
        oldest: row.try_get("", "oldest")?,
        newest: row.try_get("", "newest")?,
        restores: non_negative(row.try_get("", "restores")?),
    })
}

/// Every snapshot of a chat, oldest first (verification and exports).
pub async fn all<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
) -> Result<Vec<SnapshotRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 ORDER BY version"
                ),
                [chat_id.into()],
            ))
            .await?,
    )
}

/// The most recent snapshots with one of these triggers, newest first (highlights).
pub async fn latest_with_triggers<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    triggers: &[&str],
    limit: u32,
) -> Result<Vec<SnapshotRow>, DbErr> {
    let triggers: Vec<String> = triggers.iter().map(|trigger| trigger.to_string()).collect();
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE chat_id = $1 AND trigger = ANY($2) \
                     ORDER BY version DESC LIMIT $3"
                ),
                [chat_id.into(), triggers.into(), (limit as i64).into()],
            ))
            .await?,
    )
}

/// A snapshot by id alone (the event relay, which knows only the id).
pub async fn get<C: ConnectionTrait>(
    connection: &C,
    snapshot_id: Uuid,
) -> Result<Option<SnapshotRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE id = $1"),
            [snapshot_id.into()],
        ))
        .await?;
    row.as_ref().map(SnapshotRow::from_row).transpose()
}
