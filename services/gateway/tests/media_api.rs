//! The media vault through the gateway: HTTP/JSON and gRPC against a real media vault, NATS,
//! PostgreSQL and S3.

mod support;

use radiant_proto::media;
use radiant_proto::media::media_service_client::MediaServiceClient;
use radiant_testkit::{TestDatabase, TestStack, unique_suffix};
use sha2::{Digest, Sha256};
use support::*;
use tonic::Request;

struct Platform {
    app: TestApp,
    vault: radiant_media_vault::Application,
    _database: TestDatabase,
}

async fn spawn_platform() -> Platform {
    let app = spawn_app().await;
    let stack = TestStack::get().await;
    let database = TestDatabase::create().await;
    let mut config = radiant_media_vault::config::embedded_defaults().unwrap();
    config.nats = app.test.nats_config();
    config.database = database.config.clone();
    config.s3.endpoint = stack.s3_endpoint.clone();
    config.s3.bucket = format!("radiant-test-{}", unique_suffix());
    radiant_media_vault::storage::ObjectStore::new(&config.s3)
        .ensure_versioned_bucket()
        .await
        .unwrap();
    let vault = radiant_media_vault::Application::build(config)
        .await
        .unwrap();
    Platform {
        app,
        vault,
        _database: database,
    }
}

impl Platform {
    async fn stop(self) {
        self.vault.stop().await;
        self.app.stop().await;
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn files_upload_version_download_and_tombstone_over_http() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let token = app.token(&[]);
    let scope = "chat:0195f0c2-0000-7000-8000-00000000000a";

    let created = app
        .http
        .post(app.url(&format!("/api/v1/media/files?scope={scope}&name=hello.txt")))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .header("idempotency-key", "hello-1")
        .body("hello, vault")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let file: serde_json::Value = created.json().await.unwrap();
    assert_eq!(file["version"], 1);
    assert_eq!(file["sha256"], sha256_hex(b"hello, vault"));
    assert_eq!(file["upload_status"], "completed");
    assert_eq!(file["file_lifecycle"], "active");
    let file_id = file["file_id"].as_str().unwrap().to_string();

    let metadata: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/v1/media/files/{file_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["name"], "hello.txt");
    assert_eq!(metadata["mime_type"], "text/plain");

    // the content route redirects to the presigned URL; ranges reach S3
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = no_redirects
        .get(app.url(&format!("/api/v1/media/files/{file_id}/content")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status().as_u16(), 307);
    let location = redirect.headers()["location"].to_str().unwrap().to_string();
    let range = reqwest::Client::new()
        .get(&location)
        .header("range", "bytes=7-11")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status().as_u16(), 206);
    assert_eq!(range.text().await.unwrap(), "vault");

    let versions: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/v1/media/files/{file_id}/versions")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1);

    let deleted = app
        .http
        .delete(app.url(&format!("/api/v1/media/files/{file_id}?reason=cleanup")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    let gone = app
        .http
        .get(app.url(&format!("/api/v1/media/files/{file_id}/download-url")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(gone).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "conflict");
    let restored = app
        .http
        .post(app.url(&format!("/api/v1/media/files/{file_id}/restore")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(restored.status().as_u16(), 200);

    // legal holds are for admins; purging for the erasure role
    let hold = app
        .http
        .put(app.url(&format!("/api/v1/media/files/{file_id}/legal-hold")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"hold": true, "reason": "audit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(hold.status().as_u16(), 403);
    let held = app
        .http
        .put(app.url(&format!("/api/v1/media/files/{file_id}/legal-hold")))
        .bearer_auth(app.token(&["admin"]))
        .json(&serde_json::json!({"hold": true, "reason": "audit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status().as_u16(), 200);
    assert_eq!(
        held.json::<serde_json::Value>().await.unwrap()["legal_hold"],
        true
    );
    let purge = app
        .http
        .post(app.url(&format!("/api/v1/media/files/{file_id}/purge")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"reason": "gdpr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(purge.status().as_u16(), 403);
    platform.stop().await;
}

#[tokio::test]
async fn large_files_upload_in_parts_through_the_gateway_and_straight_to_s3() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let token = app.token(&[]);
    let content: Vec<u8> = (0..(7 * 1024 * 1024 + 5))
        .map(|index: u32| (index.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let sha256 = sha256_hex(&content);
    let session: serde_json::Value = app
        .http
        .post(app.url("/api/v1/media/uploads"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "scope": "chat:big", "name": "video.bin", "size_bytes": content.len(),
            "sha256": sha256, "part_size_bytes": 5 * 1024 * 1024
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["part_count"], 2);
    assert_eq!(session["upload_status"], "pending");
    let session_id = session["session_id"].as_str().unwrap().to_string();
    let first = &content[..5 * 1024 * 1024];
    let second = &content[5 * 1024 * 1024..];

    // part 1 streams through the gateway; a wrong length is refused first
    let wrong = app
        .http
        .put(app.url(&format!("/api/v1/media/uploads/{session_id}/parts/1")))
        .bearer_auth(&token)
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 400);
    let through = app
        .http
        .put(app.url(&format!("/api/v1/media/uploads/{session_id}/parts/1")))
        .bearer_auth(&token)
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(through.status().as_u16(), 200, "{:?}", through.text().await);

    // part 2 goes straight to S3 with a presigned URL
    let urls: serde_json::Value = app
        .http
        .post(app.url(&format!("/api/v1/media/uploads/{session_id}/part-urls")))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parts = urls["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "only the missing part: {urls}");
    assert_eq!(parts[0]["part_number"], 2);
    let direct = reqwest::Client::new()
        .put(parts[0]["url"].as_str().unwrap())
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert!(direct.status().is_success());

    let status: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/v1/media/uploads/{session_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["received_parts"].as_array().unwrap().len(), 2);

    let completed = app
        .http
        .post(app.url(&format!("/api/v1/media/uploads/{session_id}/complete")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status().as_u16(), 201);
    let version: serde_json::Value = completed.json().await.unwrap();
    assert_eq!(version["sha256"], sha256);
    assert_eq!(version["size_bytes"], content.len());
    platform.stop().await;
}

#[tokio::test]
async fn http_errors_keep_the_gateway_format() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let token = app.token(&[]);
    let too_big = app
        .http
        .post(app.url("/api/v1/media/files?scope=chat:x&name=big.bin"))
        .bearer_auth(&token)
        .body(vec![0u8; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(too_big).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");

    let unknown = app
        .http
        .get(app.url(&format!("/api/v1/media/files/{}", uuid::Uuid::now_v7())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(unknown).await.0, 404);

    let bad_scope = app
        .http
        .post(app.url("/api/v1/media/files?scope=not%20valid&name=a.txt"))
        .bearer_auth(&token)
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(bad_scope).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("scope"));

    let missing_fields = app
        .http
        .post(app.url("/api/v1/media/uploads"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"scope": "chat:x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(missing_fields).await.0, 400);

    let anonymous = app
        .http
        .post(app.url("/api/v1/media/files?scope=chat:x&name=a.txt"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(anonymous).await.0, 401);
    platform.stop().await;
}

#[tokio::test]
async fn grpc_clients_store_and_read_files() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let mut client = MediaServiceClient::new(app.grpc_channel().await);
    let token = app.token(&[]);
    let stored = client
        .store_file(with_token(
            media::StoreFileRequest {
                scope: "chat:grpc".to_string(),
                name: "a.txt".to_string(),
                mime_type: "text/plain".to_string(),
                content: b"over grpc".to_vec(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.sha256, sha256_hex(b"over grpc"));
    let fetched = client
        .get_file(with_token(
            media::GetFileRequest {
                file_id: stored.file_id.clone(),
                version: 0,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.version_id, stored.version_id);

    let missing = client
        .get_file(with_token(
            media::GetFileRequest {
                file_id: uuid::Uuid::now_v7().to_string(),
                version: 0,
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let anonymous = client
        .get_file(Request::new(media::GetFileRequest {
            file_id: stored.file_id.clone(),
            version: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let not_admin = client
        .set_legal_hold(with_token(
            media::SetLegalHoldRequest {
                file_id: stored.file_id.clone(),
                hold: true,
                reason: "x".to_string(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(not_admin.code(), tonic::Code::PermissionDenied);
    platform.stop().await;
}
