//! The registry through the gateway: HTTP/JSON and gRPC against a real registry, NATS and
//! PostgreSQL.

mod support;

use radiant_proto::registry;
use radiant_proto::registry::registry_service_client::RegistryServiceClient;
use radiant_testkit::TestDatabase;
use serde_json::json;
use support::*;

struct Platform {
    app: TestApp,
    registry: radiant_registry::Application,
    _database: TestDatabase,
}

async fn spawn_platform() -> Platform {
    let app = spawn_app().await;
    let database = TestDatabase::create().await;
    let mut config = radiant_registry::config::embedded_defaults().unwrap();
    config.nats = app.test.nats_config();
    config.database = database.config.clone();
    config.catalogue.inference_host_url = "http://127.0.0.1:9".to_string();
    config.sync.full_interval_seconds = 0;
    config.sync.pricing_interval_seconds = 0;
    config.sync.health_interval_seconds = 0;
    config.sync.thermal_interval_seconds = 0;
    config.sync.import_at_start = false;
    let registry = radiant_registry::Application::build(config).await.unwrap();
    Platform {
        app,
        registry,
        _database: database,
    }
}

impl Platform {
    async fn stop(self) {
        self.registry.stop().await;
        self.app.stop().await;
    }
}

fn new_model(model_id: &str, category: &str) -> serde_json::Value {
    json!({
        "model": {
            "model_id": model_id,
            "provider_id": "inference-host-openai",
            "hosting": "external",
            "category": category,
            "modes": ["chat"],
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "context_window": 8192
        },
        "licenses": [{"spdx_id": "MIT", "commercial_use": true, "compliance_status": "compliant"}],
        "reason": "onboarding"
    })
}

#[tokio::test]
async fn the_catalogue_and_its_admin_api_over_http() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let user = app.token(&[]);
    let admin = app.token(&["admin"]);

    let listed: serde_json::Value = app
        .http
        .get(app.url("/api/v2/registry/models?hosting=self_hosted&category=scientific&limit=100"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 8, "{listed}");
    assert!(
        listed["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|model| model["model_id"] == "alphafold2")
    );

    let created = app
        .http
        .post(app.url("/api/v2/admin/models"))
        .bearer_auth(&admin)
        .json(&new_model("acme/chat-1", "llm"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(created["revision"], 1);
    assert_eq!(created["license_ids"], json!(["MIT"]));

    let duplicate = app
        .http
        .post(app.url("/api/v2/admin/models"))
        .bearer_auth(&admin)
        .json(&new_model("acme/chat-1", "llm"))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status().as_u16(), 409);
    let forbidden = app
        .http
        .post(app.url("/api/v2/admin/models"))
        .bearer_auth(&user)
        .json(&new_model("acme/chat-2", "llm"))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status().as_u16(), 403);
    let bad = app
        .http
        .post(app.url("/api/v2/admin/models"))
        .bearer_auth(&admin)
        .json(&new_model("acme/chat-3", "cooking"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("model.category:"),
        "{body}"
    );

    // the model id holds a slash: percent-encoded in the path
    let config: serde_json::Value = app
        .http
        .get(app.url("/api/v2/admin/models/acme%2Fchat-1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["model"]["model_id"], "acme/chat-1");
    assert_eq!(config["licenses"][0]["spdx_id"], "MIT");
    let disabled = app
        .http
        .delete(app.url("/api/v2/admin/models/acme%2Fchat-1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status().as_u16(), 200);
    let disabled: serde_json::Value = disabled.json().await.unwrap();
    assert_eq!(disabled["enabled"], false);

    let summary: serde_json::Value = app
        .http
        .get(app.url("/api/v2/admin/models/licenses/summary"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(summary["non_compliant"].as_u64().unwrap() >= 3, "{summary}");
    let stats: serde_json::Value = app
        .http
        .get(app.url("/api/v2/admin/registry/stats"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total_models"], 66, "{stats}");
    let started = app
        .http
        .post(app.url("/api/v2/admin/registry/sync"))
        .bearer_auth(&admin)
        .json(&json!({"sync_type": "thermal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 202);
    let started: serde_json::Value = started.json().await.unwrap();
    assert_eq!(started["status"], "running");
    let bad_sync = app
        .http
        .post(app.url("/api/v2/admin/registry/sync"))
        .bearer_auth(&admin)
        .json(&json!({"sync_type": "everything"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_sync.status().as_u16(), 400);

    let selected: serde_json::Value = app
        .http
        .post(app.url("/api/v2/registry/select"))
        .bearer_auth(&user)
        .json(&json!({"mode": "chat", "hosting_preference": "self_hosted"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        selected["candidates"][0]["model_id"], "smollm2-135m-instruct",
        "{selected}"
    );
    let unknown = app
        .http
        .get(app.url("/api/v2/registry/models/no-such-model"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);

    let key = app
        .http
        .put(app.url("/api/v2/admin/registry/credentials/sagemaker"))
        .bearer_auth(&admin)
        .json(&json!({"api_key": "sk-very-secret-4242"}))
        .send()
        .await
        .unwrap();
    assert_eq!(key.status().as_u16(), 200);
    let listed = app
        .http
        .get(app.url("/api/v2/admin/registry/credentials"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("…4242") && !listed.contains("sk-very-secret"),
        "{listed}"
    );
    platform.stop().await;
}

#[tokio::test]
async fn the_registry_over_grpc() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let mut client = RegistryServiceClient::new(app.grpc_channel().await);
    let selection = client
        .select_models(with_token(
            registry::SelectModelsRequest {
                mode: "embedding".into(),
                ..Default::default()
            },
            &app.token(&[]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(selection.candidates[0].model_id, "all-minilm-l6-v2");
    let refused = client
        .stats(with_token(registry::StatsRequest {}, &app.token(&[])))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let stats = client
        .stats(with_token(
            registry::StatsRequest {},
            &app.token(&["admin"]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.workflows, 1);
    let bad = client
        .select_models(with_token(
            registry::SelectModelsRequest {
                mode: "teleport".into(),
                ..Default::default()
            },
            &app.token(&[]),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    platform.stop().await;
}
