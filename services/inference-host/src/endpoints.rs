//! The endpoints and their lifecycle, mirroring SageMaker's: an endpoint is declared in
//! configuration; its model is loaded on warm-up or on the first invocation (a measured cold
//! start), stays `InService` while used and is unloaded after its idle timeout (scale to zero).
//! Each endpoint has a bounded number of slots and a bounded queue in front of them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{EndpointConfig, EndpointKind};
use crate::models::ModelError;
use crate::models::chat_llm::ChatModel;
use crate::models::embedding::EmbeddingModel;

/// SageMaker's endpoint states that a local host can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EndpointStatus {
    /// Declared, nothing loaded (never used, or scaled to zero after idling).
    Absent,
    /// The model is loading.
    Creating,
    InService,
    /// The last load failed; the next invocation or warm-up tries again.
    Failed,
}

/// What an endpoint computes with once loaded.
pub enum LoadedModel {
    Chat(ChatModel),
    Embedding(EmbeddingModel),
    /// Classical algorithms and the zero-work endpoint have no weights to load.
    Stateless,
}

#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("endpoint {endpoint} is at capacity ({in_flight} running, {queued} waiting)")]
    Saturated {
        endpoint: String,
        in_flight: usize,
        queued: usize,
    },
    #[error("endpoint {endpoint} had no free slot within {waited_ms} ms")]
    QueueTimeout { endpoint: String, waited_ms: u64 },
}

struct Lifecycle {
    status: EndpointStatus,
    model: Option<Arc<LoadedModel>>,
    failure_reason: Option<String>,
    loaded_at: Option<DateTime<Utc>>,
    last_cold_start: Option<Duration>,
}

pub struct Endpoint {
    pub config: EndpointConfig,
    models_dir: PathBuf,
    lifecycle: Mutex<Lifecycle>,
    /// One load at a time; concurrent first calls wait for it instead of loading twice.
    load_lock: tokio::sync::Mutex<()>,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    in_flight: Arc<AtomicUsize>,
    last_used: Arc<Mutex<LastUse>>,
    invocations: AtomicU64,
    cold_starts: AtomicU64,
    unloads: AtomicU64,
}

/// A slot on an endpoint, held for the whole computation (also when the caller gave up
/// waiting for it), so capacity reflects the work really running.
/// A place in an endpoint's queue, given back on drop: also when the waiting caller's future
/// is dropped (its client went away), so the count never leaks.
struct QueuePlace<'a> {
    queued: &'a AtomicUsize,
    /// How many were waiting before this one.
    ahead: usize,
}

impl<'a> QueuePlace<'a> {
    fn take(queued: &'a AtomicUsize) -> Self {
        let ahead = queued.fetch_add(1, Ordering::SeqCst);
        Self { queued, ahead }
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

/// When the endpoint was last used: the monotonic clock for the idle timeout, the wall clock
/// for descriptions.
struct LastUse {
    instant: Instant,
    at: Option<DateTime<Utc>>,
}

fn record_use(last_used: &Mutex<LastUse>) {
    if let Ok(mut last_use) = last_used.lock() {
        last_use.instant = Instant::now();
        last_use.at = Some(Utc::now());
    }
}

pub struct Slot {
    _permit: OwnedSemaphorePermit,
    in_flight: Arc<AtomicUsize>,
    last_used: Arc<Mutex<LastUse>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // the idle clock runs from the end of the last computation, not its start
        record_use(&self.last_used);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The model to compute with, and the cold start this call paid, if any.
pub struct Ready {
    pub model: Arc<LoadedModel>,
    pub cold_start: Option<Duration>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointDescription {
    pub endpoint_name: String,
    pub endpoint_status: EndpointStatus,
    pub kind: EndpointKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub loaded_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_cold_start_ms: Option<u64>,
    pub idle_unload_seconds: u64,
    pub max_concurrency: usize,
    pub max_queue: usize,
    pub in_flight: usize,
    pub queued: usize,
    pub invocations: u64,
    pub cold_starts: u64,
    pub unloads: u64,
}

impl Endpoint {
    pub fn new(config: EndpointConfig, models_dir: PathBuf) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(config.max_concurrency)),
            config,
            models_dir,
            lifecycle: Mutex::new(Lifecycle {
                status: EndpointStatus::Absent,
                model: None,
                failure_reason: None,
                loaded_at: None,
                last_cold_start: None,
            }),
            load_lock: tokio::sync::Mutex::new(()),
            queued: AtomicUsize::new(0),
            in_flight: Arc::new(AtomicUsize::new(0)),
            last_used: Arc::new(Mutex::new(LastUse {
                instant: Instant::now(),
                at: None,
            })),
            invocations: AtomicU64::new(0),
            cold_starts: AtomicU64::new(0),
            unloads: AtomicU64::new(0),
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn kind(&self) -> EndpointKind {
        self.config.kind
    }

    /// Takes a slot, waiting in the bounded queue until `deadline`; a full queue is refused at
    /// once so callers can back off instead of piling up.
    pub async fn admit(&self, deadline: Instant) -> Result<Slot, AdmissionError> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let waiting = QueuePlace::take(&self.queued);
                if waiting.ahead >= self.config.max_queue {
                    return Err(AdmissionError::Saturated {
                        endpoint: self.config.name.clone(),
                        in_flight: self.in_flight.load(Ordering::SeqCst),
                        queued: waiting.ahead,
                    });
                }
                let waited_from = Instant::now();
                let acquired =
                    tokio::time::timeout_at(deadline.into(), self.slots.clone().acquire_owned())
                        .await;
                drop(waiting);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    // the semaphore is never closed; a timeout is the only way here
                    _ => {
                        return Err(AdmissionError::QueueTimeout {
                            endpoint: self.config.name.clone(),
                            waited_ms: waited_from.elapsed().as_millis() as u64,
                        });
                    }
                }
            }
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.invocations.fetch_add(1, Ordering::Relaxed);
        self.touch();
        Ok(Slot {
            _permit: permit,
            in_flight: self.in_flight.clone(),
            last_used: self.last_used.clone(),
        })
    }

    /// Marks the endpoint as used now (its idle clock restarts).
    pub fn touch(&self) {
        record_use(&self.last_used);
    }

    fn loaded_model(&self) -> Option<Arc<LoadedModel>> {
        let lifecycle = self.lifecycle.lock().ok()?;
        lifecycle.model.clone()
    }

    /// The loaded model, loading it first when the endpoint is not in service (a cold start,
    /// measured and reported).
    pub async fn ensure_loaded(self: &Arc<Self>) -> Result<Ready, ModelError> {
        if let Some(model) = self.loaded_model() {
            return Ok(Ready {
                model,
                cold_start: None,
            });
        }
        // the load runs on its own task: a caller that goes away mid-load (its client
        // disconnected) must not leave the endpoint in Creating or let a second load start
        let endpoint = Arc::clone(self);
        tokio::spawn(async move { endpoint.load_once().await })
            .await
            .unwrap_or_else(|join_error| {
                Err(ModelError::Load(format!(
                    "the loader crashed: {join_error}"
                )))
            })
    }

    async fn load_once(&self) -> Result<Ready, ModelError> {
        let _loading = self.load_lock.lock().await;
        // another caller may have loaded it while this one waited for the lock
        if let Some(model) = self.loaded_model() {
            return Ok(Ready {
                model,
                cold_start: None,
            });
        }
        self.set_lifecycle(|lifecycle| {
            lifecycle.status = EndpointStatus::Creating;
            lifecycle.failure_reason = None;
        });
        let started = Instant::now();
        let kind = self.config.kind;
        let models_dir = self.models_dir.clone();
        let loaded = tokio::task::spawn_blocking(move || load_model(kind, &models_dir))
            .await
            .unwrap_or_else(|join_error| {
                Err(ModelError::Load(format!(
                    "the loader crashed: {join_error}"
                )))
            });
        let cold_start = started.elapsed();
        match loaded {
            Ok(model) => {
                let model = Arc::new(model);
                self.set_lifecycle(|lifecycle| {
                    lifecycle.status = EndpointStatus::InService;
                    lifecycle.model = Some(model.clone());
                    lifecycle.loaded_at = Some(Utc::now());
                    lifecycle.last_cold_start = Some(cold_start);
                });
                self.cold_starts.fetch_add(1, Ordering::Relaxed);
                self.touch();
                tracing::info!(endpoint = %self.config.name, cold_start_ms = cold_start.as_millis() as u64, "endpoint in service");
                Ok(Ready {
                    model,
                    cold_start: Some(cold_start),
                })
            }
            Err(error) => {
                let reason = error.to_string();
                self.set_lifecycle(|lifecycle| {
                    lifecycle.status = EndpointStatus::Failed;
                    lifecycle.failure_reason = Some(reason.clone());
                });
                tracing::error!(endpoint = %self.config.name, %reason, "endpoint failed to load");
                Err(error)
            }
        }
    }

    /// Unloads the model when nothing ran for the idle period and nothing is running or
    /// waiting; returns whether it did.
    pub fn unload_if_idle(&self, now: Instant) -> bool {
        let Some(idle_after) = self.config.idle_unload_after() else {
            return false;
        };
        if self.in_flight.load(Ordering::SeqCst) > 0 || self.queued.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let idle_for = match self.last_used.lock() {
            Ok(last_use) => now.saturating_duration_since(last_use.instant),
            Err(_) => return false,
        };
        if idle_for < idle_after {
            return false;
        }
        // a load in progress holds the lock: never unload under it
        let Ok(_loading) = self.load_lock.try_lock() else {
            return false;
        };
        let mut unloaded = false;
        self.set_lifecycle(|lifecycle| {
            // a call admitted since the check above takes the model under this same lock:
            // look again here, so a call that holds the model never sees it unloaded
            let still_idle = self.in_flight.load(Ordering::SeqCst) == 0
                && self.queued.load(Ordering::SeqCst) == 0;
            if still_idle && lifecycle.status == EndpointStatus::InService {
                // calls still holding the model keep it alive until they finish
                lifecycle.model = None;
                lifecycle.status = EndpointStatus::Absent;
                lifecycle.loaded_at = None;
                unloaded = true;
            }
        });
        if unloaded {
            self.unloads.fetch_add(1, Ordering::Relaxed);
            tracing::info!(endpoint = %self.config.name, idle_seconds = idle_for.as_secs(), "endpoint scaled to zero after idling");
        }
        unloaded
    }

    fn set_lifecycle(&self, change: impl FnOnce(&mut Lifecycle)) {
        match self.lifecycle.lock() {
            Ok(mut lifecycle) => change(&mut lifecycle),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }

    pub fn describe(&self) -> EndpointDescription {
        let (status, failure_reason, loaded_at, last_cold_start) = match self.lifecycle.lock() {
            Ok(lifecycle) => (
                lifecycle.status,
                lifecycle.failure_reason.clone(),
                lifecycle.loaded_at,
                lifecycle.last_cold_start,
            ),
            Err(_) => (
                EndpointStatus::Failed,
                Some("state lock poisoned".into()),
                None,
                None,
            ),
        };
        EndpointDescription {
            endpoint_name: self.config.name.clone(),
            endpoint_status: status,
            kind: self.config.kind,
            failure_reason,
            loaded_at,
            last_used_at: self.last_used.lock().ok().and_then(|last_use| last_use.at),
            last_cold_start_ms: last_cold_start.map(|d| d.as_millis() as u64),
            idle_unload_seconds: self.config.idle_unload_seconds,
            max_concurrency: self.config.max_concurrency,
            max_queue: self.config.max_queue,
            in_flight: self.in_flight.load(Ordering::SeqCst),
            queued: self.queued.load(Ordering::SeqCst),
            invocations: self.invocations.load(Ordering::Relaxed),
            cold_starts: self.cold_starts.load(Ordering::Relaxed),
            unloads: self.unloads.load(Ordering::Relaxed),
        }
    }
}

fn load_model(kind: EndpointKind, models_dir: &std::path::Path) -> Result<LoadedModel, ModelError> {
    match kind {
        EndpointKind::ChatLlm => Ok(LoadedModel::Chat(ChatModel::load(models_dir)?)),
        EndpointKind::Embedding => Ok(LoadedModel::Embedding(EmbeddingModel::load(models_dir)?)),
        EndpointKind::ZeroWork
        | EndpointKind::Upscale
        | EndpointKind::Inpaint
        | EndpointKind::Segment
        | EndpointKind::Interpolate
        | EndpointKind::FaceRestore
        | EndpointKind::Matting => Ok(LoadedModel::Stateless),
    }
}

/// Every declared endpoint by name.
pub struct Endpoints {
    by_name: BTreeMap<String, Arc<Endpoint>>,
}

impl Endpoints {
    pub fn new(configs: &[EndpointConfig], models_dir: PathBuf) -> Self {
        let by_name = configs
            .iter()
            .map(|config| {
                (
                    config.name.clone(),
                    Arc::new(Endpoint::new(config.clone(), models_dir.clone())),
                )
            })
            .collect();
        Self { by_name }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Endpoint>> {
        self.by_name.get(name).cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Endpoint>> {
        self.by_name.values()
    }

    /// How often the idle reaper looks: often enough that an unload happens within a quarter
    /// of the shortest idle timeout, at most every 30 s.
    pub fn reaper_interval(&self) -> Duration {
        self.by_name
            .values()
            .filter_map(|endpoint| endpoint.config.idle_unload_after())
            .min()
            .map_or(Duration::from_secs(30), |shortest| {
                (shortest / 4).clamp(Duration::from_millis(100), Duration::from_secs(30))
            })
    }

    /// Unloads every endpoint idle past its timeout.
    pub fn unload_idle(&self) -> usize {
        let now = Instant::now();
        self.by_name
            .values()
            .filter(|endpoint| endpoint.unload_if_idle(now))
            .count()
    }
}
