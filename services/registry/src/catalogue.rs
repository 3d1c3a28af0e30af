//! The catalogue every replica selects from, in memory: the models (reloaded from the
//! database whenever the `catalogue` key of the live bucket changes) and the live state
//! (provider health, model thermal state) kept current by watching that bucket, the same way
//! the brain-router does. Selection never touches the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use radiant_bus::subjects::registry as subjects;
use radiant_proto::registry::{CatalogueVersion, Model, ModelThermal, ProviderHealth};
use tokio_util::sync::CancellationToken;

use crate::domain::selection::LiveLookup;
use crate::registry::Registry;

#[derive(Debug, Default)]
pub struct Catalogue {
    pub models: Vec<Model>,
    index: HashMap<String, usize>,
}

impl Catalogue {
    pub fn new(models: Vec<Model>) -> Self {
        let index = models
            .iter()
            .enumerate()
            .map(|(position, model)| (model.model_id.clone(), position))
            .collect();
        Self { models, index }
    }

    pub fn get(&self, model_id: &str) -> Option<&Model> {
        self.index
            .get(model_id)
            .map(|position| &self.models[*position])
    }
}

#[derive(Debug, Default)]
pub struct LiveState {
    pub health: HashMap<String, ProviderHealth>,
    pub thermal: HashMap<String, ModelThermal>,
}

impl LiveLookup for LiveState {
    fn provider_health(&self, provider_id: &str) -> Option<&ProviderHealth> {
        self.health.get(provider_id)
    }
    fn model_thermal(&self, model_id: &str) -> Option<&ModelThermal> {
        self.thermal.get(model_id)
    }
}

#[derive(Default)]
pub struct CatalogueView {
    catalogue: RwLock<Arc<Catalogue>>,
    live: RwLock<LiveState>,
    version: std::sync::atomic::AtomicU64,
}

impl CatalogueView {
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Runs `read` with the live state held for reading.
    pub fn with_live<T>(&self, read: impl FnOnce(&LiveState) -> T) -> T {
        let live = self
            .live
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        read(&live)
    }

    pub fn replace_catalogue(&self, models: Vec<Model>) {
        let catalogue = Arc::new(Catalogue::new(models));
        *self
            .catalogue
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = catalogue;
    }

    fn apply_entry(&self, key: &str, value: Option<&[u8]>) {
        let mut live = self
            .live
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(provider_id) = subjects::id_of_kv_key(subjects::HEALTH_KEY_PREFIX, key) {
            match value.and_then(|bytes| <ProviderHealth as prost::Message>::decode(bytes).ok()) {
                Some(health) => {
                    live.health.insert(provider_id, health);
                }
                None => {
                    live.health.remove(&provider_id);
                }
            }
        } else if let Some(model_id) = subjects::id_of_kv_key(subjects::THERMAL_KEY_PREFIX, key) {
            match value.and_then(|bytes| <ModelThermal as prost::Message>::decode(bytes).ok()) {
                Some(thermal) => {
                    live.thermal.insert(model_id, thermal);
                }
                None => {
                    live.thermal.remove(&model_id);
                }
            }
        }
    }

    /// Bumps the `catalogue` key so every replica (this one included) reloads.
    pub async fn announce_change(&self, registry: &Registry, change: &str) {
        let version = CatalogueVersion {
            version: self
                .version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1,
            changed_at_ms: crate::domain::now_ms(),
            change: change.to_string(),
        };
        if let Err(error) = registry
            .live_bucket
            .put(subjects::CATALOGUE_KEY, &version)
            .await
        {
            tracing::warn!(%error, "catalogue change not announced; reloading locally");
            if let Err(error) = reload(registry).await {
                tracing::warn!(%error, "catalogue reload failed");
            }
        }
    }
}

/// Reads every model from the database into the view.
pub async fn reload(registry: &Registry) -> Result<usize, radiant_db::sea_orm::DbErr> {
    let models = crate::store::models::all(&registry.database).await?;
    let count = models.len();
    registry.view.replace_catalogue(models);
    Ok(count)
}

/// Watches the live bucket until cancelled: health and thermal entries go into the live
/// state, a change of the `catalogue` key reloads the models (coalescing bursts).
pub fn spawn_watcher(
    registry: Arc<Registry>,
    cancellation: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (reload_requests, mut reloads) = tokio::sync::mpsc::channel::<()>(1);
    let reloader_registry = registry.clone();
    let reloader_cancellation = cancellation.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = reloader_cancellation.cancelled() => return,
                request = reloads.recv() => if request.is_none() { return },
            }
            match reload(&reloader_registry).await {
                Ok(count) => tracing::debug!(count, "catalogue reloaded"),
                Err(error) => tracing::warn!(%error, "catalogue reload failed"),
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let watch = registry.live_bucket.store().watch_with_history(">").await;
            let mut watch = match watch {
                Ok(watch) => watch,
                Err(error) => {
                    tracing::warn!(%error, "live bucket watch failed; retrying");
                    tokio::select! {
                        _ = cancellation.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            loop {
                let entry = tokio::select! {
                    _ = cancellation.cancelled() => return,
                    entry = watch.next() => entry,
                };
                let Some(entry) = entry else { break };
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        tracing::warn!(%error, "live bucket watch broke; restarting");
                        break;
                    }
                };
                if entry.key == subjects::CATALOGUE_KEY {
                    let _ = reload_requests.try_send(());
                    continue;
                }
                let value = (entry.operation == async_nats::jetstream::kv::Operation::Put)
                    .then_some(entry.value.as_ref());
                registry.view.apply_entry(&entry.key, value);
            }
        }
    })
}
