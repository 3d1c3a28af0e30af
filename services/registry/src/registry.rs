//! The registry's shared state: database, JetStream, the live-state bucket, the in-memory
//! catalogue, the master key and the HTTP client for probes and the inference host.

use std::sync::Arc;

use radiant_bus::Namespace;
use radiant_bus::kv::ProtoBucket;
use radiant_db::sea_orm::DatabaseConnection;

use crate::catalogue::CatalogueView;
use crate::config::RegistryConfig;
use crate::crypto::MasterKey;

pub struct Registry {
    pub database: DatabaseConnection,
    pub jetstream: async_nats::jetstream::Context,
    pub namespace: Namespace,
    pub live_bucket: ProtoBucket,
    pub view: CatalogueView,
    pub master_key: MasterKey,
    pub http: reqwest::Client,
    pub config: RegistryConfig,
}

pub type SharedRegistry = Arc<Registry>;

impl Registry {
    /// How long a live entry stays trustworthy (written into every KV value).
    pub fn stale_after_ms(&self) -> i64 {
        self.config.health.stale_after().as_millis() as i64
    }
}
