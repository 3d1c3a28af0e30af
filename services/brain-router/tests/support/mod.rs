//! The brain router against the real thing: NATS, PostgreSQL, a registry, and the inference
//! host with SmolLM2, reached through a proxy that injects the provider faults a test arms
//! (an error status, a hang, or a stream cut after its first token).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures::StreamExt;
use radiant_brain_router::Application;
use radiant_bus::subjects::{BRAIN_ROUTER, brain as subjects};
use radiant_bus::{BusClient, RequestContext, ServiceError};
use radiant_proto::brain::{ChatMessage, CompleteRequest, RouteRequest, StreamChunk};
use radiant_testkit::{TestDatabase, TestNamespace, TestStack};
use uuid::Uuid;

pub const LOCAL_MODEL: &str = "smollm2-135m-instruct";
pub const OPENAI_MODEL: &str = "inference-host-openai/smollm2-135m-instruct";
/// The path prefixes the two providers are called on.
pub const OPENAI_PATH: &str = "/v1/chat/completions";
pub const SAGEMAKER_PATH: &str = "/endpoints/smollm2-135m-instruct/invocations";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    Status(u16),
    Hang,
    CutAfterFirstToken,
}

#[derive(Debug, Clone)]
struct Fault {
    path_prefix: String,
    kind: FaultKind,
    remaining: u32,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    faults: Arc<Mutex<Vec<Fault>>>,
    calls: Arc<Mutex<Vec<String>>>,
}

pub struct FaultProxy {
    pub base_url: String,
    state: ProxyState,
}

impl FaultProxy {
    /// The next `times` calls whose path starts with `path_prefix` fail this way.
    pub fn arm(&self, path_prefix: &str, kind: FaultKind, times: u32) {
        self.state.faults.lock().unwrap().push(Fault {
            path_prefix: path_prefix.to_string(),
            kind,
            remaining: times,
        });
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.calls.lock().unwrap().clone()
    }
}

async fn proxy(State(state): State<ProxyState>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|value| value.as_str().to_string())
        .unwrap_or_default();
    state.calls.lock().unwrap().push(path.clone());
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        let found = faults
            .iter_mut()
            .find(|fault| fault.remaining > 0 && path.starts_with(&fault.path_prefix));
        found.map(|fault| {
            fault.remaining -= 1;
            fault.kind
        })
    };
    match fault {
        Some(FaultKind::Status(status)) => {
            return Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"error":{"message":"injected failure"}}"#))
                .unwrap();
        }
        Some(FaultKind::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        _ => {}
    }
    let method = request.method().clone();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .unwrap();
    let mut upstream = state
        .http
        .request(method, format!("{}{path}", state.upstream))
        .body(body);
    for (name, value) in headers.iter() {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.unwrap();
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    let cut = fault == Some(FaultKind::CutAfterFirstToken);
    let mut seen_content = false;
    let body = answer.bytes_stream().take_while(move |chunk| {
        // a cut stream ends cleanly right after the first piece of content, without its end
        let keep = !(cut && seen_content);
        if let Ok(bytes) = chunk
            && String::from_utf8_lossy(bytes).contains("\"content\":\"")
            && !String::from_utf8_lossy(bytes).contains("\"content\":\"\"")
        {
            seen_content = true;
        }
        futures::future::ready(keep)
    });
    response.body(Body::from_stream(body)).unwrap()
}

pub struct Platform {
    pub test: TestNamespace,
    pub bus: BusClient,
    pub registry: Option<radiant_registry::Application>,
    pub router: Option<Application>,
    pub proxy: FaultProxy,
    pub tenant_id: Uuid,
    _databases: (TestDatabase, TestDatabase),
}

pub async fn spawn_platform() -> Platform {
    spawn_platform_with(|_| {}).await
}

pub async fn spawn_platform_with(
    adjust: impl FnOnce(&mut radiant_brain_router::config::BrainRouterConfig),
) -> Platform {
    let _stack = TestStack::get().await;
    let test = TestNamespace::new().await;
    let mut host_config = radiant_inference_host::config::embedded_defaults().unwrap();
    host_config.http.port = 0;
    let host = radiant_inference_host::Application::build(host_config)
        .await
        .unwrap();
    let upstream = host.base_url();
    tokio::spawn(host.run_until_stopped(std::future::pending()));

    let state = ProxyState {
        upstream,
        http: reqwest::Client::new(),
        faults: Default::default(),
        calls: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .fallback(proxy)
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let proxy = FaultProxy { base_url, state };

    let registry_database = TestDatabase::create().await;
    let mut registry_config = radiant_registry::config::embedded_defaults().unwrap();
    registry_config.nats = test.nats_config();
    registry_config.database = registry_database.config.clone();
    registry_config.catalogue.models_dev_file = String::new();
    registry_config.catalogue.inference_host_url = proxy.base_url.clone();
    registry_config.sync.full_interval_seconds = 0;
    registry_config.sync.pricing_interval_seconds = 0;
    registry_config.sync.health_interval_seconds = 0;
    registry_config.sync.thermal_interval_seconds = 0;
    registry_config.sync.import_at_start = false;
    // the registry's batching consumer projects observations at once
    registry_config.live.batch_linger_ms = 5;
    let registry = radiant_registry::Application::build(registry_config)
        .await
        .unwrap();

    let router_database = TestDatabase::create().await;
    let mut config = radiant_brain_router::config::embedded_defaults().unwrap();
    config.nats = test.nats_config();
    config.database = router_database.config.clone();
    config.invocation.first_token_timeout_ms = 60_000;
    config.invocation.retry_backoff_ms = 10;
    config.recording.linger_ms = 5;
    adjust(&mut config);
    let router = Application::build(config).await.unwrap();
    let bus = test.bus_client().with_timeout(Duration::from_secs(120));
    Platform {
        test,
        bus,
        registry: Some(registry),
        router: Some(router),
        proxy,
        tenant_id: Uuid::now_v7(),
        _databases: (registry_database, router_database),
    }
}

pub fn ask(model: &str, prompt: &str, max_tokens: u32) -> CompleteRequest {
    CompleteRequest {
        route: Some(RouteRequest {
            messages: vec![ChatMessage {
                role: "user".to_string(),
                content: prompt.to_string(),
            }],
            model: model.to_string(),
            max_output_tokens: max_tokens,
            source: "test".to_string(),
            ..Default::default()
        }),
        temperature: Some(0.0),
        ..Default::default()
    }
}

impl Platform {
    pub fn user(&self) -> RequestContext {
        RequestContext::for_tenant(self.tenant_id, "user-1")
            .with_deadline_in(Duration::from_secs(120))
    }

    pub fn admin(&self) -> RequestContext {
        self.user().with_roles(&["admin"])
    }

    pub async fn call<Request: prost::Message, Response: prost::Message + Default>(
        &self,
        context: &RequestContext,
        endpoint: &str,
        request: &Request,
    ) -> Result<Response, ServiceError> {
        self.bus
            .call(&BRAIN_ROUTER, endpoint, context, request)
            .await
            .map_err(|error| error.to_service_error())
    }

    /// Streams the answer: the decision, then every chunk until the last.
    pub async fn stream(
        &self,
        context: &RequestContext,
        mut request: CompleteRequest,
        cancel_after_deltas: Option<usize>,
    ) -> Result<Vec<StreamChunk>, ServiceError> {
        let nats = self.test.nats.clone();
        let subject = nats.new_inbox();
        let mut chunks = nats.subscribe(subject.clone()).await.unwrap();
        request.stream_subject = subject.clone();
        let _decision: radiant_proto::brain::RouteDecision =
            self.call(context, subjects::CHAT_STREAM, &request).await?;
        let mut received = Vec::new();
        let mut deltas = 0;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(120), chunks.next())
                .await
                .expect("a chunk within 120 s")
                .expect("the subscription stays open");
            let chunk: StreamChunk = prost::Message::decode(message.payload).unwrap();
            use radiant_proto::brain::stream_chunk::Chunk;
            let last = matches!(
                chunk.chunk,
                Some(Chunk::Finished(_)) | Some(Chunk::Failed(_))
            );
            if matches!(chunk.chunk, Some(Chunk::Delta(_))) {
                deltas += 1;
                if Some(deltas) == cancel_after_deltas {
                    nats.publish(format!("{subject}.cancel"), bytes::Bytes::new())
                        .await
                        .unwrap();
                }
            }
            received.push(chunk);
            if last {
                return Ok(received);
            }
        }
    }

    pub async fn stop(mut self) {
        if let Some(router) = self.router.take() {
            router.stop().await;
        }
        if let Some(registry) = self.registry.take() {
            registry.stop().await;
        }
    }
}
