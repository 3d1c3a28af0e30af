//! The time machine through the gateway: the seeds' paths over HTTP/JSON and the same methods
//! over gRPC, against a real time machine, media vault, NATS, PostgreSQL and S3.

mod support;

use std::time::Duration;

use radiant_proto::tm;
use radiant_proto::tm::time_machine_service_client::TimeMachineServiceClient;
use radiant_testkit::{TestDatabase, TestStack, unique_suffix};
use serde_json::{Value, json};
use support::*;

struct Platform {
    app: TestApp,
    machine: radiant_time_machine::Application,
    vault: radiant_media_vault::Application,
    _databases: (TestDatabase, TestDatabase),
}

async fn spawn_platform() -> Platform {
    let app = spawn_app().await;
    let stack = TestStack::get().await;
    let vault_database = TestDatabase::create().await;
    let mut vault_config = radiant_media_vault::config::embedded_defaults().unwrap();
    vault_config.nats = app.test.nats_config();
    vault_config.database = vault_database.config.clone();
    vault_config.s3.endpoint = stack.s3_endpoint.clone();
    vault_config.s3.bucket = format!("radiant-test-{}", unique_suffix());
    vault_config.variants.enabled = false;
    radiant_media_vault::storage::ObjectStore::new(&vault_config.s3)
        .ensure_versioned_bucket()
        .await
        .unwrap();
    let vault = radiant_media_vault::Application::build(vault_config)
        .await
        .unwrap();
    let machine_database = TestDatabase::create().await;
    let mut machine_config = radiant_time_machine::config::embedded_defaults().unwrap();
    machine_config.nats = app.test.nats_config();
    machine_config.database = machine_database.config.clone();
    machine_config.limits.max_content_bytes = 4096;
    let machine = radiant_time_machine::Application::build(machine_config)
        .await
        .unwrap();
    Platform {
        app,
        machine,
        vault,
        _databases: (machine_database, vault_database),
    }
}

impl Platform {
    async fn stop(self) {
        self.machine.stop().await;
        self.vault.stop().await;
        self.app.stop().await;
    }
}

struct Client<'a> {
    app: &'a TestApp,
    token: String,
}

impl Client<'_> {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .app
            .http
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let (got, body) = self.send(method, path, body).await;
        assert_eq!(got, status, "{path}: {body}");
        body
    }
}

#[tokio::test]
async fn a_chat_through_its_whole_history_over_http() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let alice = Client {
        app,
        token: app.token(&[]),
    };
    use reqwest::Method;

    let chat = alice
        .ok(
            Method::POST,
            "/api/chats",
            Some(json!({"model_id": "smollm2"})),
            201,
        )
        .await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_string();
    let base = format!("/api/thinktank/chats/{chat_id}/time-machine");
    let mut saved = Vec::new();
    for (role, content) in [
        ("user", "What is the capital of France?"),
        ("assistant", "Paris is the capital of France."),
        ("user", "And of Italy?"),
    ] {
        saved.push(
            alice
                .ok(
                    Method::POST,
                    &format!("/api/chats/{chat_id}/messages"),
                    Some(json!({"role": role, "content": content})),
                    201,
                )
                .await,
        );
    }
    let first_snapshot = saved[0]["snapshot"]["snapshot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let chat = alice
        .ok(
            Method::GET,
            &format!("/api/chats/{chat_id}?order=desc&message_limit=2"),
            None,
            200,
        )
        .await;
    assert_eq!(chat["chat"]["title"], "What is the capital of France?");
    assert_eq!(chat["total"], 3);
    assert_eq!(chat["messages"][0]["content"], "And of Italy?");
    let listed = alice
        .ok(Method::GET, "/api/chats?include_stats=true", None, 200)
        .await;
    assert_eq!(listed["stats"]["total_messages"], 3);
    let recent = alice.ok(Method::GET, "/api/chats/recent", None, 200).await;
    assert_eq!(recent["total"], 1);

    let renamed = alice
        .ok(
            Method::PATCH,
            &format!("/api/chats/{chat_id}"),
            Some(json!({"title": "Capitals"})),
            200,
        )
        .await;
    assert_eq!(renamed["current_version"], 4);
    let timeline = alice
        .ok(
            Method::GET,
            &format!("{base}?time_zone=Europe/Berlin"),
            None,
            200,
        )
        .await;
    assert_eq!(timeline["total_snapshots"], 4);
    assert_eq!(timeline["time_zone"], "Europe/Berlin");
    let today = timeline["snapshots_by_date"][0]["date"]
        .as_str()
        .unwrap()
        .to_string();
    let by_date = alice
        .ok(
            Method::GET,
            &format!("{base}/calendar/{today}?time_zone=Europe/Berlin"),
            None,
            200,
        )
        .await;
    assert_eq!(by_date["snapshots"].as_array().unwrap().len(), 4);
    let calendar = alice
        .ok(Method::GET, &format!("{base}/calendar"), None, 200)
        .await;
    assert_eq!(calendar["days"][0]["snapshot_count"], 4);
    let then = alice
        .ok(
            Method::GET,
            &format!("{base}/snapshots/{first_snapshot}"),
            None,
            200,
        )
        .await;
    assert_eq!(then["messages"].as_array().unwrap().len(), 1);
    let now = alice
        .ok(
            Method::GET,
            &format!("{base}/snapshots/current?page_size=2"),
            None,
            200,
        )
        .await;
    assert_eq!(now["title"], "Capitals");
    assert!(!now["next_page_token"].as_str().unwrap().is_empty());

    let restored = alice
        .ok(
            Method::POST,
            &format!("{base}/restore"),
            Some(json!({"snapshot_id": first_snapshot, "reason": "start over"})),
            200,
        )
        .await;
    assert_eq!(restored["messages_removed"], 2);
    let compared = alice
        .ok(
            Method::GET,
            &format!("{base}/compare?from={first_snapshot}&to=current"),
            None,
            200,
        )
        .await;
    assert!(
        compared["summary"]
            .as_str()
            .unwrap()
            .ends_with("no changes."),
        "{compared}"
    );
    let searched = alice
        .ok(Method::GET, &format!("{base}/search?q=italy"), None, 200)
        .await;
    assert_eq!(
        searched["messages"][0]["is_current"], false,
        "found in history though set aside"
    );
    let everywhere = alice
        .ok(
            Method::GET,
            "/api/thinktank/search?q=paris&type=messages",
            None,
            200,
        )
        .await;
    assert_eq!(everywhere["messages"].as_array().unwrap().len(), 1);
    let verified = alice
        .ok(Method::GET, &format!("{base}/verify"), None, 200)
        .await;
    assert_eq!(verified["ok"], true, "{verified}");

    // a file: raw body up, versions, a redirect to the exact S3 version down
    let uploaded = app
        .http
        .post(app.url(&format!(
            "{base}/files?name=notes.txt&description=capital%20notes"
        )))
        .bearer_auth(&alice.token)
        .header("content-type", "text/plain")
        .body("Paris, Rome, Berlin")
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    let versions = alice
        .ok(
            Method::GET,
            &format!("{base}/files/notes.txt/versions"),
            None,
            200,
        )
        .await;
    assert_eq!(versions["files"].as_array().unwrap().len(), 1);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let download = no_redirects
        .get(app.url(&format!(
            "/api/thinktank/files/{}/download",
            uploaded["file_version_id"].as_str().unwrap()
        )))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status().as_u16(), 302);
    let location = download.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        reqwest::get(&location).await.unwrap().text().await.unwrap(),
        "Paris, Rome, Berlin"
    );

    // an export, ready through the job consumer, downloadable by its presigned URL
    let export = alice
        .ok(
            Method::POST,
            &format!("{base}/export"),
            Some(json!({"format": "markdown"})),
            202,
        )
        .await;
    let export_path = format!(
        "/api/thinktank/exports/{}",
        export["export_id"].as_str().unwrap()
    );
    let mut bundle = Value::Null;
    for _ in 0..200 {
        bundle = alice.ok(Method::GET, &export_path, None, 200).await;
        if bundle["status"] != "pending" && bundle["status"] != "processing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bundle["status"], "ready", "{bundle}");
    let markdown = reqwest::get(bundle["download_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        markdown.contains("What is the capital of France?"),
        "{markdown}"
    );

    // the AI-friendly API
    let summary = alice
        .ok(
            Method::GET,
            &format!("/api/ai/chats/{chat_id}/history/summary"),
            None,
            200,
        )
        .await;
    assert!(
        summary["summary"]
            .as_str()
            .unwrap()
            .starts_with("This conversation has 6 snapshots"),
        "{summary}"
    );
    let found = alice
        .ok(
            Method::POST,
            &format!("/api/ai/chats/{chat_id}/history/find"),
            Some(json!({"query": "the notes file from today"})),
            200,
        )
        .await;
    assert_eq!(found["items"][0]["name"], "notes.txt", "{found}");
    let ask = json!({"action": "restore_all", "snapshot_id": restored["previous_snapshot_id"]});
    let question = alice
        .ok(
            Method::POST,
            &format!("/api/ai/chats/{chat_id}/history/restore"),
            Some(ask.clone()),
            200,
        )
        .await;
    assert_eq!(question["needs_confirmation"], true);
    let mut confirm = ask.clone();
    confirm["confirmed"] = json!(true);
    confirm["confirmation_token"] = question["confirmation_token"].clone();
    let done = alice
        .ok(
            Method::POST,
            &format!("/api/ai/chats/{chat_id}/history/restore"),
            Some(confirm),
            200,
        )
        .await;
    assert_eq!(done["success"], true, "{done}");
    let since = alice
        .ok(
            Method::GET,
            &format!("/api/ai/chats/{chat_id}/history/compare?since=yesterday"),
            None,
            200,
        )
        .await;
    assert!(
        since["summary"]
            .as_str()
            .unwrap()
            .starts_with("Since the conversation started"),
        "{since}"
    );
    let seed_alias = alice
        .ok(
            Method::GET,
            &format!("/api/ai/chats/{chat_id}/history/compare?from={first_snapshot}"),
            None,
            200,
        )
        .await;
    assert!(
        seed_alias["comparison"]["messages_added"]
            .as_array()
            .unwrap()
            .len()
            == 2,
        "{seed_alias}"
    );

    platform.stop().await;
}

#[tokio::test]
async fn refusals_over_http_and_grpc() {
    let platform = spawn_platform().await;
    let app = &platform.app;
    let alice = Client {
        app,
        token: app.token(&[]),
    };
    let mut bob_claims = app.claims(300);
    bob_claims.sub = "bob".to_string();
    let bob = Client {
        app,
        token: app.token_with_claims(&bob_claims),
    };
    let mut other_tenant_claims = app.claims(300);
    other_tenant_claims.tenant_id = uuid::Uuid::now_v7().to_string();
    let stranger = Client {
        app,
        token: app.token_with_claims(&other_tenant_claims),
    };

    let (_, chat) = alice.post("/api/chats", json!({"title": "Mine"})).await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_string();
    let messages = format!("/api/chats/{chat_id}/messages");
    let (status, saved) = alice
        .post(&messages, json!({"role": "user", "content": "hello"}))
        .await;
    assert_eq!(status, 201);
    let snapshot_id = saved["snapshot"]["snapshot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = format!("/api/thinktank/chats/{chat_id}/time-machine");

    for outsider in [&bob, &stranger] {
        assert_eq!(outsider.get(&format!("/api/chats/{chat_id}")).await.0, 404);
        assert_eq!(
            outsider
                .get(&format!("{base}/snapshots/{snapshot_id}"))
                .await
                .0,
            404
        );
        let (status, body) = outsider
            .post(&messages, json!({"role": "user", "content": "hi"}))
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, body) = alice
        .post(&messages, json!({"role": "user", "content": ""}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    let (status, _) = alice
        .post(
            &messages,
            json!({"role": "user", "content": "x".repeat(5000)}),
        )
        .await;
    assert_eq!(status, 413);
    let (status, body) = alice
        .post(&messages, json!({"role": "user", "contnet": "typo"}))
        .await;
    assert_eq!(status, 400, "an unknown field is refused: {body}");
    let (status, _) = alice.get(&format!("{base}/calendar/2024-13-01")).await;
    assert_eq!(status, 400);
    let (status, body) = alice.get(&format!("{base}?page_size=many")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["code"], "invalid_argument",
        "a bad query string is a JSON error too: {body}"
    );
    let (status, body) = alice.get(&format!("{base}?time_zone=Mars/Olympus")).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Mars/Olympus"),
        "{body}"
    );
    let (status, _) = alice
        .get(&format!(
            "/api/thinktank/chats/{}/time-machine",
            uuid::Uuid::now_v7()
        ))
        .await;
    assert_eq!(status, 404);
    let (status, _) = alice.post(&format!("{base}/files"), json!({})).await;
    assert_eq!(status, 400, "an upload needs a name");
    let anonymous = app.http.get(app.url("/api/chats")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // gRPC: the same contract, the same errors as status codes
    let mut client = TimeMachineServiceClient::new(app.grpc_channel().await);
    let created = client
        .create_chat(with_token(
            tm::CreateChatRequest {
                title: "over grpc".to_string(),
                ..Default::default()
            },
            &alice.token,
        ))
        .await
        .unwrap()
        .into_inner();
    let saved = client
        .save_message(with_token(
            tm::SaveMessageRequest {
                chat_id: created.chat_id.clone(),
                role: "user".to_string(),
                content: "from grpc".to_string(),
                ..Default::default()
            },
            &alice.token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.snapshot.unwrap().version, 1);
    let view = client
        .get_chat_at_snapshot(with_token(
            tm::GetChatAtSnapshotRequest {
                chat_id: created.chat_id.clone(),
                ..Default::default()
            },
            &alice.token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(view.messages[0].content, "from grpc");
    let hidden = client
        .get_chat_at_snapshot(with_token(
            tm::GetChatAtSnapshotRequest {
                chat_id: created.chat_id.clone(),
                ..Default::default()
            },
            &stranger.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), tonic::Code::NotFound);
    let invalid = client
        .save_message(with_token(
            tm::SaveMessageRequest {
                chat_id: created.chat_id.clone(),
                role: "user".to_string(),
                ..Default::default()
            },
            &alice.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), tonic::Code::InvalidArgument);
    let unauthenticated = client
        .list_chats(tonic::Request::new(tm::ListChatsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), tonic::Code::Unauthenticated);
    platform.stop().await;
}
