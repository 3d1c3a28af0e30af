//! The platform view both transports serve: which services run, and one service's status
//! (forwarded over NATS to its `system.status` endpoint).

use radiant_bus::discovery::{self, Verb};
use radiant_bus::subjects::{self, endpoints};
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::system::{ServiceInstance, ServiceStatus, StatusRequest};

use crate::state::AppState;

pub async fn list_services(state: &AppState) -> Result<Vec<ServiceInstance>, ServiceError> {
    let found = discovery::discover(
        state.bus.nats(),
        state.bus.namespace(),
        Verb::Info,
        None,
        state.config.discovery.window(),
    )
    .await
    .map_err(|error| ServiceError::unavailable(format!("service discovery failed: {error}")))?;
    Ok(found
        .into_iter()
        .map(|service| ServiceInstance {
            name: service.name,
            id: service.id,
            version: service.version,
            description: service.description,
            endpoint_subjects: service
                .endpoints
                .into_iter()
                .map(|endpoint| endpoint.subject)
                .collect(),
        })
        .collect())
}

pub async fn service_status(
    state: &AppState,
    context: &RequestContext,
    service_name: &str,
) -> Result<ServiceStatus, ServiceError> {
    let Some(service) = subjects::service_by_name(service_name) else {
        return Err(ServiceError::not_found(format!(
            "unknown service {service_name:?}"
        )));
    };
    Ok(state
        .bus
        .call(
            &service,
            endpoints::SYSTEM_STATUS,
            context,
            &StatusRequest {},
        )
        .await?)
}
