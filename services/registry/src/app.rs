//! Wiring: database and seed catalogue, stream and live bucket, the in-memory view and its
//! watcher, the live-state consumer, the NATS service, and the scheduled syncs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use radiant_bus::jetstream::{RunningConsumer, StreamSpec, ensure_stream};
use radiant_bus::kv::{BucketSpec, ensure_bucket};
use radiant_bus::subjects::{REGISTRY, registry as subjects};
use radiant_bus::{ServiceHost, ServiceHostBuilder};
use radiant_db::Migrations;
use radiant_db::sea_orm::ConnectionTrait;
use tokio_util::sync::CancellationToken;

use crate::catalogue::CatalogueView;
use crate::config::RegistryConfig;
use crate::crypto::MasterKey;
use crate::registry::{Registry, SharedRegistry};

static MIGRATIONS: include_dir::Dir<'_> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../migrations/registry");

/// Observations and announcements are kept a week.
const EVENTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn migrations() -> anyhow::Result<Migrations> {
    Ok(Migrations::from_dir(
        crate::config::SERVICE_NAME,
        &MIGRATIONS,
    )?)
}

pub struct Application {
    registry: SharedRegistry,
    host: ServiceHost,
    consumer: Option<RunningConsumer>,
    warmups: Option<RunningConsumer>,
    cancellation: CancellationToken,
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// Connects to everything the registry needs, prepares the database (migrations, seed
/// catalogue), the stream and the live bucket, and loads the catalogue into memory.
pub async fn connect(config: RegistryConfig) -> anyhow::Result<SharedRegistry> {
    let master_key = MasterKey::from_config(&config.credentials.master_key)
        .map_err(|error| anyhow::anyhow!("credentials.master_key: {error}"))?;
    let database = radiant_db::prepare(&config.database, &migrations()?)
        .await
        .context("database")?;
    let seeded = crate::seed::apply(&database, &config.catalogue.inference_host_url)
        .await
        .context("seed catalogue")?;
    tracing::info!(
        models_added = seeded.models_added,
        workflows_added = seeded.workflows_added,
        "seed catalogue applied"
    );
    let nats = radiant_bus::connect(&config.nats, crate::config::SERVICE_NAME)
        .await
        .context("nats")?;
    let namespace = config.nats.namespace();
    let jetstream = async_nats::jetstream::new(nats);
    ensure_stream(
        &jetstream,
        &StreamSpec::events(
            namespace.stream_name(subjects::EVENTS_STREAM),
            vec![namespace.event_domain_wildcard(subjects::EVENT_DOMAIN)],
            EVENTS_MAX_AGE,
        ),
    )
    .await?;
    let mut bucket = BucketSpec::new(subjects::LIVE_BUCKET);
    bucket.description =
        "registry live state: provider health, model thermal state, catalogue version".to_string();
    let live_bucket = ensure_bucket(&jetstream, &namespace, &bucket).await?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("radiant-registry/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("http client")?;
    let registry = Arc::new(Registry {
        database,
        jetstream,
        namespace,
        live_bucket,
        view: CatalogueView::default(),
        master_key,
        http,
        config,
    });
    let count = crate::catalogue::reload(&registry).await?;
    tracing::info!(models = count, "catalogue loaded");
    Ok(registry)
}

impl Application {
    pub async fn build(config: RegistryConfig) -> anyhow::Result<Self> {
        let registry = connect(config).await?;
        Self::start(registry).await
    }

    pub async fn start(registry: SharedRegistry) -> anyhow::Result<Self> {
        let cancellation = CancellationToken::new();
        let mut background = vec![crate::catalogue::spawn_watcher(
            registry.clone(),
            cancellation.clone(),
        )];
        let consumer = crate::live::projector::start(registry.clone()).await?;
        let warmups = crate::live::thermal::start_warmup_consumer(registry.clone()).await?;
        let nats = radiant_bus::connect(&registry.config.nats, crate::config::SERVICE_NAME).await?;
        let builder = ServiceHostBuilder::new(
            nats,
            registry.namespace.clone(),
            REGISTRY,
            env!("CARGO_PKG_VERSION"),
        )
        .description("every model, license and workflow, with live health and thermal state")
        .max_concurrent_requests(registry.config.service.max_concurrent_requests);
        let builder = crate::handlers::register(builder, &registry);
        let database_registry = registry.clone();
        let host = builder
            .health_check("database", move || {
                let registry = database_registry.clone();
                async move {
                    registry
                        .database
                        .execute_unprepared("SELECT 1")
                        .await
                        .map(|_| "postgres answers".to_string())
                        .map_err(|error| error.to_string())
                }
            })
            .start()
            .await?;
        let sync = &registry.config.sync;
        for (sync_type, interval_seconds) in [
            ("full", sync.full_interval_seconds),
            ("pricing", sync.pricing_interval_seconds),
            ("health", sync.health_interval_seconds),
            ("thermal", sync.thermal_interval_seconds),
        ] {
            if interval_seconds == 0 {
                continue;
            }
            let job_registry = registry.clone();
            background.push(radiant_bus::every(
                sync_type,
                Duration::from_secs(interval_seconds),
                cancellation.clone(),
                move || {
                    let registry = job_registry.clone();
                    async move {
                        let interval = Duration::from_secs(interval_seconds);
                        crate::sync::run_scheduled(&registry, sync_type, interval)
                            .await
                            .map(|run| match run {
                                Some(run) => format!("{} in {} ms", run.status, run.duration_ms),
                                None => "another replica ran it".to_string(),
                            })
                            .map_err(|error| radiant_bus::ServiceError::from(error).message)
                    }
                },
            ));
        }
        if sync.import_at_start && !registry.config.catalogue.models_dev_file.is_empty() {
            let start_registry = registry.clone();
            background.push(tokio::spawn(async move {
                let imported = crate::store::models::known_from_source(&start_registry.database, crate::sync::modelsdev::SOURCE)
                    .await
                    .map(|known| !known.is_empty())
                    .unwrap_or(true);
                if !imported {
                    for sync_type in ["full", "health", "thermal"] {
                        if let Err(error) = crate::sync::run(&start_registry, sync_type, "start").await {
                            tracing::warn!(error = %radiant_bus::ServiceError::from(error), sync_type, "sync at start failed");
                        }
                    }
                }
            }));
        }
        Ok(Self {
            registry,
            host,
            consumer: Some(consumer),
            warmups: Some(warmups),
            cancellation,
            background,
        })
    }

    pub fn registry(&self) -> &SharedRegistry {
        &self.registry
    }

    pub async fn stop(mut self) {
        self.cancellation.cancel();
        for task in self.background.drain(..) {
            task.abort();
            let _ = task.await;
        }
        if let Some(consumer) = self.consumer.take() {
            consumer.stop().await;
        }
        if let Some(warmups) = self.warmups.take() {
            warmups.stop().await;
        }
        self.host.stop().await;
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        shutdown.await;
        self.stop().await;
        Ok(())
    }
}
