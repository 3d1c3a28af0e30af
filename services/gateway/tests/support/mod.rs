//! Spawns the real gateway on port 0 against the local stack, in a namespace of its own.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use radiant_bus::{RequestContext, ServiceHost, ServiceHostBuilder, ServiceName};
use radiant_config::ExposeSecret;
use radiant_gateway::Application;
use radiant_gateway::auth::{Audience, Claims, MintRequest, mint_token};
use radiant_gateway::config::GatewayConfig;
use radiant_testkit::TestNamespace;
use tokio::sync::oneshot;
use uuid::Uuid;

pub struct TestApp {
    pub base_url: String,
    pub grpc_port: u16,
    pub http: reqwest::Client,
    pub config: GatewayConfig,
    pub test: TestNamespace,
    pub tenant_id: Uuid,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut GatewayConfig)) -> TestApp {
    let test = TestNamespace::new().await;
    let mut config = radiant_gateway::config::defaults();
    config.http.port = 0;
    config.grpc.port = 0;
    config.nats = test.nats_config();
    customize(&mut config);
    let application = Application::build(config.clone())
        .await
        .expect("gateway starts");
    let base_url = format!("http://127.0.0.1:{}", application.http_port());
    let grpc_port = application.grpc_port();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        application
            .run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("gateway runs");
    });
    TestApp {
        base_url,
        grpc_port,
        http: reqwest::Client::new(),
        config,
        test,
        tenant_id: Uuid::new_v4(),
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A channel to the gateway's gRPC port.
    pub async fn grpc_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", self.grpc_port))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub fn token(&self, roles: &[&str]) -> String {
        mint_token(
            &self.config.auth,
            &MintRequest {
                subject: "alice".to_string(),
                tenant_id: self.tenant_id,
                tier: Some("pro".to_string()),
                roles: roles.iter().map(|role| role.to_string()).collect(),
                time_to_live: Duration::from_secs(300),
            },
        )
        .expect("token")
    }

    /// A token with arbitrary claims, signed with the gateway's HS256 secret.
    pub fn token_with_claims(&self, claims: &Claims) -> String {
        let secret = self
            .config
            .auth
            .hs256_secret
            .as_ref()
            .unwrap()
            .expose_secret()
            .to_string();
        jsonwebtoken::encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    pub fn claims(&self, expires_in_seconds: i64) -> Claims {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Claims {
            sub: "alice".to_string(),
            tenant_id: self.tenant_id.to_string(),
            tier: None,
            roles: vec![],
            exp: (now + expires_in_seconds) as u64,
            iat: now as u64,
            iss: Some(self.config.auth.issuer.clone()),
            aud: Some(Audience::One(self.config.auth.audience.clone())),
        }
    }

    /// Starts a kit service under a platform service's name in this app's namespace.
    pub async fn start_service(&self, service: ServiceName) -> ServiceHost {
        ServiceHostBuilder::new(
            self.test.nats.clone(),
            self.test.namespace.clone(),
            service,
            "0.9.0",
        )
        .health_check("database", || async { Ok("reachable".to_string()) })
        .start()
        .await
        .expect("service starts")
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

pub async fn error_body(response: reqwest::Response) -> (u16, String, serde_json::Value) {
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: serde_json::Value = response.json().await.expect("json error body");
    (status, request_id, body)
}

pub fn unused_context() -> RequestContext {
    RequestContext::internal()
}

/// A gRPC request carrying a bearer token.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}
