//! Wiring: database, bucket, streams, the NATS service and the background jobs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use radiant_bus::jetstream::{RunningConsumer, StreamSpec, ensure_stream};
use radiant_bus::subjects::{MEDIA_VAULT, media as subjects};
use radiant_bus::{ServiceHost, ServiceHostBuilder};
use radiant_db::Migrations;
use radiant_db::sea_orm::ConnectionTrait;
use tokio_util::sync::CancellationToken;

use crate::config::MediaVaultConfig;
use crate::jobs;
use crate::storage::ObjectStore;
use crate::vault::{SharedVault, Vault};

static MIGRATIONS: include_dir::Dir<'_> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../migrations/media-vault");

/// Events are kept a week; jobs until done (at most a day).
const EVENTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
const JOBS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

pub fn migrations() -> anyhow::Result<Migrations> {
    Ok(Migrations::from_dir(
        crate::config::SERVICE_NAME,
        &MIGRATIONS,
    )?)
}

pub struct Application {
    vault: SharedVault,
    host: ServiceHost,
    consumer: Option<RunningConsumer>,
    cancellation: CancellationToken,
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// Connects to everything the vault needs and prepares the database and streams.
pub async fn connect(config: MediaVaultConfig) -> anyhow::Result<SharedVault> {
    let database = radiant_db::prepare(&config.database, &migrations()?)
        .await
        .context("database")?;
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
    ensure_stream(
        &jetstream,
        &StreamSpec::work_queue(
            namespace.stream_name(subjects::JOBS_STREAM),
            vec![namespace.job_subject(subjects::EVENT_DOMAIN, ">")],
            JOBS_MAX_AGE,
        ),
    )
    .await?;
    let objects = ObjectStore::new(&config.s3);
    match objects.check_bucket().await {
        Ok(detail) => tracing::info!(%detail, "object storage ready"),
        // the service still starts: requests that need storage answer 503 until it is back
        Err(error) => tracing::warn!(%error, "object storage not ready"),
    }
    let integrity_failures = opentelemetry::global::meter("radiant-media-vault")
        .u64_counter("media.integrity.failures")
        .with_description("blobs whose bytes no longer match their SHA-256")
        .build();
    Ok(Arc::new(Vault {
        database,
        objects,
        config,
        jetstream,
        namespace,
        integrity_failures,
    }))
}

impl Application {
    pub async fn build(config: MediaVaultConfig) -> anyhow::Result<Self> {
        let vault = connect(config).await?;
        Self::start(vault).await
    }

    pub async fn start(vault: SharedVault) -> anyhow::Result<Self> {
        let nats = radiant_bus::connect(&vault.config.nats, crate::config::SERVICE_NAME).await?;
        let builder = ServiceHostBuilder::new(
            nats,
            vault.namespace.clone(),
            MEDIA_VAULT,
            env!("CARGO_PKG_VERSION"),
        )
        .description("every file version kept forever in versioned S3, deduplicated and verified")
        .max_concurrent_requests(vault.config.service.max_concurrent_requests);
        let builder = crate::handlers::register(builder, &vault);
        let database_vault = vault.clone();
        let storage_vault = vault.clone();
        let host = builder
            .health_check("database", move || {
                let vault = database_vault.clone();
                async move {
                    vault
                        .database
                        .execute_unprepared("SELECT 1")
                        .await
                        .map(|_| "postgres answers".to_string())
                        .map_err(|error| error.to_string())
                }
            })
            .health_check("object_storage", move || {
                let vault = storage_vault.clone();
                async move {
                    vault
                        .objects
                        .check_bucket()
                        .await
                        .map_err(|error| error.to_string())
                }
            })
            .start()
            .await?;

        let consumer = if vault.config.variants.enabled {
            Some(jobs::variants::start(vault.clone()).await?)
        } else {
            None
        };
        let cancellation = CancellationToken::new();
        let mut background = Vec::new();
        if vault.config.scrub.enabled {
            let scrub_vault = vault.clone();
            background.push(jobs::every(
                "scrub",
                Duration::from_secs(vault.config.scrub.interval_seconds.max(1)),
                cancellation.clone(),
                move || {
                    let vault = scrub_vault.clone();
                    async move {
                        jobs::scrub::run_partial(&vault)
                            .await
                            .map(|report| report.summary())
                            .map_err(|error| error.to_string())
                    }
                },
            ));
        }
        if vault.config.purge.enabled {
            let purge_vault = vault.clone();
            background.push(jobs::every(
                "purge",
                Duration::from_secs(vault.config.purge.interval_seconds.max(1)),
                cancellation.clone(),
                move || {
                    let vault = purge_vault.clone();
                    async move {
                        jobs::purge::run_pending(&vault)
                            .await
                            .map(|report| format!("{report:?}"))
                            .map_err(|error| error.to_string())
                    }
                },
            ));
        }
        let sweep_vault = vault.clone();
        background.push(jobs::every(
            "upload-sweep",
            Duration::from_secs(vault.config.uploads.sweep_interval_seconds.max(1)),
            cancellation.clone(),
            move || {
                let vault = sweep_vault.clone();
                async move {
                    jobs::sweeper::abort_expired(&vault)
                        .await
                        .map(|aborted| format!("{aborted} expired multipart uploads aborted"))
                        .map_err(|error| error.to_string())
                }
            },
        ));
        Ok(Self {
            vault,
            host,
            consumer,
            cancellation,
            background,
        })
    }

    pub fn vault(&self) -> &SharedVault {
        &self.vault
    }

    pub async fn stop(mut self) {
        self.cancellation.cancel();
        for task in self.background.drain(..) {
            let _ = task.await;
        }
        if let Some(consumer) = self.consumer.take() {
            consumer.stop().await;
        }
        self.host.stop().await;
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        shutdown.await;
        self.stop().await;
        Ok(())
    }
}
