//! The thermal sync: asks each locally served model's endpoint for its status through the
//! inference host's SageMaker-compatible API and publishes it as a `thermal_observed` event;
//! then runs the demand tick (HOT by requests per minute, scale to zero). Models on real
//! SageMaker endpoints would be described through the SageMaker API; none is reachable
//! here, so they are counted as not checked.

use std::time::Duration;

use radiant_bus::RequestContext;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::registry as subjects;
use radiant_proto::events::ModelThermalObserved;

use super::SyncOutcome;
use crate::domain::now_ms;
use crate::error::RegistryResult;
use crate::live::thermal::local_endpoint;
use crate::registry::Registry;

pub async fn run(registry: &Registry) -> RegistryResult<SyncOutcome> {
    let catalogue = registry.view.catalogue();
    let mut outcome = SyncOutcome::default();
    let subject = registry
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_THERMAL_OBSERVED);
    let timeout = Duration::from_millis(registry.config.sync.probe_timeout_ms);
    let mut local_models: Vec<(String, String)> = Vec::new();
    for model in &catalogue.models {
        if model.hosting == "self_hosted"
            && model.enabled
            && let Some(endpoint) = local_endpoint(model)
        {
            local_models.push((model.model_id.clone(), endpoint.to_string()));
        }
    }
    drop(catalogue);
    for (model_id, endpoint) in local_models {
        let endpoint = endpoint.as_str();
        outcome.checked += 1;
        let description = crate::inference_host::describe(
            &registry.http,
            &registry.config.catalogue.inference_host_url,
            endpoint,
            timeout,
        )
        .await;
        let (state, reason) = match description {
            Ok(description) => (
                description.thermal_state(),
                format!("endpoint {}", description.endpoint_status),
            ),
            Err(error) => {
                outcome.errors.push(format!("{}: {error}", model_id));
                ("off", format!("status unavailable: {error}"))
            }
        };
        let observed_at_ms = now_ms();
        let observation = ModelThermalObserved {
            model_id: model_id.clone(),
            state: state.to_string(),
            reason,
            observed_at_ms,
            source: "thermal-sync".to_string(),
            ..Default::default()
        };
        let message_id = format!("thermal-sync-{}-{observed_at_ms}", model_id);
        if let Err(error) = publish_message(
            &registry.jetstream,
            &subject,
            &message_id,
            &RequestContext::internal(),
            &observation,
        )
        .await
        {
            outcome
                .errors
                .push(format!("{}: not published: {error}", model_id));
        }
    }
    let summary = crate::live::thermal::tick(registry).await?;
    tracing::debug!(%summary, "thermal tick");
    Ok(outcome)
}
