//! `credentials.*`: provider keys are written (admin), listed without their plaintext (admin),
//! revoked (admin) and resolved for a call (services only, each use audited).

use radiant_bus::{RequestContext, ServiceError};
use radiant_db::sea_orm::TransactionTrait;
use radiant_proto::registry::{
    CredentialInfo, ListCredentialsRequest, ListCredentialsResponse, ResolveCredentialRequest,
    ResolvedCredential, RevokeCredentialRequest, SetCredentialRequest,
};

use super::{actor, require_admin, summary_or};
use crate::crypto::key_hint;
use crate::domain::validation;
use crate::error::RegistryResult;
use crate::registry::Registry;
use crate::store;
use crate::store::audit::NewAuditEntry;

/// The role of platform services allowed to resolve keys (never granted to end users).
pub const SERVICE_ROLE: &str = "service";
const MAX_KEY_BYTES: usize = 4096;

async fn known_provider(
    registry: &Registry,
    provider_id: &str,
) -> RegistryResult<radiant_proto::registry::Provider> {
    validation::provider_id("provider_id", provider_id)?;
    Ok(store::providers::get(&registry.database, provider_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("no provider {provider_id}")))?)
}

/// Stores a key as the provider's new active version (rotation keeps the old one, inactive).
#[tracing::instrument(skip_all, fields(provider_id = %request.provider_id))]
pub async fn set(
    registry: &Registry,
    context: RequestContext,
    request: SetCredentialRequest,
) -> RegistryResult<CredentialInfo> {
    require_admin(&context)?;
    known_provider(registry, &request.provider_id).await?;
    let api_key = request.api_key.trim();
    if api_key.is_empty() || api_key.len() > MAX_KEY_BYTES || api_key.chars().any(char::is_control)
    {
        return Err(ServiceError::invalid_field(
            "api_key",
            "must be 1 to 4096 bytes without control characters",
        )
        .into());
    }
    let who = actor(&context);
    let transaction = registry.database.begin().await?;
    let version = store::credentials::next_version(&transaction, &request.provider_id).await?;
    let rotated = store::credentials::deactivate(&transaction, &request.provider_id, false).await?;
    let (nonce, ciphertext) = registry
        .master_key
        .seal(&request.provider_id, version, api_key);
    let info = store::credentials::insert(
        &transaction,
        store::credentials::NewCredential {
            provider_id: &request.provider_id,
            version,
            nonce,
            ciphertext,
            key_hint: key_hint(api_key),
            created_by: &who,
        },
    )
    .await?;
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &who,
            entity_type: "credential",
            entity_id: &request.provider_id,
            action: if rotated { "rotate" } else { "create" },
            summary: format!(
                "key version {version} for {} ({})",
                request.provider_id, info.key_hint
            ),
            before: None,
            after: Some(serde_json::json!({ "version": version, "key_hint": info.key_hint })),
            request_id: &context.request_id,
        },
    )
    .await?;
    transaction.commit().await?;
    Ok(info)
}

#[tracing::instrument(skip_all)]
pub async fn list(
    registry: &Registry,
    context: RequestContext,
    _request: ListCredentialsRequest,
) -> RegistryResult<ListCredentialsResponse> {
    require_admin(&context)?;
    Ok(ListCredentialsResponse {
        credentials: store::credentials::list(&registry.database).await?,
    })
}

#[tracing::instrument(skip_all, fields(provider_id = %request.provider_id))]
pub async fn revoke(
    registry: &Registry,
    context: RequestContext,
    mut request: RevokeCredentialRequest,
) -> RegistryResult<CredentialInfo> {
    require_admin(&context)?;
    validation::text("reason", &mut request.reason, false, 2000)?;
    known_provider(registry, &request.provider_id).await?;
    let transaction = registry.database.begin().await?;
    if !store::credentials::deactivate(&transaction, &request.provider_id, true).await? {
        return Err(
            ServiceError::not_found(format!("{} has no active key", request.provider_id)).into(),
        );
    }
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &actor(&context),
            entity_type: "credential",
            entity_id: &request.provider_id,
            action: "revoke",
            summary: summary_or(&request.reason, || {
                format!("key of {} revoked", request.provider_id)
            }),
            before: None,
            after: None,
            request_id: &context.request_id,
        },
    )
    .await?;
    let info = store::credentials::latest(&transaction, &request.provider_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such key"))?;
    transaction.commit().await?;
    Ok(info)
}

/// The active key in plaintext and its version, recorded as used by `used_by` for `purpose`.
pub async fn resolve_key(
    registry: &Registry,
    provider_id: &str,
    used_by: &str,
    purpose: &str,
    request_id: &str,
) -> RegistryResult<Option<(String, u32)>> {
    let transaction = registry.database.begin().await?;
    let Some(sealed) =
        store::credentials::use_active(&transaction, provider_id, used_by, purpose, request_id)
            .await?
    else {
        return Ok(None);
    };
    let key = registry
        .master_key
        .open(
            provider_id,
            sealed.version,
            &sealed.nonce,
            &sealed.ciphertext,
        )
        .map_err(|error| {
            tracing::error!(%provider_id, %error, "stored key does not open");
            ServiceError::internal("the stored key cannot be decrypted")
        })?;
    transaction.commit().await?;
    Ok(Some((key, sealed.version.max(0) as u32)))
}

#[tracing::instrument(skip_all, fields(provider_id = %request.provider_id))]
pub async fn resolve(
    registry: &Registry,
    context: RequestContext,
    request: ResolveCredentialRequest,
) -> RegistryResult<ResolvedCredential> {
    context.require_role(SERVICE_ROLE)?;
    let provider = known_provider(registry, &request.provider_id).await?;
    let mut purpose = request.purpose.clone();
    validation::text("purpose", &mut purpose, true, 200)?;
    let used_by = actor(&context);
    let (key, version) = resolve_key(
        registry,
        &request.provider_id,
        &used_by,
        &purpose,
        &context.request_id,
    )
    .await?
    .ok_or_else(|| ServiceError::not_found(format!("{} has no active key", request.provider_id)))?;
    Ok(ResolvedCredential {
        provider_id: request.provider_id,
        version,
        api_key: key,
        base_url: provider.base_url,
    })
}
