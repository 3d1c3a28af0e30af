//! The purge job: deletes the S3 object version of a blob whose last reference was purged,
//! but only if it is still unreferenced when the job runs (a new upload of the same content
//! cancels the job).

use radiant_db::sea_orm::TransactionTrait;

use crate::error::{VaultError, VaultResult};
use crate::store;
use crate::vault::Vault;

const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub purged: u32,
    pub cancelled: u32,
}

/// Runs pending jobs until none is left (or one fails, to retry on the next run).
pub async fn run_pending(vault: &Vault) -> VaultResult<PurgeReport> {
    let mut report = PurgeReport::default();
    loop {
        let transaction = vault.database.begin().await?;
        let Some(job) = store::purge_jobs::lock_next(&transaction).await? else {
            transaction.commit().await?;
            return Ok(report);
        };
        let blob = store::blobs::lock(&transaction, &job.sha256).await?;
        let still_unreferenced = blob.as_ref().is_some_and(|blob| {
            blob.ref_count == 0
                && blob.status == "stored"
                && blob.location.version_id == job.location.version_id
        });
        if !still_unreferenced {
            store::purge_jobs::finish(&transaction, job.id, "cancelled", None).await?;
            transaction.commit().await?;
            report.cancelled += 1;
            continue;
        }
        store::blobs::set_status(
            &transaction,
            &job.sha256,
            "stored",
            "purging",
            &job.location.version_id,
        )
        .await?;
        match vault.objects.delete_version(&job.location).await {
            Ok(()) => {
                store::blobs::set_status(
                    &transaction,
                    &job.sha256,
                    "purging",
                    "purged",
                    &job.location.version_id,
                )
                .await?;
                store::purge_jobs::finish(&transaction, job.id, "completed", None).await?;
                transaction.commit().await?;
                tracing::info!(sha256 = %job.sha256, key = %job.location.key, "blob purged");
                report.purged += 1;
            }
            Err(error) => {
                // the blob stays stored: the lock is released with the rollback
                transaction.rollback().await?;
                let message = error.to_string();
                let attempts = job.attempts + 1;
                let transaction = vault.database.begin().await?;
                if attempts >= MAX_ATTEMPTS {
                    store::purge_jobs::finish(&transaction, job.id, "failed", Some(&message))
                        .await?;
                } else {
                    store::purge_jobs::record_failure(&transaction, job.id, &message).await?;
                }
                transaction.commit().await?;
                tracing::warn!(%error, sha256 = %job.sha256, attempts, ?report, "purge failed");
                return Err(VaultError::Storage(error));
            }
        }
    }
}
