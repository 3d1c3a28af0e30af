//! `/api/v1/media/...`: the media vault over HTTP/JSON. Small files upload in one request;
//! larger ones through upload sessions whose parts go straight to S3 (presigned URLs) or
//! stream through `PUT .../parts/{n}`. Every call is forwarded to `radiant.media.v1.*`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures::TryStreamExt;
use radiant_bus::RequestContext;
use radiant_bus::subjects::{MEDIA_VAULT, media as subjects};
use radiant_proto::media;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Admin, ApiJson, ApiQuery, Authenticated};
use crate::state::AppState;

const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
const CONTENT_SHA256_HEADER: &str = "x-content-sha256";

async fn forward<Request: prost::Message, Response: prost::Message + Default>(
    state: &AppState,
    context: &RequestContext,
    endpoint: &str,
    request: &Request,
) -> Result<Response, ApiError> {
    Ok(state
        .bus
        .call(&MEDIA_VAULT, endpoint, context, request)
        .await?)
}

fn header_text(headers: &HeaderMap, name: &str) -> Result<String, ApiError> {
    match headers.get(name) {
        None => Ok(String::new()),
        Some(value) => value
            .to_str()
            .map(|text| text.trim().to_string())
            .map_err(|_| ApiError::invalid_argument(format!("header {name} must be ASCII text"))),
    }
}

/// `UPLOAD_STATUS_COMPLETED` → `completed`.
fn enum_text(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

fn timestamp_text(timestamp: Option<&prost_types::Timestamp>) -> Option<String> {
    let timestamp = timestamp?;
    chrono::DateTime::from_timestamp(timestamp.seconds, timestamp.nanos.max(0) as u32)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantView {
    /// `thumbnail` or `display`.
    pub variant_type: String,
    pub recipe_version: String,
    /// pending, processing, completed, failed
    pub processing_status: String,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    pub sha256: String,
    pub failure_reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileVersionView {
    pub file_id: String,
    pub version_id: String,
    pub scope: String,
    pub name: String,
    pub version: u32,
    pub latest_version: u32,
    pub mime_type: String,
    pub size_bytes: u64,
    /// Lowercase hex, computed by the vault.
    pub sha256: String,
    pub s3_bucket: String,
    pub s3_key: String,
    pub s3_version_id: String,
    /// user_upload, ai_generated, system
    pub source: String,
    /// pending, uploading, completed, failed
    pub upload_status: String,
    /// pending, processing, completed, failed, not_applicable
    pub processing_status: String,
    /// active, archived (superseded), deleted (purged)
    pub lifecycle_status: String,
    /// active, tombstoned, deleted
    pub file_lifecycle: String,
    pub legal_hold: bool,
    /// True when the client sent no bytes (a session for content its tenant already held).
    pub deduplicated: bool,
    /// RFC 3339.
    pub created_at: Option<String>,
    pub created_by: String,
    pub variants: Vec<VariantView>,
}

impl From<media::FileVersion> for FileVersionView {
    fn from(version: media::FileVersion) -> Self {
        Self {
            created_at: timestamp_text(version.created_at.as_ref()),
            source: enum_text(version.source().as_str_name(), "FILE_SOURCE_"),
            upload_status: enum_text(version.upload_status().as_str_name(), "UPLOAD_STATUS_"),
            processing_status: enum_text(
                version.processing_status().as_str_name(),
                "PROCESSING_STATUS_",
            ),
            lifecycle_status: enum_text(
                version.lifecycle_status().as_str_name(),
                "LIFECYCLE_STATUS_",
            ),
            file_lifecycle: enum_text(version.file_lifecycle().as_str_name(), "LIFECYCLE_STATUS_"),
            variants: version
                .variants
                .into_iter()
                .map(|variant| VariantView {
                    processing_status: enum_text(
                        variant.processing_status().as_str_name(),
                        "PROCESSING_STATUS_",
                    ),
                    variant_type: variant.variant_type,
                    recipe_version: variant.recipe_version,
                    mime_type: variant.mime_type,
                    width: variant.width,
                    height: variant.height,
                    size_bytes: variant.size_bytes,
                    sha256: variant.sha256,
                    failure_reason: variant.failure_reason,
                })
                .collect(),
            file_id: version.file_id,
            version_id: version.version_id,
            scope: version.scope,
            name: version.name,
            version: version.version,
            latest_version: version.latest_version,
            mime_type: version.mime_type,
            size_bytes: version.size_bytes,
            sha256: version.sha256,
            s3_bucket: version.s3_bucket,
            s3_key: version.s3_key,
            s3_version_id: version.s3_version_id,
            legal_hold: version.legal_hold,
            deduplicated: version.deduplicated,
            created_by: version.created_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedPartView {
    pub part_number: u32,
    pub size_bytes: u64,
    pub etag: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadSessionView {
    pub session_id: String,
    /// pending, uploading, completed, failed
    pub upload_status: String,
    pub scope: String,
    pub name: String,
    pub mime_type: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub part_size_bytes: u64,
    pub part_count: u32,
    pub expires_at: Option<String>,
    /// Parts S3 has received: a resuming client uploads the others.
    pub received_parts: Vec<UploadedPartView>,
    pub file_version: Option<FileVersionView>,
    pub deduplicated: bool,
    pub failure_reason: String,
}

impl From<media::UploadSession> for UploadSessionView {
    fn from(session: media::UploadSession) -> Self {
        Self {
            upload_status: enum_text(session.upload_status().as_str_name(), "UPLOAD_STATUS_"),
            expires_at: timestamp_text(session.expires_at.as_ref()),
            session_id: session.session_id,
            scope: session.scope,
            name: session.name,
            mime_type: session.mime_type,
            size_bytes: session.size_bytes,
            sha256: session.sha256,
            part_size_bytes: session.part_size_bytes,
            part_count: session.part_count,
            received_parts: session
                .received_parts
                .into_iter()
                .map(|part| UploadedPartView {
                    part_number: part.part_number,
                    size_bytes: part.size_bytes,
                    etag: part.etag,
                })
                .collect(),
            file_version: session.file_version.map(Into::into),
            deduplicated: session.deduplicated,
            failure_reason: session.failure_reason,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StoreFileQuery {
    /// Owner scope, e.g. `chat:<uuid>`.
    pub scope: String,
    pub name: String,
    /// user_upload (default), ai_generated, system
    pub source: Option<String>,
}

fn parse_source(source: Option<&str>) -> Result<i32, ApiError> {
    match source.unwrap_or("user_upload") {
        "user_upload" => Ok(media::FileSource::UserUpload as i32),
        "ai_generated" => Ok(media::FileSource::AiGenerated as i32),
        "system" => Ok(media::FileSource::System as i32),
        other => Err(ApiError::invalid_argument(format!(
            "source {other:?} is not one of user_upload, ai_generated, system"
        ))),
    }
}

/// Stores a small file (at most the gateway's body limit, 1 MiB by default) sent as the raw
/// request body; its `Content-Type` is the file's media type. `Idempotency-Key` makes a retry
/// return the first answer; `X-Content-SHA256` makes the vault check the bytes.
#[utoipa::path(
    post,
    path = "/api/v1/media/files",
    tag = "media",
    security(("bearer" = [])),
    params(StoreFileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, body = FileVersionView),
        (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn store_file(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiQuery(query): ApiQuery<StoreFileQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, ApiJson<FileVersionView>), ApiError> {
    let limit = state.config.http.body_limit_bytes;
    let content = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::payload_too_large(limit))?;
    let request = media::StoreFileRequest {
        scope: query.scope,
        name: query.name,
        mime_type: header_text(&headers, header::CONTENT_TYPE.as_str())?,
        content: content.to_vec(),
        expected_sha256: header_text(&headers, CONTENT_SHA256_HEADER)?,
        source: parse_source(query.source.as_deref())?,
        idempotency_key: header_text(&headers, IDEMPOTENCY_KEY_HEADER)?,
    };
    let version: media::FileVersion =
        forward(&state, &context, subjects::FILES_STORE, &request).await?;
    Ok((StatusCode::CREATED, ApiJson(version.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUploadSessionBody {
    pub scope: String,
    pub name: String,
    #[serde(default)]
    pub mime_type: String,
    pub size_bytes: u64,
    /// Hex SHA-256 of the whole file. When the tenant already holds that content the session
    /// is completed at once and nothing has to be uploaded.
    pub sha256: String,
    /// Omitted: the vault picks (16 MiB, more for very large files).
    #[serde(default)]
    pub part_size_bytes: u64,
    pub source: Option<String>,
}

/// Opens an upload session for a file of any size up to the vault's limit.
#[utoipa::path(
    post,
    path = "/api/v1/media/uploads",
    tag = "media",
    security(("bearer" = [])),
    request_body = CreateUploadSessionBody,
    responses(
        (status = 201, body = UploadSessionView),
        (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_upload(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateUploadSessionBody>,
) -> Result<(StatusCode, ApiJson<UploadSessionView>), ApiError> {
    let request = media::CreateUploadSessionRequest {
        scope: body.scope,
        name: body.name,
        mime_type: body.mime_type,
        size_bytes: body.size_bytes,
        sha256: body.sha256,
        part_size_bytes: body.part_size_bytes,
        source: parse_source(body.source.as_deref())?,
        idempotency_key: header_text(&headers, IDEMPOTENCY_KEY_HEADER)?,
    };
    let session: media::UploadSession =
        forward(&state, &context, subjects::UPLOADS_CREATE, &request).await?;
    Ok((StatusCode::CREATED, ApiJson(session.into())))
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PartUrlsBody {
    /// Empty or omitted: every part S3 has not received yet.
    #[serde(default)]
    pub part_numbers: Vec<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartUrlView {
    pub part_number: u32,
    /// PUT exactly `size_bytes` bytes here.
    pub url: String,
    pub size_bytes: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartUrlsView {
    pub parts: Vec<PartUrlView>,
    pub expires_at: Option<String>,
}

/// Presigned S3 URLs for parts of the session.
#[utoipa::path(
    post,
    path = "/api/v1/media/uploads/{session_id}/part-urls",
    tag = "media",
    security(("bearer" = [])),
    params(("session_id" = String, Path)),
    request_body = PartUrlsBody,
    responses((status = 200, body = PartUrlsView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn part_urls(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<PartUrlsBody>,
) -> Result<ApiJson<PartUrlsView>, ApiError> {
    let urls: media::PartUrls = forward(
        &state,
        &context,
        subjects::UPLOADS_PART_URLS,
        &media::GetPartUrlsRequest {
            session_id,
            part_numbers: body.part_numbers,
        },
    )
    .await?;
    Ok(ApiJson(PartUrlsView {
        expires_at: timestamp_text(urls.expires_at.as_ref()),
        parts: urls
            .parts
            .into_iter()
            .map(|part| PartUrlView {
                part_number: part.part_number,
                url: part.url,
                size_bytes: part.size_bytes,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartUploadedView {
    pub part_number: u32,
    pub size_bytes: u64,
    pub etag: String,
}

/// Streams one part through the gateway to its presigned S3 URL (for clients that cannot
/// reach S3 themselves). The body must be exactly the part's size.
#[utoipa::path(
    put,
    path = "/api/v1/media/uploads/{session_id}/parts/{part_number}",
    tag = "media",
    security(("bearer" = [])),
    params(("session_id" = String, Path), ("part_number" = u32, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = PartUploadedView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn upload_part(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path((session_id, part_number)): Path<(String, u32)>,
    headers: HeaderMap,
    body: Body,
) -> Result<ApiJson<PartUploadedView>, ApiError> {
    let urls: media::PartUrls = forward(
        &state,
        &context,
        subjects::UPLOADS_PART_URLS,
        &media::GetPartUrlsRequest {
            session_id,
            part_numbers: vec![part_number],
        },
    )
    .await?;
    let part = urls.parts.into_iter().next().ok_or_else(|| {
        ApiError::invalid_argument(format!("no part {part_number} in this session"))
    })?;
    let declared_length = header_text(&headers, header::CONTENT_LENGTH.as_str())?;
    if declared_length != part.size_bytes.to_string() {
        return Err(ApiError::invalid_argument(format!(
            "part {part_number} must be sent with Content-Length {} (got {:?})",
            part.size_bytes, declared_length
        )));
    }
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let response = state
        .http_client
        .put(&part.url)
        .header(header::CONTENT_LENGTH, part.size_bytes)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .map_err(|error| {
            tracing::warn!(%error, "part upload to object storage failed");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                "object storage did not take the part; retry it",
            )
        })?;
    if !response.status().is_success() {
        tracing::warn!(status = %response.status(), "object storage refused a part");
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bad_gateway",
            "object storage refused the part; retry it",
        ));
    }
    let etag = response
        .headers()
        .get(header::ETAG)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok(ApiJson(PartUploadedView {
        part_number,
        size_bytes: part.size_bytes,
        etag,
    }))
}

/// The session's state, including the parts S3 has received.
#[utoipa::path(
    get,
    path = "/api/v1/media/uploads/{session_id}",
    tag = "media",
    security(("bearer" = [])),
    params(("session_id" = String, Path)),
    responses((status = 200, body = UploadSessionView), (status = 404, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn get_upload(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(session_id): Path<String>,
) -> Result<ApiJson<UploadSessionView>, ApiError> {
    let session: media::UploadSession = forward(
        &state,
        &context,
        subjects::UPLOADS_GET,
        &media::GetUploadSessionRequest { session_id },
    )
    .await?;
    Ok(ApiJson(session.into()))
}

/// Completes the session: the vault checks every part, assembles the object and verifies its
/// size and SHA-256 before recording the file version (422 and nothing recorded otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/media/uploads/{session_id}/complete",
    tag = "media",
    security(("bearer" = [])),
    params(("session_id" = String, Path)),
    responses((status = 201, body = FileVersionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn complete_upload(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(session_id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, ApiJson<FileVersionView>), ApiError> {
    let request = media::CompleteUploadSessionRequest {
        session_id,
        idempotency_key: header_text(&headers, IDEMPOTENCY_KEY_HEADER)?,
    };
    // completion reads the whole file back to verify it: it gets the long deadline
    let timeout = state.config.http.upload_complete_timeout();
    let context = context.with_deadline_in(timeout);
    let version: media::FileVersion = state
        .bus
        .with_timeout(timeout)
        .call(&MEDIA_VAULT, subjects::UPLOADS_COMPLETE, &context, &request)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(version.into())))
}

/// Aborts the session and releases its parts.
#[utoipa::path(
    delete,
    path = "/api/v1/media/uploads/{session_id}",
    tag = "media",
    security(("bearer" = [])),
    params(("session_id" = String, Path)),
    responses((status = 200, body = UploadSessionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn abort_upload(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(session_id): Path<String>,
) -> Result<ApiJson<UploadSessionView>, ApiError> {
    let session: media::UploadSession = forward(
        &state,
        &context,
        subjects::UPLOADS_ABORT,
        &media::AbortUploadSessionRequest { session_id },
    )
    .await?;
    Ok(ApiJson(session.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// Omitted or 0: the newest version.
    pub version: Option<u32>,
}

/// One version's metadata (the newest by default), with its variants.
#[utoipa::path(
    get,
    path = "/api/v1/media/files/{file_id}",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path), VersionQuery),
    responses((status = 200, body = FileVersionView), (status = 404, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn get_file(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_id): Path<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<ApiJson<FileVersionView>, ApiError> {
    let version: media::FileVersion = forward(
        &state,
        &context,
        subjects::FILES_GET,
        &media::GetFileRequest {
            file_id,
            version: query.version.unwrap_or(0),
        },
    )
    .await?;
    Ok(ApiJson(version.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileVersionListView {
    pub versions: Vec<FileVersionView>,
}

/// Every version of the file, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/media/files/{file_id}/versions",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path)),
    responses((status = 200, body = FileVersionListView), (status = 404, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn list_versions(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_id): Path<String>,
) -> Result<ApiJson<FileVersionListView>, ApiError> {
    let list: media::FileVersionList = forward(
        &state,
        &context,
        subjects::FILES_VERSIONS,
        &media::ListFileVersionsRequest { file_id },
    )
    .await?;
    Ok(ApiJson(FileVersionListView {
        versions: list.versions.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DownloadQuery {
    /// Omitted or 0: the newest version.
    pub version: Option<u32>,
    /// `thumbnail` or `display`; omitted: the original.
    pub variant: Option<String>,
    /// URL lifetime; omitted: the vault's default; at most 7 days.
    pub expires_in: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadUrlView {
    /// Presigned GET of the exact object version; Range requests work.
    pub url: String,
    pub expires_at: Option<String>,
    pub mime_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

async fn download(
    state: &AppState,
    context: &RequestContext,
    file_id: String,
    query: DownloadQuery,
) -> Result<media::DownloadUrl, ApiError> {
    forward(
        state,
        context,
        subjects::FILES_DOWNLOAD_URL,
        &media::GetDownloadUrlRequest {
            file_id,
            version: query.version.unwrap_or(0),
            variant_type: query.variant.unwrap_or_default(),
            expires_in_seconds: query.expires_in.unwrap_or(0),
        },
    )
    .await
}

/// A presigned download URL for any version (or variant).
#[utoipa::path(
    get,
    path = "/api/v1/media/files/{file_id}/download-url",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path), DownloadQuery),
    responses((status = 200, body = DownloadUrlView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn download_url(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_id): Path<String>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
) -> Result<ApiJson<DownloadUrlView>, ApiError> {
    let url = download(&state, &context, file_id, query).await?;
    Ok(ApiJson(DownloadUrlView {
        expires_at: timestamp_text(url.expires_at.as_ref()),
        url: url.url,
        mime_type: url.mime_type,
        size_bytes: url.size_bytes,
        sha256: url.sha256,
    }))
}

/// The bytes: a temporary redirect to the presigned URL (clients follow it; Range headers are
/// sent on to S3).
#[utoipa::path(
    get,
    path = "/api/v1/media/files/{file_id}/content",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path), DownloadQuery),
    responses((status = 307, description = "Location: the presigned URL"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn content(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_id): Path<String>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
) -> Result<Response, ApiError> {
    let url = download(&state, &context, file_id, query).await?;
    let mut response = Redirect::temporary(&url.url).into_response();
    // the URL is a bearer credential until it expires: keep it out of shared caches
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReasonQuery {
    pub reason: Option<String>,
}

/// Deletes the file the only way the vault deletes: a tombstone, undone by restore.
#[utoipa::path(
    delete,
    path = "/api/v1/media/files/{file_id}",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path), ReasonQuery),
    responses((status = 200, body = FileVersionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn tombstone(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_id): Path<String>,
    ApiQuery(query): ApiQuery<ReasonQuery>,
) -> Result<ApiJson<FileVersionView>, ApiError> {
    let request = media::FileLifecycleRequest {
        file_id,
        reason: query.reason.unwrap_or_default(),
    };
    let version: media::FileVersion =
        forward(&state, &context, subjects::FILES_TOMBSTONE, &request).await?;
    Ok(ApiJson(version.into()))
}

/// Brings a tombstoned file back.
#[utoipa::path(
    post,
    path = "/api/v1/media/files/{file_id}/restore",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path)),
    responses((status = 200, body = FileVersionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn restore(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_id): Path<String>,
) -> Result<ApiJson<FileVersionView>, ApiError> {
    let request = media::FileLifecycleRequest {
        file_id,
        reason: String::new(),
    };
    let version: media::FileVersion =
        forward(&state, &context, subjects::FILES_RESTORE, &request).await?;
    Ok(ApiJson(version.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldBody {
    pub hold: bool,
    /// Required to set a hold.
    #[serde(default)]
    pub reason: String,
}

/// Sets or clears a legal hold (admins): a held file cannot be tombstoned, restored or purged.
#[utoipa::path(
    put,
    path = "/api/v1/media/files/{file_id}/legal-hold",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path)),
    request_body = LegalHoldBody,
    responses((status = 200, body = FileVersionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn legal_hold(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(file_id): Path<String>,
    ApiJson(body): ApiJson<LegalHoldBody>,
) -> Result<ApiJson<FileVersionView>, ApiError> {
    let request = media::SetLegalHoldRequest {
        file_id,
        hold: body.hold,
        reason: body.reason,
    };
    let version: media::FileVersion =
        forward(&state, &context, subjects::FILES_LEGAL_HOLD, &request).await?;
    Ok(ApiJson(version.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurgeView {
    pub file_id: String,
    pub versions_purged: u32,
    /// Blobs no other file references; the purge job deletes their bytes.
    pub blobs_scheduled: u32,
}

/// Physically purges a tombstoned file (the configured erasure role only; never under legal
/// hold). Bytes shared with other files stay.
#[utoipa::path(
    post,
    path = "/api/v1/media/files/{file_id}/purge",
    tag = "media",
    security(("bearer" = [])),
    params(("file_id" = String, Path)),
    request_body = ReasonBody,
    responses((status = 200, body = PurgeView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn purge(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(file_id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<ApiJson<PurgeView>, ApiError> {
    let request = media::FileLifecycleRequest {
        file_id,
        reason: body.reason,
    };
    let purged: media::PurgeFileResponse =
        forward(&state, &context, subjects::FILES_PURGE, &request).await?;
    Ok(ApiJson(PurgeView {
        file_id: purged.file_id,
        versions_purged: purged.versions_purged,
        blobs_scheduled: purged.blobs_scheduled,
    }))
}
