//! What every handler and job shares: the database, the bucket, JetStream and the settings.

use std::sync::Arc;

use async_nats::jetstream;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::media;
use radiant_bus::{Namespace, RequestContext, ServiceError};
use radiant_db::sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use uuid::Uuid;

use crate::config::MediaVaultConfig;
use crate::storage::ObjectStore;

pub struct Vault {
    pub database: DatabaseConnection,
    pub objects: ObjectStore,
    pub config: MediaVaultConfig,
    pub jetstream: jetstream::Context,
    pub namespace: Namespace,
    pub integrity_failures: opentelemetry::metrics::Counter<u64>,
}

pub type SharedVault = Arc<Vault>;

/// Who is asking: the tenant every row belongs to and the user recorded as actor.
pub struct Caller {
    pub tenant_id: Uuid,
    pub user_id: String,
}

impl Caller {
    pub fn of(context: &RequestContext) -> Result<Self, ServiceError> {
        let tenant_id = context.require_tenant()?;
        let user_id = context
            .user_id
            .clone()
            .unwrap_or_else(|| "system".to_string());
        Ok(Self { tenant_id, user_id })
    }
}

impl Vault {
    /// A transaction limited to `tenant_id`'s rows; dropping it uncommitted rolls back.
    pub async fn tenant_transaction(&self, tenant_id: Uuid) -> Result<DatabaseTransaction, DbErr> {
        radiant_db::begin_tenant(&self.database, tenant_id).await
    }

    /// Publishes an event; a failure is logged, not returned: the change it announces is
    /// already committed and must not be reported as failed.
    pub async fn publish_event<M: prost::Message>(
        &self,
        event: &str,
        message_id: &str,
        context: &RequestContext,
        message: &M,
    ) {
        let subject = self.namespace.event_subject(media::EVENT_DOMAIN, event);
        if let Err(error) =
            publish_message(&self.jetstream, &subject, message_id, context, message).await
        {
            tracing::error!(%error, %subject, "event not published");
        }
    }

    pub fn variant_job_subject(&self) -> String {
        self.namespace
            .job_subject(media::EVENT_DOMAIN, media::VARIANT_JOB)
    }
}
