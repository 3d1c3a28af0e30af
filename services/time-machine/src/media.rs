//! The media vault, over NATS: file bytes live there, the time machine keeps its ids. Calls
//! carry the caller's context, so the vault's own tenant isolation applies to them.

use std::time::Duration;

use radiant_bus::subjects::{MEDIA_VAULT, media as subjects};
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::media;
use sha2::{Digest, Sha256};

use crate::error::TmResult;
use crate::machine::TimeMachine;

/// Files of a chat live in the vault under this scope, so a chat's files are (chat, name)
/// there as here.
pub fn chat_scope(chat_id: uuid::Uuid) -> String {
    format!("chat:{chat_id}")
}

pub fn export_scope(chat_id: uuid::Uuid) -> String {
    format!("exports:{chat_id}")
}

pub fn file_source(source: &str) -> media::FileSource {
    match source {
        "ai_generated" => media::FileSource::AiGenerated,
        "system" => media::FileSource::System,
        _ => media::FileSource::UserUpload,
    }
}

pub struct StoredBytes<'a> {
    pub scope: String,
    pub name: &'a str,
    pub mime_type: &'a str,
    pub content: Vec<u8>,
    pub source: media::FileSource,
    pub idempotency_key: String,
}

pub async fn store(
    machine: &TimeMachine,
    context: &RequestContext,
    bytes: StoredBytes<'_>,
) -> TmResult<media::FileVersion> {
    Ok(machine
        .bus
        .call(
            &MEDIA_VAULT,
            subjects::FILES_STORE,
            context,
            &media::StoreFileRequest {
                scope: bytes.scope,
                name: bytes.name.to_string(),
                mime_type: bytes.mime_type.to_string(),
                content: bytes.content,
                expected_sha256: String::new(),
                source: bytes.source as i32,
                idempotency_key: bytes.idempotency_key,
            },
        )
        .await?)
}

pub async fn get(
    machine: &TimeMachine,
    context: &RequestContext,
    file_id: &str,
    version: u32,
) -> TmResult<media::FileVersion> {
    Ok(machine
        .bus
        .call(
            &MEDIA_VAULT,
            subjects::FILES_GET,
            context,
            &media::GetFileRequest {
                file_id: file_id.to_string(),
                version,
            },
        )
        .await?)
}

pub async fn download_url(
    machine: &TimeMachine,
    context: &RequestContext,
    file_id: &str,
    version: u32,
    expires_in_seconds: u32,
) -> TmResult<media::DownloadUrl> {
    Ok(machine
        .bus
        .call(
            &MEDIA_VAULT,
            subjects::FILES_DOWNLOAD_URL,
            context,
            &media::GetDownloadUrlRequest {
                file_id: file_id.to_string(),
                version,
                variant_type: String::new(),
                expires_in_seconds,
            },
        )
        .await?)
}

/// The bytes of a vault file version, fetched through its presigned URL and checked against
/// the SHA-256 the vault recorded.
pub async fn fetch(
    machine: &TimeMachine,
    context: &RequestContext,
    file_id: &str,
    version: u32,
    max_bytes: u64,
) -> TmResult<Vec<u8>> {
    let location = download_url(machine, context, file_id, version, 600).await?;
    if location.size_bytes > max_bytes {
        return Err(ServiceError::payload_too_large(format!(
            "the file is {} bytes, over the {max_bytes} bytes this operation reads",
            location.size_bytes
        ))
        .into());
    }
    let unavailable = |error: reqwest::Error| {
        tracing::warn!(%error, "media bytes could not be fetched");
        ServiceError::unavailable("the media storage could not be read; try again")
    };
    let response = machine
        .http
        .get(&location.url)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(unavailable)?;
    let bytes = response.bytes().await.map_err(unavailable)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if sha256 != location.sha256 {
        return Err(
            ServiceError::internal("media bytes do not match their recorded SHA-256").into(),
        );
    }
    Ok(bytes.to_vec())
}

/// Uploads bytes of any size: one request up to the small-file limit, else an upload
/// session whose parts go straight to S3 through presigned URLs.
pub async fn store_any_size(
    machine: &TimeMachine,
    context: &RequestContext,
    bytes: StoredBytes<'_>,
) -> TmResult<media::FileVersion> {
    if bytes.content.len() <= machine.config.files.max_upload_bytes {
        return store(machine, context, bytes).await;
    }
    let sha256 = hex::encode(Sha256::digest(&bytes.content));
    let part_size = machine.config.exports.part_size_bytes;
    let session: media::UploadSession = machine
        .bus
        .call(
            &MEDIA_VAULT,
            subjects::UPLOADS_CREATE,
            context,
            &media::CreateUploadSessionRequest {
                scope: bytes.scope.clone(),
                name: bytes.name.to_string(),
                mime_type: bytes.mime_type.to_string(),
                size_bytes: bytes.content.len() as u64,
                sha256,
                part_size_bytes: part_size,
                source: bytes.source as i32,
                idempotency_key: bytes.idempotency_key.clone(),
            },
        )
        .await?;
    if let Some(version) = session.file_version.clone()
        && session.upload_status() == media::UploadStatus::Completed
    {
        return Ok(version);
    }
    let urls: media::PartUrls = machine
        .bus
        .call(
            &MEDIA_VAULT,
            subjects::UPLOADS_PART_URLS,
            context,
            &media::GetPartUrlsRequest {
                session_id: session.session_id.clone(),
                part_numbers: Vec::new(),
            },
        )
        .await?;
    let part_size = session.part_size_bytes.max(1) as usize;
    for part in &urls.parts {
        let start = (part.part_number.saturating_sub(1) as usize) * part_size;
        let end = (start + part_size).min(bytes.content.len());
        let body = bytes.content.get(start..end).unwrap_or_default().to_vec();
        machine
            .http
            .put(&part.url)
            .timeout(Duration::from_secs(300))
            .body(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| {
                tracing::warn!(%error, part = part.part_number, "part upload failed");
                ServiceError::unavailable("the media storage refused a part; try again")
            })?;
    }
    Ok(machine
        .bus
        .with_timeout(Duration::from_secs(600))
        .call(
            &MEDIA_VAULT,
            subjects::UPLOADS_COMPLETE,
            &context.clone().with_deadline_in(Duration::from_secs(600)),
            &media::CompleteUploadSessionRequest {
                session_id: session.session_id,
                idempotency_key: String::new(),
            },
        )
        .await?)
}
