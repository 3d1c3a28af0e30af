//! `files.tombstone`, `files.restore`, `files.legal_hold` (admins) and `files.purge` (the
//! erasure role). Nothing here removes bytes: a purge releases references, and the purge job
//! deletes a blob only once nothing references it.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::media;
use uuid::Uuid;

use crate::domain::{self, FileLifecycle, LifecycleChange};
use crate::error::VaultResult;
use crate::recording;
use crate::store;
use crate::vault::{Caller, Vault};

async fn current_view(
    transaction: &radiant_db::sea_orm::DatabaseTransaction,
    file_id: Uuid,
) -> VaultResult<media::FileVersion> {
    let row = store::files::get_version(transaction, file_id, None)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such file"))?;
    let variants = store::variants::for_versions(transaction, &[row.version_id]).await?;
    Ok(recording::with_variants(&row, &variants))
}

async fn change_lifecycle(
    vault: &Vault,
    context: &RequestContext,
    request: &media::FileLifecycleRequest,
    change: LifecycleChange,
) -> VaultResult<media::FileVersion> {
    let caller = Caller::of(context)?;
    let file_id = domain::parse_uuid("file_id", &request.file_id)?;
    domain::validate_reason(&request.reason)?;
    let reason = request.reason.trim();
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let state = store::files::lock_file(&transaction, file_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such file"))?;
    let next = domain::check_lifecycle_change(state.lifecycle, state.legal_hold, change)?;
    store::files::set_lifecycle(&transaction, file_id, next, reason, &caller.user_id).await?;
    let view = current_view(&transaction, file_id).await?;
    transaction.commit().await?;
    Ok(view)
}

#[tracing::instrument(skip_all, fields(file_id = %request.file_id))]
pub async fn tombstone(
    vault: &Vault,
    context: RequestContext,
    request: media::FileLifecycleRequest,
) -> VaultResult<media::FileVersion> {
    change_lifecycle(vault, &context, &request, LifecycleChange::Tombstone).await
}

#[tracing::instrument(skip_all, fields(file_id = %request.file_id))]
pub async fn restore(
    vault: &Vault,
    context: RequestContext,
    request: media::FileLifecycleRequest,
) -> VaultResult<media::FileVersion> {
    change_lifecycle(vault, &context, &request, LifecycleChange::Restore).await
}

#[tracing::instrument(skip_all, fields(file_id = %request.file_id, hold = request.hold))]
pub async fn legal_hold(
    vault: &Vault,
    context: RequestContext,
    request: media::SetLegalHoldRequest,
) -> VaultResult<media::FileVersion> {
    let caller = Caller::of(&context)?;
    if !context.is_admin() {
        return Err(ServiceError::permission_denied("only admins set or clear legal holds").into());
    }
    let file_id = domain::parse_uuid("file_id", &request.file_id)?;
    domain::validate_reason(&request.reason)?;
    if request.hold && request.reason.trim().is_empty() {
        return Err(ServiceError::invalid_field("reason", "a legal hold needs a reason").into());
    }
    let reason = request.reason.trim();
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let state = store::files::lock_file(&transaction, file_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such file"))?;
    if state.lifecycle == FileLifecycle::Deleted {
        return Err(ServiceError::conflict("the file has been purged").into());
    }
    store::files::set_legal_hold(&transaction, file_id, request.hold, reason, &caller.user_id)
        .await?;
    let view = current_view(&transaction, file_id).await?;
    transaction.commit().await?;
    Ok(view)
}

#[tracing::instrument(skip_all, fields(file_id = %request.file_id))]
pub async fn purge(
    vault: &Vault,
    context: RequestContext,
    request: media::FileLifecycleRequest,
) -> VaultResult<media::PurgeFileResponse> {
    let caller = Caller::of(&context)?;
    let erasure_role = &vault.config.purge.erasure_role;
    if !context.has_role(erasure_role) {
        return Err(ServiceError::permission_denied(format!(
            "purging needs the {erasure_role} role"
        ))
        .into());
    }
    let file_id = domain::parse_uuid("file_id", &request.file_id)?;
    domain::validate_reason(&request.reason)?;
    let reason = request.reason.trim();
    let transaction = vault.tenant_transaction(caller.tenant_id).await?;
    let state = store::files::lock_file(&transaction, file_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such file"))?;
    let next =
        domain::check_lifecycle_change(state.lifecycle, state.legal_hold, LifecycleChange::Purge)?;
    store::files::set_lifecycle(&transaction, file_id, next, reason, &caller.user_id).await?;
    let mut released = store::files::delete_versions(&transaction, file_id).await?;
    let versions_purged = released.len() as u32;
    released.extend(store::variants::purge_for_file(&transaction, file_id).await?);
    let mut blobs_scheduled = 0;
    for sha256 in released {
        let blob = store::blobs::release(&transaction, &sha256).await?;
        if blob.ref_count == 0 {
            store::purge_jobs::enqueue(&transaction, &sha256, &blob.location, &caller.user_id)
                .await?;
            blobs_scheduled += 1;
        }
    }
    transaction.commit().await?;
    Ok(media::PurgeFileResponse {
        file_id: file_id.to_string(),
        versions_purged,
        blobs_scheduled,
    })
}
