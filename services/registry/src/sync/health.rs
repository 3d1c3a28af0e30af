//! The health sync: probes each provider that can be called and publishes what it saw as
//! `health_observed` events (the same path every other observation takes). A provider that
//! needs a key and has none is reported unconfigured without a call.

use std::time::{Duration, Instant};

use futures::StreamExt;
use radiant_bus::RequestContext;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::registry as subjects;
use radiant_proto::events::ProviderHealthObserved;
use radiant_proto::registry::Provider;

use super::SyncOutcome;
use crate::domain::now_ms;
use crate::error::RegistryResult;
use crate::registry::Registry;
use crate::store;

const PROBE_CONCURRENCY: usize = 16;

pub async fn run(registry: &Registry) -> RegistryResult<SyncOutcome> {
    let providers = store::providers::all(&registry.database).await?;
    let mut outcome = SyncOutcome::default();
    let enabled: Vec<Provider> = providers
        .into_iter()
        .filter(|provider| provider.enabled)
        .collect();
    let mut probes = futures::stream::iter(enabled)
        .map(|provider| async move { probe(registry, &provider).await })
        .buffer_unordered(PROBE_CONCURRENCY);
    let mut observations: Vec<ProviderHealthObserved> = Vec::new();
    while let Some(probed) = probes.next().await {
        match probed {
            Ok(observation) => observations.push(observation),
            // our own trouble (the database), not the provider's: no observation
            Err(problem) => outcome.errors.push(problem),
        }
    }
    drop(probes);
    let subject = registry
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_HEALTH_OBSERVED);
    for observation in observations {
        outcome.checked += 1;
        if !observation.success && !observation.unconfigured {
            outcome.errors.push(format!(
                "{}: {}",
                observation.provider_id, observation.error
            ));
        }
        let message_id = format!(
            "probe-{}-{}",
            observation.provider_id, observation.observed_at_ms
        );
        if let Err(error) = publish_message(
            &registry.jetstream,
            &subject,
            &message_id,
            &RequestContext::internal(),
            &observation,
        )
        .await
        {
            outcome.errors.push(format!(
                "{}: not published: {error}",
                observation.provider_id
            ));
        }
    }
    Ok(outcome)
}

async fn probe(registry: &Registry, provider: &Provider) -> Result<ProviderHealthObserved, String> {
    let mut observation = ProviderHealthObserved {
        provider_id: provider.provider_id.clone(),
        source: "probe".to_string(),
        ..Default::default()
    };
    let unconfigured = |mut observation: ProviderHealthObserved, reason: &str| {
        observation.unconfigured = true;
        observation.error = reason.to_string();
        observation.observed_at_ms = now_ms();
        observation
    };
    if provider.base_url.is_empty() || provider.api_kind == "catalogue" {
        return Ok(unconfigured(observation, "no API this registry can call"));
    }
    let api_key = if provider.requires_credential {
        match crate::handlers::credentials::resolve_key(
            registry,
            &provider.provider_id,
            "registry",
            "health probe",
            "",
        )
        .await
        {
            Ok(Some((key, _))) => Some(key),
            Ok(None) => return Ok(unconfigured(observation, "no credential stored")),
            Err(error) => {
                return Err(format!(
                    "{}: the credential could not be read: {}",
                    provider.provider_id,
                    radiant_bus::ServiceError::from(error).message
                ));
            }
        }
    } else {
        None
    };
    let base = provider.base_url.trim_end_matches('/');
    let timeout = Duration::from_millis(registry.config.sync.probe_timeout_ms);
    let request = match provider.api_kind.as_str() {
        "sagemaker" => registry.http.get(format!("{base}/ping")),
        "anthropic" => {
            let request = registry
                .http
                .get(format!("{base}/models"))
                .header("anthropic-version", "2023-06-01");
            match &api_key {
                Some(key) => request.header("x-api-key", key),
                None => request,
            }
        }
        _ => {
            let request = registry.http.get(format!("{base}/models"));
            match &api_key {
                Some(key) => request.bearer_auth(key),
                None => request,
            }
        }
    };
    let started = Instant::now();
    let response = request.timeout(timeout).send().await;
    observation.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    observation.observed_at_ms = now_ms();
    match response {
        Ok(response) if response.status().is_success() => observation.success = true,
        Ok(response) => {
            observation.error = format!("answered {}", response.status());
        }
        Err(error) if error.is_timeout() => {
            observation.error = format!("no answer within {} ms", timeout.as_millis())
        }
        Err(error) => observation.error = format!("unreachable: {error}"),
    }
    Ok(observation)
}
