//! The NATS service kit every RADIANT service is built on.
//!
//! - [`service`]: NATS micro services (`$SRV.PING/INFO/STATS`, queue groups) whose endpoints are
//!   typed protobuf handlers, with request context, deadlines and trace context handled once.
//! - [`client`]: the caller side, turning error headers back into [`ServiceError`].
//! - [`jetstream`]: idempotent stream setup, deduplicated publishes, the durable consumer
//!   runner and the dead-letter mover.
//! - [`kv`]: KV buckets with protobuf values.
//! - [`periodic`]: work run every interval until cancelled.
//! - [`discovery`]: which services answer `$SRV.PING` / `$SRV.INFO`.
//! - [`subjects`]: every subject, stream and bucket name, in one place.

pub mod client;
pub mod config;
pub mod context;
pub mod discovery;
pub mod error;
pub mod jetstream;
pub mod kv;
pub mod periodic;
pub mod service;
pub mod subjects;

pub use client::BusClient;
pub use config::{NatsConfig, connect};
pub use context::RequestContext;
pub use error::{BusError, ErrorCode, ServiceError};
pub use periodic::every;
pub use service::{ServiceHost, ServiceHostBuilder};
pub use subjects::{Namespace, ServiceName};

/// Completes on SIGINT or SIGTERM (what Kubernetes and the local stack's stop command send).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
