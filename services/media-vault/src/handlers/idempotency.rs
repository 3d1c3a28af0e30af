//! Replaying creates and completes: a key seen before returns the stored response; the same
//! key with a different request is a conflict.

use chrono::Utc;
use prost::Message;
use radiant_bus::ServiceError;
use radiant_db::sea_orm::DatabaseTransaction;
use sha2::{Digest, Sha256};

use crate::error::VaultResult;
use crate::store::idempotency::{self, IdempotencyScope};
use crate::vault::{Caller, Vault};

pub struct Idempotency<'a> {
    scope: IdempotencyScope<'a>,
    request_sha256: String,
}

impl<'a> Idempotency<'a> {
    /// `None` when the request carries no key. `request_without_key` is the request with its
    /// key field cleared, so only the meaningful content is compared.
    pub fn of<M: Message>(
        caller: &'a Caller,
        operation: &'a str,
        key: &'a str,
        request_without_key: &M,
    ) -> Option<Self> {
        if key.is_empty() {
            return None;
        }
        let mut hasher = Sha256::new();
        hasher.update(operation.as_bytes());
        hasher.update(request_without_key.encode_to_vec());
        Some(Self {
            scope: IdempotencyScope {
                tenant_id: caller.tenant_id,
                user_id: &caller.user_id,
                operation,
                key,
            },
            request_sha256: hex::encode(hasher.finalize()),
        })
    }

    /// The stored response of an earlier request with this key.
    pub async fn replay<R: Message + Default>(&self, vault: &Vault) -> VaultResult<Option<R>> {
        let transaction = vault.tenant_transaction(self.scope.tenant_id).await?;
        let stored = idempotency::find(&transaction, &self.scope).await?;
        transaction.commit().await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        if stored.request_sha256 != self.request_sha256 {
            return Err(ServiceError::conflict(
                "this idempotency key was used with a different request",
            )
            .with_field_violation("idempotency_key", "reused with a different request")
            .into());
        }
        let response = R::decode(stored.response.as_slice()).map_err(|error| {
            ServiceError::internal(format!("stored response unreadable: {error}"))
        })?;
        Ok(Some(response))
    }

    /// Stores the response with the work's own transaction.
    pub async fn remember<R: Message>(
        &self,
        transaction: &DatabaseTransaction,
        vault: &Vault,
        response: &R,
    ) -> VaultResult<()> {
        let ttl = chrono::Duration::from_std(vault.config.uploads.idempotency_ttl())
            .unwrap_or_else(|_| chrono::Duration::days(1));
        let stored = idempotency::store(
            transaction,
            &self.scope,
            &self.request_sha256,
            &response.encode_to_vec(),
            Utc::now() + ttl,
        )
        .await?;
        if !stored {
            return Err(ServiceError::conflict(
                "a request with this idempotency key is being processed; retry to get its response",
            )
            .into());
        }
        Ok(())
    }
}

pub async fn remember_optional<R: Message>(
    idempotency: &Option<Idempotency<'_>>,
    transaction: &DatabaseTransaction,
    vault: &Vault,
    response: &R,
) -> VaultResult<()> {
    match idempotency {
        Some(idempotency) => idempotency.remember(transaction, vault, response).await,
        None => Ok(()),
    }
}
