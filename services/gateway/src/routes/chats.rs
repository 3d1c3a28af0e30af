//! `/api/chats...`: the seeds' chat persistence API, served by the time machine. Chats, their
//! messages and every version of each message; every change is a snapshot the time machine
//! can show, compare and restore. Bodies are the time machine's protobuf messages as JSON
//! (field names as in `proto/radiant/tm/v1/time_machine.proto`); every call is forwarded to
//! `radiant.tm.v1.*`, which validates and names the field it refuses. Ids in the path win over
//! ids in the body.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use radiant_bus::subjects::tm as subjects;
use radiant_proto::tm::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::time_machine::{ReasonQuery, fill_idempotency_key, forward};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Authenticated};
use crate::state::AppState;

/// Filters of a chat list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ListChatsQuery {
    /// at most 200 (default 50)
    pub limit: u32,
    pub offset: u32,
    /// words in the title
    pub search: String,
    /// also the tenant's chat and message counts
    pub include_stats: bool,
    /// only chats updated in the last 24 hours
    pub recent: bool,
    /// the soft-deleted chats instead of the active ones
    pub deleted: bool,
}

impl From<ListChatsQuery> for ListChatsRequest {
    fn from(query: ListChatsQuery) -> Self {
        Self {
            limit: query.limit,
            offset: query.offset,
            search: query.search,
            include_stats: query.include_stats,
            recent: query.recent,
            deleted: query.deleted,
        }
    }
}

/// The caller's chats, most recently updated first.
#[utoipa::path(get, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    params(ListChatsQuery),
    responses((status = 200, body = ListChatsResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list_chats(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiQuery(query): ApiQuery<ListChatsQuery>,
) -> Result<ApiJson<ListChatsResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::CHATS_LIST,
        &ListChatsRequest::from(query),
    )
    .await
}

/// Creates a chat, or finds the one its `chat_id` or `Idempotency-Key` already created.
#[utoipa::path(post, path = "/api/chats", tag = "chats", security(("bearer" = [])),
    request_body = CreateChatRequest,
    responses((status = 201, body = Chat), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    headers: HeaderMap,
    ApiJson(mut request): ApiJson<CreateChatRequest>,
) -> Result<(StatusCode, ApiJson<Chat>), ApiError> {
    fill_idempotency_key(&mut request.idempotency_key, &headers)?;
    let chat = forward(&state, &context, subjects::CHATS_CREATE, &request).await?;
    Ok((StatusCode::CREATED, chat))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct RecentChatsQuery {
    /// at most 200 (default 50)
    pub limit: u32,
    pub offset: u32,
    /// words in the title
    pub search: String,
    pub include_stats: bool,
}

/// The caller's chats updated in the last 24 hours.
#[utoipa::path(get, path = "/api/chats/recent", tag = "chats", security(("bearer" = [])),
    params(RecentChatsQuery),
    responses((status = 200, body = ListChatsResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn recent_chats(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiQuery(query): ApiQuery<RecentChatsQuery>,
) -> Result<ApiJson<ListChatsResponse>, ApiError> {
    let request = ListChatsRequest {
        limit: query.limit,
        offset: query.offset,
        search: query.search,
        include_stats: query.include_stats,
        recent: true,
        deleted: false,
    };
    forward(&state, &context, subjects::CHATS_LIST, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct PageQuery {
    /// at most 200 (default 50)
    pub limit: u32,
    pub offset: u32,
}

/// The caller's soft-deleted chats (restorable).
#[utoipa::path(get, path = "/api/chats/deleted", tag = "chats", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListChatsResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn deleted_chats(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<ListChatsResponse>, ApiError> {
    let request = ListChatsRequest {
        limit: query.limit,
        offset: query.offset,
        deleted: true,
        ..ListChatsRequest::default()
    };
    forward(&state, &context, subjects::CHATS_LIST, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct GetChatQuery {
    /// at most 1000 (default 100)
    pub message_limit: u32,
    pub message_offset: u32,
    /// asc (default) or desc, by position in the chat
    pub order: String,
}

/// A chat with a page of its current messages.
#[utoipa::path(get, path = "/api/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), GetChatQuery),
    responses((status = 200, body = ChatWithMessages), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn get_chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<GetChatQuery>,
) -> Result<ApiJson<ChatWithMessages>, ApiError> {
    let request = GetChatRequest {
        chat_id,
        message_limit: query.message_limit,
        message_offset: query.message_offset,
        order: query.order,
    };
    forward(&state, &context, subjects::CHATS_GET, &request).await
}

/// Changes the fields present in the body (title, model, sandbox, context, visibility).
#[utoipa::path(patch, path = "/api/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = UpdateChatRequest,
    responses((status = 200, body = Chat), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn update_chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiJson(mut request): ApiJson<UpdateChatRequest>,
) -> Result<ApiJson<Chat>, ApiError> {
    request.chat_id = chat_id;
    forward(&state, &context, subjects::CHATS_UPDATE, &request).await
}

/// Soft-deletes a chat (restorable; nothing is erased).
#[utoipa::path(delete, path = "/api/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    responses((status = 200, body = Chat), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn delete_chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
) -> Result<ApiJson<Chat>, ApiError> {
    forward(
        &state,
        &context,
        subjects::CHATS_DELETE,
        &ChatRequest { chat_id },
    )
    .await
}

/// Brings a soft-deleted chat back.
#[utoipa::path(post, path = "/api/chats/{chat_id}/restore", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    responses((status = 200, body = Chat), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn restore_chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
) -> Result<ApiJson<Chat>, ApiError> {
    forward(
        &state,
        &context,
        subjects::CHATS_RESTORE,
        &ChatRequest { chat_id },
    )
    .await
}

/// Saves a message to the chat (a replay when its `message_id` or `Idempotency-Key` was saved
/// before with the same content).
#[utoipa::path(post, path = "/api/chats/{chat_id}/messages", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = SaveMessageRequest,
    responses((status = 201, body = SavedMessage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn save_message(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut request): ApiJson<SaveMessageRequest>,
) -> Result<(StatusCode, ApiJson<SavedMessage>), ApiError> {
    request.chat_id = chat_id;
    fill_idempotency_key(&mut request.idempotency_key, &headers)?;
    let saved = forward(&state, &context, subjects::MESSAGES_SAVE, &request).await?;
    Ok((StatusCode::CREATED, saved))
}

/// Edits a message: a new version, the earlier ones kept.
#[utoipa::path(patch, path = "/api/chats/{chat_id}/messages/{message_id}", tag = "chats", security(("bearer" = [])),
    params(
        ("chat_id" = String, Path, description = "the chat's id"),
        ("message_id" = String, Path, description = "the message's id")
    ),
    request_body = EditMessageRequest,
    responses((status = 200, body = SavedMessage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id, %message_id))]
pub async fn edit_message(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((chat_id, message_id)): Path<(String, String)>,
    ApiJson(mut request): ApiJson<EditMessageRequest>,
) -> Result<ApiJson<SavedMessage>, ApiError> {
    request.chat_id = chat_id;
    request.message_id = message_id;
    forward(&state, &context, subjects::MESSAGES_EDIT, &request).await
}

/// Deletes a message from the chat (a new snapshot; its versions stay restorable).
#[utoipa::path(delete, path = "/api/chats/{chat_id}/messages/{message_id}", tag = "chats", security(("bearer" = [])),
    params(
        ("chat_id" = String, Path, description = "the chat's id"),
        ("message_id" = String, Path, description = "the message's id"),
        ReasonQuery
    ),
    responses((status = 200, body = SavedMessage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id, %message_id))]
pub async fn delete_message(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((chat_id, message_id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<ReasonQuery>,
) -> Result<ApiJson<SavedMessage>, ApiError> {
    let request = DeleteMessageRequest {
        chat_id,
        message_id,
        reason: query.reason,
    };
    forward(&state, &context, subjects::MESSAGES_DELETE, &request).await
}

/// Every version of a message, oldest first, and when it was deleted if it was.
#[utoipa::path(get, path = "/api/chats/{chat_id}/messages/{message_id}/versions", tag = "chats", security(("bearer" = [])),
    params(
        ("chat_id" = String, Path, description = "the chat's id"),
        ("message_id" = String, Path, description = "the message's id")
    ),
    responses((status = 200, body = ListMessageVersionsResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id, %message_id))]
pub async fn message_versions(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((chat_id, message_id)): Path<(String, String)>,
) -> Result<ApiJson<ListMessageVersionsResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::MESSAGES_VERSIONS,
        &ListMessageVersionsRequest {
            chat_id,
            message_id,
        },
    )
    .await
}
