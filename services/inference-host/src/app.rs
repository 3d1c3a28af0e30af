//! Builds the host from its configuration and serves it until asked to stop.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::InferenceHostConfig;
use crate::endpoints::Endpoints;
use crate::http::{self, AppState};
use crate::invoke::Host;

pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and declares the endpoints; no model is
    /// loaded until it is warmed or called.
    pub async fn build(config: InferenceHostConfig) -> anyhow::Result<Self> {
        config
            .validate()
            .map_err(|problem| anyhow::anyhow!("invalid configuration: {problem}"))?;
        let address = format!("{}:{}", config.http.host, config.http.port);
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("could not listen on {address}"))?;
        let models_dir = config.models_dir();
        tracing::info!(models_dir = %models_dir.display(), endpoints = config.endpoints.len(), "inference host configured");
        let state = Arc::new(AppState {
            host: Host {
                endpoints: Endpoints::new(&config.endpoints, models_dir),
                limits: config.limits.clone(),
            },
            max_body_bytes: config.http.max_body_bytes,
        });
        Ok(Self { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Serves until `shutdown` completes, unloading idle endpoints in the background.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let reaper = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(state.host.endpoints.reaper_interval());
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                state.host.endpoints.unload_idle();
            }
        });
        let served = axum::serve(self.listener, http::router(self.state))
            .with_graceful_shutdown(shutdown)
            .await;
        reaper.abort();
        served.context("the HTTP server failed")
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
