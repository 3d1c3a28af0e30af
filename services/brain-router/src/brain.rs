//! What every handler shares: the registry's live view, the classifier, the provider clients,
//! the rules of the tenants seen so far, and the recorder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use radiant_bus::{BusClient, Namespace};
use radiant_db::sea_orm::DatabaseConnection;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::classify::Classifier;
use crate::config::BrainRouterConfig;
use crate::domain::rules::RuleSet;
use crate::invoke::Clients;
use crate::live::LiveView;
use crate::recording::Recorder;

pub struct BrainRouter {
    pub config: BrainRouterConfig,
    pub bus: BusClient,
    pub namespace: Namespace,
    pub database: DatabaseConnection,
    pub view: Arc<LiveView>,
    pub classifier: Classifier,
    pub clients: Clients,
    pub recorder: Recorder,
    /// Each tenant's rules (its own and the global ones), loaded on its first request and
    /// dropped when a `rules_changed` announcement names it.
    pub rules: RwLock<HashMap<Uuid, Arc<RuleSet>>>,
    /// Provider keys resolved from the registry, with when they were resolved.
    pub credentials: Mutex<HashMap<String, (Option<String>, std::time::Instant)>>,
    /// When each model was last asked to warm up (one request per model per interval).
    pub warmups: Mutex<HashMap<String, std::time::Instant>>,
    /// Streamed answers still being generated (waited for at shutdown).
    pub streams: TaskTracker,
}

pub type SharedBrainRouter = Arc<BrainRouter>;
