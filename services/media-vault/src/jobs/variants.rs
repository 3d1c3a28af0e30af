//! The variant job consumer: makes the thumbnail and display images of one image version.
//! Redelivery is harmless: a variant is completed (and its blob referenced) exactly once, and
//! a failed variant never touches the original.

use std::time::Duration;

use bytes::Bytes;
use radiant_bus::jetstream::{ConsumerRunner, ConsumerSpec, JobError, JobMessage, RunningConsumer};
use radiant_bus::subjects::media as subjects;
use radiant_proto::events;
use uuid::Uuid;

use super::render::{self, Rendered, VARIANT_MIME_TYPE};
use crate::error::VaultError;
use crate::storage::{StorageError, sha256_hex};
use crate::store;
use crate::vault::{SharedVault, Vault};

pub async fn start(
    vault: SharedVault,
) -> Result<RunningConsumer, radiant_bus::jetstream::JetStreamError> {
    let mut spec = ConsumerSpec::new(
        &vault.namespace.stream_name(subjects::JOBS_STREAM),
        subjects::VARIANT_CONSUMER,
    );
    spec.filter_subjects = vec![vault.variant_job_subject()];
    spec.concurrency = vault.config.variants.concurrency.max(1);
    spec.ack_wait = Duration::from_secs(120);
    let namespace = vault.namespace.clone();
    let jetstream = vault.jetstream.clone();
    ConsumerRunner::start(jetstream, namespace, spec, move |message| {
        let vault = vault.clone();
        async move { handle(&vault, message).await }
    })
    .await
}

fn retry(error: impl Into<VaultError>) -> JobError {
    let error: VaultError = error.into();
    match error {
        VaultError::Service(error) => JobError::Reject(error.to_string()),
        other => JobError::Retry(other.to_string()),
    }
}

#[tracing::instrument(skip_all, fields(sequence = message.stream_sequence, delivered = message.delivered))]
pub async fn handle(vault: &Vault, message: JobMessage) -> Result<(), JobError> {
    let job: events::MediaVariantJob = message.decode()?;
    let tenant_id = Uuid::parse_str(&job.tenant_id)
        .map_err(|_| JobError::Reject("tenant_id is not a UUID".to_string()))?;
    let version_id = Uuid::parse_str(&job.version_id)
        .map_err(|_| JobError::Reject("version_id is not a UUID".to_string()))?;
    let recipe_version = job.recipe_version.clone();
    let targets = [
        ("thumbnail", vault.config.variants.thumbnail_max_px),
        ("display", vault.config.variants.display_max_px),
    ];

    let version = prepare(vault, tenant_id, version_id, &recipe_version, &targets)
        .await
        .map_err(retry)?;
    let Some((version, needs_work)) = version else {
        return Err(JobError::Reject(format!("version {version_id} not found")));
    };
    if !needs_work {
        return Ok(());
    }

    let max_source_bytes = vault.config.variants.max_source_bytes;
    let max_megapixels = vault.config.variants.max_megapixels;
    let rendering = if version.size_bytes > max_source_bytes {
        // the declared type is the client's word: never load a huge "image" into memory
        Err(format!(
            "image file of {} bytes exceeds the variant limit of {max_source_bytes} bytes",
            version.size_bytes
        ))
    } else {
        render(vault, &version, max_megapixels, &targets).await?
    };

    match rendering {
        Ok(rendered) => {
            for variant in &rendered {
                store_variant(vault, tenant_id, version_id, &recipe_version, variant).await?;
            }
            finish(
                vault,
                &message,
                tenant_id,
                &version,
                &recipe_version,
                "completed",
                "",
                &rendered,
            )
            .await
        }
        Err(reason) => {
            tracing::info!(%version_id, %reason, "image variants failed; the original is kept");
            let failed: Result<(), VaultError> = async {
                let transaction = vault.tenant_transaction(tenant_id).await?;
                for (variant_type, _) in &targets {
                    store::variants::fail(
                        &transaction,
                        version_id,
                        variant_type,
                        &recipe_version,
                        &reason,
                    )
                    .await?;
                }
                transaction.commit().await?;
                Ok(())
            }
            .await;
            failed.map_err(retry)?;
            finish(
                vault,
                &message,
                tenant_id,
                &version,
                &recipe_version,
                "failed",
                &reason,
                &[],
            )
            .await
        }
    }
}

/// Reads the original and renders its variants on the blocking pool.
async fn render(
    vault: &Vault,
    version: &store::files::VersionRow,
    max_megapixels: u64,
    targets: &[(&str, u32)],
) -> Result<Result<Vec<Rendered>, String>, JobError> {
    let original = vault.objects.read(&version.location).await.map_err(retry)?;
    let targets: Vec<(String, u32)> = targets
        .iter()
        .map(|(name, side)| (name.to_string(), *side))
        .collect();
    tokio::task::spawn_blocking(move || {
        let targets: Vec<(&str, u32)> = targets
            .iter()
            .map(|(name, side)| (name.as_str(), *side))
            .collect();
        render::render_variants(&original, max_megapixels, &targets)
    })
    .await
    .map_err(|error| JobError::Retry(format!("render task failed: {error}")))
}

/// Stores the bytes (once per content) and completes the variant row; the blob reference is
/// added in the same transaction and kept only by the call that completed the row.
async fn store_variant(
    vault: &Vault,
    tenant_id: Uuid,
    version_id: Uuid,
    recipe_version: &str,
    variant: &Rendered,
) -> Result<(), JobError> {
    let sha256 = sha256_hex(&variant.bytes);
    let size_bytes = variant.bytes.len() as u64;
    let already_stored = store::blobs::find_stored(&vault.database, &sha256)
        .await
        .map_err(retry)?
        .is_some();
    let uploaded = if already_stored {
        None
    } else {
        let key = vault.objects.blob_key(&sha256);
        Some(
            vault
                .objects
                .put(&key, Bytes::from(variant.bytes.clone()), VARIANT_MIME_TYPE)
                .await
                .map_err(retry)?,
        )
    };
    // Ok(true): our freshly written object is the blob's bytes now and must stay
    let completed: Result<bool, VaultError> = async {
        let transaction = vault.tenant_transaction(tenant_id).await?;
        // a purge that won the race leaves nothing to complete (and no reference to add)
        let lifecycle = store::files::lock_version_lifecycle(&transaction, version_id).await?;
        if lifecycle.as_deref() != Some("active") && lifecycle.as_deref() != Some("archived") {
            transaction.rollback().await?;
            return Ok(false);
        }
        // the blob row first (the variant references it), undone below if another delivery
        // completed the variant already
        let mut ours_kept = false;
        match &uploaded {
            Some(location) => {
                let blob = store::blobs::reference_uploaded(
                    &transaction,
                    &sha256,
                    size_bytes,
                    VARIANT_MIME_TYPE,
                    location,
                )
                .await?;
                ours_kept = blob.location == *location;
            }
            None => {
                if store::blobs::reference_existing(&transaction, &sha256, size_bytes)
                    .await?
                    .is_none()
                {
                    // purged since the lookup: roll back and let the retry upload it
                    return Err(VaultError::Storage(StorageError::Unavailable(
                        "variant blob was purged meanwhile".to_string(),
                    )));
                }
            }
        }
        let completed = store::variants::complete(
            &transaction,
            version_id,
            &variant.variant_type,
            recipe_version,
            &store::variants::CompletedVariant {
                sha256: &sha256,
                mime_type: VARIANT_MIME_TYPE,
                width: variant.width,
                height: variant.height,
                size_bytes,
            },
        )
        .await?;
        if !completed {
            transaction.rollback().await?;
            return Ok(false);
        }
        transaction.commit().await?;
        Ok(ours_kept)
    }
    .await;
    // only a known outcome allows the delete: after an error the commit may have happened
    if let Some(location) = &uploaded
        && matches!(completed, Ok(false))
    {
        // nothing references the object version this attempt wrote
        if let Err(error) = vault.objects.delete_version(location).await {
            tracing::warn!(%error, key = %location.key, "unreferenced variant object left in the bucket");
        }
    }
    completed.map(|_| ()).map_err(retry)
}

/// Creates the variant rows; `(version, true)` when some variant still has to be made.
async fn prepare(
    vault: &Vault,
    tenant_id: Uuid,
    version_id: Uuid,
    recipe_version: &str,
    targets: &[(&str, u32)],
) -> Result<Option<(store::files::VersionRow, bool)>, VaultError> {
    let transaction = vault.tenant_transaction(tenant_id).await?;
    let Some(version) = store::files::get_version_by_id(&transaction, version_id).await? else {
        return Ok(None);
    };
    if version.lifecycle_status == "deleted" {
        // purged before its variants were made: nothing to do
        return Ok(Some((version, false)));
    }
    let mut open = false;
    for (variant_type, _) in targets {
        let status = store::variants::ensure_row(
            &transaction,
            tenant_id,
            version_id,
            variant_type,
            recipe_version,
        )
        .await?;
        open |= status != "completed";
    }
    if open {
        store::files::set_processing_status(&transaction, version_id, "processing").await?;
    }
    transaction.commit().await?;
    Ok(Some((version, open)))
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    vault: &Vault,
    message: &JobMessage,
    tenant_id: Uuid,
    version: &store::files::VersionRow,
    recipe_version: &str,
    processing_status: &'static str,
    reason: &str,
    rendered: &[Rendered],
) -> Result<(), JobError> {
    let version_id = version.version_id;
    radiant_db::with_tenant(&vault.database, tenant_id, |transaction| {
        Box::pin(async move {
            store::files::set_processing_status(transaction, version_id, processing_status).await
        })
    })
    .await
    .map_err(retry)?;
    let outcomes: Vec<(String, u32, u32)> = if rendered.is_empty() {
        vec![
            ("thumbnail".to_string(), 0, 0),
            ("display".to_string(), 0, 0),
        ]
    } else {
        rendered
            .iter()
            .map(|variant| (variant.variant_type.clone(), variant.width, variant.height))
            .collect()
    };
    for (variant_type, width, height) in outcomes {
        let event = events::MediaVariantReady {
            tenant_id: tenant_id.to_string(),
            file_id: version.file_id.to_string(),
            version_id: version_id.to_string(),
            variant_type: variant_type.clone(),
            recipe_version: recipe_version.to_string(),
            ok: reason.is_empty(),
            failure_reason: reason.to_string(),
            width,
            height,
        };
        vault
            .publish_event(
                subjects::EVENT_VARIANT_READY,
                &format!("variant-{version_id}-{variant_type}-{recipe_version}"),
                &message.context,
                &event,
            )
            .await;
    }
    Ok(())
}
