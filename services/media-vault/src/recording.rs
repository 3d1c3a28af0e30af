//! Recording a new file version: the one place where a blob reference, the version number and
//! the version row are written together, in the caller's tenant transaction.

use radiant_bus::RequestContext;
use radiant_db::sea_orm::DatabaseTransaction;
use radiant_proto::{events, media};
use uuid::Uuid;

use crate::domain;
use crate::error::VaultResult;
use crate::storage::ObjectLocation;
use crate::store::{self, files::VersionRow};
use crate::vault::{Caller, Vault};

pub struct NewFileVersion<'a> {
    pub scope: &'a str,
    pub name: &'a str,
    pub mime_type: &'a str,
    pub source: &'a str,
    pub sha256: &'a str,
    pub size_bytes: u64,
    /// The client sent the content (small path, session parts); false only when a session was
    /// completed from content the tenant already holds.
    pub content_sent: bool,
}

pub enum Bytes<'a> {
    /// The content is already stored: reference it, upload nothing.
    AlreadyStored,
    /// The content was just written here.
    Uploaded(&'a ObjectLocation),
}

pub struct Recorded {
    pub version: VersionRow,
    /// Our freshly written object version turned out redundant (a concurrent upload of the
    /// same bytes was recorded first); nothing references it.
    pub redundant_upload: Option<ObjectLocation>,
}

/// Writes the version; `None` when `AlreadyStored` content is not stored (any more) and the
/// caller must upload the bytes after all.
pub async fn record_version(
    transaction: &DatabaseTransaction,
    vault: &Vault,
    caller: &Caller,
    new: &NewFileVersion<'_>,
    bytes: Bytes<'_>,
) -> VaultResult<Option<Recorded>> {
    let redundant_upload = match bytes {
        Bytes::AlreadyStored => {
            let referenced =
                store::blobs::reference_existing(transaction, new.sha256, new.size_bytes).await?;
            if referenced.is_none() {
                return Ok(None);
            }
            None
        }
        Bytes::Uploaded(location) => {
            let blob = store::blobs::reference_uploaded(
                transaction,
                new.sha256,
                new.size_bytes,
                new.mime_type,
                location,
            )
            .await?;
            (blob.location != *location).then(|| location.clone())
        }
    };
    // what the client sees: whether it had to send the content, never whether someone else
    // (possibly another tenant) stored it before
    let deduplicated = !new.content_sent;
    let (file_id, version) =
        store::files::allocate_version(transaction, caller.tenant_id, new.scope, new.name).await?;
    let version_id = Uuid::now_v7();
    let processing_status =
        if vault.config.variants.enabled && domain::is_variant_source(new.mime_type) {
            "pending"
        } else {
            "not_applicable"
        };
    store::files::insert_version(
        transaction,
        &store::files::NewVersion {
            version_id,
            tenant_id: caller.tenant_id,
            file_id,
            version,
            sha256: new.sha256,
            mime_type: new.mime_type,
            size_bytes: new.size_bytes,
            source: new.source,
            processing_status,
            deduplicated,
            created_by: &caller.user_id,
        },
    )
    .await?;
    let version = store::files::get_version_by_id(transaction, version_id)
        .await?
        .ok_or(radiant_db::sea_orm::DbErr::RecordNotFound(
            "version just inserted".to_string(),
        ))?;
    Ok(Some(Recorded {
        version,
        redundant_upload,
    }))
}

/// After commit: the file-stored event, and the variant job for images. Both are published
/// with ids derived from the version, so a retry never duplicates them.
pub async fn announce(
    vault: &Vault,
    context: &RequestContext,
    caller: &Caller,
    recorded: &Recorded,
) {
    let version = &recorded.version;
    let event = events::MediaFileStored {
        tenant_id: caller.tenant_id.to_string(),
        file_id: version.file_id.to_string(),
        version_id: version.version_id.to_string(),
        scope: version.scope.clone(),
        name: version.name.clone(),
        version: version.version.max(0) as u32,
        mime_type: version.mime_type.clone(),
        size_bytes: version.size_bytes,
        sha256: version.sha256.clone(),
        deduplicated: version.deduplicated,
        stored_at: Some(store::timestamp(version.created_at)),
    };
    vault
        .publish_event(
            radiant_bus::subjects::media::EVENT_FILE_STORED,
            &format!("file-stored-{}", version.version_id),
            context,
            &event,
        )
        .await;
    if version.processing_status == "pending" {
        enqueue_variants(vault, context, caller.tenant_id, version.version_id).await;
    }
    if let Some(location) = &recorded.redundant_upload {
        // same bytes as the recorded blob and referenced by nothing: safe to drop
        if let Err(error) = vault.objects.delete_version(location).await {
            tracing::warn!(%error, key = %location.key, "redundant object version left in the bucket");
        }
    }
}

pub async fn enqueue_variants(
    vault: &Vault,
    context: &RequestContext,
    tenant_id: Uuid,
    version_id: Uuid,
) {
    let recipe_version = vault.config.variants.recipe_version.clone();
    let job = events::MediaVariantJob {
        tenant_id: tenant_id.to_string(),
        version_id: version_id.to_string(),
        recipe_version: recipe_version.clone(),
    };
    let subject = vault.variant_job_subject();
    let message_id = format!("variants-{version_id}-{recipe_version}");
    if let Err(error) = radiant_bus::jetstream::publish_message(
        &vault.jetstream,
        &subject,
        &message_id,
        context,
        &job,
    )
    .await
    {
        tracing::error!(%error, %version_id, "variant job not queued; the version stays pending");
    }
}

pub fn with_variants(
    version: &VersionRow,
    variants: &[(Uuid, media::Variant)],
) -> media::FileVersion {
    version.to_proto(
        variants
            .iter()
            .filter(|(version_id, _)| *version_id == version.version_id)
            .map(|(_, variant)| variant.clone())
            .collect(),
    )
}
