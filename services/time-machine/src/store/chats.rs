//! `chats`: a chat, its owner, and its head (the newest snapshot and the running counts).

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::tm;
use uuid::Uuid;

use super::{non_negative, optional_rfc3339, rfc3339, statement};

const CHAT_COLUMNS: &str = "id, user_id, title, title_source, model_id, sandbox_id, visibility, \
    last_context::text AS last_context, is_deleted, deleted_at, head_version, head_snapshot_id, head_checksum, \
    next_position, next_file_position, message_count, file_count, total_tokens, media_bytes, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct ChatRow {
    pub chat_id: Uuid,
    pub user_id: String,
    pub title: String,
    pub title_source: String,
    pub model_id: String,
    pub sandbox_id: String,
    pub visibility: String,
    pub last_context: Option<String>,
    pub is_deleted: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub head_version: i32,
    pub head_snapshot_id: Option<Uuid>,
    pub head_checksum: String,
    pub next_position: i64,
    pub next_file_position: i64,
    pub message_count: i64,
    pub file_count: i64,
    pub total_tokens: i64,
    pub media_bytes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ChatRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            chat_id: row.try_get("", "id")?,
            user_id: row.try_get("", "user_id")?,
            title: row.try_get("", "title")?,
            title_source: row.try_get("", "title_source")?,
            model_id: row.try_get("", "model_id")?,
            sandbox_id: row.try_get("", "sandbox_id")?,
            visibility: row.try_get("", "visibility")?,
            last_context: row.try_get("", "last_context")?,
            is_deleted: row.try_get("", "is_deleted")?,
            deleted_at: row.try_get("", "deleted_at")?,
            head_version: row.try_get("", "head_version")?,
            head_snapshot_id: row.try_get("", "head_snapshot_id")?,
            head_checksum: row.try_get("", "head_checksum")?,
            next_position: row.try_get("", "next_position")?,
            next_file_position: row.try_get("", "next_file_position")?,
            message_count: row.try_get("", "message_count")?,
            file_count: row.try_get("", "file_count")?,
            total_tokens: row.try_get("", "total_tokens")?,
            media_bytes: row.try_get("", "media_bytes")?,
            created_at: row.try_get("", "created_at")?,
            updated_at: row.try_get("", "updated_at")?,
        })
    }

    pub fn to_proto(&self) -> tm::Chat {
        tm::Chat {
            chat_id: self.chat_id.to_string(),
            user_id: self.user_id.clone(),
            title: self.title.clone(),
            title_source: self.title_source.clone(),
            model_id: self.model_id.clone(),
            sandbox_id: self.sandbox_id.clone(),
            visibility: self.visibility.clone(),
            last_context_json: self.last_context.clone().unwrap_or_default(),
            is_deleted: self.is_deleted,
            deleted_at: optional_rfc3339(self.deleted_at),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            current_version: self.head_version.max(0) as u32,
            current_snapshot_id: self
                .head_snapshot_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            message_count: non_negative(self.message_count),
            file_count: non_negative(self.file_count),
            total_tokens: non_negative(self.total_tokens),
            media_bytes: non_negative(self.media_bytes),
        }
    }
}

pub struct NewChat<'a> {
    pub chat_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: &'a str,
    pub title: &'a str,
    pub title_source: &'a str,
    pub model_id: &'a str,
    pub sandbox_id: &'a str,
    pub visibility: &'a str,
    pub create_key: Option<&'a str>,
    pub genesis_checksum: &'a str,
}

/// Inserts the chat unless its id or its create key is taken; `None` when nothing was inserted.
pub async fn insert<C: ConnectionTrait>(
    connection: &C,
    new: &NewChat<'_>,
) -> Result<Option<ChatRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "INSERT INTO chats (id, tenant_id, user_id, title, title_source, model_id, sandbox_id, visibility, \
                   create_key, head_checksum) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT DO NOTHING RETURNING {CHAT_COLUMNS}"
            ),
            [
                new.chat_id.into(),
                new.tenant_id.into(),
                new.user_id.into(),
                new.title.into(),
                new.title_source.into(),
                new.model_id.into(),
                new.sandbox_id.into(),
                new.visibility.into(),
                new.create_key.map(str::to_string).into(),
                new.genesis_checksum.into(),
            ],
        ))
        .await?;
    row.as_ref().map(ChatRow::from_row).transpose()
}

pub async fn find_by_create_key<C: ConnectionTrait>(
    connection: &C,
    user_id: &str,
    create_key: &str,
) -> Result<Option<ChatRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!(
                "SELECT {CHAT_COLUMNS} FROM chats WHERE user_id = $1 AND create_key = $2 \
                 AND tenant_id = radiant_current_tenant()"
            ),
            [user_id.into(), create_key.into()],
        ))
        .await?;
    row.as_ref().map(ChatRow::from_row).transpose()
}

pub async fn get<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
) -> Result<Option<ChatRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = $1"),
            [chat_id.into()],
        ))
        .await?;
    row.as_ref().map(ChatRow::from_row).transpose()
}

/// The chat, locked until the transaction ends: every write to a chat takes this lock first,
/// so concurrent writers of one chat run one after the other and never share a version.
pub async fn lock<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
) -> Result<Option<ChatRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = $1 FOR UPDATE"),
            [chat_id.into()],
        ))
        .await?;
    row.as_ref().map(ChatRow::from_row).transpose()
}

/// The chat with a shared lock: writers (who take the row lock) wait until the transaction
/// ends, so several reads in it see one state of the chat (verification).
pub async fn lock_shared<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
) -> Result<Option<ChatRow>, DbErr> {
    let row = connection
        .query_one_raw(statement(
            &format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = $1 FOR SHARE"),
            [chat_id.into()],
        ))
        .await?;
    row.as_ref().map(ChatRow::from_row).transpose()
}

pub struct ListFilter<'a> {
    /// `None`: every user of the tenant (admins).
    pub user_id: Option<&'a str>,
    pub deleted: bool,
    pub updated_since: Option<DateTime<Utc>>,
    pub title_search: Option<&'a str>,
    pub limit: u32,
    pub offset: u32,
}

/// Matches `%text%` literally: the LIKE wildcards in what a user typed are escaped.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

const LIST_CONDITIONS: &str = "($1::text IS NULL OR user_id = $1) AND is_deleted = $2 \
    AND ($3::timestamptz IS NULL OR updated_at >= $3) AND ($4::text IS NULL OR title ILIKE $4)";

/// A page of chats, newest activity first, and how many match in all.
pub async fn list<C: ConnectionTrait>(
    connection: &C,
    filter: &ListFilter<'_>,
) -> Result<(Vec<ChatRow>, u64), DbErr> {
    let values = || {
        [
            filter.user_id.map(str::to_string).into(),
            filter.deleted.into(),
            filter.updated_since.into(),
            filter.title_search.map(like_pattern).into(),
        ]
    };
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "SELECT {CHAT_COLUMNS} FROM chats WHERE {LIST_CONDITIONS} \
                 ORDER BY updated_at DESC, id LIMIT $5 OFFSET $6"
            ),
            values()
                .into_iter()
                .chain([(filter.limit as i64).into(), (filter.offset as i64).into()]),
        ))
        .await?;
    let total = connection
        .query_one_raw(statement(
            &format!("SELECT count(*) AS total FROM chats WHERE {LIST_CONDITIONS}"),
            values(),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "total"))
        .transpose()?
        .unwrap_or(0);
    let chats = rows
        .iter()
        .map(ChatRow::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((chats, non_negative(total)))
}

/// The seeds' user statistics, from the running counts (no message is counted here).
pub async fn stats<C: ConnectionTrait>(
    connection: &C,
    user_id: Option<&str>,
) -> Result<tm::ChatStats, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT count(*) AS total, count(*) FILTER (WHERE NOT is_deleted) AS active, \
               count(*) FILTER (WHERE is_deleted) AS deleted, \
               coalesce(sum(message_count) FILTER (WHERE NOT is_deleted), 0)::bigint AS messages \
             FROM chats WHERE ($1::text IS NULL OR user_id = $1)",
            [user_id.map(str::to_string).into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(tm::ChatStats::default());
    };
    Ok(tm::ChatStats {
        total_chats: non_negative(row.try_get("", "total")?),
        active_chats: non_negative(row.try_get("", "active")?),
        deleted_chats: non_negative(row.try_get("", "deleted")?),
        total_messages: non_negative(row.try_get("", "messages")?),
    })
}

/// Fields of the chat itself that are not versioned (model, sandbox, context, visibility).
pub struct SettingsUpdate<'a> {
    pub model_id: Option<&'a str>,
    pub sandbox_id: Option<&'a str>,
    pub last_context: Option<Option<String>>,
    pub visibility: Option<&'a str>,
}

pub async fn update_settings<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    update: &SettingsUpdate<'_>,
) -> Result<(), DbErr> {
    let (context_given, context) = match &update.last_context {
        Some(context) => (true, context.clone()),
        None => (false, None),
    };
    connection
        .execute_raw(statement(
            "UPDATE chats SET model_id = coalesce($2, model_id), sandbox_id = coalesce($3, sandbox_id), \
               last_context = CASE WHEN $4 THEN $5::jsonb ELSE last_context END, \
               visibility = coalesce($6, visibility), updated_at = now() \
             WHERE id = $1",
            [
                chat_id.into(),
                update.model_id.map(str::to_string).into(),
                update.sandbox_id.map(str::to_string).into(),
                context_given.into(),
                context.into(),
                update.visibility.map(str::to_string).into(),
            ],
        ))
        .await?;
    Ok(())
}

pub async fn set_deleted<C: ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    deleted: bool,
    actor: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE chats SET is_deleted = $2, \
               deleted_at = CASE WHEN $2 THEN now() ELSE NULL END, \
               deleted_by = CASE WHEN $2 THEN $3 ELSE NULL END, updated_at = now() \
             WHERE id = $1",
            [chat_id.into(), deleted.into(), actor.into()],
        ))
        .await?;
    Ok(())
}
