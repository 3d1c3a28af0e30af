//! `messages` and `message_versions`: a message is its stable id and position; each version
//! is current for a range of chat versions, `[valid_from, valid_to)`.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::tm;
use uuid::Uuid;

use super::{CURRENT, api_valid_to, non_negative, rfc3339, statement};
use crate::domain::content;

pub(crate) const VERSION_COLUMNS: &str = "v.id, v.chat_id, v.message_id, v.version, v.position, v.role, v.content, \
    v.parts::text AS parts, v.metadata::text AS metadata, v.tokens, v.content_sha256, v.edit_reason, v.edited_by, v.restored_from, v.valid_from, \
    v.valid_to, v.created_at AS version_created_at, v.message_created_at";

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version_id: Uuid,
    pub chat_id: Uuid,
    pub message_id: Uuid,
    pub version: i32,
    pub position: i64,
    pub role: String,
    pub content: String,
    /// As PostgreSQL prints the stored JSON (parsed once, straight into the message types).
    pub parts: String,
    pub metadata: String,
    pub tokens: i64,
    pub content_sha256: String,
    pub edit_reason: Option<String>,
    pub edited_by: Option<String>,
    pub restored_from: Option<Uuid>,
    pub valid_from: i32,
    pub valid_to: i32,
    pub version_created_at: DateTime<Utc>,
    pub message_created_at: DateTime<Utc>,
}

impl VersionRow {
    pub(crate) fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            version_id: row.try_get("", "id")?,
            chat_id: row.try_get("", "chat_id")?,
            message_id: row.try_get("", "message_id")?,
            version: row.try_get("", "version")?,
            position: row.try_get("", "position")?,
            role: row.try_get("", "role")?,
            content: row.try_get("", "content")?,
            parts: row.try_get("", "parts")?,
            metadata: row.try_get("", "metadata")?,
            tokens: row.try_get("", "tokens")?,
            content_sha256: row.try_get("", "content_sha256")?,
            edit_reason: row.try_get("", "edit_reason")?,
            edited_by: row.try_get("", "edited_by")?,
            restored_from: row.try_get("", "restored_from")?,
            valid_from: row.try_get("", "valid_from")?,
            valid_to: row.try_get("", "valid_to")?,
            version_created_at: row.try_get("", "version_created_at")?,
            message_created_at: row.try_get("", "message_created_at")?,
        })
    }

    pub fn is_current(&self) -> bool {
        self.valid_to == CURRENT
    }

    pub fn metadata(&self) -> tm::MessageMetadata {
        content::metadata_from_text(&self.metadata)
    }

    pub fn parts(&self) -> Vec<tm::Part> {
        content::parts_from_text(&self.parts)
    }

    /// The content hash recomputed from what is stored (verification compares it).
    pub fn recomputed_sha256(&self) -> String {
        content::content_sha256(&self.role, &self.content, &self.parts(), &self.metadata())
    }

    pub fn to_proto(&self) -> tm::Message {
        tm::Message {
            message_id: self.message_id.to_string(),
            chat_id: self.chat_id.to_string(),
            role: self.role.clone(),
            content: self.content.clone(),
            parts: self.parts(),
            metadata: Some(self.metadata()),
            position: non_negative(self.position),
            version: self.version.max(0) as u32,
            version_id: self.version_id.to_string(),
            created_at: rfc3339(self.message_created_at),
            version_created_at: rfc3339(self.version_created_at),
            edit_reason: self.edit_reason.clone().unwrap_or_default(),
            edited_by: self.edited_by.clone().unwrap_or_default(),
            restored_from_version_id: self
                .restored_from
                .map(|id| id.to_string())
                .unwrap_or_default(),
            valid_from: self.valid_from.max(0) as u32,
            valid_to: api_valid_to(self.valid_to),
            content_sha256: self.content_sha256.clone(),
        }
    }
}

fn rows(rows: Vec<QueryResult>) -> Result<Vec<VersionRow>, DbErr> {
    rows.iter().map(VersionRow::from_row).collect()
}

/// Reads of a chat in position order walk `message_versions_as_of_idx` in order and stop at
/// their LIMIT. Without this the planner, misjudging how many versions a range condition
/// keeps (always so right after a chat grew), may fetch every version of the chat with a
/// bitmap scan and sort them, which costs the whole chat for a page of 50.
pub async fn prefer_ordered_index<C: ConnectionTrait>(connection: &C) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "SELECT set_config('enable_bitmapscan', 'off', true)",
            [],
        ))
        .await?;
    Ok(())
}

/// The chat as of `version`, in order, after `after_position`: one range read on
/// `message_versions_as_of_idx`, whose range columns are checked inside the index, so only
/// the versions current at `version` are fetched from the table.
pub async fn as_of<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    version: i32,
    after_position: i64,
    limit: u32,
) -> Result<Vec<VersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM message_versions v \
                     WHERE v.chat_id = $1 AND v.position > $3 AND v.valid_from <= $2 AND v.valid_to > $2 \
                     ORDER BY v.position LIMIT $4"
                ),
                [
                    chat_id.into(),
                    version.into(),
                    after_position.into(),
                    (limit as i64).into(),
                ],
            ))
            .await?,
    )
}

/// The current messages with offset pagination in either order (the seeds' chat API).
pub async fn current_page<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    newest_first: bool,
    limit: u32,
    offset: u32,
) -> Result<Vec<VersionRow>, DbErr> {
    let order = if newest_first { "DESC" } else { "ASC" };
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM message_versions v \
                     WHERE v.chat_id = $1 AND v.valid_to = $2 ORDER BY v.position {order} LIMIT $3 OFFSET $4"
                ),
                [
                    chat_id.into(),
                    CURRENT.into(),
                    (limit as i64).into(),
                    (offset as i64).into(),
                ],
            ))
            .await?,
    )
}

/// The message's current version (none when it is deleted), if it is a message of the chat.
pub async fn current<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    message_id: Uuid,
) -> Result<Option<VersionRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM message_versions v \
                 WHERE v.message_id = $1 AND v.chat_id = $2 AND v.valid_to = $3"
            ),
            [message_id.into(), chat_id.into(), CURRENT.into()],
        ))
        .await?;
    row.as_ref().map(VersionRow::from_row).transpose()
}

/// Every version of a message, oldest first.
pub async fn versions<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    message_id: Uuid,
) -> Result<Vec<VersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM message_versions v \
                     WHERE v.message_id = $1 AND v.chat_id = $2 ORDER BY v.version"
                ),
                [message_id.into(), chat_id.into()],
            ))
            .await?,
    )
}

/// An earlier save this one replays: the message with this id, or with this idempotency key
/// in the chat, and its first version.
pub async fn find_replay<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    message_id: Option<Uuid>,
    idempotency_key: Option<&str>,
) -> Result<Option<VersionRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM messages m JOIN message_versions v ON v.message_id = m.id AND v.version = 1 \
                 WHERE m.chat_id = $2 AND (m.id = $1 OR m.idempotency_key = $3) \
                 ORDER BY (m.id = $1) DESC NULLS LAST LIMIT 1"
            ),
            [
                message_id.into(),
                chat_id.into(),
                idempotency_key.map(str::to_string).into(),
            ],
        ))
        .await?;
    row.as_ref().map(VersionRow::from_row).transpose()
}

/// Versions whose range starts or ends in `(low, high]`: everything that changed between two
/// chat versions, and nothing else.
pub async fn changed_between<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    low: i32,
    high: i32,
) -> Result<Vec<VersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM message_versions v \
                     WHERE v.chat_id = $1 AND v.valid_from > $2 AND v.valid_from <= $3 \
                     UNION \
                     SELECT {VERSION_COLUMNS} FROM message_versions v \
                     WHERE v.chat_id = $1 AND v.valid_to > $2 AND v.valid_to <= $3"
                ),
                [chat_id.into(), low.into(), high.into()],
            ))
            .await?,
    )
}

/// Every version of the chat that was current somewhere in [from, to] (exports with
/// history), in position then version order.
pub async fn overlapping<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    from_version: i32,
    to_version: i32,
) -> Result<Vec<VersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM message_versions v \
                     WHERE v.chat_id = $1 AND v.valid_from <= $3 AND v.valid_to > $2 \
                     ORDER BY v.position, v.version"
                ),
                [chat_id.into(), from_version.into(), to_version.into()],
            ))
            .await?,
    )
}

/// What verification needs of every version of a chat: ids, ranges and the stored content.
pub async fn all<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
) -> Result<Vec<VersionRow>, DbErr> {
    rows(
        connection
            .query_all_raw(statement(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM message_versions v \
                     WHERE v.chat_id = $1 ORDER BY v.valid_from, v.id"
                ),
                [chat_id.into()],
            ))
            .await?,
    )
}

/// Positions of the given messages (restoring a range of messages by its ends).
pub async fn positions<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    message_ids: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT id, position FROM messages WHERE chat_id = $1 AND id = ANY($2)",
            [chat_id.into(), message_ids.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "position")?)))
        .collect()
}

/// The version of a message a snapshot wrote (its range opens at that snapshot's version).
pub async fn started_at<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    message_id: Uuid,
    version: i32,
) -> Result<Option<VersionRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM message_versions v \
                 WHERE v.message_id = $1 AND v.chat_id = $2 AND v.valid_from = $3"
            ),
            [message_id.into(), chat_id.into(), version.into()],
        ))
        .await?;
    row.as_ref().map(VersionRow::from_row).transpose()
}

/// The message's newest version number (an edit writes this + 1): the newest entry of its
/// (message_id, version) index. The caller holds the chat's lock, so no one writes another.
pub async fn latest_version<C: ConnectionTrait>(
    connection: &C,
    message_id: Uuid,
) -> Result<Option<i32>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT version AS latest_version FROM message_versions WHERE message_id = $1 \
             ORDER BY version DESC LIMIT 1",
            [message_id.into()],
        ))
        .await?;
    row.map(|row| row.try_get("", "latest_version")).transpose()
}
