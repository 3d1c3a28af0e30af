//! One error type for the registry's handlers and jobs; it becomes a `ServiceError` at the bus.

use radiant_bus::ServiceError;
use radiant_db::sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error("jetstream: {0}")]
    JetStream(#[from] radiant_bus::jetstream::JetStreamError),
    #[error("stored document: {0}")]
    Document(#[from] serde_json::Error),
}

impl From<RegistryError> for ServiceError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Service(error) => error,
            RegistryError::Database(error) => {
                tracing::error!(%error, "database error");
                ServiceError::internal("database error")
            }
            RegistryError::JetStream(error) => {
                tracing::error!(%error, "jetstream error");
                ServiceError::unavailable("the event stream is unavailable; try again")
            }
            RegistryError::Document(error) => {
                tracing::error!(%error, "stored document cannot be read");
                ServiceError::internal("stored document cannot be read")
            }
        }
    }
}

pub type RegistryResult<T> = Result<T, RegistryError>;
