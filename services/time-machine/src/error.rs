//! One error type for the time machine's handlers and jobs; it becomes a `ServiceError` at the
//! bus.

use radiant_bus::{BusError, ServiceError};
use radiant_db::sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum TmError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// A call to another service (the media vault) failed; its status is kept.
    #[error("bus: {0}")]
    Bus(#[from] BusError),
}

impl From<TmError> for ServiceError {
    fn from(error: TmError) -> Self {
        match error {
            TmError::Service(error) => error,
            TmError::Database(error) => database_error(error),
            TmError::Bus(error) => {
                let error = error.to_service_error();
                if error.status() >= 500 {
                    tracing::warn!(%error, "a service the time machine depends on failed");
                }
                error
            }
        }
    }
}

/// Unique violations are a client's conflict; everything else is ours and stays in the log.
fn database_error(error: DbErr) -> ServiceError {
    let text = error.to_string();
    if text.contains("duplicate key value") || text.contains("23505") {
        tracing::info!(%error, "unique constraint refused a write");
        return ServiceError::conflict("that id is already taken");
    }
    tracing::error!(%error, "database error");
    ServiceError::internal("database error")
}

pub type TmResult<T> = Result<T, TmError>;

pub fn chat_not_found() -> TmError {
    TmError::Service(ServiceError::not_found("no such chat"))
}

pub fn snapshot_not_found() -> TmError {
    TmError::Service(ServiceError::not_found("no such snapshot in this chat"))
}

pub fn message_not_found() -> TmError {
    TmError::Service(ServiceError::not_found("no such message in this chat"))
}

pub fn file_not_found() -> TmError {
    TmError::Service(ServiceError::not_found("no such file in this chat"))
}
