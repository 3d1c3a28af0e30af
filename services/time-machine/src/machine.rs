//! What every handler and job shares: the database, the bus, JetStream and the settings.

use std::sync::Arc;

use async_nats::jetstream;
use radiant_bus::{BusClient, Namespace, RequestContext, ServiceError};
use radiant_db::sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use uuid::Uuid;

use crate::config::TimeMachineConfig;
use crate::events::EventSender;

pub struct TimeMachine {
    pub database: DatabaseConnection,
    pub bus: BusClient,
    pub jetstream: jetstream::Context,
    pub namespace: Namespace,
    pub config: TimeMachineConfig,
    pub events: EventSender,
    /// For the bytes of export bundles (presigned S3 URLs from the media vault).
    pub http: reqwest::Client,
}

pub type SharedMachine = Arc<TimeMachine>;

/// Who is asking: the tenant every row belongs to, the user who owns the chats they touch,
/// and whether they may reach other users' chats of the tenant (admins and services).
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: Uuid,
    pub user_id: String,
    pub sees_every_chat: bool,
}

impl Caller {
    pub fn of(context: &RequestContext) -> Result<Self, ServiceError> {
        let tenant_id = context.require_tenant()?;
        let user_id = context
            .user_id
            .clone()
            .filter(|user| !user.is_empty())
            .ok_or_else(|| ServiceError::unauthenticated("the request names no user"))?;
        Ok(Self {
            tenant_id,
            user_id,
            sees_every_chat: context.is_admin() || context.has_role("service"),
        })
    }

    /// Chats belong to their user; a chat of someone else is "no such chat", never a leak.
    pub fn may_access(&self, chat_owner: &str) -> bool {
        self.sees_every_chat || self.user_id == chat_owner
    }
}

impl TimeMachine {
    /// A transaction limited to `tenant_id`'s rows; dropping it uncommitted rolls back.
    pub async fn tenant_transaction(&self, tenant_id: Uuid) -> Result<DatabaseTransaction, DbErr> {
        radiant_db::begin_tenant(&self.database, tenant_id).await
    }
}
