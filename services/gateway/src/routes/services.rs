use axum::extract::{Path, State};
use radiant_proto::system::{ServiceInstance, ServiceStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Admin, ApiJson};
use crate::platform;
use crate::state::AppState;

/// The most services one batch status request may name.
const MAX_BATCH_SERVICES: usize = 16;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceInstanceView {
    pub name: String,
    pub id: String,
    pub version: String,
    pub description: String,
    pub endpoint_subjects: Vec<String>,
}

impl From<ServiceInstance> for ServiceInstanceView {
    fn from(instance: ServiceInstance) -> Self {
        Self {
            name: instance.name,
            id: instance.id,
            version: instance.version,
            description: instance.description,
            endpoint_subjects: instance.endpoint_subjects,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub instances: Vec<ServiceInstanceView>,
}

/// Every running service instance, from NATS micro discovery (`$SRV.INFO`). Admin only: it
/// shows internal subjects and instance ids.
#[utoipa::path(
    get,
    path = "/api/v1/admin/services",
    tag = "platform",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ServiceList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_services(
    State(state): State<AppState>,
    Admin(_context): Admin,
) -> Result<ApiJson<ServiceList>, ApiError> {
    let instances = platform::list_services(&state).await?;
    Ok(ApiJson(ServiceList {
        instances: instances.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceStatusView {
    pub service: String,
    pub version: String,
    pub instance_id: String,
    /// RFC 3339.
    pub started_at: Option<String>,
    pub uptime_seconds: u64,
    pub ready: bool,
    pub checks: Vec<DependencyCheckView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DependencyCheckView {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    pub latency_ms: u32,
}

impl From<ServiceStatus> for ServiceStatusView {
    fn from(status: ServiceStatus) -> Self {
        let started_at = status.started_at.and_then(|timestamp| {
            chrono::DateTime::from_timestamp(timestamp.seconds, timestamp.nanos.max(0) as u32)
                .map(|time| time.to_rfc3339())
        });
        Self {
            service: status.service,
            version: status.version,
            instance_id: status.instance_id,
            started_at,
            uptime_seconds: status.uptime_seconds,
            ready: status.ready,
            checks: status
                .checks
                .into_iter()
                .map(|check| DependencyCheckView {
                    name: check.name,
                    ok: check.ok,
                    detail: check.detail,
                    latency_ms: check.latency_ms,
                })
                .collect(),
        }
    }
}

/// One service's status, asked over NATS (`<prefix>.<service>.v1.system.status`).
#[utoipa::path(
    get,
    path = "/api/v1/admin/services/{name}/status",
    tag = "platform",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "service name, e.g. time-machine")),
    responses(
        (status = 200, body = ServiceStatusView),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such service"),
        (status = 503, body = ErrorBody, description = "the service is not running")
    )
)]
#[tracing::instrument(skip_all, fields(service = %name))]
pub async fn service_status(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(name): Path<String>,
) -> Result<ApiJson<ServiceStatusView>, ApiError> {
    let status = platform::service_status(&state, &context, &name).await?;
    Ok(ApiJson(status.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchStatusRequest {
    /// 1 to 16 service names.
    pub services: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchStatusResponse {
    pub results: Vec<BatchStatusEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchStatusEntry {
    pub service: String,
    pub status: Option<ServiceStatusView>,
    /// Why there is no status (unknown service, not running, ...).
    pub error: Option<String>,
}

/// The status of several services at once, asked concurrently.
#[utoipa::path(
    post,
    path = "/api/v1/admin/services/status",
    tag = "platform",
    security(("bearer" = [])),
    request_body = BatchStatusRequest,
    responses(
        (status = 200, body = BatchStatusResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn batch_status(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiJson(request): ApiJson<BatchStatusRequest>,
) -> Result<ApiJson<BatchStatusResponse>, ApiError> {
    if request.services.is_empty() || request.services.len() > MAX_BATCH_SERVICES {
        return Err(ApiError::invalid_argument(format!(
            "services: name between 1 and {MAX_BATCH_SERVICES} services"
        )));
    }
    let lookups = request.services.iter().map(|name| {
        let state = state.clone();
        let context = context.clone();
        async move {
            match platform::service_status(&state, &context, name).await {
                Ok(status) => BatchStatusEntry {
                    service: name.clone(),
                    status: Some(status.into()),
                    error: None,
                },
                Err(error) => BatchStatusEntry {
                    service: name.clone(),
                    status: None,
                    error: Some(error.to_string()),
                },
            }
        }
    });
    Ok(ApiJson(BatchStatusResponse {
        results: futures::future::join_all(lookups).await,
    }))
}
