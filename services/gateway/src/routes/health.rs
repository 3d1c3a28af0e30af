use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use radiant_bus::discovery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub checks: Vec<ReadinessCheck>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Readiness: NATS is connected and every required service answers `$SRV.PING`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness))
)]
#[tracing::instrument(skip_all)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let nats = state.bus.nats();
    let connection_state = nats.connection_state();
    let nats_ok = connection_state == async_nats::connection::State::Connected;
    let mut checks = vec![ReadinessCheck {
        name: "nats".to_string(),
        ok: nats_ok,
        detail: connection_state.to_string(),
    }];
    let probes = state
        .config
        .readiness
        .required_services
        .iter()
        .map(|service| {
            let state = state.clone();
            async move {
                let answering = discovery::is_answering(
                    state.bus.nats(),
                    state.bus.namespace(),
                    service,
                    state.config.readiness.probe_timeout(),
                )
                .await;
                ReadinessCheck {
                    name: format!("service:{service}"),
                    ok: answering,
                    detail: if answering {
                        "answers $SRV.PING"
                    } else {
                        "no instance answers $SRV.PING"
                    }
                    .to_string(),
                }
            }
        });
    checks.extend(futures::future::join_all(probes).await);
    let ready = checks.iter().all(|check| check.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks,
    };
    (status, Json(body))
}
