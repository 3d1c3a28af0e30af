//! Integrity scrub: re-reads blobs and checks their SHA-256. A periodic run reads the least
//! recently verified share of the blobs, so over a cycle every blob is read; the full check
//! reads them all and reports.

use radiant_bus::RequestContext;
use radiant_bus::subjects::media as subjects;
use radiant_proto::events;

use crate::error::VaultResult;
use crate::storage::StorageError;
use crate::store::{self, blobs::BlobRow};
use crate::vault::Vault;

const FULL_CHECK_PAGE: u64 = 200;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScrubReport {
    pub checked: u64,
    pub ok: u64,
    pub mismatched: u64,
    pub unreadable: u64,
    pub bytes_read: u64,
    /// One line per failing blob.
    pub failures: Vec<String>,
}

impl ScrubReport {
    pub fn summary(&self) -> String {
        format!(
            "checked {} blobs ({} bytes): {} ok, {} mismatched, {} unreadable",
            self.checked, self.bytes_read, self.ok, self.mismatched, self.unreadable
        )
    }
}

/// How many blobs one periodic run reads.
pub fn batch_size(stored: u64, fraction: f64, minimum: u64) -> u64 {
    ((stored as f64 * fraction).ceil() as u64)
        .max(minimum)
        .min(stored)
}

pub async fn run_partial(vault: &Vault) -> VaultResult<ScrubReport> {
    let stored = store::blobs::count_stored(&vault.database).await?;
    let batch = batch_size(
        stored,
        vault.config.scrub.fraction,
        vault.config.scrub.min_blobs_per_run,
    );
    let blobs = store::blobs::least_recently_verified(&vault.database, batch).await?;
    let mut report = ScrubReport::default();
    for blob in blobs {
        verify(vault, &blob, &mut report).await?;
    }
    Ok(report)
}

pub async fn run_full(vault: &Vault) -> VaultResult<ScrubReport> {
    let mut report = ScrubReport::default();
    let mut after = String::new();
    loop {
        let page = store::blobs::stored_page(&vault.database, &after, FULL_CHECK_PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.sha256.clone();
        for blob in &page {
            verify(vault, blob, &mut report).await?;
        }
    }
    Ok(report)
}

/// Checks one blob. Storage being unreachable stops the run (nothing is marked); a missing
/// object or other bytes is an integrity failure.
async fn verify(vault: &Vault, blob: &BlobRow, report: &mut ScrubReport) -> VaultResult<()> {
    let observed = match vault.objects.digest(&blob.location).await {
        Ok(digest) => {
            report.bytes_read += digest.size_bytes;
            if digest.sha256 == blob.sha256 && digest.size_bytes == blob.size_bytes {
                None
            } else {
                Some((
                    "mismatch",
                    format!("sha256 {} over {} bytes", digest.sha256, digest.size_bytes),
                ))
            }
        }
        Err(StorageError::Unavailable(detail)) => {
            return Err(StorageError::Unavailable(detail).into());
        }
        Err(error) => Some(("unreadable", error.to_string())),
    };
    report.checked += 1;
    let status = match &observed {
        None => {
            report.ok += 1;
            "ok"
        }
        Some((status, detail)) => {
            if *status == "mismatch" {
                report.mismatched += 1;
            } else {
                report.unreadable += 1;
            }
            report
                .failures
                .push(format!("{} {}: {detail}", blob.sha256, blob.location.key));
            status
        }
    };
    store::blobs::record_verification(
        &vault.database,
        &blob.sha256,
        &blob.location.version_id,
        status,
    )
    .await?;
    if let Some((status, detail)) = observed {
        tracing::error!(sha256 = %blob.sha256, key = %blob.location.key, %status, %detail, "blob failed its integrity check");
        vault
            .integrity_failures
            .add(1, &[opentelemetry::KeyValue::new("kind", status)]);
        let event = events::MediaIntegrityFailed {
            blob_sha256: blob.sha256.clone(),
            s3_bucket: blob.location.bucket.clone(),
            s3_key: blob.location.key.clone(),
            s3_version_id: blob.location.version_id.clone(),
            observed: detail,
            checked_at: Some(store::timestamp(chrono::Utc::now())),
        };
        let message_id = format!(
            "integrity-{}-{}",
            blob.sha256,
            chrono::Utc::now().timestamp_millis()
        );
        vault
            .publish_event(
                subjects::EVENT_INTEGRITY_FAILED,
                &message_id,
                &RequestContext::internal(),
                &event,
            )
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::batch_size;

    #[test]
    fn a_run_reads_its_share_but_at_least_the_minimum() {
        assert_eq!(batch_size(1000, 0.05, 10), 50);
        assert_eq!(batch_size(100, 0.05, 10), 10);
        assert_eq!(batch_size(3, 0.05, 10), 3);
        assert_eq!(batch_size(0, 0.05, 10), 0);
        assert_eq!(batch_size(1001, 0.05, 1), 51);
    }
}
