//! The write path. Every change of a chat runs in one transaction that holds the chat's row
//! lock: it writes the versions the change starts, closes the ranges it ends, then
//! [`commit_snapshot`] adds the snapshot (version = head + 1, checksum chained from the
//! head's), owes its event in the outbox and moves the head with the new running counts. Each
//! statement touches only the rows of the change, so a snapshot costs the same whatever the
//! chat's length.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, Value};
use uuid::Uuid;

use super::chats::ChatRow;
use super::snapshots::SnapshotRow;
use super::{CURRENT, non_negative, statement};
use crate::domain::chain::{self, ChangeEntry, SnapshotHeader};
use crate::domain::vocabulary::Trigger;

/// The snapshot a change ends with, before it is numbered and chained.
#[derive(Debug, Clone)]
pub struct SnapshotDraft {
    pub trigger: Trigger,
    pub trigger_message_id: Option<Uuid>,
    pub trigger_file_id: Option<Uuid>,
    pub description: String,
    /// The chat's title after the change, and its new source when the change set it.
    pub title: String,
    pub title_source: Option<&'static str>,
    pub restored_from_snapshot_id: Option<Uuid>,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub entries: Vec<ChangeEntry>,
    pub message_delta: i64,
    pub file_delta: i64,
    pub token_delta: i64,
    pub media_bytes_delta: i64,
    pub positions_used: i64,
    pub file_positions_used: i64,
}

impl SnapshotDraft {
    pub fn new(trigger: Trigger, head: &ChatRow, actor: &str, created_at: DateTime<Utc>) -> Self {
        Self {
            trigger,
            trigger_message_id: None,
            trigger_file_id: None,
            description: String::new(),
            title: head.title.clone(),
            title_source: None,
            restored_from_snapshot_id: None,
            actor: actor.to_string(),
            created_at,
            entries: Vec::new(),
            message_delta: 0,
            file_delta: 0,
            token_delta: 0,
            media_bytes_delta: 0,
            positions_used: 0,
            file_positions_used: 0,
        }
    }
}

/// The version the next snapshot of this chat gets.
pub fn next_version(head: &ChatRow) -> i32 {
    head.head_version + 1
}

/// Numbers, chains and records the snapshot, owes its event, and moves the chat's head, in
/// one statement.
pub async fn commit_snapshot<C: ConnectionTrait>(
    connection: &C,
    tenant_id: Uuid,
    head: &ChatRow,
    draft: &SnapshotDraft,
) -> Result<SnapshotRow, DbErr> {
    let version = next_version(head);
    let message_count = (head.message_count + draft.message_delta).max(0);
    let file_count = (head.file_count + draft.file_delta).max(0);
    let total_tokens = (head.total_tokens + draft.token_delta).max(0);
    let media_bytes = (head.media_bytes + draft.media_bytes_delta).max(0);
    let snapshot_id = Uuid::now_v7();
    let header = SnapshotHeader {
        chat_id: head.chat_id,
        version: version as u32,
        trigger: draft.trigger.as_str().to_string(),
        trigger_message_id: draft.trigger_message_id,
        trigger_file_id: draft.trigger_file_id,
        description: draft.description.clone(),
        title: draft.title.clone(),
        message_count: non_negative(message_count),
        file_count: non_negative(file_count),
        total_tokens: non_negative(total_tokens),
        media_bytes: non_negative(media_bytes),
        restored_from_snapshot_id: draft.restored_from_snapshot_id,
        actor: draft.actor.clone(),
        created_at_micros: draft.created_at.timestamp_micros(),
    };
    let checksum = chain::checksum(&head.head_checksum, &header, &draft.entries);
    let row = connection
        .query_one_raw(statement(
            "WITH snapshot AS ( \
               INSERT INTO snapshots (id, tenant_id, chat_id, version, trigger, trigger_message_id, trigger_file_id, \
                 description, title, message_count, file_count, total_tokens, media_bytes, previous_snapshot_id, \
                 restored_from_snapshot_id, checksum, actor, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
               RETURNING id, chat_id, version, trigger, trigger_message_id, trigger_file_id, description, title, \
                 message_count, file_count, total_tokens, media_bytes, previous_snapshot_id, \
                 restored_from_snapshot_id, checksum, actor, created_at \
             ), owed AS ( \
               INSERT INTO event_outbox (snapshot_id, owner_tenant) VALUES ($1, $2) \
             ), head AS ( \
               UPDATE chats SET head_version = $4, head_snapshot_id = $1, head_checksum = $16, \
                 message_count = $10, file_count = $11, total_tokens = $12, media_bytes = $13, title = $9, \
                 title_source = coalesce($19, title_source), next_position = next_position + $20, \
                 next_file_position = next_file_position + $21, updated_at = $18 \
               WHERE id = $3 \
             ) SELECT * FROM snapshot",
            [
                snapshot_id.into(),
                tenant_id.into(),
                head.chat_id.into(),
                version.into(),
                draft.trigger.as_str().into(),
                draft.trigger_message_id.into(),
                draft.trigger_file_id.into(),
                draft.description.clone().into(),
                draft.title.clone().into(),
                message_count.into(),
                file_count.into(),
                total_tokens.into(),
                media_bytes.into(),
                head.head_snapshot_id.into(),
                draft.restored_from_snapshot_id.into(),
                checksum.into(),
                draft.actor.clone().into(),
                draft.created_at.into(),
                draft.title_source.map(str::to_string).into(),
                draft.positions_used.into(),
                draft.file_positions_used.into(),
            ],
        ))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    SnapshotRow::from_row(&row)
}

/// A message version about to be written.
#[derive(Debug, Clone)]
pub struct NewMessageVersion {
    pub version_id: Uuid,
    pub message_id: Uuid,
    pub version: i32,
    pub position: i64,
    pub role: String,
    pub content: String,
    pub parts_json: String,
    pub metadata_json: String,
    pub tokens: i64,
    pub content_sha256: String,
    pub edit_reason: Option<String>,
    pub edited_by: Option<String>,
    pub valid_from: i32,
    pub created_at: DateTime<Utc>,
    /// When the message was first saved (every version carries it).
    pub message_created_at: DateTime<Utc>,
}

impl NewMessageVersion {
    pub fn started_entry(&self) -> ChangeEntry {
        ChangeEntry::MessageStarted {
            version_id: self.version_id,
            message_id: self.message_id,
            version: self.version.max(0) as u32,
            position: self.position,
            content_sha256: self.content_sha256.clone(),
        }
    }
}

/// The version's search row (see migration 0004): $1 version, $2 tenant, $3 chat, $4 message,
/// $7 role, $8 content, $12 content hash, $16 written at. The tenant's lexeme is how a search
/// finds the tenant's rows inside the GIN index (`store::search::tenant_lexeme`).
const SEARCH_ROW: &str = "searchable AS ( \
    INSERT INTO message_search (version_id, tenant_id, chat_id, message_id, content_sha256, role, created_at, search) \
    VALUES ($1, $2, $3, $4, $12, $7, $16, \
      to_tsvector('english', $8) || array_to_tsvector(ARRAY['t' || replace($2::uuid::text, '-', '')])) \
  )";

/// The version row of [`insert_message`] and [`replace_message_version`]; its values come from
/// [`version_values`].
const INSERT_VERSION: &str = "INSERT INTO message_versions (id, tenant_id, chat_id, message_id, version, position, \
    role, content, parts, metadata, tokens, content_sha256, edit_reason, edited_by, valid_from, created_at, \
    message_created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15, $16, $19)";

/// $1..$16 and $19 of [`INSERT_VERSION`] and [`SEARCH_ROW`]; `own` are $17 and $18, which each
/// statement uses for its other part.
fn version_values(
    tenant_id: Uuid,
    chat_id: Uuid,
    new: &NewMessageVersion,
    own: [Value; 2],
) -> Vec<Value> {
    let [seventeenth, eighteenth] = own;
    vec![
        new.version_id.into(),
        tenant_id.into(),
        chat_id.into(),
        new.message_id.into(),
        new.version.into(),
        new.position.into(),
        new.role.clone().into(),
        new.content.clone().into(),
        new.parts_json.clone().into(),
        new.metadata_json.clone().into(),
        new.tokens.into(),
        new.content_sha256.clone().into(),
        new.edit_reason.clone().into(),
        new.edited_by.clone().into(),
        new.valid_from.into(),
        new.created_at.into(),
        seventeenth,
        eighteenth,
        new.message_created_at.into(),
    ]
}

/// A new message and its first version.
pub async fn insert_message<C: ConnectionTrait>(
    connection: &C,
    tenant_id: Uuid,
    chat_id: Uuid,
    new: &NewMessageVersion,
    idempotency_key: Option<&str>,
    created_by: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            &format!(
                "WITH message AS ( \
                   INSERT INTO messages (id, tenant_id, chat_id, position, role, idempotency_key, created_by, created_at) \
                   VALUES ($4, $2, $3, $6, $7, $17, $18, $16) \
                 ), {SEARCH_ROW} \
                 {INSERT_VERSION}"
            ),
            version_values(
                tenant_id,
                chat_id,
                new,
                [idempotency_key.map(str::to_string).into(), created_by.into()],
            ),
        ))
        .await?;
    Ok(())
}

/// An edit: the current version's range closes where the new version's opens.
pub async fn replace_message_version<C: ConnectionTrait>(
    connection: &C,
    tenant_id: Uuid,
    chat_id: Uuid,
    current_version_id: Uuid,
    new: &NewMessageVersion,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            &format!(
                "WITH ended AS ( \
                   UPDATE message_versions SET valid_to = $15 WHERE id = $17 AND valid_to = $18 \
                 ), {SEARCH_ROW} \
                 {INSERT_VERSION}"
            ),
            version_values(
                tenant_id,
                chat_id,
                new,
                [current_version_id.into(), CURRENT.into()],
            ),
        ))
        .await?;
    Ok(())
}

/// Closes a current version's range (a deletion); false when it was not current any more.
pub async fn end_message_version<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
    at_version: i32,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "UPDATE message_versions SET valid_to = $2 WHERE id = $1 AND valid_to = $3",
            [version_id.into(), at_version.into(), CURRENT.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// A file version about to be written.
#[derive(Debug, Clone)]
pub struct NewFileVersion {
    pub version_id: Uuid,
    pub file_id: Uuid,
    pub name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub source: String,
    pub message_id: Option<Uuid>,
    pub description: String,
    pub extracted_text: String,
    pub media_file_id: Uuid,
    pub media_version: i32,
    pub created_by: String,
    pub restored_from: Option<Uuid>,
    pub valid_from: i32,
    pub created_at: DateTime<Utc>,
}

pub struct RecordedFile {
    pub version: i32,
    /// The version whose range this one closed, if the file was current.
    pub ended_version_id: Option<Uuid>,
    /// True when the file was not in the chat before (new, or deleted earlier).
    pub newly_present: bool,
    pub new_position: bool,
}

/// Records a version of a file: creates the chat's file or bumps its version counter, closes
/// the range of its current version and opens the new one, in one statement.
pub async fn record_file_version<C: ConnectionTrait>(
    connection: &C,
    tenant_id: Uuid,
    chat_id: Uuid,
    position: i64,
    new: &NewFileVersion,
) -> Result<RecordedFile, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "WITH file AS ( \
               INSERT INTO chat_files (id, tenant_id, chat_id, name, position, latest_version, created_at) \
               VALUES ($2, $3, $4, $5, $19, 1, $18) \
               ON CONFLICT (chat_id, name) DO UPDATE SET latest_version = chat_files.latest_version + 1 \
               RETURNING id, latest_version, (xmax = 0) AS inserted \
             ), ended AS ( \
               UPDATE file_versions SET valid_to = $17 WHERE file_id = (SELECT id FROM file) AND valid_to = $20 RETURNING id \
             ), inserted AS ( \
               INSERT INTO file_versions (id, tenant_id, chat_id, file_id, version, name, mime_type, size_bytes, sha256, \
                 source, message_id, description, extracted_text, media_file_id, media_version, created_by, \
                 restored_from, valid_from, created_at) \
               SELECT $1, $3, $4, file.id, file.latest_version, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17, $18 FROM file \
               RETURNING version \
             ) SELECT (SELECT version FROM inserted) AS version, (SELECT id FROM ended) AS ended_id, \
                 (SELECT inserted FROM file) AS inserted",
            [
                new.version_id.into(),
                new.file_id.into(),
                tenant_id.into(),
                chat_id.into(),
                new.name.clone().into(),
                new.mime_type.clone().into(),
                new.size_bytes.into(),
                new.sha256.clone().into(),
                new.source.clone().into(),
                new.message_id.into(),
                new.description.clone().into(),
                new.extracted_text.clone().into(),
                new.media_file_id.into(),
                new.media_version.into(),
                new.created_by.clone().into(),
                new.restored_from.into(),
                new.valid_from.into(),
                new.created_at.into(),
                position.into(),
                CURRENT.into(),
            ],
        ))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    let version: Option<i32> = row.try_get("", "version")?;
    let ended_version_id: Option<Uuid> = row.try_get("", "ended_id")?;
    let inserted: Option<bool> = row.try_get("", "inserted")?;
    Ok(RecordedFile {
        version: version.ok_or(DbErr::RecordNotInserted)?,
        newly_present: ended_version_id.is_none(),
        ended_version_id,
        new_position: inserted.unwrap_or(false),
    })
}

/// Closes the range of a file's current version (deleted from the chat).
pub async fn end_file_version<C: ConnectionTrait>(
    connection: &C,
    version_id: Uuid,
    at_version: i32,
) -> Result<bool, DbErr> {
    let result = connection
        .execute_raw(statement(
            "UPDATE file_versions SET valid_to = $2 WHERE id = $1 AND valid_to = $3",
            [version_id.into(), at_version.into(), CURRENT.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}
