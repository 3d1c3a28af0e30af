//! The thermal manager: every change of a self-hosted model's thermal situation (an
//! observation of its endpoint, a warm-up request, an admin's mode, the periodic demand tick)
//! goes through [`apply`], which decides the state under the row's lock, records the
//! transition, projects it into the KV bucket, announces it, and asks the endpoint to load
//! when the decision says so.

use std::time::Duration;

use radiant_bus::RequestContext;
use radiant_bus::ServiceError;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::registry as subjects;
use radiant_db::sea_orm::TransactionTrait;
use radiant_proto::events::{ModelThermalChanged, ModelThermalObserved};
use radiant_proto::registry::{Model, ModelThermal};

use crate::domain::now_ms;
use crate::domain::thermal::{ThermalInputs, decide};
use crate::error::{RegistryError, RegistryResult};
use crate::registry::Registry;
use crate::store;

#[derive(Debug, Clone)]
pub enum Change<'a> {
    Observed {
        state: &'a str,
        observed_at_ms: i64,
        warm_until_ms: i64,
        source: &'a str,
    },
    WarmUp {
        keep_warm_seconds: u32,
        requested_by: &'a str,
    },
    SetMode {
        mode: &'a str,
        reason: &'a str,
        actor: &'a str,
        request_id: &'a str,
    },
    Demand {
        requests_per_minute: f64,
    },
}

/// The mode a model starts in: its configured default when that is a mode, else automatic.
fn default_mode(model: &Model) -> String {
    let default = model
        .self_hosted
        .as_ref()
        .map(|config| config.default_thermal_state.as_str())
        .unwrap_or("automatic");
    match default {
        "off" | "warm" | "hot" => default.to_string(),
        _ => "automatic".to_string(),
    }
}

/// The inference host endpoint of a locally served model.
pub fn local_endpoint(model: &Model) -> Option<&str> {
    let config = model.self_hosted.as_ref()?;
    (config.instance_type == "local" && !config.endpoint_name.is_empty())
        .then_some(config.endpoint_name.as_str())
}

pub async fn apply(
    registry: &Registry,
    model_id: &str,
    change: Change<'_>,
) -> RegistryResult<ModelThermal> {
    let now = now_ms();
    let transaction = registry.database.begin().await?;
    let Some(model) = store::models::get(&transaction, model_id).await? else {
        return Err(ServiceError::not_found(format!("no model {model_id}")).into());
    };
    if model.hosting != "self_hosted" {
        return Err(ServiceError::invalid_field(
            "model_id",
            "external models have no thermal state (their provider serves them)",
        )
        .into());
    }
    store::live::ensure_thermal(&transaction, model_id, &default_mode(&model)).await?;
    let before = store::live::lock_thermal(&transaction, model_id)
        .await?
        .ok_or_else(|| ServiceError::internal("thermal row vanished"))?;
    let mut thermal = before.clone();
    let mut source = "registry".to_string();
    match &change {
        Change::Observed {
            state,
            observed_at_ms,
            warm_until_ms,
            source: observed_by,
        } => {
            if *observed_at_ms <= thermal.endpoint_observed_at_ms {
                // late or repeated: history only; the projection is made good all the same
                transaction.commit().await?;
                project(registry, &thermal).await?;
                return Ok(thermal);
            }
            thermal.observed_state = state.to_string();
            thermal.endpoint_observed_at_ms = *observed_at_ms;
            thermal.warm_until_ms = thermal.warm_until_ms.max(*warm_until_ms);
            source = observed_by.to_string();
        }
        Change::WarmUp {
            keep_warm_seconds,
            requested_by,
        } => {
            thermal.warm_until_ms = thermal
                .warm_until_ms
                .max(now + i64::from(*keep_warm_seconds) * 1000);
            source = requested_by.to_string();
        }
        Change::SetMode { mode, actor, .. } => {
            thermal.mode = mode.to_string();
            source = actor.to_string();
        }
        Change::Demand {
            requests_per_minute,
        } => {
            thermal.requests_per_minute = *requests_per_minute;
        }
    }
    // the decision's own time orders the KV entries: strictly increasing per model
    thermal.observed_at_ms = now.max(before.observed_at_ms + 1);
    let decision = decide(&ThermalInputs {
        mode: &thermal.mode,
        observed: &thermal.observed_state,
        warm_until_ms: thermal.warm_until_ms,
        requests_per_minute: thermal.requests_per_minute,
        now_ms: now,
        hot_requests_per_minute: registry.config.thermal.hot_requests_per_minute,
    });
    thermal.state = decision.state.to_string();
    thermal.reason = match &change {
        Change::SetMode { reason, .. } if !reason.is_empty() => {
            format!("{}; {reason}", decision.reason)
        }
        _ => decision.reason.clone(),
    };
    store::live::save_thermal(&transaction, &thermal).await?;
    let transitioned = before.state != thermal.state;
    if transitioned {
        store::live::record_transition(
            &transaction,
            model_id,
            &before.state,
            &thermal.state,
            &thermal.reason,
            &source,
            now,
        )
        .await?;
    }
    if let Change::SetMode {
        mode,
        actor,
        request_id,
        ..
    } = &change
    {
        store::audit::record(
            &transaction,
            store::audit::NewAuditEntry {
                actor,
                entity_type: "thermal",
                entity_id: model_id,
                action: "set_mode",
                summary: format!("thermal mode of {model_id} set to {mode}"),
                before: Some(serde_json::to_value(&before)?),
                after: Some(serde_json::to_value(&thermal)?),
                request_id,
            },
        )
        .await?;
    }
    transaction.commit().await?;
    project(registry, &thermal).await?;
    if transitioned {
        crate::events::thermal_changed(
            registry,
            &ModelThermalChanged {
                model_id: model_id.to_string(),
                from_state: before.state.clone(),
                to_state: thermal.state.clone(),
                reason: thermal.reason.clone(),
                changed_at_ms: now,
            },
        )
        .await;
    }
    // an observation never triggers a warm-up itself: a failed one would observe "cold" and
    // ask again at once; warm-ups, modes and the periodic tick do
    if decision.warm_endpoint
        && !matches!(change, Change::Observed { .. })
        && let Some(endpoint) = local_endpoint(&model)
    {
        spawn_warm(registry, model_id, endpoint, thermal.warm_until_ms);
    }
    Ok(thermal)
}

async fn project(registry: &Registry, thermal: &ModelThermal) -> RegistryResult<()> {
    let mut entry = thermal.clone();
    entry.stale_after_ms = registry.stale_after_ms();
    let key = subjects::kv_key(subjects::THERMAL_KEY_PREFIX, &thermal.model_id);
    super::put_if_newer(&registry.live_bucket, &key, &entry, |entry| {
        entry.observed_at_ms
    })
    .await
    .map_err(RegistryError::from)
}

/// Loads a local endpoint in the background and reports what it then is, as an observation.
fn spawn_warm(registry: &Registry, model_id: &str, endpoint: &str, warm_until_ms: i64) {
    let http = registry.http.clone();
    let base_url = registry.config.catalogue.inference_host_url.clone();
    let jetstream = registry.jetstream.clone();
    let subject = registry
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_THERMAL_OBSERVED);
    let model_id = model_id.to_string();
    let endpoint = endpoint.to_string();
    tokio::spawn(async move {
        let outcome =
            crate::inference_host::warm(&http, &base_url, &endpoint, Duration::from_secs(120))
                .await;
        let (state, reason) = match outcome {
            Ok(()) => ("warm", "endpoint loaded".to_string()),
            Err(error) => {
                tracing::warn!(%error, %endpoint, "warm-up failed");
                ("cold", format!("warm-up failed: {error}"))
            }
        };
        let observed_at_ms = now_ms();
        let observation = ModelThermalObserved {
            model_id: model_id.clone(),
            state: state.to_string(),
            warm_until_ms,
            reason,
            observed_at_ms,
            source: "registry-warmup".to_string(),
        };
        let message_id = format!("warm-{model_id}-{observed_at_ms}");
        if let Err(error) = publish_message(
            &jetstream,
            &subject,
            &message_id,
            &RequestContext::internal(),
            &observation,
        )
        .await
        {
            tracing::warn!(%error, "warm-up outcome not published");
        }
    });
}

/// The demand tick: re-decides every tracked model with its calls over the last minute, so
/// busy models turn hot, quiet ones cool down and expired warm-ups scale to zero.
pub async fn tick(registry: &Registry) -> RegistryResult<String> {
    let demand: std::collections::HashMap<String, f64> =
        store::live::requests_last_minute(&registry.database)
            .await?
            .into_iter()
            .collect();
    let tracked = store::live::all_thermal(&registry.database).await?;
    let mut changed = 0;
    for thermal in tracked {
        let requests_per_minute = demand.get(&thermal.model_id).copied().unwrap_or(0.0);
        match apply(
            registry,
            &thermal.model_id,
            Change::Demand {
                requests_per_minute,
            },
        )
        .await
        {
            Ok(after) if after.state != thermal.state => changed += 1,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %ServiceError::from(error), model_id = %thermal.model_id, "thermal tick failed")
            }
        }
    }
    Ok(format!("{changed} thermal transitions"))
}

/// The durable consumer of `thermal_warmup_requested` events: services that cannot wait for a
/// reply (the visual pipeline queuing a job) ask for a warm model this way.
pub async fn start_warmup_consumer(
    registry: std::sync::Arc<Registry>,
) -> anyhow::Result<radiant_bus::jetstream::RunningConsumer> {
    use radiant_bus::jetstream::{ConsumerRunner, ConsumerSpec, JobError, JobMessage};
    let namespace = registry.namespace.clone();
    let mut spec = ConsumerSpec::new(
        &namespace.stream_name(subjects::EVENTS_STREAM),
        subjects::WARMUP_CONSUMER,
    );
    spec.filter_subjects =
        vec![namespace.event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_WARMUP_REQUESTED)];
    spec.concurrency = 8;
    let consumer = ConsumerRunner::start(
        registry.jetstream.clone(),
        namespace,
        spec,
        move |message: JobMessage| {
            let registry = registry.clone();
            async move {
                let request: radiant_proto::events::ThermalWarmupRequested = message.decode()?;
                crate::domain::validation::model_id("model_id", &request.model_id)
                    .map_err(|error| JobError::Reject(error.message))?;
                let limits = &registry.config.thermal;
                let keep_warm_seconds = match request.keep_warm_seconds {
                    0 => limits.default_keep_warm_seconds,
                    seconds => seconds.min(limits.max_keep_warm_seconds),
                };
                let requested_by = if request.requested_by.is_empty() {
                    "event".to_string()
                } else {
                    request.requested_by.chars().take(100).collect()
                };
                match apply(
                    &registry,
                    &request.model_id,
                    Change::WarmUp {
                        keep_warm_seconds,
                        requested_by: &requested_by,
                    },
                )
                .await
                {
                    Ok(_) => Ok(()),
                    Err(RegistryError::Service(error))
                        if error.status() == 404 || error.status() == 400 =>
                    {
                        Err(JobError::Reject(error.message))
                    }
                    Err(error) => Err(JobError::Retry(ServiceError::from(error).message)),
                }
            }
        },
    )
    .await?;
    Ok(consumer)
}
