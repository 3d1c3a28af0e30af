//! Aborts the S3 multipart uploads of expired sessions, so abandoned parts do not stay in the
//! bucket. The tenant's session row turns `failed` ("expired") when it is next read.

use crate::error::VaultResult;
use crate::store;
use crate::vault::Vault;

const BATCH: u64 = 100;

pub async fn abort_expired(vault: &Vault) -> VaultResult<u32> {
    let mut aborted = 0;
    loop {
        let expired = store::sessions::expired_multiparts(&vault.database, BATCH).await?;
        if expired.is_empty() {
            return Ok(aborted);
        }
        for upload in &expired {
            vault
                .objects
                .abort_multipart(&upload.s3_key, &upload.s3_upload_id)
                .await?;
            store::sessions::close_multipart(&vault.database, &upload.s3_upload_id, "aborted")
                .await?;
            aborted += 1;
        }
    }
}
