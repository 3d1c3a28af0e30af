//! Spawns the real registry against the real NATS and PostgreSQL, each test in its own
//! namespace and database.
#![allow(dead_code)]

use std::time::Duration;

use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::{REGISTRY, registry as subjects};
use radiant_bus::{BusClient, RequestContext, ServiceError};
use radiant_registry::Application;
use radiant_registry::config::RegistryConfig;
use radiant_registry::registry::SharedRegistry;
use radiant_testkit::{TestDatabase, TestNamespace, TestStack};
use uuid::Uuid;

pub struct TestRegistry {
    pub app: Option<Application>,
    pub registry: SharedRegistry,
    pub namespace: TestNamespace,
    pub database: TestDatabase,
    pub bus: BusClient,
    pub config: RegistryConfig,
}

/// The models.dev snapshot deploy/local/catalog.sh installs (test.sh runs it first).
pub fn catalogue_file() -> String {
    std::env::var("RADIANT_CATALOG_FILE").unwrap_or_else(|_| {
        format!(
            "{}/../../.run/catalog/models-dev.sqlite",
            env!("CARGO_MANIFEST_DIR")
        )
    })
}

pub async fn spawn_registry() -> TestRegistry {
    spawn_registry_with(|_| {}).await
}

/// A registry whose schedules stay quiet (tests trigger syncs themselves).
pub async fn spawn_registry_with(adjust: impl FnOnce(&mut RegistryConfig)) -> TestRegistry {
    let _stack = TestStack::get().await;
    let namespace = TestNamespace::new().await;
    let database = TestDatabase::create().await;
    let mut config = radiant_registry::config::embedded_defaults().expect("embedded defaults");
    config.nats = namespace.nats_config();
    config.database = database.config.clone();
    config.catalogue.models_dev_file = catalogue_file();
    // nothing listens here: the local endpoints' probes and warm-ups fail fast
    config.catalogue.inference_host_url = "http://127.0.0.1:9".to_string();
    config.sync.full_interval_seconds = 0;
    config.sync.pricing_interval_seconds = 0;
    config.sync.health_interval_seconds = 0;
    config.sync.thermal_interval_seconds = 0;
    config.sync.import_at_start = false;
    adjust(&mut config);
    let app = Application::build(config.clone())
        .await
        .expect("registry starts");
    let registry = app.registry().clone();
    let bus = namespace.bus_client();
    TestRegistry {
        app: Some(app),
        registry,
        namespace,
        database,
        bus,
        config,
    }
}

pub fn admin() -> RequestContext {
    RequestContext::for_tenant(Uuid::now_v7(), "admin-1").with_roles(&["admin"])
}

pub fn user() -> RequestContext {
    RequestContext::for_tenant(Uuid::now_v7(), "user-1")
}

pub fn service() -> RequestContext {
    RequestContext::internal().with_roles(&["service"])
}

impl TestRegistry {
    pub async fn call<Request: prost::Message, Response: prost::Message + Default>(
        &self,
        context: &RequestContext,
        endpoint: &str,
        request: &Request,
    ) -> Result<Response, ServiceError> {
        let context = context.clone().with_deadline_in(Duration::from_secs(60));
        self.bus
            .call(&REGISTRY, endpoint, &context, request)
            .await
            .map_err(|error| error.to_service_error())
    }

    /// The `count` column of a one-row query, read straight from the registry's database.
    pub async fn count(&self, sql: &str) -> i64 {
        use radiant_db::sea_orm::{ConnectionTrait, DbBackend, Statement};
        self.registry
            .database
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .expect("query runs")
            .expect("one row")
            .try_get::<i64>("", "count")
            .expect("a count column")
    }

    /// Whether the dead-letter stream holds at least `count` messages within 15 s.
    pub async fn dead_letters_reach(&self, count: u64) -> bool {
        radiant_testkit::eventually(std::time::Duration::from_secs(15), || async {
            let mut stream = self
                .namespace
                .jetstream
                .get_stream(self.namespace.namespace.dead_letter_stream())
                .await
                .unwrap();
            stream
                .info()
                .await
                .map(|info| info.state.messages >= count)
                .unwrap_or(false)
        })
        .await
    }

    pub async fn publish<M: prost::Message>(&self, event: &str, message: &M) {
        let subject = self
            .namespace
            .namespace
            .event_subject(subjects::EVENT_DOMAIN, event);
        publish_message(
            &self.namespace.jetstream,
            &subject,
            &Uuid::now_v7().to_string(),
            &RequestContext::internal(),
            message,
        )
        .await
        .expect("published");
    }

    pub async fn publish_raw(&self, event: &str, payload: &'static [u8]) {
        let subject = self
            .namespace
            .namespace
            .event_subject(subjects::EVENT_DOMAIN, event);
        self.namespace
            .jetstream
            .publish(subject, bytes::Bytes::from_static(payload))
            .await
            .expect("published")
            .await
            .expect("stored");
    }
}
