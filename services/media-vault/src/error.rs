//! One error type for the vault's handlers and jobs; it becomes a `ServiceError` at the bus.

use radiant_bus::ServiceError;
use radiant_db::sea_orm::DbErr;

use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<VaultError> for ServiceError {
    fn from(error: VaultError) -> Self {
        match error {
            VaultError::Service(error) => error,
            VaultError::Database(error) => {
                tracing::error!(%error, "database error");
                ServiceError::internal("database error")
            }
            VaultError::Storage(StorageError::Unavailable(detail)) => {
                tracing::warn!(%detail, "object storage unavailable");
                ServiceError::unavailable(
                    "object storage is unavailable; nothing was recorded, try again",
                )
            }
            VaultError::Storage(StorageError::NotFound(detail)) => {
                tracing::error!(%detail, "object missing from storage");
                ServiceError::internal("stored object is missing")
            }
            VaultError::Storage(StorageError::Rejected(detail)) => {
                tracing::error!(%detail, "object storage refused a request");
                ServiceError::internal("object storage refused the request")
            }
        }
    }
}

pub type VaultResult<T> = Result<T, VaultError>;
