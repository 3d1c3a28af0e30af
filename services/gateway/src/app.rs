//! Wiring: connect to NATS, register the gateway as a service, bind both ports, serve until
//! the shutdown signal.

use std::future::Future;
use std::sync::Arc;

use radiant_bus::{BusClient, ServiceHost, ServiceHostBuilder, subjects};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;
use crate::config::GatewayConfig;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Nats(#[from] radiant_bus::config::ConnectError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error(transparent)]
    Service(#[from] radiant_bus::service::ServiceStartError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(String),
}

pub struct Application {
    http_listener: TcpListener,
    grpc_listener: TcpListener,
    http_port: u16,
    grpc_port: u16,
    router: axum::Router,
    grpc_routes: tonic::service::Routes,
    service_host: ServiceHost,
}

impl Application {
    pub async fn build(config: GatewayConfig) -> Result<Self, StartError> {
        // reqwest (JWKS) and the AWS SDKs use aws-lc-rs, async-nats ring: name the process default
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

        let nats = radiant_bus::connect(&config.nats, subjects::GATEWAY.name()).await?;
        let namespace = config.nats.namespace();
        let bus = BusClient::new(
            nats.clone(),
            namespace.clone(),
            config.nats.request_timeout(),
        );
        let authenticator = Arc::new(Authenticator::from_config(&config.auth).await?);
        let state = AppState {
            bus,
            authenticator,
            config: Arc::new(config.clone()),
            http_client: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .build()
                .map_err(|error| StartError::Serve(format!("http client: {error}")))?,
        };

        let health_nats = nats.clone();
        let service_host = ServiceHostBuilder::new(
            nats,
            namespace,
            subjects::GATEWAY,
            env!("CARGO_PKG_VERSION"),
        )
        .description("http/json and grpc door of the platform")
        .max_concurrent_requests(config.nats.max_concurrent_requests)
        .health_check("nats", move || {
            let nats = health_nats.clone();
            async move {
                match nats.connection_state() {
                    async_nats::connection::State::Connected => Ok("connected".to_string()),
                    other => Err(other.to_string()),
                }
            }
        })
        .start()
        .await?;

        let bind = |address| async move {
            TcpListener::bind(address)
                .await
                .map_err(|source| StartError::Bind { address, source })
        };
        let http_listener = bind(config.http.address()).await?;
        let grpc_listener = bind(config.grpc.address()).await?;
        let http_port = http_listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0);
        let grpc_port = grpc_listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0);

        Ok(Self {
            router: crate::routes::router(state.clone()),
            grpc_routes: crate::grpc::routes(state).await,
            http_listener,
            grpc_listener,
            http_port,
            grpc_port,
            service_host,
        })
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// Serves both ports until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            trigger.cancel();
        });

        let http = axum::serve(self.http_listener, self.router)
            .with_graceful_shutdown(stop.clone().cancelled_owned());
        let grpc = tonic::transport::Server::builder()
            .add_routes(self.grpc_routes)
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(self.grpc_listener),
                stop.clone().cancelled_owned(),
            );
        let (http_result, grpc_result) = tokio::join!(http, grpc);
        self.service_host.stop().await;
        http_result.map_err(|error| StartError::Serve(format!("http: {error}")))?;
        grpc_result.map_err(|error| StartError::Serve(format!("grpc: {error}")))?;
        Ok(())
    }
}
