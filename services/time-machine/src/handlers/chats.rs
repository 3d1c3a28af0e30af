//! `chats.create`, `chats.get`, `chats.list`, `chats.update`, `chats.delete`, `chats.restore`.

use chrono::Utc;
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::tm;
use uuid::Uuid;

use super::access::{readable_chat, writable_chat};
use crate::domain::chain;
use crate::domain::validation::{self, check_idempotency_key, check_text, parse_optional_uuid};
use crate::domain::vocabulary::Trigger;
use crate::error::{TmResult, chat_not_found};
use crate::events::EventFacts;
use crate::machine::{Caller, TimeMachine};
use crate::store::{self, chats, writes};

fn visibility(text: &str) -> Result<&'static str, ServiceError> {
    match text.trim() {
        "" | "private" => Ok("private"),
        "public" => Ok("public"),
        _ => Err(ServiceError::invalid_field(
            "visibility",
            "must be private or public",
        )),
    }
}

fn check_short_field(field: &str, text: &str) -> Result<(), ServiceError> {
    check_text(field, text, 128, true)
}

#[tracing::instrument(skip_all)]
pub async fn create(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::CreateChatRequest,
) -> TmResult<tm::Chat> {
    let caller = Caller::of(&context)?;
    let limits = &machine.config.limits;
    let requested_id = parse_optional_uuid("chat_id", &request.chat_id)?;
    let title = request.title.trim();
    check_text("title", title, limits.max_title_chars, true)?;
    check_short_field("model_id", &request.model_id)?;
    check_short_field("sandbox_id", &request.sandbox_id)?;
    check_idempotency_key(&request.idempotency_key)?;
    let visibility = visibility(&request.visibility)?;
    let create_key = Some(request.idempotency_key.trim()).filter(|key| !key.is_empty());

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    if let Some(key) = create_key
        && let Some(existing) =
            chats::find_by_create_key(&transaction, &caller.user_id, key).await?
    {
        return Ok(existing.to_proto());
    }
    let chat_id = requested_id.unwrap_or_else(Uuid::now_v7);
    let genesis = chain::genesis(chat_id);
    let inserted = chats::insert(
        &transaction,
        &chats::NewChat {
            chat_id,
            tenant_id: caller.tenant_id,
            user_id: &caller.user_id,
            title,
            title_source: if title.is_empty() { "none" } else { "user" },
            model_id: request.model_id.trim(),
            sandbox_id: request.sandbox_id.trim(),
            visibility,
            create_key,
            genesis_checksum: &genesis,
        },
    )
    .await?;
    let chat = match inserted {
        Some(chat) => chat,
        // find-or-create: the id is taken (by this chat, or by someone else's: then 404), or a
        // concurrent create with the same key got there first
        None => match create_key {
            Some(key) => match chats::find_by_create_key(&transaction, &caller.user_id, key).await?
            {
                Some(existing) => existing,
                None => readable_chat(&transaction, &caller, chat_id).await?,
            },
            None => readable_chat(&transaction, &caller, chat_id).await?,
        },
    };
    transaction.commit().await?;
    Ok(chat.to_proto())
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn get(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::GetChatRequest,
) -> TmResult<tm::ChatWithMessages> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let views = &machine.config.views;
    let limit = validation::page_size(
        "message_limit",
        request.message_limit,
        views.default_message_limit,
        views.max_message_limit,
    )?;
    let newest_first = match request.order.trim() {
        "" | "asc" => false,
        "desc" => true,
        _ => return Err(ServiceError::invalid_field("order", "must be asc or desc").into()),
    };
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, &caller, chat_id).await?;
    store::messages::prefer_ordered_index(&transaction).await?;
    let messages = store::messages::current_page(
        &transaction,
        chat_id,
        newest_first,
        limit,
        request.message_offset,
    )
    .await?;
    transaction.commit().await?;
    // fewer than `limit` come back when they would not fit in one reply; the next offset
    // continues after the last one
    let (messages, _) = super::paging::within_budget(
        messages.iter().map(|row| row.to_proto()).collect(),
        machine.config.views.max_page_bytes,
    );
    Ok(tm::ChatWithMessages {
        total: store::non_negative(chat.message_count),
        chat: Some(chat.to_proto()),
        messages,
        limit,
        offset: request.message_offset,
    })
}

#[tracing::instrument(skip_all)]
pub async fn list(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ListChatsRequest,
) -> TmResult<tm::ListChatsResponse> {
    let caller = Caller::of(&context)?;
    let views = &machine.config.views;
    let limit = validation::page_size(
        "limit",
        request.limit,
        views.default_chat_list_limit,
        views.max_chat_list_limit,
    )?;
    let search = request.search.trim();
    check_text(
        "search",
        search,
        machine.config.limits.max_query_chars,
        true,
    )?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    // a user's chat list is theirs, for admins too (the product shows people their own chats)
    let filter = chats::ListFilter {
        user_id: Some(&caller.user_id),
        deleted: request.deleted,
        updated_since: request
            .recent
            .then(|| Utc::now() - chrono::Duration::hours(24)),
        title_search: Some(search).filter(|search| !search.is_empty()),
        limit,
        offset: request.offset,
    };
    let (rows, total) = chats::list(&transaction, &filter).await?;
    let stats = if request.include_stats {
        Some(chats::stats(&transaction, Some(&caller.user_id)).await?)
    } else {
        None
    };
    transaction.commit().await?;
    Ok(tm::ListChatsResponse {
        chats: rows.iter().map(chats::ChatRow::to_proto).collect(),
        limit,
        offset: request.offset,
        total,
        stats,
    })
}

/// Title changes are versioned (a `chat_renamed` snapshot); model, sandbox, context and
/// visibility are settings of the chat and change in place.
#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn update(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::UpdateChatRequest,
) -> TmResult<tm::Chat> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let limits = &machine.config.limits;
    let title = request.title.as_deref().map(str::trim);
    if let Some(title) = title {
        if title.is_empty() {
            return Err(ServiceError::invalid_field("title", "must not be empty").into());
        }
        check_text("title", title, limits.max_title_chars, true)?;
    }
    if let Some(model_id) = &request.model_id {
        check_short_field("model_id", model_id)?;
    }
    if let Some(sandbox_id) = &request.sandbox_id {
        check_short_field("sandbox_id", sandbox_id)?;
    }
    let visibility = request.visibility.as_deref().map(visibility).transpose()?;
    let last_context = match &request.last_context_json {
        Some(text) => Some(
            validation::parse_json_object("last_context_json", text)?
                .map(|value| value.to_string()),
        ),
        None => None,
    };

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, &caller, chat_id).await?;
    chats::update_settings(
        &transaction,
        chat_id,
        &chats::SettingsUpdate {
            model_id: request.model_id.as_deref().map(str::trim),
            sandbox_id: request.sandbox_id.as_deref().map(str::trim),
            last_context,
            visibility,
        },
    )
    .await?;
    let mut renamed = None;
    if let Some(title) = title
        && title != head.title
    {
        let mut draft = writes::SnapshotDraft::new(
            Trigger::ChatRenamed,
            &head,
            &caller.user_id,
            store::now_micros(),
        );
        draft.description = format!("renamed to \"{title}\"");
        draft.title = title.to_string();
        draft.title_source = Some("user");
        renamed =
            Some(writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?);
    }
    let chat = chats::get(&transaction, chat_id)
        .await?
        .ok_or_else(chat_not_found)?;
    transaction.commit().await?;
    if let Some(snapshot) = &renamed {
        machine.events.send(
            &context,
            caller.tenant_id,
            &chat.user_id,
            snapshot,
            &EventFacts::default(),
        );
    }
    Ok(chat.to_proto())
}

async fn set_deleted(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ChatRequest,
    deleted: bool,
) -> TmResult<tm::Chat> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = chats::lock(&transaction, chat_id)
        .await?
        .filter(|chat| caller.may_access(&chat.user_id))
        .ok_or_else(chat_not_found)?;
    if chat.is_deleted != deleted {
        chats::set_deleted(&transaction, chat_id, deleted, &caller.user_id).await?;
    }
    let chat = chats::get(&transaction, chat_id)
        .await?
        .ok_or_else(chat_not_found)?;
    transaction.commit().await?;
    Ok(chat.to_proto())
}

/// Soft delete: the chat moves to the deleted list and takes no changes; nothing is removed.
#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn delete(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ChatRequest,
) -> TmResult<tm::Chat> {
    set_deleted(machine, context, request, true).await
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn restore(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ChatRequest,
) -> TmResult<tm::Chat> {
    set_deleted(machine, context, request, false).await
}
