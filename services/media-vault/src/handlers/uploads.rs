//! Upload sessions: `uploads.create`, `uploads.part_urls`, `uploads.get`, `uploads.complete`,
//! `uploads.abort`. Parts go straight to S3 through presigned URLs; completion verifies the
//! declared size and SHA-256 by reading the assembled object back before anything is recorded.

use std::time::Duration;

use chrono::Utc;
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::media;
use uuid::Uuid;

use super::idempotency::{Idempotency, remember_optional};
use crate::domain;
use crate::error::VaultResult;
use crate::recording::{self, NewFileVersion};
use crate::store::sessions::{NewSession, SessionRow};
use crate::store::{self, timestamp};
use crate::vault::{Caller, Vault};

/// A completion that has held its claim this long is presumed dead and may be taken over.
const STALE_COMPLETION_SECONDS: i64 = 900;

fn session_not_found() -> ServiceError {
    ServiceError::not_found("no such upload session")
}

fn session_view(
    session: &SessionRow,
    received_parts: Vec<media::UploadedPart>,
    file_version: Option<media::FileVersion>,
) -> media::UploadSession {
    media::UploadSession {
        session_id: session.id.to_string(),
        upload_status: domain::upload_status_from(&session.upload_status) as i32,
        scope: session.scope.clone(),
        name: session.name.clone(),
        mime_type: session.mime_type.clone(),
        size_bytes: session.plan.size_bytes,
        sha256: session.sha256.clone(),
        part_size_bytes: session.plan.part_size_bytes,
        part_count: session.plan.part_count,
        expires_at: Some(timestamp(session.expires_at)),
        received_parts,
        file_version,
        deduplicated: session.deduplicated,
        failure_reason: session.failure_reason.clone().unwrap_or_default(),
    }
}

#[tracing::instrument(skip_all, fields(scope = %request.scope, size = request.size_bytes))]
pub async fn create(
    vault: &Vault,
    context: RequestContext,
    mut request: media::CreateUploadSessionRequest,
) -> VaultResult<media::UploadSession> {
    let caller = Caller::of(&context)?;
    domain::validate_scope(&request.scope)?;
    domain::validate_name(&request.name)?;
    domain::validate_idempotency_key(&request.idempotency_key)?;
    let mime_type = domain::normalize_mime_type(&request.mime_type)?;
    let source = domain::source_as_str(request.source)?;
    let sha256 = domain::normalize_sha256("sha256", &request.sha256)?;
    let plan = domain::plan_parts(
        request.size_bytes,
        request.part_size_bytes,
        &vault.config.limits,
    )?;
    let key = std::mem::take(&mut request.idempotency_key);
    let idempotency = Idempotency::of(&caller, "uploads.create", &key, &request);
    if let Some(idempotency) = &idempotency
        && let Some(stored) = idempotency.replay::<media::UploadSession>(vault).await?
    {
        return Ok(stored);
    }
    let expires_at = Utc::now()
        + chrono::Duration::from_std(vault.config.uploads.session_ttl())
            .unwrap_or_else(|_| chrono::Duration::days(1));
    let s3_key = vault.objects.blob_key(&sha256);
    let new = NewFileVersion {
        scope: &request.scope,
        name: &request.name,
        mime_type: &mime_type,
        source,
        sha256: &sha256,
        size_bytes: plan.size_bytes,
        content_sent: false,
    };

    // the hash names content this tenant already holds: the version is recorded now, zero
    // bytes sent. Content only another tenant holds must be uploaded (knowing a hash is no
    // proof of having the bytes); storage is still shared once the upload is verified.
    if let Some(blob) = tenant_held_blob(vault, &caller, &sha256).await? {
        if blob.size_bytes != plan.size_bytes {
            return Err(ServiceError::unprocessable(format!(
                "content with SHA-256 {sha256} has {} bytes, not the declared {}",
                blob.size_bytes, plan.size_bytes
            ))
            .into());
        }
        let session_id = Uuid::now_v7();
        let transaction = vault.tenant_transaction(caller.tenant_id).await?;
        let outcome = match recording::record_version(
            &transaction,
            vault,
            &caller,
            &new,
            recording::Bytes::AlreadyStored,
        )
        .await?
        {
            None => None,
            Some(recorded) => {
                let session = store::sessions::insert(
                    &transaction,
                    &NewSession {
                        id: session_id,
                        tenant_id: caller.tenant_id,
                        created_by: &caller.user_id,
                        scope: new.scope,
                        name: new.name,
                        mime_type: new.mime_type,
                        source: new.source,
                        plan,
                        sha256: new.sha256,
                        s3_bucket: vault.objects.bucket(),
                        s3_key: &s3_key,
                        s3_upload_id: None,
                        upload_status: "completed",
                        version_id: Some(recorded.version.version_id),
                        deduplicated: true,
                        expires_at,
                    },
                )
                .await?;
                let view = session_view(
                    &session,
                    Vec::new(),
                    Some(recorded.version.to_proto(Vec::new())),
                );
                remember_optional(&idempotency, &transaction, vault, &view).await?;
                transaction.commit().await?;
                Some((view, recorded))
            }
        };
        if let Some((view, recorded)) = outcome {
            recording::announce(vault, &context, &caller, &recorded).await;
            return Ok(view);
        }
        // purged in between: fall through to a real upload
    }

    let upload_id = vault.objects.create_multipart(&s3_key, &mime_type).await?;
    let session_id = Uuid::now_v7();
    let created = insert_session(
        vault,
        &caller,
        &new,
        plan,
        session_id,
        &s3_key,
        &upload_id,
        expires_at,
        &idempotency,
    )
    .await;
    match created {
        Ok(view) => Ok(view),
        Err(error) => {
            // nothing references the multipart upload: release it
            if let Err(abort_error) = vault.objects.abort_multipart(&s3_key, &upload_id).await {
                tracing::warn!(%abort_error, "multipart upload of a failed session left to the bucket's lifecycle rules");
            }
            Err(error)
        }
    }
}

/// The sound stored blob with this hash, if the caller's tenant already references it.
async fn tenant_held_blob(
    vault: &Vault,
    caller: &Caller,
    sha256: &str,
) -> VaultResult<Option<store::blobs::BlobRow>> {
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let held = store::files::tenant_holds_blob(&transaction, sha256).await?;
    transaction.commit().await?;
    if !held {
        return Ok(None);
    }
    Ok(store::blobs::find_stored(&vault.database, sha256).await?)
}

#[allow(clippy::too_many_arguments)]
async fn insert_session(
    vault: &Vault,
    caller: &Caller,
    new: &NewFileVersion<'_>,
    plan: domain::PartPlan,
    session_id: Uuid,
    s3_key: &str,
    upload_id: &str,
    expires_at: chrono::DateTime<Utc>,
    idempotency: &Option<Idempotency<'_>>,
) -> VaultResult<media::UploadSession> {
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let session = store::sessions::insert(
        &transaction,
        &NewSession {
            id: session_id,
            tenant_id: caller.tenant_id,
            created_by: &caller.user_id,
            scope: new.scope,
            name: new.name,
            mime_type: new.mime_type,
            source: new.source,
            plan,
            sha256: new.sha256,
            s3_bucket: vault.objects.bucket(),
            s3_key,
            s3_upload_id: Some(upload_id),
            upload_status: "pending",
            version_id: None,
            deduplicated: false,
            expires_at,
        },
    )
    .await?;
    store::sessions::insert_multipart(
        &transaction,
        upload_id,
        session_id,
        vault.objects.bucket(),
        s3_key,
        expires_at,
    )
    .await?;
    let view = session_view(&session, Vec::new(), None);
    remember_optional(idempotency, &transaction, vault, &view).await?;
    transaction.commit().await?;
    Ok(view)
}

/// The session, with expiry applied: an open session past its expiry is failed here (its
/// multipart upload is aborted by the sweeper).
async fn load_session(vault: &Vault, caller: &Caller, session_id: Uuid) -> VaultResult<SessionRow> {
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let mut session = store::sessions::get(&transaction, session_id).await?;
    if let Some(open) = &session
        && open.is_open()
        && open.expires_at <= Utc::now()
    {
        store::sessions::mark_failed(&transaction, session_id, "expired").await?;
        session = store::sessions::get(&transaction, session_id).await?;
    }
    transaction.commit().await?;
    session.ok_or_else(|| session_not_found().into())
}

fn require_open(session: &SessionRow) -> Result<(), ServiceError> {
    match session.upload_status.as_str() {
        "pending" | "uploading" => Ok(()),
        "completed" => Err(ServiceError::conflict(
            "the upload session is already completed",
        )),
        _ => Err(ServiceError::conflict(format!(
            "the upload session has failed: {}",
            session
                .failure_reason
                .as_deref()
                .unwrap_or("unknown reason")
        ))),
    }
}

#[tracing::instrument(skip_all, fields(session_id = %request.session_id))]
pub async fn part_urls(
    vault: &Vault,
    context: RequestContext,
    request: media::GetPartUrlsRequest,
) -> VaultResult<media::PartUrls> {
    let caller = Caller::of(&context)?;
    let session_id = domain::parse_uuid("session_id", &request.session_id)?;
    let session = load_session(vault, &caller, session_id).await?;
    require_open(&session)?;
    let upload_id = session
        .s3_upload_id
        .clone()
        .ok_or_else(|| ServiceError::conflict("the session has no upload"))?;
    let part_numbers: Vec<u32> = if request.part_numbers.is_empty() {
        let received = vault
            .objects
            .list_parts(&session.s3_key, &upload_id)
            .await
            .map_err(upload_gone)?;
        (1..=session.plan.part_count)
            .filter(|part_number| {
                !received.iter().any(|part| {
                    part.part_number == *part_number
                        && Some(part.size_bytes) == session.plan.expected_size(*part_number)
                })
            })
            .collect()
    } else {
        if request.part_numbers.len() > session.plan.part_count as usize {
            return Err(ServiceError::invalid_field(
                "part_numbers",
                "more part numbers than the session has parts",
            )
            .into());
        }
        for part_number in &request.part_numbers {
            if session.plan.expected_size(*part_number).is_none() {
                return Err(ServiceError::invalid_field(
                    "part_numbers",
                    format!(
                        "part {part_number} is not between 1 and {}",
                        session.plan.part_count
                    ),
                )
                .into());
            }
        }
        request.part_numbers.clone()
    };
    let remaining = (session.expires_at - Utc::now())
        .to_std()
        .unwrap_or(Duration::from_secs(1));
    let expires_in = remaining.max(Duration::from_secs(1));
    let mut parts = Vec::with_capacity(part_numbers.len());
    for part_number in part_numbers {
        let url = vault
            .objects
            .presign_upload_part(&session.s3_key, &upload_id, part_number, expires_in)
            .await?;
        parts.push(media::PartUrl {
            part_number,
            url,
            size_bytes: session.plan.expected_size(part_number).unwrap_or_default(),
        });
    }
    if session.upload_status == "pending" {
        let transaction = vault.tenant_transaction(caller.tenant_id).await?;
        store::sessions::mark_uploading(&transaction, session_id).await?;
        transaction.commit().await?;
    }
    Ok(media::PartUrls {
        parts,
        expires_at: Some(timestamp(
            Utc::now() + chrono::Duration::from_std(expires_in).unwrap_or_default(),
        )),
    })
}

async fn completed_version(
    vault: &Vault,
    caller: &Caller,
    session: &SessionRow,
) -> VaultResult<Option<media::FileVersion>> {
    let Some(version_id) = session.version_id else {
        return Ok(None);
    };
    let row = radiant_db::with_tenant(&vault.database, caller.tenant_id, |transaction| {
        Box::pin(async move { store::files::get_version_by_id(transaction, version_id).await })
    })
    .await?;
    Ok(row.map(|row| row.to_proto(Vec::new())))
}

#[tracing::instrument(skip_all, fields(session_id = %request.session_id))]
pub async fn get(
    vault: &Vault,
    context: RequestContext,
    request: media::GetUploadSessionRequest,
) -> VaultResult<media::UploadSession> {
    let caller = Caller::of(&context)?;
    let session_id = domain::parse_uuid("session_id", &request.session_id)?;
    let session = load_session(vault, &caller, session_id).await?;
    // once assembled (a completion is under way or failed midway) S3 has no parts to list
    let listable = session.is_open() && session.assembled_s3_version_id.is_none();
    let received_parts = match (&session.s3_upload_id, listable) {
        (Some(upload_id), true) => vault
            .objects
            .list_parts(&session.s3_key, upload_id)
            .await
            .map_err(upload_gone)?
            .into_iter()
            .map(|part| media::UploadedPart {
                part_number: part.part_number,
                size_bytes: part.size_bytes,
                etag: part.etag,
            })
            .collect(),
        _ => Vec::new(),
    };
    let file_version = completed_version(vault, &caller, &session).await?;
    Ok(session_view(&session, received_parts, file_version))
}

#[tracing::instrument(skip_all, fields(session_id = %request.session_id))]
pub async fn complete(
    vault: &Vault,
    context: RequestContext,
    mut request: media::CompleteUploadSessionRequest,
) -> VaultResult<media::FileVersion> {
    let caller = Caller::of(&context)?;
    let session_id = domain::parse_uuid("session_id", &request.session_id)?;
    domain::validate_idempotency_key(&request.idempotency_key)?;
    let key = std::mem::take(&mut request.idempotency_key);
    let idempotency = Idempotency::of(&caller, "uploads.complete", &key, &request);
    if let Some(idempotency) = &idempotency
        && let Some(stored) = idempotency.replay::<media::FileVersion>(vault).await?
    {
        return Ok(stored);
    }
    let session = load_session(vault, &caller, session_id).await?;
    // completing a completed session is a replay: the same version again
    if session.upload_status == "completed"
        && let Some(version) = completed_version(vault, &caller, &session).await?
    {
        return Ok(version);
    }
    require_open(&session)?;
    let upload_id = session
        .s3_upload_id
        .clone()
        .ok_or_else(|| ServiceError::conflict("the session has no upload"))?;
    let claim = radiant_db::with_tenant(&vault.database, caller.tenant_id, |transaction| {
        Box::pin(async move {
            store::sessions::claim_completion(transaction, session_id, STALE_COMPLETION_SECONDS)
                .await
        })
    })
    .await?;
    let Some(claim) = claim else {
        return Err(ServiceError::conflict(
            "the upload session is being completed by another request; retry shortly",
        )
        .into());
    };
    let outcome = finish_upload(
        vault,
        &context,
        &caller,
        &session,
        &upload_id,
        claim,
        &idempotency,
    )
    .await;
    if let Err(error) = &outcome {
        // a failed session was already closed; an open one is released for another try
        let release = radiant_db::with_tenant(&vault.database, caller.tenant_id, |transaction| {
            Box::pin(async move {
                store::sessions::release_completion(transaction, session_id, claim).await
            })
        })
        .await;
        if let Err(release_error) = release {
            tracing::warn!(%release_error, %error, "completion claim not released; it expires on its own");
        }
    }
    outcome
}

/// Under the completion claim: check parts, assemble, verify, record.
async fn finish_upload(
    vault: &Vault,
    context: &RequestContext,
    caller: &Caller,
    session: &SessionRow,
    upload_id: &str,
    claim: chrono::DateTime<Utc>,
    idempotency: &Option<Idempotency<'_>>,
) -> VaultResult<media::FileVersion> {
    let location = match &session.assembled_s3_version_id {
        // an earlier completion assembled the object and failed before recording it
        Some(version_id) => crate::storage::ObjectLocation {
            bucket: vault.objects.bucket().to_string(),
            key: session.s3_key.clone(),
            version_id: version_id.clone(),
        },
        None => {
            let received = vault
                .objects
                .list_parts(&session.s3_key, upload_id)
                .await
                .map_err(upload_gone)?;
            if let Err(problem) = domain::check_received_parts(&session.plan, &received) {
                return Err(ServiceError::unprocessable(format!(
                    "{problem}; nothing was recorded"
                ))
                .into());
            }
            let location = vault
                .objects
                .complete_multipart(&session.s3_key, upload_id, &received)
                .await
                .map_err(upload_gone)?;
            let session_id = session.id;
            let version_id = location.version_id.clone();
            radiant_db::with_tenant(&vault.database, caller.tenant_id, move |transaction| {
                Box::pin(async move {
                    store::sessions::record_assembled(transaction, session_id, &version_id).await
                })
            })
            .await?;
            location
        }
    };
    // a read failure leaves the session open with its assembled object: the retry verifies it
    let digest = vault.objects.digest(&location).await?;
    if digest.sha256 != session.sha256 || digest.size_bytes != session.plan.size_bytes {
        let reason = format!(
            "uploaded bytes ({} bytes, SHA-256 {}) do not match the declared {} bytes, SHA-256 {}",
            digest.size_bytes, digest.sha256, session.plan.size_bytes, session.sha256
        );
        // only the holder of the claim fails the session and drops the unverified object
        if fail_session(vault, caller, session, upload_id, claim, &reason).await
            && let Err(error) = vault.objects.delete_version(&location).await
        {
            tracing::warn!(%error, key = %location.key, "unverified object version left in the bucket");
        }
        return Err(ServiceError::unprocessable(format!("{reason}; nothing was recorded")).into());
    }
    let new = NewFileVersion {
        scope: &session.scope,
        name: &session.name,
        mime_type: &session.mime_type,
        source: &session.source,
        sha256: &session.sha256,
        size_bytes: session.plan.size_bytes,
        content_sent: true,
    };
    let session_id = session.id;
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let recorded = recording::record_version(
        &transaction,
        vault,
        caller,
        &new,
        recording::Bytes::Uploaded(&location),
    )
    .await?
    .ok_or_else(|| ServiceError::internal("uploaded blob could not be referenced"))?;
    let completed = store::sessions::mark_completed(
        &transaction,
        session_id,
        recorded.version.version_id,
        claim,
    )
    .await?;
    if !completed {
        // aborted, or taken over after this claim went stale: record nothing (rollback)
        return Err(ServiceError::conflict(
            "the upload session was aborted or taken over while it was being completed",
        )
        .into());
    }
    store::sessions::close_multipart(&transaction, upload_id, "completed").await?;
    remember_optional(
        idempotency,
        &transaction,
        vault,
        &recorded.version.to_proto(Vec::new()),
    )
    .await?;
    transaction.commit().await?;
    recording::announce(vault, context, caller, &recorded).await;
    Ok(recorded.version.to_proto(Vec::new()))
}

/// Fails the session under the completion claim; true when this call failed it.
async fn fail_session(
    vault: &Vault,
    caller: &Caller,
    session: &SessionRow,
    upload_id: &str,
    claim: chrono::DateTime<Utc>,
    reason: &str,
) -> bool {
    let session_id = session.id;
    let result: VaultResult<bool> = async {
        let transaction = vault.tenant_transaction(caller.tenant_id).await?;
        let failed =
            store::sessions::mark_failed_under_claim(&transaction, session_id, reason, claim)
                .await?;
        if failed {
            store::sessions::close_multipart(&transaction, upload_id, "completed").await?;
        }
        transaction.commit().await?;
        Ok(failed)
    }
    .await;
    result.unwrap_or_else(|error| {
        tracing::error!(%error, %session_id, "failed session not recorded as failed");
        false
    })
}

/// S3 no longer knows the multipart upload: it was aborted (or expired) meanwhile.
fn upload_gone(error: crate::storage::StorageError) -> crate::error::VaultError {
    match error {
        crate::storage::StorageError::NotFound(_) => ServiceError::conflict(
            "the upload no longer exists in storage (aborted or expired); start a new session",
        )
        .into(),
        other => other.into(),
    }
}

#[tracing::instrument(skip_all, fields(session_id = %request.session_id))]
pub async fn abort(
    vault: &Vault,
    context: RequestContext,
    request: media::AbortUploadSessionRequest,
) -> VaultResult<media::UploadSession> {
    let caller = Caller::of(&context)?;
    let session_id = domain::parse_uuid("session_id", &request.session_id)?;
    let session = load_session(vault, &caller, session_id).await?;
    if session.upload_status == "completed" {
        return Err(ServiceError::conflict("the upload session is already completed").into());
    }
    if session.completing_since.is_some_and(|since| {
        Utc::now() - since < chrono::Duration::seconds(STALE_COMPLETION_SECONDS)
    }) {
        return Err(ServiceError::conflict(
            "the upload session is being completed; abort is not possible now",
        )
        .into());
    }
    if let Some(upload_id) = &session.s3_upload_id {
        vault
            .objects
            .abort_multipart(&session.s3_key, upload_id)
            .await?;
        let transaction = vault.tenant_transaction(caller.tenant_id).await?;
        store::sessions::mark_failed(&transaction, session_id, "aborted").await?;
        store::sessions::close_multipart(&transaction, upload_id, "aborted").await?;
        transaction.commit().await?;
    }
    let session = load_session(vault, &caller, session_id).await?;
    Ok(session_view(&session, Vec::new(), None))
}
