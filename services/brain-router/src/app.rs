//! Wiring: database, the registry's live view and its watcher, the classifier, the recorder,
//! the rules-changed listener, and the NATS service.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use radiant_bus::jetstream::{StreamSpec, ensure_stream};
use radiant_bus::subjects::{BRAIN_ROUTER, brain as subjects, registry as registry_subjects};
use radiant_bus::{BusClient, ServiceHost, ServiceHostBuilder};
use radiant_db::Migrations;
use radiant_db::sea_orm::ConnectionTrait;
use tokio_util::sync::CancellationToken;

use crate::brain::{BrainRouter, SharedBrainRouter};
use crate::classify::Classifier;
use crate::config::{BrainRouterConfig, SERVICE_NAME};
use crate::invoke::Clients;
use crate::live::LiveView;

static MIGRATIONS: include_dir::Dir<'_> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../migrations/brain-router");

/// Manifests are kept a week for the feedback service.
const EVENTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn migrations() -> anyhow::Result<Migrations> {
    Ok(Migrations::from_dir(SERVICE_NAME, &MIGRATIONS)?)
}

pub struct Application {
    router: SharedBrainRouter,
    host: ServiceHost,
    cancellation: CancellationToken,
    background: Vec<tokio::task::JoinHandle<()>>,
    recorder: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn build(config: BrainRouterConfig) -> anyhow::Result<Self> {
        // reqwest and the AWS SDK use aws-lc-rs, async-nats ring: name the process default
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let database = radiant_db::prepare(&config.database, &migrations()?)
            .await
            .context("database")?;
        let nats = radiant_bus::connect(&config.nats, SERVICE_NAME)
            .await
            .context("nats")?;
        let namespace = config.nats.namespace();
        let bus = BusClient::new(
            nats.clone(),
            namespace.clone(),
            config.nats.request_timeout(),
        );
        let jetstream = async_nats::jetstream::new(nats.clone());
        ensure_stream(
            &jetstream,
            &StreamSpec::events(
                namespace.stream_name(subjects::EVENTS_STREAM),
                vec![
                    namespace
                        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_EXECUTION_MANIFEST),
                ],
                EVENTS_MAX_AGE,
            ),
        )
        .await?;
        let cancellation = CancellationToken::new();
        let recording = &config.recording;
        let (recorder, recorder_task) = crate::recording::start(
            crate::recording::Destinations {
                database: database.clone(),
                jetstream,
                manifest_subject: namespace
                    .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_EXECUTION_MANIFEST),
                health_subject: namespace.event_subject(
                    registry_subjects::EVENT_DOMAIN,
                    registry_subjects::EVENT_HEALTH_OBSERVED,
                ),
                warmup_subject: namespace.event_subject(
                    registry_subjects::EVENT_DOMAIN,
                    registry_subjects::EVENT_WARMUP_REQUESTED,
                ),
            },
            crate::recording::Batching {
                queue: recording.queue,
                batch_max: recording.batch_max,
                linger: Duration::from_millis(recording.linger_ms),
                health_summary_interval: Duration::from_millis(
                    recording.health_summary_interval_ms,
                ),
            },
            cancellation.clone(),
        );
        let view = Arc::new(LiveView::default());
        match crate::live::reload(&view, &bus, &config.catalogue.callable_api_kinds).await {
            Ok(count) => tracing::info!(models = count, "callable models loaded"),
            // the registry may start after us: the watcher loads them when it announces
            Err(error) => tracing::warn!(%error, "callable models not loaded yet"),
        }
        let clients = Clients::new(
            &config.invocation.sagemaker_region,
            &config.invocation.anthropic_version,
        )?;
        let classifier = Classifier::new(
            &config.classifier.embedding_model,
            Duration::from_millis(config.classifier.timeout_ms),
        );
        let router = Arc::new(BrainRouter {
            bus: bus.clone(),
            namespace: namespace.clone(),
            database,
            view: view.clone(),
            classifier,
            clients,
            recorder,
            rules: Default::default(),
            credentials: Default::default(),
            warmups: Default::default(),
            streams: tokio_util::task::TaskTracker::new(),
            config,
        });
        let mut background = crate::live::spawn_watcher(
            view,
            bus,
            router.config.catalogue.callable_api_kinds.clone(),
            Duration::from_millis(router.config.catalogue.refresh_interval_ms),
            cancellation.clone(),
        );
        background.push(spawn_classifier_preparation(
            router.clone(),
            cancellation.clone(),
        ));
        background.push(spawn_rules_listener(router.clone(), cancellation.clone()).await?);

        let builder =
            ServiceHostBuilder::new(nats, namespace, BRAIN_ROUTER, env!("CARGO_PKG_VERSION"))
                .description(
                    "picks the model for each request, calls it with fallbacks, streams the answer",
                )
                .max_concurrent_requests(router.config.nats.max_concurrent_requests);
        let builder = crate::handlers::register(builder, &router);
        let database_router = router.clone();
        let catalogue_router = router.clone();
        let host = builder
            .health_check("database", move || {
                let router = database_router.clone();
                async move {
                    router
                        .database
                        .execute_unprepared("SELECT 1")
                        .await
                        .map(|_| "postgres answers".to_string())
                        .map_err(|error| error.to_string())
                }
            })
            .health_check("catalogue", move || {
                let router = catalogue_router.clone();
                async move {
                    let count = router.view.model_count();
                    if count == 0 {
                        return Err("no callable chat model known yet".to_string());
                    }
                    Ok(format!(
                        "{count} callable chat models; task classifier {}",
                        if router.classifier.is_ready() {
                            "by embeddings"
                        } else {
                            "by keywords"
                        }
                    ))
                }
            })
            .start()
            .await?;
        Ok(Self {
            router,
            host,
            cancellation,
            background,
            recorder: Some(recorder_task),
        })
    }

    pub fn router(&self) -> &SharedBrainRouter {
        &self.router
    }

    pub async fn stop(mut self) {
        self.host.stop().await;
        // streamed answers finish (or time out) before the recorder drains
        self.router.streams.close();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.router.streams.wait()).await;
        self.cancellation.cancel();
        for task in self.background.drain(..) {
            task.abort();
            let _ = task.await;
        }
        if let Some(recorder) = self.recorder.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), recorder).await;
        }
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        shutdown.await;
        self.stop().await;
        Ok(())
    }
}

/// Embeds the task prototypes once the embedding model answers (every 10 s until then).
fn spawn_classifier_preparation(
    router: Arc<BrainRouter>,
    cancellation: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match router
                .classifier
                .prepare(&router.view, &router.bus, &router.clients)
                .await
            {
                Ok(true) => {
                    tracing::info!("task classifier ready (embeddings)");
                    return;
                }
                Ok(false) => {
                    tracing::info!("task classifier by keywords (no embedding model configured)");
                    return;
                }
                Err(error) => {
                    tracing::info!(%error, "task classifier by keywords until embeddings answer")
                }
            }
            tokio::select! {
                _ = cancellation.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
        }
    })
}

/// Drops cached rules when any replica announces a change.
async fn spawn_rules_listener(
    router: Arc<BrainRouter>,
    cancellation: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let subject = router
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_RULES_CHANGED);
    let mut changes = router.bus.nats().subscribe(subject).await?;
    Ok(tokio::spawn(async move {
        loop {
            let change = tokio::select! {
                _ = cancellation.cancelled() => return,
                change = changes.next() => change,
            };
            let Some(change) = change else { return };
            let changed = String::from_utf8_lossy(&change.payload).to_string();
            crate::handlers::rules::forget(&router, &changed);
        }
    }))
}
