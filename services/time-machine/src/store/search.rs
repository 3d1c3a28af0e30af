//! Full-text search over every version of every message and file of a tenant: a GIN index on
//! the search vectors (`message_search`, written once per new message text; `file_versions`),
//! in which the tenant is a lexeme, ranked, deduplicated (a restored copy is its original's
//! text and has no search row: the message's newest version with that text is shown), with
//! the snapshot where that version became current.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::{CURRENT, statement};

/// The lexeme every version of a tenant carries in its search vector (migration 0002), as a
/// tsquery: the search's tenant condition inside the GIN index.
pub fn tenant_lexeme(tenant_id: Uuid) -> String {
    format!("t{}", tenant_id.simple())
}

/// How the words of a query combine: a search box means all of them (with quotes, `or` and
/// `-word`), a sentence to an assistant means any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    WebSearch,
    AnyOf,
}

#[derive(Debug, Clone)]
pub struct SearchFilter {
    pub tenant_id: Uuid,
    /// `None`: every user's chats (admins and services).
    pub user_id: Option<String>,
    pub chat_id: Option<Uuid>,
    /// `None`: no text condition (the assistant asked for "files from last week").
    pub text: Option<String>,
    pub words: Words,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub role: Option<String>,
    /// MIME prefixes a file must start with.
    pub mime_prefixes: Vec<String>,
    pub limit: u32,
}

impl SearchFilter {
    fn query_text(&self) -> Option<String> {
        let text = self.text.as_ref()?.trim();
        if text.is_empty() {
            return None;
        }
        Some(match self.words {
            Words::WebSearch => text.to_string(),
            // websearch syntax: "a or b or c"; the words come from the query parser (no quotes)
            Words::AnyOf => text.split_whitespace().collect::<Vec<_>>().join(" or "),
        })
    }
}

/// Plans every search for its own values. A prepared statement's generic plan cannot see that
/// an optional filter is absent or what the query words are, and falls back to scanning the
/// tenant's versions; planning the statement each time costs about a millisecond.
pub async fn prefer_custom_plans<C: ConnectionTrait>(connection: &C) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)",
            [],
        ))
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct MessageHitRow {
    pub chat_id: Uuid,
    pub chat_title: String,
    pub message_id: Uuid,
    pub version_id: Uuid,
    pub version: i32,
    pub role: String,
    pub snippet: String,
    pub rank: f32,
    pub created_at: DateTime<Utc>,
    pub snapshot_id: Option<Uuid>,
    pub valid_from: i32,
    pub is_current: bool,
}

/// The parts of a search statement that depend on whether it has words: a text condition
/// with its rank and snippet, or none (the assistant's "files from last week"). The query is
/// written out where it is used (no CTE), so the planner sees a constant it can look up in
/// the GIN index.
struct TextParts {
    condition: &'static str,
    rank: &'static str,
    snippet: &'static str,
}

const MESSAGE_WITH_WORDS: TextParts = TextParts {
    condition: "s.search @@ (websearch_to_tsquery('english', $1) && $9::tsquery)",
    rank: "ts_rank_cd(s.search, websearch_to_tsquery('english', $1))",
    snippet: "ts_headline('english', v.content, websearch_to_tsquery('english', $1), \
        'StartSel=[[,StopSel=]],MaxWords=24,MinWords=8,MaxFragments=2')",
};

const MESSAGE_WITHOUT_WORDS: TextParts = TextParts {
    condition: "$1::text IS NULL AND s.search @@ $9::tsquery",
    rank: "0::real",
    snippet: "left(v.content, 200)",
};

/// $1 query text, $2 tenant, $3 user (NULL: all), $4 chat (NULL: all), $5 from, $6 to,
/// $7 role, $8 limit, $9 the tenant's lexeme as a tsquery.
///
/// A hit is a text (a message's versions with one content hash), shown as its newest version
/// within the time window: the window applies to when versions were written, and the version
/// whose search row matched is always within it (a search row carries its version's time).
fn message_search(parts: &TextParts) -> String {
    format!(
        "WITH matches AS ( \
           SELECT DISTINCT ON (s.message_id, s.content_sha256) s.version_id, s.chat_id, s.message_id, s.content_sha256, \
             s.created_at, \
             {rank} AS rank \
           FROM message_search s JOIN chats c ON c.id = s.chat_id \
           WHERE s.tenant_id = $2 AND {condition} \
             AND ($3::text IS NULL OR c.user_id = $3) AND NOT c.is_deleted \
             AND ($4::uuid IS NULL OR s.chat_id = $4) \
             AND ($5::timestamptz IS NULL OR s.created_at >= $5) AND ($6::timestamptz IS NULL OR s.created_at < $6) \
             AND ($7::text IS NULL OR s.role = $7) \
           ORDER BY s.message_id, s.content_sha256, s.created_at DESC \
         ), top AS ( \
           SELECT * FROM matches ORDER BY rank DESC, created_at DESC LIMIT $8 \
         ) \
         SELECT v.id, v.chat_id, v.message_id, v.version, v.role, v.valid_from, v.valid_to, v.created_at, \
           top.rank, c.title AS chat_title, sn.id AS snapshot_id, {snippet} AS snippet \
         FROM top CROSS JOIN LATERAL ( \
           SELECT * FROM message_versions w WHERE w.message_id = top.message_id AND w.content_sha256 = top.content_sha256 \
             AND ($5::timestamptz IS NULL OR w.created_at >= $5) AND ($6::timestamptz IS NULL OR w.created_at < $6) \
           ORDER BY w.version DESC LIMIT 1 \
         ) v JOIN chats c ON c.id = top.chat_id \
           LEFT JOIN snapshots sn ON sn.chat_id = top.chat_id AND sn.version = v.valid_from \
         ORDER BY top.rank DESC, top.created_at DESC",
        rank = parts.rank,
        condition = parts.condition,
        snippet = parts.snippet,
    )
}

pub async fn messages<C: ConnectionTrait>(
    connection: &C,
    filter: &SearchFilter,
) -> Result<Vec<MessageHitRow>, DbErr> {
    let text = filter.query_text();
    let parts = if text.is_some() {
        &MESSAGE_WITH_WORDS
    } else {
        &MESSAGE_WITHOUT_WORDS
    };
    let rows = connection
        .query_all_raw(statement(
            &message_search(parts),
            [
                text.into(),
                filter.tenant_id.into(),
                filter.user_id.clone().into(),
                filter.chat_id.into(),
                filter.from.into(),
                filter.to.into(),
                filter.role.clone().into(),
                (filter.limit as i64).into(),
                tenant_lexeme(filter.tenant_id).into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let valid_to: i32 = row.try_get("", "valid_to")?;
            Ok(MessageHitRow {
                chat_id: row.try_get("", "chat_id")?,
                chat_title: row.try_get("", "chat_title")?,
                message_id: row.try_get("", "message_id")?,
                version_id: row.try_get("", "id")?,
                version: row.try_get("", "version")?,
                role: row.try_get("", "role")?,
                snippet: row.try_get("", "snippet")?,
                rank: row.try_get("", "rank")?,
                created_at: row.try_get("", "created_at")?,
                snapshot_id: row.try_get("", "snapshot_id")?,
                valid_from: row.try_get("", "valid_from")?,
                is_current: valid_to == CURRENT,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct FileHitRow {
    pub chat_id: Uuid,
    pub chat_title: String,
    pub file_id: Uuid,
    pub version_id: Uuid,
    pub name: String,
    pub version: i32,
    pub mime_type: String,
    pub snippet: String,
    pub rank: f32,
    pub created_at: DateTime<Utc>,
    pub snapshot_id: Option<Uuid>,
    pub valid_from: i32,
    pub is_current: bool,
}

const FILE_WITH_WORDS: TextParts = TextParts {
    condition: "v.search @@ (websearch_to_tsquery('english', $1) && $10::tsquery)",
    rank: "ts_rank_cd(v.search, websearch_to_tsquery('english', $1))",
    snippet: "ts_headline('english', v.name || ' ' || v.description || ' ' || left(v.extracted_text, 20000), \
        websearch_to_tsquery('english', $1), 'StartSel=[[,StopSel=]],MaxWords=24,MinWords=8,MaxFragments=2')",
};

const FILE_WITHOUT_WORDS: TextParts = TextParts {
    condition: "$1::text IS NULL",
    rank: "0::real",
    snippet: "left(v.description || ' ' || v.extracted_text, 200)",
};

/// As [`message_search`], with $7 the LIKE pattern of the name (NULL: none), $9 the MIME
/// prefixes (empty: any) and $10 the tenant's lexeme. A file matches by its words or by a
/// substring of its name.
fn file_search(parts: &TextParts) -> String {
    format!(
        "WITH matches AS ( \
           SELECT DISTINCT ON (v.file_id, v.sha256) v.id, v.chat_id, v.file_id, v.name, v.version, v.mime_type, \
             v.valid_from, v.valid_to, v.created_at, \
             {rank} + CASE WHEN $7::text IS NOT NULL AND v.name ILIKE $7 THEN 1 ELSE 0 END AS rank \
           FROM file_versions v JOIN chats c ON c.id = v.chat_id \
           WHERE v.tenant_id = $2 \
             AND (($1::text IS NULL AND $7::text IS NULL) OR ({condition} AND $1::text IS NOT NULL) OR v.name ILIKE $7) \
             AND ($3::text IS NULL OR c.user_id = $3) AND NOT c.is_deleted \
             AND ($4::uuid IS NULL OR v.chat_id = $4) \
             AND ($5::timestamptz IS NULL OR v.created_at >= $5) AND ($6::timestamptz IS NULL OR v.created_at < $6) \
             AND (cardinality($9::text[]) = 0 OR v.mime_type LIKE ANY ($9)) \
           ORDER BY v.file_id, v.sha256, v.valid_to DESC \
         ), top AS ( \
           SELECT * FROM matches ORDER BY rank DESC, created_at DESC LIMIT $8 \
         ) \
         SELECT top.id, top.chat_id, top.file_id, top.name, top.version, top.mime_type, top.valid_from, top.valid_to, \
           top.created_at, top.rank::real AS rank, c.title AS chat_title, s.id AS snapshot_id, {snippet} AS snippet \
         FROM top JOIN file_versions v ON v.id = top.id JOIN chats c ON c.id = top.chat_id \
           LEFT JOIN snapshots s ON s.chat_id = top.chat_id AND s.version = top.valid_from \
         ORDER BY top.rank DESC, top.created_at DESC",
        rank = parts.rank,
        condition = parts.condition,
        snippet = parts.snippet,
    )
}

pub async fn files<C: ConnectionTrait>(
    connection: &C,
    filter: &SearchFilter,
    name_pattern: Option<String>,
) -> Result<Vec<FileHitRow>, DbErr> {
    let prefixes: Vec<String> = filter
        .mime_prefixes
        .iter()
        .map(|prefix| format!("{}%", super::chats::like_pattern(prefix).trim_matches('%')))
        .collect();
    let text = filter.query_text();
    let parts = if text.is_some() {
        &FILE_WITH_WORDS
    } else {
        &FILE_WITHOUT_WORDS
    };
    let rows = connection
        .query_all_raw(statement(
            &file_search(parts),
            [
                text.into(),
                filter.tenant_id.into(),
                filter.user_id.clone().into(),
                filter.chat_id.into(),
                filter.from.into(),
                filter.to.into(),
                name_pattern.into(),
                (filter.limit as i64).into(),
                prefixes.into(),
                tenant_lexeme(filter.tenant_id).into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let valid_to: i32 = row.try_get("", "valid_to")?;
            Ok(FileHitRow {
                chat_id: row.try_get("", "chat_id")?,
                chat_title: row.try_get("", "chat_title")?,
                file_id: row.try_get("", "file_id")?,
                version_id: row.try_get("", "id")?,
                name: row.try_get("", "name")?,
                version: row.try_get("", "version")?,
                mime_type: row.try_get("", "mime_type")?,
                snippet: row.try_get("", "snippet")?,
                rank: row.try_get("", "rank")?,
                created_at: row.try_get("", "created_at")?,
                snapshot_id: row.try_get("", "snapshot_id")?,
                valid_from: row.try_get("", "valid_from")?,
                is_current: valid_to == CURRENT,
            })
        })
        .collect()
}
