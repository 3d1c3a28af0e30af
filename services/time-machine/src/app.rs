//! Wiring: database, streams, the event publisher, the NATS service, the export consumer and
//! the event relay.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use radiant_bus::jetstream::{RunningConsumer, StreamSpec, ensure_stream};
use radiant_bus::subjects::{TIME_MACHINE, tm as subjects};
use radiant_bus::{BusClient, ServiceHost, ServiceHostBuilder};
use radiant_db::Migrations;
use radiant_db::sea_orm::ConnectionTrait;
use tokio_util::sync::CancellationToken;

use crate::config::{SERVICE_NAME, TimeMachineConfig};
use crate::events;
use crate::jobs;
use crate::machine::{SharedMachine, TimeMachine};

static MIGRATIONS: include_dir::Dir<'_> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../migrations/time-machine");

/// Events are kept a week (consumers that fall further behind read the database); export jobs
/// until done, at most a day.
const EVENTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
const JOBS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

pub fn migrations() -> anyhow::Result<Migrations> {
    Ok(Migrations::from_dir(SERVICE_NAME, &MIGRATIONS)?)
}

pub struct Application {
    machine: SharedMachine,
    host: ServiceHost,
    consumer: Option<RunningConsumer>,
    cancellation: CancellationToken,
    background: Vec<tokio::task::JoinHandle<()>>,
    publisher: Option<tokio::task::JoinHandle<()>>,
}

/// Connects to everything the time machine needs and prepares the database and streams.
pub async fn connect(
    config: TimeMachineConfig,
) -> anyhow::Result<(SharedMachine, tokio::task::JoinHandle<()>)> {
    let database = radiant_db::prepare(&config.database, &migrations()?)
        .await
        .context("database")?;
    let nats = radiant_bus::connect(&config.nats, SERVICE_NAME)
        .await
        .context("nats")?;
    let namespace = config.nats.namespace();
    let jetstream = async_nats::jetstream::new(nats.clone());
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
    match search_uses_its_index(&database).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "tsvector @@ tsquery is not LEAKPROOF in this database: under row level security \
             full-text search scans each tenant's versions instead of using its index; \
             run deploy/postgres/ensure-service-database.sh (or ALTER FUNCTION \
             pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF as a superuser)"
        ),
        Err(error) => tracing::warn!(%error, "could not check the full-text match function"),
    }
    let (events, publisher) =
        events::start_publisher(jetstream.clone(), database.clone(), namespace.clone());
    let bus = BusClient::new(nats, namespace.clone(), config.nats.request_timeout());
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("http client")?;
    Ok((
        Arc::new(TimeMachine {
            database,
            bus,
            jetstream,
            namespace,
            config,
            events,
            http,
        }),
        publisher,
    ))
}

/// PostgreSQL uses an index under row level security only for LEAKPROOF conditions; the
/// full-text match must be one for search to use `message_versions_search_idx`.
pub async fn search_uses_its_index(
    database: &radiant_db::sea_orm::DatabaseConnection,
) -> Result<bool, radiant_db::sea_orm::DbErr> {
    let row = database
        .query_one_raw(radiant_db::sea_orm::Statement::from_string(
            radiant_db::sea_orm::DbBackend::Postgres,
            "SELECT proleakproof FROM pg_proc WHERE oid = 'pg_catalog.ts_match_vq(tsvector, tsquery)'::regprocedure",
        ))
        .await?;
    Ok(row
        .map(|row| row.try_get::<bool>("", "proleakproof"))
        .transpose()?
        .unwrap_or(false))
}

impl Application {
    pub async fn build(config: TimeMachineConfig) -> anyhow::Result<Self> {
        let (machine, publisher) = connect(config).await?;
        let nats = radiant_bus::connect(&machine.config.nats, SERVICE_NAME).await?;
        let builder = ServiceHostBuilder::new(
            nats,
            machine.namespace.clone(),
            TIME_MACHINE,
            env!("CARGO_PKG_VERSION"),
        )
        .description("versioned chats: snapshots, as-of views, restore, compare, search, export")
        .max_concurrent_requests(machine.config.service.max_concurrent_requests);
        let builder = crate::handlers::register(builder, &machine);
        let database_machine = machine.clone();
        let host = builder
            .health_check("database", move || {
                let machine = database_machine.clone();
                async move {
                    machine
                        .database
                        .execute_unprepared("SELECT 1")
                        .await
                        .map(|_| "postgres answers".to_string())
                        .map_err(|error| error.to_string())
                }
            })
            .health_check("search_index", {
                let machine = machine.clone();
                move || {
                    let machine = machine.clone();
                    // informational: search works either way, only slower without its index
                    async move {
                        Ok(match search_uses_its_index(&machine.database).await {
                            Ok(true) => "full-text search uses its index".to_string(),
                            Ok(false) => {
                                "full-text search scans: ts_match_vq is not LEAKPROOF".to_string()
                            }
                            Err(error) => format!("unknown: {error}"),
                        })
                    }
                }
            })
            .start()
            .await?;
        let consumer = if machine.config.exports.enabled {
            Some(jobs::exports::start(machine.clone()).await?)
        } else {
            None
        };
        let cancellation = CancellationToken::new();
        let relay_machine = machine.clone();
        let events_config = machine.config.events.clone();
        let background = vec![radiant_bus::every(
            "event-relay",
            Duration::from_secs(events_config.relay_interval_seconds),
            cancellation.clone(),
            move || {
                let machine = relay_machine.clone();
                let events_config = events_config.clone();
                async move {
                    events::relay_overdue(
                        &machine.database,
                        &machine.jetstream,
                        &machine.namespace,
                        Duration::from_secs(events_config.relay_grace_seconds),
                        events_config.relay_batch,
                    )
                    .await
                    .map(|published| format!("{published} owed events published"))
                }
            },
        )];
        Ok(Self {
            machine,
            host,
            consumer,
            cancellation,
            background,
            publisher: Some(publisher),
        })
    }

    pub fn machine(&self) -> &SharedMachine {
        &self.machine
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
        // the publisher ends once the last sender (held by the machine) is dropped; give the
        // events in its queue a moment to go out, the relay covers the rest
        if let Some(publisher) = self.publisher.take() {
            drop(self.machine);
            let _ = tokio::time::timeout(Duration::from_secs(2), publisher).await;
        }
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        shutdown.await;
        self.stop().await;
        Ok(())
    }
}
