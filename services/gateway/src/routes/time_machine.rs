//! `/api/thinktank/...`: the time machine over HTTP/JSON, under the seeds' paths. A chat's
//! timeline, calendar and snapshots, the chat as it was at any snapshot, restores, comparisons,
//! search, the chat's files and their versions, and exports. Bodies are the time machine's
//! protobuf messages as JSON (field names as in `proto/radiant/tm/v1/time_machine.proto`);
//! every call is forwarded to `radiant.tm.v1.*`, which validates and names the field it
//! refuses. Ids in the path win over ids in the body.
//!
//! The helpers shared with [`super::chats`] and [`super::ai_history`] (forwarding, the
//! `Idempotency-Key` header, the reason query) live here.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use radiant_bus::RequestContext;
use radiant_bus::subjects::{TIME_MACHINE, tm as subjects};
use radiant_proto::tm::*;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiBytes, ApiJson, ApiQuery, Authenticated, OptionalApiJson};
use crate::state::AppState;

const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The snapshot id the seeds' clients send for "the chat as it is now".
const CURRENT_SNAPSHOT_ALIAS: &str = "current";

pub(super) async fn forward<Request: prost::Message, Response: prost::Message + Default>(
    state: &AppState,
    context: &RequestContext,
    endpoint: &str,
    request: &Request,
) -> Result<ApiJson<Response>, ApiError> {
    Ok(ApiJson(
        state
            .bus
            .call(&TIME_MACHINE, endpoint, context, request)
            .await?,
    ))
}

fn header_text(headers: &HeaderMap, name: &str) -> Result<String, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(String::new());
    };
    value
        .to_str()
        .map(|text| text.trim().to_string())
        .map_err(|_| ApiError::invalid_argument(format!("header {name} must be ASCII text")))
}

/// Fills an empty `idempotency_key` from the `Idempotency-Key` header: a key in the body wins,
/// so a client that sends both is never surprised by the header.
pub(super) fn fill_idempotency_key(
    idempotency_key: &mut String,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if !idempotency_key.is_empty() {
        return Ok(());
    }
    *idempotency_key = header_text(headers, IDEMPOTENCY_KEY_HEADER)?;
    Ok(())
}

/// Why something is deleted (kept with the tombstone).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ReasonQuery {
    pub reason: String,
}

// ---- timeline, snapshots, calendar ----

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct TimelineQuery {
    /// at most 500 (default 100)
    pub page_size: u32,
    /// a previous response's next_page_token
    pub page_token: String,
    /// desc (newest first, default) or asc
    pub order: String,
    /// IANA time zone of the per-day counts (default UTC)
    pub time_zone: String,
}

/// The chat's timeline: its snapshots, newest first, with per-day counts.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), TimelineQuery),
    responses((status = 200, body = Timeline), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn timeline(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<ApiJson<Timeline>, ApiError> {
    let request = GetTimelineRequest {
        chat_id,
        page_size: query.page_size,
        page_token: query.page_token,
        order: query.order,
        time_zone: query.time_zone,
    };
    forward(&state, &context, subjects::SNAPSHOTS_TIMELINE, &request).await
}

/// Records a manual snapshot of the chat as it is now (the body is optional).
#[utoipa::path(post, path = "/api/thinktank/chats/{chat_id}/time-machine/snapshots", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = Option<CreateSnapshotRequest>,
    responses((status = 201, body = Snapshot), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn create_snapshot(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    OptionalApiJson(mut request): OptionalApiJson<CreateSnapshotRequest>,
) -> Result<(StatusCode, ApiJson<Snapshot>), ApiError> {
    request.chat_id = chat_id;
    let snapshot = forward(&state, &context, subjects::SNAPSHOTS_CREATE, &request).await?;
    Ok((StatusCode::CREATED, snapshot))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct SnapshotPageQuery {
    /// messages a page: at most 10000 (default 50)
    pub page_size: u32,
    /// a previous response's next_page_token
    pub page_token: String,
}

/// The chat as it was at a snapshot (`current`: as it is now), its messages paginated.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/snapshots/{snapshot_id}", tag = "time-machine", security(("bearer" = [])),
    params(
        ("chat_id" = String, Path, description = "the chat's id"),
        ("snapshot_id" = String, Path, description = "a snapshot id, or `current`"),
        SnapshotPageQuery
    ),
    responses((status = 200, body = ChatAtSnapshot), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id, %snapshot_id))]
pub async fn view_snapshot(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((chat_id, snapshot_id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<SnapshotPageQuery>,
) -> Result<ApiJson<ChatAtSnapshot>, ApiError> {
    let request = GetChatAtSnapshotRequest {
        chat_id,
        snapshot_id: snapshot_id_or_current(snapshot_id),
        page_size: query.page_size,
        page_token: query.page_token,
    };
    forward(&state, &context, subjects::SNAPSHOTS_VIEW, &request).await
}

/// The contract spells "the current version" as an empty snapshot id.
fn snapshot_id_or_current(snapshot_id: String) -> String {
    if snapshot_id.eq_ignore_ascii_case(CURRENT_SNAPSHOT_ALIAS) {
        return String::new();
    }
    snapshot_id
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct CalendarQuery {
    /// IANA time zone of the days (default UTC)
    pub time_zone: String,
    /// YYYY-MM-DD, inclusive
    pub from_date: String,
    /// YYYY-MM-DD, inclusive
    pub to_date: String,
}

/// The days on which the chat has snapshots, with their counts.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/calendar", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), CalendarQuery),
    responses((status = 200, body = Calendar), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn calendar(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<CalendarQuery>,
) -> Result<ApiJson<Calendar>, ApiError> {
    let request = GetCalendarRequest {
        chat_id,
        time_zone: query.time_zone,
        from_date: query.from_date,
        to_date: query.to_date,
    };
    forward(&state, &context, subjects::SNAPSHOTS_CALENDAR, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct TimeZoneQuery {
    /// IANA time zone the date is in (default UTC)
    pub time_zone: String,
}

/// The chat's snapshots of one day.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/calendar/{date}", tag = "time-machine", security(("bearer" = [])),
    params(
        ("chat_id" = String, Path, description = "the chat's id"),
        ("date" = String, Path, description = "YYYY-MM-DD"),
        TimeZoneQuery
    ),
    responses((status = 200, body = SnapshotList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id, %date))]
pub async fn snapshots_by_date(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((chat_id, date)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<TimeZoneQuery>,
) -> Result<ApiJson<SnapshotList>, ApiError> {
    let request = ListSnapshotsByDateRequest {
        chat_id,
        date,
        time_zone: query.time_zone,
    };
    forward(&state, &context, subjects::SNAPSHOTS_BY_DATE, &request).await
}

/// Recomputes the chat's hash chain and reports the first snapshot that does not match.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/verify", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    responses((status = 200, body = VerifyChatResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn verify_chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
) -> Result<ApiJson<VerifyChatResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::SNAPSHOTS_VERIFY,
        &ChatRequest { chat_id },
    )
    .await
}

// ---- restore, compare, search ----

/// Restores the chat (or some of its messages or files) to a snapshot by writing new versions;
/// the answer names the snapshot that undoes it.
#[utoipa::path(post, path = "/api/thinktank/chats/{chat_id}/time-machine/restore", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = RestoreRequest,
    responses((status = 200, body = RestoreResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn restore(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiJson(mut request): ApiJson<RestoreRequest>,
) -> Result<ApiJson<RestoreResult>, ApiError> {
    request.chat_id = chat_id;
    forward(&state, &context, subjects::HISTORY_RESTORE, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct CompareQuery {
    /// the earlier snapshot's id
    pub from: String,
    /// the later snapshot's id; omitted or `current`: now
    pub to: String,
}

/// What changed between two snapshots (or between a snapshot and now).
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/compare", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), CompareQuery),
    responses((status = 200, body = Comparison), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn compare(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> Result<ApiJson<Comparison>, ApiError> {
    let request = CompareRequest {
        chat_id,
        from_snapshot_id: query.from,
        to_snapshot_id: query.to,
    };
    forward(&state, &context, subjects::HISTORY_COMPARE, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ChatSearchQuery {
    /// the words to find
    pub q: String,
    /// all (default), messages or files
    #[serde(rename = "type")]
    pub search_type: String,
    /// at most 100 (default 20)
    pub limit: u32,
    /// RFC 3339: versions written at or after
    pub from_time: String,
    /// RFC 3339: versions written before
    pub to_time: String,
}

/// Searches every version of the chat's messages and files, deleted and edited ones included.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/search", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), ChatSearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn search_chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<ChatSearchQuery>,
) -> Result<ApiJson<SearchResponse>, ApiError> {
    let request = SearchRequest {
        query: query.q,
        chat_id,
        r#type: query.search_type,
        limit: query.limit,
        from_time: query.from_time,
        to_time: query.to_time,
    };
    forward(&state, &context, subjects::HISTORY_SEARCH, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct SearchQuery {
    /// the words to find
    pub q: String,
    /// all (default), messages or files
    #[serde(rename = "type")]
    pub search_type: String,
    /// at most 100 (default 20)
    pub limit: u32,
    /// one chat only
    pub chat_id: String,
    /// RFC 3339: versions written at or after
    pub from_time: String,
    /// RFC 3339: versions written before
    pub to_time: String,
}

/// Searches every version of the messages and files of all the tenant's chats.
#[utoipa::path(get, path = "/api/thinktank/search", tag = "time-machine", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn search(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<ApiJson<SearchResponse>, ApiError> {
    let request = SearchRequest {
        query: query.q,
        chat_id: query.chat_id,
        r#type: query.search_type,
        limit: query.limit,
        from_time: query.from_time,
        to_time: query.to_time,
    };
    forward(&state, &context, subjects::HISTORY_SEARCH, &request).await
}

// ---- files ----

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ListFilesQuery {
    /// also the files deleted from the chat (their last version)
    pub include_deleted: bool,
}

/// The chat's files as they are now, newest version of each.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/files", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), ListFilesQuery),
    responses((status = 200, body = ChatFileList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn list_files(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<ListFilesQuery>,
) -> Result<ApiJson<ChatFileList>, ApiError> {
    let request = ListFilesRequest {
        chat_id,
        include_deleted: query.include_deleted,
    };
    forward(&state, &context, subjects::FILES_LIST, &request).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct UploadFileQuery {
    /// the file's name in the chat (required): a name the chat already holds gets a new version
    pub name: String,
    /// user_upload (default), ai_generated or system
    pub source: String,
    /// the message the file belongs to
    pub message_id: String,
    pub description: String,
}

/// Uploads a small file (at most the gateway's body limit) sent as the raw request body; its
/// `Content-Type` is the file's media type and `Idempotency-Key` makes a retry a replay.
#[utoipa::path(post, path = "/api/thinktank/chats/{chat_id}/time-machine/files", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id"), UploadFileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ChatFile), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn upload_file(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiQuery(query): ApiQuery<UploadFileQuery>,
    headers: HeaderMap,
    ApiBytes(content): ApiBytes,
) -> Result<(StatusCode, ApiJson<ChatFile>), ApiError> {
    // the body is the file, so its name cannot ride in it: say which parameter is missing
    // rather than let the service refuse a field the client never saw
    if query.name.trim().is_empty() {
        return Err(ApiError::invalid_argument(
            "name: required query parameter (the file's name in the chat)",
        ));
    }
    let mut request = UploadFileRequest {
        chat_id,
        name: query.name,
        mime_type: header_text(&headers, header::CONTENT_TYPE.as_str())?,
        content: content.to_vec(),
        source: query.source,
        message_id: query.message_id,
        description: query.description,
        idempotency_key: String::new(),
    };
    fill_idempotency_key(&mut request.idempotency_key, &headers)?;
    let file = forward(&state, &context, subjects::FILES_UPLOAD, &request).await?;
    Ok((StatusCode::CREATED, file))
}

/// Records a file already in the media vault (uploaded with scope `chat:<chat_id>`) into the
/// chat.
#[utoipa::path(post, path = "/api/thinktank/chats/{chat_id}/time-machine/files/attach", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = AttachFileRequest,
    responses((status = 201, body = ChatFile), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn attach_file(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    ApiJson(mut request): ApiJson<AttachFileRequest>,
) -> Result<(StatusCode, ApiJson<ChatFile>), ApiError> {
    request.chat_id = chat_id;
    let file = forward(&state, &context, subjects::FILES_ATTACH, &request).await?;
    Ok((StatusCode::CREATED, file))
}

/// Deletes a file from the chat (a new snapshot; its versions stay restorable).
#[utoipa::path(delete, path = "/api/thinktank/chats/{chat_id}/time-machine/files/{file_id}", tag = "time-machine", security(("bearer" = [])),
    params(
        ("chat_id" = String, Path, description = "the chat's id"),
        ("file_id" = String, Path, description = "the file's stable id in the chat"),
        ReasonQuery
    ),
    responses((status = 200, body = ChatFile), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id, %file_id))]
pub async fn delete_file(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((chat_id, file_id)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<ReasonQuery>,
) -> Result<ApiJson<ChatFile>, ApiError> {
    let request = DeleteFileRequest {
        chat_id,
        file_id,
        reason: query.reason,
    };
    forward(&state, &context, subjects::FILES_DELETE, &request).await
}

/// Every version of one of the chat's files, named by its id or by its name.
#[utoipa::path(get, path = "/api/thinktank/chats/{chat_id}/time-machine/files/{file_name}/versions", tag = "time-machine", security(("bearer" = [])),
    params(
        ("chat_id" = String, Path, description = "the chat's id"),
        ("file_name" = String, Path, description = "the file's name in the chat (percent-encoded) or its file id")
    ),
    responses((status = 200, body = ChatFileList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id, %file_name))]
pub async fn file_versions(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((chat_id, file_name)): Path<(String, String)>,
) -> Result<ApiJson<ChatFileList>, ApiError> {
    forward(
        &state,
        &context,
        subjects::FILES_VERSIONS,
        &file_versions_request(chat_id, file_name),
    )
    .await
}

/// The seeds address a file's versions by name; ids look like UUIDs. A segment that parses as
/// one is sent as both, and the service tries the id before the name (a file may be named
/// like a UUID).
fn file_versions_request(chat_id: String, file_name: String) -> ListFileVersionsRequest {
    let file_id = uuid::Uuid::parse_str(&file_name)
        .map(|id| id.to_string())
        .unwrap_or_default();
    ListFileVersionsRequest {
        chat_id,
        file_id,
        name: file_name,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ExpiresInQuery {
    /// lifetime of the presigned URL in seconds (default: the service's)
    pub expires_in: u32,
}

/// Downloads a file version: a redirect to its presigned URL, whose details are the body.
#[utoipa::path(get, path = "/api/thinktank/files/{file_version_id}/download", tag = "time-machine", security(("bearer" = [])),
    params(("file_version_id" = String, Path, description = "a ChatFile's file_version_id"), ExpiresInQuery),
    responses(
        (status = 302, body = FileDownload, headers(("location" = String, description = "the presigned URL"))),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)
    ))]
#[tracing::instrument(skip_all, fields(%file_version_id))]
pub async fn download_file(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_version_id): Path<String>,
    ApiQuery(query): ApiQuery<ExpiresInQuery>,
) -> Result<Response, ApiError> {
    let request = GetFileDownloadRequest {
        file_version_id,
        expires_in_seconds: query.expires_in,
    };
    let download: ApiJson<FileDownload> =
        forward(&state, &context, subjects::FILES_DOWNLOAD, &request).await?;
    // an empty or unprintable URL would be a redirect to nowhere: the service's fault, not the
    // caller's
    let location = HeaderValue::from_str(&download.0.url)
        .ok()
        .filter(|location| !location.is_empty());
    let Some(location) = location else {
        tracing::warn!("the time machine answered a download url that cannot be a location");
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            radiant_bus::ErrorCode::BadGateway.as_str(),
            crate::error::public_message(radiant_bus::ErrorCode::BadGateway),
        ));
    };
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            // the URL is a bearer credential until it expires: keep it out of shared caches
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        download,
    )
        .into_response())
}

// ---- exports ----

/// Starts an export of the chat (json, markdown, html, pdf or zip); poll the export for its
/// download URL.
#[utoipa::path(post, path = "/api/thinktank/chats/{chat_id}/time-machine/export", tag = "time-machine", security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "the chat's id")),
    request_body = CreateExportRequest,
    responses((status = 202, body = ExportBundle), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn create_export(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    ApiJson(mut request): ApiJson<CreateExportRequest>,
) -> Result<(StatusCode, ApiJson<ExportBundle>), ApiError> {
    request.chat_id = chat_id;
    fill_idempotency_key(&mut request.idempotency_key, &headers)?;
    let export = forward(&state, &context, subjects::EXPORTS_CREATE, &request).await?;
    Ok((StatusCode::ACCEPTED, export))
}

/// An export's state; when ready, with a presigned download URL.
#[utoipa::path(get, path = "/api/thinktank/exports/{export_id}", tag = "time-machine", security(("bearer" = [])),
    params(("export_id" = String, Path, description = "the export's id"), ExpiresInQuery),
    responses((status = 200, body = ExportBundle), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%export_id))]
pub async fn get_export(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(export_id): Path<String>,
    ApiQuery(query): ApiQuery<ExpiresInQuery>,
) -> Result<ApiJson<ExportBundle>, ApiError> {
    let request = GetExportRequest {
        export_id,
        expires_in_seconds: query.expires_in,
    };
    forward(&state, &context, subjects::EXPORTS_GET, &request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_is_the_empty_snapshot_id() {
        assert_eq!(snapshot_id_or_current("current".to_string()), "");
        assert_eq!(snapshot_id_or_current("CURRENT".to_string()), "");
        let snapshot_id = "0190a1b2-0000-7000-8000-000000000001".to_string();
        assert_eq!(snapshot_id_or_current(snapshot_id.clone()), snapshot_id);
    }

    #[test]
    fn a_uuid_segment_is_sent_as_id_and_name() {
        let request = file_versions_request(
            "chat".to_string(),
            "0190A1B2-0000-7000-8000-000000000001".to_string(),
        );
        assert_eq!(request.file_id, "0190a1b2-0000-7000-8000-000000000001");
        assert_eq!(request.name, "0190A1B2-0000-7000-8000-000000000001");

        let request = file_versions_request("chat".to_string(), "report 2024.xlsx".to_string());
        assert_eq!(request.file_id, "");
        assert_eq!(request.name, "report 2024.xlsx");
    }

    #[test]
    fn the_body_idempotency_key_wins_over_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            IDEMPOTENCY_KEY_HEADER,
            HeaderValue::from_static(" header-key "),
        );

        let mut from_body = "body-key".to_string();
        fill_idempotency_key(&mut from_body, &headers).expect("ascii header");
        assert_eq!(from_body, "body-key");

        let mut empty = String::new();
        fill_idempotency_key(&mut empty, &headers).expect("ascii header");
        assert_eq!(empty, "header-key");

        let mut without_header = String::new();
        fill_idempotency_key(&mut without_header, &HeaderMap::new()).expect("no header");
        assert_eq!(without_header, "");
    }

    #[test]
    fn the_search_type_parameter_is_called_type() {
        let uri: axum::http::Uri = "/api/thinktank/search?q=prices&type=files&limit=5"
            .parse()
            .expect("valid uri");
        let axum::extract::Query(query) =
            axum::extract::Query::<SearchQuery>::try_from_uri(&uri).expect("valid query");
        assert_eq!(query.q, "prices");
        assert_eq!(query.search_type, "files");
        assert_eq!(query.limit, 5);

        let names: Vec<String> = SearchQuery::into_params(|| None)
            .into_iter()
            .map(|parameter| parameter.name)
            .collect();
        assert!(names.contains(&"type".to_string()), "{names:?}");
        assert!(!names.contains(&"search_type".to_string()), "{names:?}");
    }
}
