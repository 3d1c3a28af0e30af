//! `/api/ai/chats/{chat_id}/history/...`: the time machine's AI-friendly API, for assistants
//! acting on a person's behalf: a summary in sentences, finding things by natural language, a
//! two-step (confirmed) restore and "what changed since". Bodies are the time machine's
//! protobuf messages as JSON; every call is forwarded to `radiant.tm.v1.ai.*`. The chat id in
//! the path wins over one in the body.

use axum::extract::{Path, State};
use radiant_bus::subjects::tm as subjects;
use radiant_proto::tm::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::time_machine::forward;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Authenticated};
use crate::state::AppState;

/// The chat's history in sentences an assistant can relay.
#[utoipa::path(get, path = "/api/ai/chats/{chat_id}/history/summary", tag = "ai-history", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    responses((status = 200, body = HistorySummary), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn summary(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
) -> Result<ApiJson<HistorySummary>, ApiError> {
    forward(
        &state,
        &context,
        subjects::AI_SUMMARY,
        &ChatRequest { chat_id },
    )
    .await
}

/// Finds messages and files from a natural-language description ("that spreadsheet from last
/// week").
#[utoipa::path(post, path = "/api/ai/chats/{chat_id}/history/find", tag = "ai-history", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = FindInHistoryRequest,
    responses((status = 200, body = FindInHistoryResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn find(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiJson(mut request): ApiJson<FindInHistoryRequest>,
) -> Result<ApiJson<FindInHistoryResponse>, ApiError> {
    request.chat_id = chat_id;
    forward(&state, &context, subjects::AI_FIND, &request).await
}

/// Restores a file, a message or the whole chat in two steps: first what would happen and a
/// confirmation token, then (confirmed, with the token) the restore.
#[utoipa::path(post, path = "/api/ai/chats/{chat_id}/history/restore", tag = "ai-history", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = AiRestoreRequest,
    responses((status = 200, body = AiRestoreResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn restore(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiJson(mut request): ApiJson<AiRestoreRequest>,
) -> Result<ApiJson<AiRestoreResponse>, ApiError> {
    request.chat_id = chat_id;
    forward(&state, &context, subjects::AI_RESTORE, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct CompareSinceQuery {
    /// a snapshot id, a date (YYYY-MM-DD), an RFC 3339 time, or words: "yesterday", "last week"
    pub since: String,
    /// the seeds' name for `since` (they sent a snapshot id); `since` wins when both are sent
    pub from: String,
    /// IANA time zone for dates and words (default UTC)
    pub time_zone: String,
}

impl CompareSinceQuery {
    fn into_request(self, chat_id: String) -> CompareSinceRequest {
        let since = if self.since.is_empty() {
            self.from
        } else {
            self.since
        };
        CompareSinceRequest {
            chat_id,
            since,
            time_zone: self.time_zone,
        }
    }
}

/// What changed in the chat since a point in time, in a sentence and in detail.
#[utoipa::path(get, path = "/api/ai/chats/{chat_id}/history/compare", tag = "ai-history", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), CompareSinceQuery),
    responses((status = 200, body = CompareSinceResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn compare_since(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<CompareSinceQuery>,
) -> Result<ApiJson<CompareSinceResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::AI_COMPARE,
        &query.into_request(chat_id),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(since: &str, from: &str) -> CompareSinceQuery {
        CompareSinceQuery {
            since: since.to_string(),
            from: from.to_string(),
            time_zone: "Europe/Berlin".to_string(),
        }
    }

    #[test]
    fn from_is_an_alias_of_since() {
        let request = query("", "snapshot-1").into_request("chat".to_string());
        assert_eq!(request.since, "snapshot-1");
        assert_eq!(request.chat_id, "chat");
        assert_eq!(request.time_zone, "Europe/Berlin");

        let request = query("yesterday", "snapshot-1").into_request("chat".to_string());
        assert_eq!(request.since, "yesterday");

        let request = query("", "").into_request("chat".to_string());
        assert_eq!(request.since, "");
    }
}
