//! The registry as the router sees it, in memory: the callable providers, their chat models,
//! and the live state (provider health, model thermal state) from the registry's KV bucket.
//! The models reload when the bucket's `catalogue` key changes; the candidates the decision
//! reads are rebuilt on every live change and every `refresh_interval_ms` (so stale entries
//! age out), and handed to requests as one `Arc`: no database, no registry round trip and no
//! allocation per request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use radiant_bus::subjects::{REGISTRY, registry as subjects};
use radiant_bus::{BusClient, RequestContext, ServiceError};
use radiant_proto::registry::{
    GetModelRequest, ListModelsRequest, ListModelsResponse, ListProvidersRequest,
    ListProvidersResponse, Model, ModelThermal, Provider, ProviderHealth,
};
use tokio_util::sync::CancellationToken;

use crate::domain::candidate::Candidate;
use crate::domain::decide::Catalogue;

/// The registry's page limit for model lists.
const PAGE: u32 = 500;

#[derive(Default)]
struct Registered {
    providers: HashMap<String, Provider>,
    models: HashMap<String, Model>,
}

#[derive(Default)]
struct LiveState {
    health: HashMap<String, ProviderHealth>,
    thermal: HashMap<String, ModelThermal>,
}

#[derive(Default)]
pub struct LiveView {
    registered: RwLock<Arc<Registered>>,
    live: RwLock<LiveState>,
    catalogue: RwLock<Arc<Catalogue>>,
}

/// A model the router may call, with what it needs to call it.
#[derive(Debug, Clone)]
pub struct CallableModel {
    pub model: Model,
    pub provider: Provider,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The context the router calls the registry with: a platform service.
pub fn service_context() -> RequestContext {
    RequestContext::internal().with_roles(&["service"])
}

impl LiveView {
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn model_count(&self) -> usize {
        self.registered
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .models
            .len()
    }

    /// The model and its provider, if the router can call it.
    pub fn callable(&self, model_id: &str) -> Option<CallableModel> {
        let registered = self
            .registered
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let model = registered.models.get(model_id)?;
        let provider = registered.providers.get(&model.provider_id)?;
        Some(CallableModel {
            model: model.clone(),
            provider: provider.clone(),
        })
    }

    pub fn provider(&self, provider_id: &str) -> Option<Provider> {
        self.registered
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .providers
            .get(provider_id)
            .cloned()
    }

    /// The candidate for a model outside the callable set (so its refusal names the reason).
    pub fn candidate_of(&self, model: &Model) -> Candidate {
        let live = self
            .live
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Candidate::from_model(
            model,
            live.health.get(&model.provider_id),
            live.thermal.get(&model.model_id),
            now_ms(),
        )
    }

    /// Provider health and thermal state as they are now, for the manifest.
    pub fn live_state_of(&self, provider_id: &str, model_id: &str) -> (String, String) {
        let catalogue = self.catalogue();
        match catalogue.get(model_id) {
            Some(candidate) if candidate.provider_id == provider_id => (
                candidate.thermal.as_str().to_string(),
                candidate.health.as_str().to_string(),
            ),
            _ => ("unknown".to_string(), "unknown".to_string()),
        }
    }

    fn rebuild(&self) {
        let registered = self
            .registered
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let now = now_ms();
        let candidates = {
            let live = self
                .live
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut candidates: Vec<Candidate> = registered
                .models
                .values()
                .map(|model| {
                    Candidate::from_model(
                        model,
                        live.health.get(&model.provider_id),
                        live.thermal.get(&model.model_id),
                        now,
                    )
                })
                .collect();
            // the same order on every replica (ties are broken by position)
            candidates.sort_by(|left, right| left.model_id.cmp(&right.model_id));
            candidates
        };
        *self
            .catalogue
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Arc::new(Catalogue::new(candidates));
    }

    fn apply_entry(&self, key: &str, value: Option<&[u8]>) {
        let mut live = self
            .live
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(provider_id) = subjects::id_of_kv_key(subjects::HEALTH_KEY_PREFIX, key) {
            match value.and_then(|bytes| <ProviderHealth as prost::Message>::decode(bytes).ok()) {
                Some(health) => live.health.insert(provider_id, health),
                None => live.health.remove(&provider_id),
            };
        } else if let Some(model_id) = subjects::id_of_kv_key(subjects::THERMAL_KEY_PREFIX, key) {
            match value.and_then(|bytes| <ModelThermal as prost::Message>::decode(bytes).ok()) {
                Some(thermal) => live.thermal.insert(model_id, thermal),
                None => live.thermal.remove(&model_id),
            };
        }
    }
}

/// Reads the callable providers and their chat models from the registry.
pub async fn reload(
    view: &LiveView,
    bus: &BusClient,
    callable_api_kinds: &[String],
) -> Result<usize, ServiceError> {
    let context = service_context();
    let providers: ListProvidersResponse = bus
        .call(
            &REGISTRY,
            subjects::PROVIDERS_LIST,
            &context,
            &ListProvidersRequest::default(),
        )
        .await?;
    let providers: HashMap<String, Provider> = providers
        .providers
        .into_iter()
        .filter(|provider| {
            provider.enabled
                && callable_api_kinds.contains(&provider.api_kind)
                && (!provider.requires_credential || provider.has_credential)
        })
        .map(|provider| (provider.provider_id.clone(), provider))
        .collect();
    let mut models = HashMap::new();
    for provider_id in providers.keys() {
        let mut offset = 0;
        loop {
            let page: ListModelsResponse = bus
                .call(
                    &REGISTRY,
                    subjects::MODELS_LIST,
                    &context,
                    &ListModelsRequest {
                        provider_id: provider_id.clone(),
                        limit: PAGE,
                        offset,
                        ..Default::default()
                    },
                )
                .await?;
            let received = page.models.len() as u32;
            for model in page.models {
                if model.modes.iter().any(|mode| mode == "chat") {
                    models.insert(model.model_id.clone(), model);
                }
            }
            offset += received;
            if received < PAGE || offset >= page.total {
                break;
            }
        }
    }
    let count = models.len();
    *view
        .registered
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) =
        Arc::new(Registered { providers, models });
    view.rebuild();
    Ok(count)
}

/// A model the callable set does not hold: asked of the registry (unknown → `None`).
pub async fn lookup(bus: &BusClient, model_id: &str) -> Result<Option<Model>, ServiceError> {
    let result: Result<Model, _> = bus
        .call(
            &REGISTRY,
            subjects::MODELS_GET,
            &service_context(),
            &GetModelRequest {
                model_id: model_id.to_string(),
            },
        )
        .await;
    match result {
        Ok(model) => Ok(Some(model)),
        Err(error) => {
            let error = ServiceError::from(error);
            if error.code == radiant_bus::ErrorCode::NotFound {
                return Ok(None);
            }
            Err(error)
        }
    }
}

/// Keeps the view current until cancelled: watches the registry's live bucket (health and
/// thermal entries; a `catalogue` change reloads the models) and rebuilds the candidates every
/// `refresh`.
pub fn spawn_watcher(
    view: Arc<LiveView>,
    bus: BusClient,
    callable_api_kinds: Vec<String>,
    refresh: Duration,
    cancellation: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (reload_requests, mut reloads) = tokio::sync::mpsc::channel::<()>(1);
    let reloader = {
        let view = view.clone();
        let bus = bus.clone();
        let cancellation = cancellation.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = cancellation.cancelled() => return,
                    request = reloads.recv() => if request.is_none() { return },
                }
                match reload(&view, &bus, &callable_api_kinds).await {
                    Ok(count) => tracing::debug!(count, "callable models reloaded"),
                    Err(error) => tracing::warn!(%error, "callable models reload failed"),
                }
            }
        })
    };
    let refresher = {
        let view = view.clone();
        let cancellation = cancellation.clone();
        let reload_requests = reload_requests.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(refresh);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancellation.cancelled() => return,
                    _ = ticks.tick() => {
                        // nothing loaded yet (the registry started after us): ask again
                        if view.model_count() == 0 {
                            let _ = reload_requests.try_send(());
                        }
                        view.rebuild();
                    }
                }
            }
        })
    };
    let watcher = tokio::spawn(async move {
        let jetstream = async_nats::jetstream::new(bus.nats().clone());
        let bucket = bus.namespace().kv_bucket(subjects::LIVE_BUCKET);
        loop {
            let watch = match jetstream.get_key_value(&bucket).await {
                Ok(store) => store
                    .watch_with_history(">")
                    .await
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            let mut watch = match watch {
                Ok(watch) => watch,
                Err(error) => {
                    tracing::debug!(%error, %bucket, "live bucket not watchable yet; retrying");
                    tokio::select! {
                        _ = cancellation.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => continue,
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
                view.apply_entry(&entry.key, value);
                view.rebuild();
            }
        }
    });
    vec![reloader, refresher, watcher]
}
