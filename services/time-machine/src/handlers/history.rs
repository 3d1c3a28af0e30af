//! `history.restore`, `history.compare`, `history.search`.

use std::collections::HashSet;

use chrono::DateTime;
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::tm;
use uuid::Uuid;

use super::access::{readable_chat, writable_chat};
use crate::domain::chain::ChangeEntry;
use crate::domain::compare::{self, Differences};
use crate::domain::narration;
use crate::domain::restore_plan;
use crate::domain::validation::{self, check_text};
use crate::domain::vocabulary::{RestoreScope, Trigger};
use crate::error::{TmResult, file_not_found, message_not_found, snapshot_not_found};
use crate::events::{EventFacts, RestoreFacts};
use crate::machine::{Caller, TimeMachine};
use crate::store::restores::{self, CopyContext, RestoreFilter};
use crate::store::snapshots::SnapshotRow;
use crate::store::{self, search, writes};

/// A restore as asked for, validated.
pub struct RestorePlan {
    pub chat_id: Uuid,
    pub target_snapshot_id: Uuid,
    pub scope: RestoreScope,
    pub message_ids: Vec<Uuid>,
    pub file_ids: Vec<Uuid>,
    pub reason: String,
    /// Refuse (409) unless the chat is still at this version (a confirmed AI restore).
    pub expected_head_version: Option<i32>,
}

fn parse_ids(field: &str, texts: &[String]) -> Result<Vec<Uuid>, ServiceError> {
    let mut ids = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        ids.push(validation::parse_uuid(&format!("{field}[{index}]"), text)?);
    }
    Ok(ids)
}

impl RestorePlan {
    pub fn from_request(
        request: &tm::RestoreRequest,
        max_reason_chars: usize,
    ) -> Result<Self, ServiceError> {
        let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
        if request.snapshot_id.trim().is_empty() {
            return Err(ServiceError::invalid_field("snapshot_id", "is required"));
        }
        let target_snapshot_id = validation::parse_uuid("snapshot_id", &request.snapshot_id)?;
        let scope = RestoreScope::parse(&request.scope)?;
        let message_ids = parse_ids("message_ids", &request.message_ids)?;
        let file_ids = parse_ids("file_ids", &request.file_ids)?;
        let reason = request.reason.trim().to_string();
        check_text("reason", &reason, max_reason_chars, false)?;
        match scope {
            RestoreScope::SingleMessage if message_ids.is_empty() => {
                return Err(ServiceError::invalid_field(
                    "message_ids",
                    "single_message needs the message to restore",
                ));
            }
            RestoreScope::MessageRange if message_ids.len() != 2 => {
                return Err(ServiceError::invalid_field(
                    "message_ids",
                    "message_range needs exactly two messages: the first and the last of the range",
                ));
            }
            RestoreScope::SingleFile if file_ids.is_empty() => {
                return Err(ServiceError::invalid_field(
                    "file_ids",
                    "single_file needs the file to restore",
                ));
            }
            _ => {}
        }
        if !matches!(
            scope,
            RestoreScope::SingleMessage | RestoreScope::MessageRange
        ) && !message_ids.is_empty()
        {
            return Err(ServiceError::invalid_field(
                "message_ids",
                "only single_message and message_range restores take messages",
            ));
        }
        if scope != RestoreScope::SingleFile && !file_ids.is_empty() {
            return Err(ServiceError::invalid_field(
                "file_ids",
                "only single_file restores take files",
            ));
        }
        Ok(Self {
            chat_id,
            target_snapshot_id,
            scope,
            message_ids,
            file_ids,
            reason,
            expected_head_version: None,
        })
    }
}

/// How many items a restore brought back, and how many it removed (ended without a copy).
fn restored_and_removed(
    ended: &[restores::EndedVersion],
    copied: &[restores::CopiedVersion],
) -> (usize, usize) {
    let copied_ids: HashSet<Uuid> = copied.iter().map(|version| version.item_id).collect();
    let removed = ended
        .iter()
        .filter(|version| !copied_ids.contains(&version.item_id))
        .count();
    (copied.len(), removed)
}

pub struct Restored {
    pub result: tm::RestoreResult,
    pub target: SnapshotRow,
}

/// Runs a restore in one transaction under the chat's lock: nothing of it is visible until
/// all of it is, and a failure anywhere leaves the chat exactly as it was.
pub async fn perform_restore(
    machine: &TimeMachine,
    context: &RequestContext,
    caller: &Caller,
    plan: &RestorePlan,
) -> TmResult<Restored> {
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, caller, plan.chat_id).await?;
    if let Some(expected) = plan.expected_head_version
        && expected != head.head_version
    {
        return Err(ServiceError::conflict(
            "the chat changed after the restore was confirmed; ask again",
        )
        .into());
    }
    let target = store::snapshots::get_in_chat(&transaction, plan.chat_id, plan.target_snapshot_id)
        .await?
        .ok_or_else(snapshot_not_found)?;
    let mut message_filter = RestoreFilter::default();
    if !plan.message_ids.is_empty() {
        let positions =
            store::messages::positions(&transaction, plan.chat_id, &plan.message_ids).await?;
        let known: HashSet<Uuid> = positions.iter().map(|(id, _)| *id).collect();
        if plan.message_ids.iter().any(|id| !known.contains(id)) {
            return Err(message_not_found());
        }
        if plan.scope == RestoreScope::MessageRange {
            let low = positions
                .iter()
                .map(|(_, position)| *position)
                .min()
                .unwrap_or(0);
            let high = positions
                .iter()
                .map(|(_, position)| *position)
                .max()
                .unwrap_or(0);
            message_filter.positions = Some((low, high));
        } else {
            message_filter.ids = Some(plan.message_ids.clone());
        }
    }
    if !plan.file_ids.is_empty() {
        for file_id in &plan.file_ids {
            store::files::find_file_id(&transaction, plan.chat_id, Some(*file_id), "")
                .await?
                .filter(|found| found == file_id)
                .ok_or_else(file_not_found)?;
        }
    }

    let now = store::now_micros();
    let new_version = writes::next_version(&head);
    let copy = CopyContext {
        new_version,
        actor: &caller.user_id,
        reason: if plan.reason.is_empty() {
            "restored from the time machine"
        } else {
            &plan.reason
        },
        created_at: now,
    };
    let mut draft =
        writes::SnapshotDraft::new(Trigger::RestorePerformed, &head, &caller.user_id, now);
    let (mut messages_restored, mut messages_removed) = (0usize, 0usize);
    if plan.scope.touches_messages() {
        let versions = restores::message_versions_after(
            &transaction,
            plan.chat_id,
            target.version,
            &message_filter,
        )
        .await?;
        let sets = restore_plan::plan(&versions, target.version);
        let ended = restores::end_message_versions(&transaction, &sets.end, new_version).await?;
        let copied =
            restores::copy_message_versions(&transaction, &sets.copy, &sets.copy_numbers, &copy)
                .await?;
        (messages_restored, messages_removed) = restored_and_removed(&ended, &copied);
        draft.message_delta = copied.len() as i64 - ended.len() as i64;
        draft.token_delta = copied.iter().map(|version| version.tokens).sum::<i64>()
            - ended.iter().map(|version| version.tokens).sum::<i64>();
        draft
            .entries
            .extend(ended.iter().map(|version| ChangeEntry::MessageEnded {
                version_id: version.version_id,
            }));
        draft
            .entries
            .extend(copied.iter().map(|version| ChangeEntry::MessageStarted {
                version_id: version.version_id,
                message_id: version.item_id,
                version: version.version.max(0) as u32,
                position: version.position,
                content_sha256: version.sha256.clone(),
            }));
    }
    let (mut files_restored, mut files_removed) = (0usize, 0usize);
    if plan.scope.touches_files() {
        let file_ids = (!plan.file_ids.is_empty()).then_some(plan.file_ids.as_slice());
        let versions =
            restores::file_versions_after(&transaction, plan.chat_id, target.version, file_ids)
                .await?;
        let sets = restore_plan::plan(&versions, target.version);
        let ended = restores::end_file_versions(&transaction, &sets.end, new_version).await?;
        let copied =
            restores::copy_file_versions(&transaction, &sets.copy, &sets.copy_items, &copy).await?;
        (files_restored, files_removed) = restored_and_removed(&ended, &copied);
        draft.file_delta = copied.len() as i64 - ended.len() as i64;
        draft
            .entries
            .extend(ended.iter().map(|version| ChangeEntry::FileEnded {
                version_id: version.version_id,
            }));
        draft
            .entries
            .extend(copied.iter().map(|version| ChangeEntry::FileStarted {
                version_id: version.version_id,
                file_id: version.item_id,
                version: version.version.max(0) as u32,
                name: version.name.clone(),
                mime_type: version.mime_type.clone(),
                sha256: version.sha256.clone(),
                media_file_id: version.media_file_id.unwrap_or(version.item_id),
                media_version: version.media_version,
            }));
    }
    if plan.scope == RestoreScope::FullChat && target.title != head.title {
        draft.title = target.title.clone();
    }
    draft.restored_from_snapshot_id = Some(target.snapshot_id);
    draft.description = format!(
        "restored {} to version {}{}",
        plan.scope.as_str(),
        target.version,
        if plan.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", plan.reason)
        }
    );
    let snapshot = writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?;
    let restore_id = Uuid::now_v7();
    restores::log(
        &transaction,
        &restores::RestoreLogEntry {
            restore_id,
            tenant_id: caller.tenant_id,
            chat_id: plan.chat_id,
            user_id: &caller.user_id,
            target_snapshot_id: target.snapshot_id,
            previous_snapshot_id: head.head_snapshot_id,
            result_snapshot_id: snapshot.snapshot_id,
            scope: plan.scope.as_str(),
            message_ids: plan.message_ids.clone(),
            file_ids: plan.file_ids.clone(),
            messages_restored: messages_restored as i32,
            messages_removed: messages_removed as i32,
            files_restored: files_restored as i32,
            files_removed: files_removed as i32,
            reason: &plan.reason,
        },
    )
    .await?;
    transaction.commit().await?;
    machine.events.send(
        context,
        caller.tenant_id,
        &head.user_id,
        &snapshot,
        &EventFacts {
            restore: Some(RestoreFacts {
                scope: plan.scope.as_str().to_string(),
                messages_restored: messages_restored as u32,
                messages_removed: messages_removed as u32,
                files_restored: files_restored as u32,
                files_removed: files_removed as u32,
            }),
            ..Default::default()
        },
    );
    Ok(Restored {
        result: tm::RestoreResult {
            restore_id: restore_id.to_string(),
            new_version: snapshot.version_number(),
            snapshot: Some(snapshot.to_proto()),
            messages_restored: messages_restored as u32,
            messages_removed: messages_removed as u32,
            files_restored: files_restored as u32,
            files_removed: files_removed as u32,
            previous_snapshot_id: head
                .head_snapshot_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            restored_from_snapshot_id: target.snapshot_id.to_string(),
        },
        target,
    })
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, scope = %request.scope))]
pub async fn restore(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::RestoreRequest,
) -> TmResult<tm::RestoreResult> {
    let caller = Caller::of(&context)?;
    let plan = RestorePlan::from_request(&request, machine.config.limits.max_reason_chars)?;
    Ok(perform_restore(machine, &context, &caller, &plan)
        .await?
        .result)
}

/// A point of a chat's history to compare.
#[derive(Debug, Clone, Copy)]
pub enum Point {
    Snapshot(Uuid),
    /// The chat as it was at this instant (its newest snapshot then, or its beginning).
    AtTime(DateTime<chrono::Utc>),
    Current,
}

/// Two points of a chat and what changed between them; `from` is `None` for the beginning
/// (before the first snapshot).
pub struct Compared {
    pub from: Option<SnapshotRow>,
    pub to: SnapshotRow,
    pub to_is_current: bool,
    pub differences: Differences,
}

async fn resolve<C: radiant_db::sea_orm::ConnectionTrait>(
    connection: &C,
    chat: &store::chats::ChatRow,
    point: Point,
) -> TmResult<Option<SnapshotRow>> {
    match point {
        Point::Snapshot(id) => Ok(Some(
            store::snapshots::get_in_chat(connection, chat.chat_id, id)
                .await?
                .ok_or_else(snapshot_not_found)?,
        )),
        Point::AtTime(instant) => {
            Ok(store::snapshots::latest_at_or_before(connection, chat.chat_id, instant).await?)
        }
        Point::Current => {
            Ok(
                store::snapshots::get_by_version(connection, chat.chat_id, chat.head_version)
                    .await?,
            )
        }
    }
}

pub async fn compare_points(
    machine: &TimeMachine,
    caller: &Caller,
    chat_id: Uuid,
    from: Point,
    to: Point,
) -> TmResult<Compared> {
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, caller, chat_id).await?;
    let from = resolve(&transaction, &chat, from).await?;
    let to = resolve(&transaction, &chat, to)
        .await?
        .ok_or_else(|| ServiceError::conflict("the chat has no history to compare yet"))?;
    let from_version = from.as_ref().map_or(0, |snapshot| snapshot.version);
    let (low, high) = if from_version <= to.version {
        (from_version, to.version)
    } else {
        (to.version, from_version)
    };
    let messages = store::messages::changed_between(&transaction, chat_id, low, high).await?;
    let files = store::files::changed_between(&transaction, chat_id, low, high).await?;
    transaction.commit().await?;
    let differences = compare::differences(&messages, &files, from_version, to.version);
    Ok(Compared {
        to_is_current: to.version == chat.head_version,
        from,
        to,
        differences,
    })
}

pub fn comparison(compared: Compared, zone: chrono_tz::Tz) -> tm::Comparison {
    let changes = compare::change_list(&compared.differences);
    let summary = match &compared.from {
        Some(from) => narration::comparison_summary(
            from.created_at,
            (!compared.to_is_current).then_some(compared.to.created_at),
            zone,
            &changes,
        ),
        None => format!("Since the conversation started: {changes}."),
    };
    let differences = compared.differences;
    tm::Comparison {
        from_snapshot: compared.from.as_ref().map(SnapshotRow::to_proto),
        to_snapshot: Some(compared.to.to_proto()),
        messages_added: differences.messages_added,
        messages_edited: differences.messages_edited,
        messages_removed: differences.messages_removed,
        files_added: differences.files_added,
        files_updated: differences.files_updated,
        files_removed: differences.files_removed,
        summary,
    }
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn compare(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::CompareRequest,
) -> TmResult<tm::Comparison> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    if request.from_snapshot_id.trim().is_empty() {
        return Err(ServiceError::invalid_field("from_snapshot_id", "is required").into());
    }
    let from = validation::parse_uuid("from_snapshot_id", &request.from_snapshot_id)?;
    let to = match request.to_snapshot_id.trim() {
        "" | "current" => Point::Current,
        text => Point::Snapshot(validation::parse_uuid("to_snapshot_id", text)?),
    };
    let compared = compare_points(machine, &caller, chat_id, Point::Snapshot(from), to).await?;
    Ok(comparison(compared, chrono_tz::UTC))
}

fn optional_time(field: &str, text: &str) -> Result<Option<DateTime<chrono::Utc>>, ServiceError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text.trim())
        .map(|time| Some(time.with_timezone(&chrono::Utc)))
        .map_err(|_| ServiceError::invalid_field(field, "must be an RFC 3339 time"))
}

pub fn message_hit(row: search::MessageHitRow) -> tm::MessageHit {
    tm::MessageHit {
        chat_id: row.chat_id.to_string(),
        chat_title: row.chat_title,
        message_id: row.message_id.to_string(),
        version_id: row.version_id.to_string(),
        version: row.version.max(0) as u32,
        role: row.role,
        snippet: row.snippet,
        rank: f64::from(row.rank),
        created_at: store::rfc3339(row.created_at),
        snapshot_id: row.snapshot_id.map(|id| id.to_string()).unwrap_or_default(),
        snapshot_version: row.valid_from.max(0) as u32,
        is_current: row.is_current,
    }
}

pub fn file_hit(row: search::FileHitRow) -> tm::FileHit {
    tm::FileHit {
        chat_id: row.chat_id.to_string(),
        chat_title: row.chat_title,
        file_id: row.file_id.to_string(),
        file_version_id: row.version_id.to_string(),
        name: row.name,
        version: row.version.max(0) as u32,
        mime_type: row.mime_type,
        snippet: row.snippet,
        rank: f64::from(row.rank),
        created_at: store::rfc3339(row.created_at),
        snapshot_id: row.snapshot_id.map(|id| id.to_string()).unwrap_or_default(),
        snapshot_version: row.valid_from.max(0) as u32,
        is_current: row.is_current,
    }
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn search(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::SearchRequest,
) -> TmResult<tm::SearchResponse> {
    let caller = Caller::of(&context)?;
    let query = request.query.trim();
    if query.is_empty() {
        return Err(ServiceError::invalid_field("query", "must not be empty").into());
    }
    check_text("query", query, machine.config.limits.max_query_chars, true)?;
    let (want_messages, want_files) = match request.r#type.trim() {
        "" | "all" => (true, true),
        "messages" => (true, false),
        "files" => (false, true),
        _ => {
            return Err(
                ServiceError::invalid_field("type", "must be all, messages or files").into(),
            );
        }
    };
    let limit = validation::page_size(
        "limit",
        request.limit,
        machine.config.search.default_limit,
        machine.config.search.max_limit,
    )?;
    let chat_id = validation::parse_optional_uuid("chat_id", &request.chat_id)?;
    let from = optional_time("from_time", &request.from_time)?;
    let to = optional_time("to_time", &request.to_time)?;
    let filter = search::SearchFilter {
        tenant_id: caller.tenant_id,
        user_id: (!caller.sees_every_chat).then(|| caller.user_id.clone()),
        chat_id,
        text: Some(query.to_string()),
        words: search::Words::WebSearch,
        from,
        to,
        role: None,
        mime_prefixes: Vec::new(),
        limit,
    };
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    if let Some(chat_id) = chat_id {
        readable_chat(&transaction, &caller, chat_id).await?;
    }
    search::prefer_custom_plans(&transaction).await?;
    let messages = if want_messages {
        search::messages(&transaction, &filter).await?
    } else {
        Vec::new()
    };
    let files = if want_files {
        search::files(
            &transaction,
            &filter,
            Some(store::chats::like_pattern(query)),
        )
        .await?
    } else {
        Vec::new()
    };
    transaction.commit().await?;
    Ok(tm::SearchResponse {
        messages: messages.into_iter().map(message_hit).collect(),
        files: files.into_iter().map(file_hit).collect(),
    })
}
