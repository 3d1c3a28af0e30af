//! The chat path end to end through the gateway: POST /api/chat (routed by the brain router,
//! answered by SmolLM2 on the inference host, streamed as Server-Sent Events, both messages
//! saved by the time machine), a client that leaves mid-answer, the OpenAI-compatible API and
//! auto-resolve, against real services, NATS and PostgreSQL.

mod support;

use std::time::Duration;

use futures::StreamExt;
use radiant_testkit::{TestDatabase, eventually};
use serde_json::{Value, json};
use support::*;

struct Platform {
    app: TestApp,
    machine: radiant_time_machine::Application,
    registry: radiant_registry::Application,
    router: radiant_brain_router::Application,
    _databases: (TestDatabase, TestDatabase, TestDatabase),
}

async fn spawn_platform() -> Platform {
    let app = spawn_app().await;
    let mut host_config = radiant_inference_host::config::embedded_defaults().unwrap();
    host_config.http.port = 0;
    let host = radiant_inference_host::Application::build(host_config)
        .await
        .unwrap();
    let host_url = host.base_url();
    tokio::spawn(host.run_until_stopped(std::future::pending()));

    let registry_database = TestDatabase::create().await;
    let mut registry_config = radiant_registry::config::embedded_defaults().unwrap();
    registry_config.nats = app.test.nats_config();
    registry_config.database = registry_database.config.clone();
    registry_config.catalogue.models_dev_file = String::new();
    registry_config.catalogue.inference_host_url = host_url;
    registry_config.sync.full_interval_seconds = 0;
    registry_config.sync.pricing_interval_seconds = 0;
    registry_config.sync.health_interval_seconds = 0;
    registry_config.sync.thermal_interval_seconds = 0;
    registry_config.sync.import_at_start = false;
    let registry = radiant_registry::Application::build(registry_config)
        .await
        .unwrap();

    let machine_database = TestDatabase::create().await;
    let mut machine_config = radiant_time_machine::config::embedded_defaults().unwrap();
    machine_config.nats = app.test.nats_config();
    machine_config.database = machine_database.config.clone();
    let machine = radiant_time_machine::Application::build(machine_config)
        .await
        .unwrap();

    let router_database = TestDatabase::create().await;
    let mut router_config = radiant_brain_router::config::embedded_defaults().unwrap();
    router_config.nats = app.test.nats_config();
    router_config.database = router_database.config.clone();
    router_config.recording.linger_ms = 5;
    let router = radiant_brain_router::Application::build(router_config)
        .await
        .unwrap();
    Platform {
        app,
        machine,
        registry,
        router,
        _databases: (registry_database, machine_database, router_database),
    }
}

impl Platform {
    async fn stop(self) {
        self.router.stop().await;
        self.machine.stop().await;
        self.registry.stop().await;
        self.app.stop().await;
    }

    fn post(&self, path: &str, token: &str, body: Value) -> reqwest::RequestBuilder {
        self.app
            .http
            .post(self.app.url(path))
            .bearer_auth(token)
            .json(&body)
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .app
            .http
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Server-Sent Events as (event, data) pairs, read until the stream ends.
async fn events_of(response: reqwest::Response) -> Vec<(String, String)> {
    let text = response.text().await.unwrap();
    parse_events(&text)
}

fn parse_events(text: &str) -> Vec<(String, String)> {
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut event = String::new();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_string();
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = value.to_string();
            }
        }
        if !data.is_empty() {
            events.push((event, data));
        }
    }
    events
}

#[tokio::test]
async fn a_chat_message_is_routed_answered_streamed_and_both_messages_are_saved() {
    let platform = spawn_platform().await;
    let token = platform.app.token(&[]);
    let response = platform
        .post(
            "/api/chat",
            &token,
            json!({
                "messages": [{"role": "user", "content": "What is the capital of France?"}],
                "model": "auto",
                "max_tokens": 16,
                "temperature": 0,
            }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = events_of(response).await;
    assert_eq!(events[0].0, "started", "{events:?}");
    let started: Value = serde_json::from_str(&events[0].1).unwrap();
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    let text: String = events
        .iter()
        .filter(|(event, _)| event == "delta")
        .map(|(_, data)| {
            serde_json::from_str::<Value>(data).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!text.trim().is_empty());
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "done", "{events:?}");
    let done: Value = serde_json::from_str(data).unwrap();
    assert!(done["usage"]["output_tokens"].as_u64().unwrap() > 0);

    let (status, chat) = platform.get(&format!("/api/chats/{chat_id}"), &token).await;
    assert_eq!(status, 200, "{chat}");
    let messages = chat["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{chat}");
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"], "What is the capital of France?");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"].as_str().unwrap(), text);
    let metadata = &messages[1]["metadata"];
    assert_eq!(metadata["model_id"], started["model_id"]);
    assert_eq!(metadata["output_id"], started["output_id"]);
    assert!(metadata["output_tokens"].as_u64().unwrap() > 0);
    assert_ne!(metadata["partial"], true);
    assert_eq!(done["message_id"], messages[1]["message_id"]);

    // the same chat again: the history goes to the model, the new message is saved
    let response = platform
        .post(
            "/api/chat",
            &token,
            json!({
                "chat_id": chat_id,
                "messages": [
                    {"role": "user", "content": "What is the capital of France?"},
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": "And of Italy?"}
                ],
                "model": "smollm2-135m-instruct",
                "max_tokens": 8,
            }),
        )
        .send()
        .await
        .unwrap();
    let events = events_of(response).await;
    assert_eq!(events.last().unwrap().0, "done", "{events:?}");
    let (_, chat) = platform.get(&format!("/api/chats/{chat_id}"), &token).await;
    assert_eq!(chat["messages"].as_array().unwrap().len(), 4);
    platform.stop().await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_answer_leaves_a_saved_partial_answer() {
    let platform = spawn_platform().await;
    let token = platform.app.token(&[]);
    let response = platform
        .post("/api/chat", &token, json!({
            "messages": [{"role": "user", "content": "Write a long story about a dragon and a knight."}],
            "model": "smollm2-135m-instruct",
            "max_tokens": 400,
        }))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: delta") {
        let chunk = body.next().await.expect("the stream goes on").unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let started: Value = serde_json::from_str(&parse_events(&seen)[0].1).unwrap();
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    drop(body);

    let path = format!("/api/chats/{chat_id}");
    let mut saved = Value::Null;
    for _ in 0..600 {
        let (_, chat) = platform.get(&path, &token).await;
        if chat["messages"]
            .as_array()
            .is_some_and(|messages| messages.len() == 2)
        {
            saved = chat;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = &saved["messages"][1];
    assert_eq!(answer["role"], "assistant");
    assert_eq!(answer["metadata"]["partial"], true, "{answer}");
    assert_eq!(answer["metadata"]["finish_reason"], "cancelled");
    assert!(!answer["content"].as_str().unwrap().is_empty());
    assert!(answer["metadata"]["output_tokens"].as_u64().unwrap() < 400);
    platform.stop().await;
}

#[tokio::test]
async fn bad_chat_requests_are_refused_before_anything_is_saved() {
    let platform = spawn_platform().await;
    let token = platform.app.token(&[]);
    for (body, status) in [
        (json!({"messages": []}), 400),
        (
            json!({"messages": [{"role": "user", "content": "  "}]}),
            400,
        ),
        (
            json!({"messages": [{"role": "assistant", "content": "hi"}]}),
            400,
        ),
        (
            json!({"messages": [{"role": "user", "content": "hi"}], "model": "nobody/never"}),
            404,
        ),
        (
            json!({"messages": [{"role": "user", "content": "word ".repeat(20_000)}]}),
            400,
        ),
    ] {
        let response = platform
            .post("/api/chat", &token, body.clone())
            .send()
            .await
            .unwrap();
        let (got, _, error) = error_body(response).await;
        assert_eq!(got, status, "{body}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty())
        );
    }
    let (_, chats) = platform.get("/api/chats", &token).await;
    assert_eq!(
        chats["chats"].as_array().map(Vec::len),
        Some(0),
        "nothing was saved: {chats}"
    );
    // a chat that is not the caller's (another tenant's, or none at all): 404
    let response = platform
        .post("/api/chat", &token, json!({"chat_id": uuid::Uuid::now_v7().to_string(), "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}))
        .send()
        .await
        .unwrap();
    let (status, _, error) = error_body(response).await;
    assert_eq!(status, 404, "{error}");
    // a deleted chat: 409 until it is restored
    let response = platform
        .post("/api/chats", &token, json!({"title": "soon deleted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let deleted_chat_id = created["chat_id"].as_str().unwrap().to_string();
    let response = platform
        .app
        .http
        .delete(platform.app.url(&format!("/api/chats/{deleted_chat_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let response = platform
        .post("/api/chat", &token, json!({"chat_id": deleted_chat_id, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}))
        .send()
        .await
        .unwrap();
    let (status, _, error) = error_body(response).await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("deleted")),
        "{error}"
    );
    // neither was routed: the one answer asked for afterwards is the only decision of source
    // "chat" (decisions are recorded in order, so an earlier one would show by then)
    let response = platform
        .post(
            "/api/chat",
            &token,
            json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = events_of(response).await;
    assert!(
        events.iter().any(|(event, _)| event == "done"),
        "{events:?}"
    );
    let chat_decisions = std::cell::Cell::new(0);
    assert!(
        eventually(Duration::from_secs(10), || {
            let platform = &platform;
            let token = token.clone();
            let chat_decisions = &chat_decisions;
            async move {
                let (_, history) = platform.get("/api/v2/routing/history", &token).await;
                chat_decisions.set(history["records"].as_array().map_or(0, |records| {
                    records
                        .iter()
                        .filter(|record| record["source"] == "chat")
                        .count()
                }));
                chat_decisions.get() > 0
            }
        })
        .await
    );
    assert_eq!(chat_decisions.get(), 1, "a refused chat was routed");
    platform.stop().await;
}

#[tokio::test]
async fn openai_clients_get_completions_streams_and_models() {
    let platform = spawn_platform().await;
    let token = platform.app.token(&[]);
    let response = platform
        .post("/v1/chat/completions", &token, json!({
            "model": "auto",
            "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": [{"type": "text", "text": "Name a planet."}]}],
            "max_tokens": 8,
            "temperature": 0,
            "user": "ignored",
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let completion: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{completion}");
    assert_eq!(completion["object"], "chat.completion");
    assert!(completion["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(
        !completion["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert!(completion["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        completion["usage"]["total_tokens"].as_u64().unwrap(),
        completion["usage"]["prompt_tokens"].as_u64().unwrap()
            + completion["usage"]["completion_tokens"].as_u64().unwrap()
    );

    let response = platform
        .post(
            "/v1/chat/completions",
            &token,
            json!({
                "model": "smollm2-135m-instruct",
                "messages": [{"role": "user", "content": "Say hello."}],
                "max_tokens": 8,
                "stream": true,
                "stream_options": {"include_usage": true},
            }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = events_of(response).await;
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|(_, data)| serde_json::from_str(data).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["object"] == "chat.completion.chunk")
    );
    assert!(
        chunks
            .iter()
            .any(|chunk| chunk["choices"][0]["finish_reason"].is_string())
    );
    assert!(
        chunks.last().unwrap()["usage"]["completion_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    let response = platform
        .post(
            "/v1/chat/completions",
            &token,
            json!({"model": "nobody/never", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = platform
        .post(
            "/v1/chat/completions",
            &token,
            json!({"model": "auto", "messages": []}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let (status, models) = platform.get("/v1/models", &token).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|model| model["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"auto") && ids.contains(&"smollm2-135m-instruct"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"all-minilm-l6-v2"),
        "embedding models cannot chat"
    );
    platform.stop().await;
}

#[tokio::test]
async fn auto_resolve_answers_model_provider_reason_and_cost_and_is_logged() {
    let platform = spawn_platform().await;
    let token = platform.app.token(&[]);
    let response = platform
        .post("/api/v2/auto-resolve", &token, json!({"prompt": "Write a haiku about the sea", "preferences": {"maxCost": 0.5, "qualityLevel": "balanced"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let resolved: Value = response.json().await.unwrap();
    assert!(
        resolved["model"].as_str().unwrap().contains("smollm2"),
        "{resolved}"
    );
    assert!(
        resolved["provider"]
            .as_str()
            .unwrap()
            .starts_with("inference-host")
    );
    assert!(resolved["reason"].as_str().unwrap().len() > 10);
    assert!(resolved["estimatedCost"].as_f64().unwrap() >= 0.0);
    let decision_id = resolved["decisionId"].as_str().unwrap().to_string();
    assert!(
        eventually(Duration::from_secs(10), || {
            let platform = &platform;
            let token = token.clone();
            let decision_id = decision_id.clone();
            async move {
                let (_, history) = platform.get("/api/v2/routing/history", &token).await;
                history["records"].as_array().is_some_and(|records| {
                    records.iter().any(|record| {
                        record["decision_id"] == decision_id.as_str()
                            && record["source"] == "auto_resolve"
                    })
                })
            }
        })
        .await
    );
    let response = platform
        .post(
            "/api/v2/auto-resolve",
            &token,
            json!({"prompt": "hi", "preferences": {"qualityLevel": "luxury"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = platform
        .post(
            "/api/v2/auto-resolve",
            &token,
            json!({"prompt": "hi", "requiresAudio": true}),
        )
        .send()
        .await
        .unwrap();
    let (status, _, error) = error_body(response).await;
    assert_eq!(status, 503);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("audio"),
        "the reason reaches the client: {error}"
    );
    platform.stop().await;
}
