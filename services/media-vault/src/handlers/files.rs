//! `files.store` (the small-file path), `files.get`, `files.versions`, `files.download_url`.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::media;
use uuid::Uuid;

use super::idempotency::{Idempotency, remember_optional};
use crate::domain;
use crate::error::VaultResult;
use crate::recording::{self, NewFileVersion, Recorded};
use crate::storage::sha256_hex;
use crate::store::{self, timestamp};
use crate::vault::{Caller, Vault};

#[tracing::instrument(skip_all, fields(scope = %request.scope, size = request.content.len()))]
pub async fn store_file(
    vault: &Vault,
    context: RequestContext,
    mut request: media::StoreFileRequest,
) -> VaultResult<media::FileVersion> {
    let caller = Caller::of(&context)?;
    domain::validate_scope(&request.scope)?;
    domain::validate_name(&request.name)?;
    domain::validate_idempotency_key(&request.idempotency_key)?;
    let mime_type = domain::normalize_mime_type(&request.mime_type)?;
    let source = domain::source_as_str(request.source)?;
    let limit = vault.config.limits.small_file_max_bytes;
    if request.content.len() as u64 > limit {
        return Err(ServiceError::payload_too_large(format!(
            "{} bytes is over the small-file limit of {limit} bytes; use an upload session",
            request.content.len()
        ))
        .into());
    }
    let sha256 = sha256_hex(&request.content);
    if !request.expected_sha256.is_empty() {
        let expected = domain::normalize_sha256("expected_sha256", &request.expected_sha256)?;
        if expected != sha256 {
            return Err(ServiceError::unprocessable(format!(
                "content hashes to {sha256}, not the expected {expected}; nothing was stored"
            ))
            .into());
        }
    }
    let key = std::mem::take(&mut request.idempotency_key);
    let content = Bytes::from(std::mem::take(&mut request.content));
    // the idempotency digest covers the content through its hash
    request.expected_sha256 = sha256.clone();
    let idempotency = Idempotency::of(&caller, "files.store", &key, &request);
    if let Some(idempotency) = &idempotency
        && let Some(stored) = idempotency.replay::<media::FileVersion>(vault).await?
    {
        return Ok(stored);
    }
    let new = NewFileVersion {
        scope: &request.scope,
        name: &request.name,
        mime_type: &mime_type,
        source,
        sha256: &sha256,
        size_bytes: content.len() as u64,
        content_sent: true,
    };
    let already_stored = store::blobs::find_stored(&vault.database, &sha256)
        .await?
        .is_some();
    let mut uploaded = None;
    if !already_stored {
        uploaded = Some(
            vault
                .objects
                .put(
                    &vault.objects.blob_key(&sha256),
                    content.clone(),
                    &mime_type,
                )
                .await?,
        );
    }
    let recorded = match record(vault, &caller, &new, uploaded.as_ref(), &idempotency).await? {
        Some(recorded) => recorded,
        None => {
            // the blob was purged between the lookup and the transaction: store the bytes
            let location = vault
                .objects
                .put(&vault.objects.blob_key(&sha256), content, &mime_type)
                .await?;
            record(vault, &caller, &new, Some(&location), &idempotency)
                .await?
                .ok_or_else(|| ServiceError::internal("uploaded blob could not be referenced"))?
        }
    };
    recording::announce(vault, &context, &caller, &recorded).await;
    Ok(recorded.version.to_proto(Vec::new()))
}

async fn record(
    vault: &Vault,
    caller: &Caller,
    new: &NewFileVersion<'_>,
    uploaded: Option<&crate::storage::ObjectLocation>,
    idempotency: &Option<Idempotency<'_>>,
) -> VaultResult<Option<Recorded>> {
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let bytes = match uploaded {
        Some(location) => recording::Bytes::Uploaded(location),
        None => recording::Bytes::AlreadyStored,
    };
    let Some(recorded) = recording::record_version(&transaction, vault, caller, new, bytes).await?
    else {
        return Ok(None);
    };
    remember_optional(
        idempotency,
        &transaction,
        vault,
        &recorded.version.to_proto(Vec::new()),
    )
    .await?;
    transaction.commit().await?;
    Ok(Some(recorded))
}

fn version_number(version: u32) -> Result<Option<i32>, ServiceError> {
    match version {
        0 => Ok(None),
        version if version <= i32::MAX as u32 => Ok(Some(version as i32)),
        _ => Err(ServiceError::invalid_field("version", "is out of range")),
    }
}

fn file_not_found() -> ServiceError {
    ServiceError::not_found("no such file")
}

#[tracing::instrument(skip_all, fields(file_id = %request.file_id))]
pub async fn get_file(
    vault: &Vault,
    context: RequestContext,
    request: media::GetFileRequest,
) -> VaultResult<media::FileVersion> {
    let caller = Caller::of(&context)?;
    let file_id = domain::parse_uuid("file_id", &request.file_id)?;
    let version = version_number(request.version)?;
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let row = store::files::get_version(&transaction, file_id, version)
        .await?
        .ok_or_else(file_not_found)?;
    let variants = store::variants::for_versions(&transaction, &[row.version_id]).await?;
    transaction.commit().await?;
    Ok(recording::with_variants(&row, &variants))
}

#[tracing::instrument(skip_all, fields(file_id = %request.file_id))]
pub async fn list_versions(
    vault: &Vault,
    context: RequestContext,
    request: media::ListFileVersionsRequest,
) -> VaultResult<media::FileVersionList> {
    let caller = Caller::of(&context)?;
    let file_id = domain::parse_uuid("file_id", &request.file_id)?;
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let rows = store::files::list_versions(&transaction, file_id).await?;
    if rows.is_empty() {
        return Err(file_not_found().into());
    }
    let version_ids: Vec<Uuid> = rows.iter().map(|row| row.version_id).collect();
    let variants = store::variants::for_versions(&transaction, &version_ids).await?;
    transaction.commit().await?;
    Ok(media::FileVersionList {
        versions: rows
            .iter()
            .map(|row| recording::with_variants(row, &variants))
            .collect(),
    })
}

#[tracing::instrument(skip_all, fields(file_id = %request.file_id))]
pub async fn download_url(
    vault: &Vault,
    context: RequestContext,
    request: media::GetDownloadUrlRequest,
) -> VaultResult<media::DownloadUrl> {
    let caller = Caller::of(&context)?;
    let file_id = domain::parse_uuid("file_id", &request.file_id)?;
    let version = version_number(request.version)?;
    let downloads = &vault.config.downloads;
    let expires_in_seconds = match request.expires_in_seconds as u64 {
        0 => downloads.default_expiry_seconds,
        seconds if seconds > downloads.max_expiry_seconds => {
            return Err(ServiceError::invalid_field(
                "expires_in_seconds",
                format!("must be at most {} seconds", downloads.max_expiry_seconds),
            )
            .into());
        }
        seconds => seconds,
    };
    let variant_type = request.variant_type.trim().to_string();
    if !matches!(variant_type.as_str(), "" | "thumbnail" | "display") {
        return Err(ServiceError::invalid_field(
            "variant_type",
            "must be empty, thumbnail or display",
        )
        .into());
    }
    let (location, mime_type, size_bytes, sha256) =
        downloadable_object(vault, &caller, file_id, version, &variant_type).await?;
    let url = vault
        .objects
        .presign_get(&location, Duration::from_secs(expires_in_seconds))
        .await?;
    let expires_at = Utc::now() + chrono::Duration::seconds(expires_in_seconds as i64);
    Ok(media::DownloadUrl {
        url,
        expires_at: Some(timestamp(expires_at)),
        mime_type,
        size_bytes,
        sha256,
    })
}

/// Where the bytes to download live, refused for tombstoned and purged files.
async fn downloadable_object(
    vault: &Vault,
    caller: &Caller,
    file_id: Uuid,
    version: Option<i32>,
    variant_type: &str,
) -> VaultResult<(crate::storage::ObjectLocation, String, u64, String)> {
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let row = store::files::get_version(&transaction, file_id, version)
        .await?
        .ok_or_else(file_not_found)?;
    match row.file_lifecycle.as_str() {
        "tombstoned" => {
            return Err(ServiceError::conflict(
                "the file is tombstoned; restore it to download it",
            )
            .into());
        }
        "deleted" => return Err(ServiceError::conflict("the file has been purged").into()),
        _ => {}
    }
    if row.lifecycle_status == "deleted" {
        return Err(ServiceError::conflict("this version has been purged").into());
    }
    if variant_type.is_empty() {
        return Ok((row.location, row.mime_type, row.size_bytes, row.sha256));
    }
    let variant = store::variants::find_completed(&transaction, row.version_id, variant_type)
        .await?
        .ok_or_else(|| {
            ServiceError::not_found(format!(
                "no {variant_type} variant of this version is ready"
            ))
        })?;
    transaction.commit().await?;
    Ok((
        variant.location,
        variant.mime_type,
        variant.size_bytes,
        variant.sha256,
    ))
}
