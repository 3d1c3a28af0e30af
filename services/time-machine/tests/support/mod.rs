//! Spawns the real time machine (and, for files and exports, the real media vault) against
//! the real NATS, PostgreSQL and S3 server, each test in its own namespace and databases.
#![allow(dead_code)]

use std::time::Duration;

use radiant_bus::subjects::{TIME_MACHINE, tm as subjects};
use radiant_bus::{BusClient, RequestContext, ServiceError};
use radiant_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use radiant_proto::tm;
use radiant_testkit::{TestDatabase, TestNamespace, TestStack, unique_suffix};
use radiant_time_machine::Application;
use radiant_time_machine::config::TimeMachineConfig;
use uuid::Uuid;

pub struct TestMachine {
    pub app: Option<Application>,
    pub vault: Option<radiant_media_vault::Application>,
    pub namespace: TestNamespace,
    pub database: TestDatabase,
    pub vault_database: Option<TestDatabase>,
    pub bus: BusClient,
    pub config: TimeMachineConfig,
    pub tenant_id: Uuid,
}

pub async fn spawn() -> TestMachine {
    spawn_with(false, |_| {}).await
}

pub async fn spawn_with_vault() -> TestMachine {
    spawn_with(true, |_| {}).await
}

pub async fn spawn_with(
    with_vault: bool,
    adjust: impl FnOnce(&mut TimeMachineConfig),
) -> TestMachine {
    let stack = TestStack::get().await;
    let namespace = TestNamespace::new().await;
    let database = TestDatabase::create().await;
    let mut config = radiant_time_machine::config::embedded_defaults().expect("embedded defaults");
    config.nats = namespace.nats_config();
    config.database = database.config.clone();
    // tests run the relay by hand
    config.events.relay_interval_seconds = 3600;
    adjust(&mut config);
    let (vault, vault_database) = if with_vault {
        let vault_database = TestDatabase::create().await;
        let mut vault_config =
            radiant_media_vault::config::embedded_defaults().expect("vault defaults");
        vault_config.nats = namespace.nats_config();
        vault_config.database = vault_database.config.clone();
        vault_config.s3.endpoint = stack.s3_endpoint.clone();
        vault_config.s3.bucket = format!("radiant-test-{}", unique_suffix());
        vault_config.variants.enabled = false;
        vault_config.scrub.enabled = false;
        vault_config.purge.enabled = false;
        radiant_media_vault::storage::ObjectStore::new(&vault_config.s3)
            .ensure_versioned_bucket()
            .await
            .expect("test bucket");
        let vault = radiant_media_vault::Application::build(vault_config)
            .await
            .expect("media vault starts");
        (Some(vault), Some(vault_database))
    } else {
        (None, None)
    };
    let app = Application::build(config.clone())
        .await
        .expect("time machine starts");
    let bus = namespace.bus_client();
    TestMachine {
        app: Some(app),
        vault,
        namespace,
        database,
        vault_database,
        bus,
        config,
        tenant_id: Uuid::now_v7(),
    }
}

impl TestMachine {
    /// A user of this test's tenant.
    pub fn user(&self, user_id: &str) -> RequestContext {
        RequestContext::for_tenant(self.tenant_id, user_id)
    }

    pub fn alice(&self) -> RequestContext {
        self.user("alice")
    }

    pub async fn call<Request: prost::Message, Response: prost::Message + Default>(
        &self,
        context: &RequestContext,
        endpoint: &str,
        request: &Request,
    ) -> Result<Response, ServiceError> {
        let context = context.clone().with_deadline_in(Duration::from_secs(60));
        self.bus
            .with_timeout(Duration::from_secs(60))
            .call(&TIME_MACHINE, endpoint, &context, request)
            .await
            .map_err(|error| error.to_service_error())
    }

    pub async fn create_chat(&self, context: &RequestContext, title: &str) -> tm::Chat {
        self.call(
            context,
            subjects::CHATS_CREATE,
            &tm::CreateChatRequest {
                title: title.to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("chat created")
    }

    pub async fn say(
        &self,
        context: &RequestContext,
        chat_id: &str,
        role: &str,
        content: &str,
    ) -> tm::SavedMessage {
        self.try_say(context, chat_id, role, content)
            .await
            .expect("message saved")
    }

    pub async fn try_say(
        &self,
        context: &RequestContext,
        chat_id: &str,
        role: &str,
        content: &str,
    ) -> Result<tm::SavedMessage, ServiceError> {
        self.call(
            context,
            subjects::MESSAGES_SAVE,
            &tm::SaveMessageRequest {
                chat_id: chat_id.to_string(),
                role: role.to_string(),
                content: content.to_string(),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn view(
        &self,
        context: &RequestContext,
        chat_id: &str,
        snapshot_id: &str,
    ) -> tm::ChatAtSnapshot {
        self.call(
            context,
            subjects::SNAPSHOTS_VIEW,
            &tm::GetChatAtSnapshotRequest {
                chat_id: chat_id.to_string(),
                snapshot_id: snapshot_id.to_string(),
                page_size: 10_000,
                ..Default::default()
            },
        )
        .await
        .expect("view")
    }

    /// The contents of the chat's messages at a snapshot ("" = now), in order.
    pub async fn contents(
        &self,
        context: &RequestContext,
        chat_id: &str,
        snapshot_id: &str,
    ) -> Vec<String> {
        self.view(context, chat_id, snapshot_id)
            .await
            .messages
            .into_iter()
            .map(|message| message.content)
            .collect()
    }

    pub async fn verify(&self, context: &RequestContext, chat_id: &str) -> tm::VerifyChatResponse {
        self.call(
            context,
            subjects::SNAPSHOTS_VERIFY,
            &tm::ChatRequest {
                chat_id: chat_id.to_string(),
            },
        )
        .await
        .expect("verify")
    }

    pub async fn restore(
        &self,
        context: &RequestContext,
        request: tm::RestoreRequest,
    ) -> Result<tm::RestoreResult, ServiceError> {
        self.call(context, subjects::HISTORY_RESTORE, &request)
            .await
    }

    pub async fn upload(
        &self,
        context: &RequestContext,
        chat_id: &str,
        name: &str,
        mime_type: &str,
        content: &[u8],
    ) -> Result<tm::ChatFile, ServiceError> {
        self.call(
            context,
            subjects::FILES_UPLOAD,
            &tm::UploadFileRequest {
                chat_id: chat_id.to_string(),
                name: name.to_string(),
                mime_type: mime_type.to_string(),
                content: content.to_vec(),
                ..Default::default()
            },
        )
        .await
    }

    /// A superuser connection to the time machine's database (sees every tenant's rows).
    pub async fn admin_database(&self) -> DatabaseConnection {
        self.database.admin_connection().await
    }

    /// The `count` column of a query run as superuser.
    pub async fn count(&self, sql: &str) -> i64 {
        let admin = self.admin_database().await;
        let count = admin
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .expect("query runs")
            .expect("one row")
            .try_get::<i64>("", "count")
            .expect("a count column");
        let _ = admin.close().await;
        count
    }

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        if let Some(vault) = self.vault.take() {
            vault.stop().await;
        }
    }
}

pub fn expect_status<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    status: u16,
) -> ServiceError {
    match result {
        Ok(value) => panic!("expected status {status}, got {value:?}"),
        Err(error) => {
            assert_eq!(error.status(), status, "{error}");
            error
        }
    }
}
