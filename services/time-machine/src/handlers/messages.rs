//! `messages.save`, `messages.edit`, `messages.delete`, `messages.versions`.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::tm;
use uuid::Uuid;

use super::access::{readable_chat, writable_chat};
use crate::domain::chain::ChangeEntry;
use crate::domain::content;
use crate::domain::title::title_from_first_message;
use crate::domain::validation::{self, check_content, check_metadata, check_parts, check_text};
use crate::domain::vocabulary::{Trigger, parse_role};
use crate::error::{TmResult, message_not_found, snapshot_not_found};
use crate::events::EventFacts;
use crate::machine::{Caller, TimeMachine};
use crate::store::chats::ChatRow;
use crate::store::messages::VersionRow;
use crate::store::snapshots::SnapshotRow;
use crate::store::writes::{self, NewMessageVersion, SnapshotDraft};
use crate::store::{self, rfc3339};

/// The response's message, made from what was written (no read back).
fn written_message(
    chat_id: Uuid,
    new: &NewMessageVersion,
    parts: Vec<tm::Part>,
    metadata: tm::MessageMetadata,
    message_created_at: chrono::DateTime<chrono::Utc>,
) -> tm::Message {
    tm::Message {
        message_id: new.message_id.to_string(),
        chat_id: chat_id.to_string(),
        role: new.role.clone(),
        content: new.content.clone(),
        parts,
        metadata: Some(metadata),
        position: store::non_negative(new.position),
        version: new.version.max(0) as u32,
        version_id: new.version_id.to_string(),
        created_at: rfc3339(message_created_at),
        version_created_at: rfc3339(new.created_at),
        edit_reason: new.edit_reason.clone().unwrap_or_default(),
        edited_by: new.edited_by.clone().unwrap_or_default(),
        restored_from_version_id: String::new(),
        valid_from: new.valid_from.max(0) as u32,
        valid_to: 0,
        content_sha256: new.content_sha256.clone(),
    }
}

async fn snapshot_at<C: radiant_db::sea_orm::ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    version: i32,
) -> TmResult<SnapshotRow> {
    store::snapshots::get_by_version(connection, chat_id, version)
        .await?
        .ok_or_else(snapshot_not_found)
}

fn events_for(
    machine: &TimeMachine,
    context: &RequestContext,
    caller: &Caller,
    chat: &ChatRow,
    snapshot: &SnapshotRow,
    facts: EventFacts,
) {
    machine
        .events
        .send(context, caller.tenant_id, &chat.user_id, snapshot, &facts);
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, role = %request.role))]
pub async fn save(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::SaveMessageRequest,
) -> TmResult<tm::SavedMessage> {
    let caller = Caller::of(&context)?;
    let limits = &machine.config.limits;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let role = parse_role(&request.role)?;
    check_content(&request.content, limits)?;
    check_parts(&request.parts, limits)?;
    let metadata = request.metadata.clone().unwrap_or_default();
    check_metadata(&metadata)?;
    let requested_id = validation::parse_optional_uuid("message_id", &request.message_id)?;
    validation::check_idempotency_key(&request.idempotency_key)?;
    let idempotency_key = Some(request.idempotency_key.trim()).filter(|key| !key.is_empty());
    let content_sha256 = content::content_sha256(role, &request.content, &request.parts, &metadata);

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, &caller, chat_id).await?;
    if requested_id.is_some() || idempotency_key.is_some() {
        let earlier =
            store::messages::find_replay(&transaction, chat_id, requested_id, idempotency_key)
                .await?;
        if let Some(earlier) = earlier {
            if earlier.content_sha256 != content_sha256 {
                return Err(ServiceError::conflict(
                    "message_id or idempotency_key was already used for a different message",
                )
                .into());
            }
            let snapshot = snapshot_at(&transaction, chat_id, earlier.valid_from).await?;
            transaction.commit().await?;
            return Ok(tm::SavedMessage {
                message: Some(earlier.to_proto()),
                snapshot: Some(snapshot.to_proto()),
                replayed: true,
            });
        }
    }

    let now = store::now_micros();
    let version = writes::next_version(&head);
    let tokens = content::tokens_of(&metadata);
    let new = NewMessageVersion {
        version_id: Uuid::now_v7(),
        message_id: requested_id.unwrap_or_else(Uuid::now_v7),
        version: 1,
        position: head.next_position,
        role: role.to_string(),
        content: request.content.clone(),
        parts_json: content::parts_json(&request.parts),
        metadata_json: content::metadata_json(&metadata),
        tokens: tokens.min(i64::MAX as u64) as i64,
        content_sha256,
        edit_reason: None,
        edited_by: None,
        valid_from: version,
        created_at: now,
        message_created_at: now,
    };
    writes::insert_message(
        &transaction,
        caller.tenant_id,
        chat_id,
        &new,
        idempotency_key,
        &caller.user_id,
    )
    .await?;
    let trigger = if role == "user" {
        Trigger::MessageSent
    } else {
        Trigger::MessageReceived
    };
    let mut draft = SnapshotDraft::new(trigger, &head, &caller.user_id, now);
    draft.trigger_message_id = Some(new.message_id);
    draft.entries.push(new.started_entry());
    draft.message_delta = 1;
    draft.token_delta = new.tokens;
    draft.positions_used = 1;
    if role == "user" && head.title_source == "none" && head.title.is_empty() {
        draft.title = title_from_first_message(&request.content);
        draft.title_source = Some("auto");
    }
    let snapshot = writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?;
    transaction.commit().await?;
    events_for(
        machine,
        &context,
        &caller,
        &head,
        &snapshot,
        EventFacts {
            message_id: Some(new.message_id),
            message_version: 1,
            role: role.to_string(),
            metadata: Some(metadata.clone()),
            ..Default::default()
        },
    );
    Ok(tm::SavedMessage {
        message: Some(written_message(chat_id, &new, request.parts, metadata, now)),
        snapshot: Some(snapshot.to_proto()),
        replayed: false,
    })
}

/// The message's current version; 404 when it is not a message of the chat, 409 when it
/// has been deleted.
async fn current_version<C: radiant_db::sea_orm::ConnectionTrait>(
    connection: &C,
    chat_id: Uuid,
    message_id: Uuid,
) -> TmResult<Result<VersionRow, Vec<VersionRow>>> {
    if let Some(current) = store::messages::current(connection, chat_id, message_id).await? {
        return Ok(Ok(current));
    }
    let versions = store::messages::versions(connection, chat_id, message_id).await?;
    if versions.is_empty() {
        return Err(message_not_found());
    }
    Ok(Err(versions))
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, message_id = %request.message_id))]
pub async fn edit(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::EditMessageRequest,
) -> TmResult<tm::SavedMessage> {
    let caller = Caller::of(&context)?;
    let limits = &machine.config.limits;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let message_id = validation::parse_uuid("message_id", &request.message_id)?;
    check_content(&request.content, limits)?;
    check_parts(&request.parts, limits)?;
    if let Some(metadata) = &request.metadata {
        check_metadata(metadata)?;
    }
    let reason = request.reason.trim();
    check_text("reason", reason, limits.max_reason_chars, false)?;

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, &caller, chat_id).await?;
    let current = match current_version(&transaction, chat_id, message_id).await? {
        Ok(current) => current,
        Err(_) => {
            return Err(ServiceError::conflict(
                "the message is deleted; restore it before editing",
            )
            .into());
        }
    };
    let metadata = request
        .metadata
        .clone()
        .unwrap_or_else(|| current.metadata());
    let content_sha256 =
        content::content_sha256(&current.role, &request.content, &request.parts, &metadata);
    if content_sha256 == current.content_sha256 {
        // nothing changed: no new version, the snapshot that wrote the current one
        let snapshot = snapshot_at(&transaction, chat_id, current.valid_from).await?;
        transaction.commit().await?;
        return Ok(tm::SavedMessage {
            message: Some(current.to_proto()),
            snapshot: Some(snapshot.to_proto()),
            replayed: true,
        });
    }
    let now = store::now_micros();
    let version = writes::next_version(&head);
    let tokens = content::tokens_of(&metadata).min(i64::MAX as u64) as i64;
    let latest_version = store::messages::latest_version(&transaction, message_id)
        .await?
        .ok_or_else(message_not_found)?;
    let new = NewMessageVersion {
        version_id: Uuid::now_v7(),
        message_id,
        version: latest_version + 1,
        position: current.position,
        role: current.role.clone(),
        content: request.content.clone(),
        parts_json: content::parts_json(&request.parts),
        metadata_json: content::metadata_json(&metadata),
        tokens,
        content_sha256,
        edit_reason: Some(reason.to_string()).filter(|reason| !reason.is_empty()),
        edited_by: Some(caller.user_id.clone()),
        valid_from: version,
        created_at: now,
        message_created_at: current.message_created_at,
    };
    writes::replace_message_version(
        &transaction,
        caller.tenant_id,
        chat_id,
        current.version_id,
        &new,
    )
    .await?;
    let mut draft = SnapshotDraft::new(Trigger::MessageEdited, &head, &caller.user_id, now);
    draft.trigger_message_id = Some(message_id);
    draft.description = reason.to_string();
    draft.entries.push(ChangeEntry::MessageEnded {
        version_id: current.version_id,
    });
    draft.entries.push(new.started_entry());
    draft.token_delta = tokens - current.tokens;
    let snapshot = writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?;
    transaction.commit().await?;
    events_for(
        machine,
        &context,
        &caller,
        &head,
        &snapshot,
        EventFacts {
            message_id: Some(message_id),
            message_version: new.version.max(0) as u32,
            role: new.role.clone(),
            metadata: Some(metadata.clone()),
            ..Default::default()
        },
    );
    Ok(tm::SavedMessage {
        message: Some(written_message(
            chat_id,
            &new,
            request.parts,
            metadata,
            current.message_created_at,
        )),
        snapshot: Some(snapshot.to_proto()),
        replayed: false,
    })
}

/// Soft delete: the current version's range closes; every version stays readable and
/// restorable. Deleting a deleted message answers the snapshot that deleted it.
#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, message_id = %request.message_id))]
pub async fn delete(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::DeleteMessageRequest,
) -> TmResult<tm::SavedMessage> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let message_id = validation::parse_uuid("message_id", &request.message_id)?;
    let reason = request.reason.trim();
    check_text(
        "reason",
        reason,
        machine.config.limits.max_reason_chars,
        false,
    )?;

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, &caller, chat_id).await?;
    let current = match current_version(&transaction, chat_id, message_id).await? {
        Ok(current) => current,
        Err(versions) => {
            let last = versions
                .iter()
                .max_by_key(|version| version.valid_to)
                .ok_or_else(message_not_found)?;
            let snapshot = snapshot_at(&transaction, chat_id, last.valid_to).await?;
            transaction.commit().await?;
            return Ok(tm::SavedMessage {
                message: Some(last.to_proto()),
                snapshot: Some(snapshot.to_proto()),
                replayed: true,
            });
        }
    };
    let version = writes::next_version(&head);
    writes::end_message_version(&transaction, current.version_id, version).await?;
    let mut draft = SnapshotDraft::new(
        Trigger::MessageDeleted,
        &head,
        &caller.user_id,
        store::now_micros(),
    );
    draft.trigger_message_id = Some(message_id);
    draft.description = reason.to_string();
    draft.entries.push(ChangeEntry::MessageEnded {
        version_id: current.version_id,
    });
    draft.message_delta = -1;
    draft.token_delta = -current.tokens;
    let snapshot = writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?;
    transaction.commit().await?;
    events_for(
        machine,
        &context,
        &caller,
        &head,
        &snapshot,
        EventFacts {
            message_id: Some(message_id),
            role: current.role.clone(),
            ..Default::default()
        },
    );
    let mut message = current.to_proto();
    message.valid_to = version.max(0) as u32;
    Ok(tm::SavedMessage {
        message: Some(message),
        snapshot: Some(snapshot.to_proto()),
        replayed: false,
    })
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, message_id = %request.message_id))]
pub async fn versions(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ListMessageVersionsRequest,
) -> TmResult<tm::ListMessageVersionsResponse> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let message_id = validation::parse_uuid("message_id", &request.message_id)?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    readable_chat(&transaction, &caller, chat_id).await?;
    let versions = store::messages::versions(&transaction, chat_id, message_id).await?;
    transaction.commit().await?;
    if versions.is_empty() {
        return Err(message_not_found());
    }
    let deleted_in_version = if versions.iter().any(VersionRow::is_current) {
        0
    } else {
        versions
            .iter()
            .map(|version| version.valid_to.max(0) as u32)
            .max()
            .unwrap_or(0)
    };
    // the newest versions that fit in one reply, oldest first
    let (mut kept, truncated) = super::paging::within_budget(
        versions.iter().rev().map(VersionRow::to_proto).collect(),
        machine.config.views.max_page_bytes,
    );
    kept.reverse();
    Ok(tm::ListMessageVersionsResponse {
        versions: kept,
        deleted_in_version,
        truncated,
    })
}
