//! Spawns the real media vault against the real NATS, PostgreSQL and S3 server, each test in
//! its own namespace, database and bucket.
#![allow(dead_code)]

use std::time::Duration;

use radiant_bus::subjects::{MEDIA_VAULT, media as subjects};
use radiant_bus::{BusClient, RequestContext, ServiceError};
use radiant_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use radiant_media_vault::Application;
use radiant_media_vault::config::MediaVaultConfig;
use radiant_media_vault::storage::ObjectStore;
use radiant_media_vault::vault::SharedVault;
use radiant_proto::media;
use radiant_testkit::{TestDatabase, TestNamespace, TestStack, unique_suffix};
use uuid::Uuid;

pub struct TestVault {
    pub app: Option<Application>,
    pub vault: SharedVault,
    pub namespace: TestNamespace,
    pub database: TestDatabase,
    pub bus: BusClient,
    pub config: MediaVaultConfig,
}

pub async fn spawn_vault() -> TestVault {
    spawn_vault_with(|_| {}).await
}

/// A vault whose periodic jobs stay quiet (tests run them by hand) and whose bucket is new.
pub async fn spawn_vault_with(adjust: impl FnOnce(&mut MediaVaultConfig)) -> TestVault {
    let stack = TestStack::get().await;
    let namespace = TestNamespace::new().await;
    let database = TestDatabase::create().await;
    let mut config = radiant_media_vault::config::embedded_defaults().expect("embedded defaults");
    config.nats = namespace.nats_config();
    config.database = database.config.clone();
    config.s3.endpoint = stack.s3_endpoint.clone();
    config.s3.bucket = format!("radiant-test-{}", unique_suffix());
    config.scrub.interval_seconds = 3600;
    config.purge.interval_seconds = 3600;
    config.uploads.sweep_interval_seconds = 3600;
    adjust(&mut config);
    let objects = ObjectStore::new(&config.s3);
    if config.s3.endpoint == stack.s3_endpoint {
        objects
            .ensure_versioned_bucket()
            .await
            .expect("test bucket");
    }
    let app = Application::build(config.clone())
        .await
        .expect("media vault starts");
    let vault = app.vault().clone();
    let bus = namespace.bus_client();
    TestVault {
        app: Some(app),
        vault,
        namespace,
        database,
        bus,
        config,
    }
}

impl TestVault {
    pub async fn call<Request: prost::Message, Response: prost::Message + Default>(
        &self,
        context: &RequestContext,
        endpoint: &str,
        request: &Request,
    ) -> Result<Response, ServiceError> {
        let context = context.clone().with_deadline_in(Duration::from_secs(30));
        self.bus
            .call(&MEDIA_VAULT, endpoint, &context, request)
            .await
            .map_err(|error| error.to_service_error())
    }

    pub async fn store(
        &self,
        context: &RequestContext,
        scope: &str,
        name: &str,
        mime_type: &str,
        content: &[u8],
    ) -> Result<media::FileVersion, ServiceError> {
        self.call(
            context,
            subjects::FILES_STORE,
            &media::StoreFileRequest {
                scope: scope.to_string(),
                name: name.to_string(),
                mime_type: mime_type.to_string(),
                content: content.to_vec(),
                ..Default::default()
            },
        )
        .await
    }

    /// A presigned URL for a version (0 = newest) or one of its variants ("" = the original).
    pub async fn download_url(
        &self,
        context: &RequestContext,
        file_id: &str,
        version: u32,
        variant_type: &str,
    ) -> Result<media::DownloadUrl, ServiceError> {
        self.call(
            context,
            subjects::FILES_DOWNLOAD_URL,
            &media::GetDownloadUrlRequest {
                file_id: file_id.to_string(),
                version,
                variant_type: variant_type.to_string(),
                ..Default::default()
            },
        )
        .await
    }

    /// The newest version's bytes, fetched through its presigned URL.
    pub async fn download(&self, context: &RequestContext, file_id: &str) -> bytes::Bytes {
        let url = self.download_url(context, file_id, 0, "").await.unwrap();
        reqwest::get(&url.url).await.unwrap().bytes().await.unwrap()
    }

    /// SQL as the superuser (test set-up that no API allows).
    pub async fn execute(&self, sql: &str) {
        let admin = self.admin().await;
        admin
            .execute_unprepared(sql)
            .await
            .expect("admin statement");
        let _ = admin.close().await;
    }

    /// Bit rot: the blob of `stored` now points at an object version holding `bytes`.
    pub async fn corrupt(&self, stored: &media::FileVersion, bytes: &'static [u8]) -> String {
        let rotten = self
            .vault
            .objects
            .put(
                &stored.s3_key,
                bytes::Bytes::from_static(bytes),
                "application/octet-stream",
            )
            .await
            .expect("tampered object");
        self.execute(&format!(
            "UPDATE blobs SET s3_version_id = '{}' WHERE sha256 = '{}'",
            rotten.version_id, stored.sha256
        ))
        .await;
        rotten.version_id
    }

    pub async fn admin(&self) -> DatabaseConnection {
        self.database.admin_connection().await
    }

    /// One number from SQL run as the superuser (sees every tenant).
    pub async fn count(&self, sql: &str) -> i64 {
        let admin = self.admin().await;
        let row = admin
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_string()))
            .await
            .expect("count query")
            .expect("a row");
        let value: i64 = row.try_get_by_index(0).expect("a number");
        let _ = admin.close().await;
        value
    }

    pub async fn ref_count(&self, sha256: &str) -> i64 {
        self.count(&format!(
            "SELECT ref_count::bigint FROM blobs WHERE sha256 = '{sha256}'"
        ))
        .await
    }

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
    }
}

pub fn tenant() -> RequestContext {
    RequestContext::for_tenant(Uuid::now_v7(), "user-1")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    radiant_media_vault::storage::sha256_hex(bytes)
}

/// Deterministic bytes that do not compress or repeat (so every file has its own hash).
pub fn pseudo_random_bytes(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("png encodes");
    bytes
}

/// A PNG whose header claims `width` × `height` with no real pixel data: an image bomb as a
/// decoder would first see it.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for byte in bytes {
            crc ^= *byte as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        chunk.extend_from_slice(&body);
        chunk.extend_from_slice(&crc32(&body).to_be_bytes());
        chunk
    }
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(chunk(b"IHDR", &header));
    bytes.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    bytes.extend(chunk(b"IEND", &[]));
    bytes
}
