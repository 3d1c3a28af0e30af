//! The live-state projector: a durable JetStream consumer of `health_observed` and
//! `thermal_observed`. Handlers hand each message to one batching task and wait for its
//! verdict, so a message is acked only after its batch is committed and projected; a malformed
//! one is rejected (dead-lettered) and never stops the consumer. Batching makes the database
//! work per observation small: one multi-row insert per batch and one aggregate update per
//! provider per batch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use radiant_bus::jetstream::{ConsumerRunner, ConsumerSpec, JobError, JobMessage, RunningConsumer};
use radiant_bus::subjects::registry as subjects;
use radiant_db::sea_orm::TransactionTrait;
use radiant_proto::events::{ModelThermalObserved, ProviderHealthObserved};
use radiant_proto::registry::ProviderHealth;
use tokio::sync::{mpsc, oneshot};

use crate::domain::{health, now_ms, validation, vocabulary};
use crate::error::RegistryError;
use crate::registry::{Registry, SharedRegistry};
use crate::store;

pub const GLOBAL_REGION: &str = "global";

/// KV writes of one batch in flight at once.
const KV_WRITES_IN_FLIGHT: usize = 32;

enum Observation {
    Health(ProviderHealthObserved),
    Thermal(ModelThermalObserved),
}

struct Pending {
    observation: Observation,
    /// Keeps a redelivered observation from being recorded twice.
    dedup_key: String,
    done: oneshot::Sender<Result<(), String>>,
}

/// Observations from further ahead than this are refused: one clock far in the future would
/// otherwise make every real observation "older" for good.
const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
/// 2001-09-09: anything earlier is not a unix time in milliseconds.
const MIN_OBSERVED_AT_MS: i64 = 1_000_000_000_000;

pub async fn start(registry: SharedRegistry) -> anyhow::Result<RunningConsumer> {
    let namespace = registry.namespace.clone();
    let mut spec = ConsumerSpec::new(
        &namespace.stream_name(subjects::EVENTS_STREAM),
        subjects::LIVE_STATE_CONSUMER,
    );
    spec.filter_subjects = vec![
        namespace.event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_HEALTH_OBSERVED),
        namespace.event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_THERMAL_OBSERVED),
    ];
    spec.concurrency = registry.config.live.consumer_concurrency;
    spec.retry.initial_delay = Duration::from_millis(200);
    spec.retry.max_delay = Duration::from_secs(30);
    let (sender, receiver) =
        mpsc::channel::<Pending>(registry.config.live.consumer_concurrency.max(1));
    tokio::spawn(run_batches(registry.clone(), receiver));
    let health_subject =
        namespace.event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_HEALTH_OBSERVED);
    let consumer = ConsumerRunner::start(
        registry.jetstream.clone(),
        namespace,
        spec,
        move |message: JobMessage| {
            let sender = sender.clone();
            let health_subject = health_subject.clone();
            async move {
                let observation = if message.subject == health_subject {
                    let observation: ProviderHealthObserved = message.decode()?;
                    check_health(&observation).map_err(JobError::Reject)?;
                    Observation::Health(observation)
                } else {
                    let observation: ModelThermalObserved = message.decode()?;
                    check_thermal(&observation).map_err(JobError::Reject)?;
                    Observation::Thermal(observation)
                };
                let dedup_key = match message.message_id() {
                    Some(message_id) => format!("id:{message_id}"),
                    None => format!("seq:{}", message.stream_sequence),
                };
                let (done, verdict) = oneshot::channel();
                sender
                    .send(Pending {
                        observation,
                        dedup_key,
                        done,
                    })
                    .await
                    .map_err(|_| JobError::Retry("projector stopped".to_string()))?;
                match verdict.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(JobError::Retry(error)),
                    Err(_) => Err(JobError::Retry("projector stopped".to_string())),
                }
            }
        },
    )
    .await?;
    Ok(consumer)
}

fn check_time(observed_at_ms: i64) -> Result<(), String> {
    if observed_at_ms < MIN_OBSERVED_AT_MS {
        return Err("observed_at_ms must be a unix time in milliseconds".to_string());
    }
    if observed_at_ms > now_ms() + MAX_CLOCK_SKEW_MS {
        return Err("observed_at_ms is more than five minutes in the future".to_string());
    }
    Ok(())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("{field} is longer than {max} bytes"));
    }
    if value.contains('\0') {
        return Err(format!("{field} holds a NUL character"));
    }
    Ok(())
}

fn check_health(observation: &ProviderHealthObserved) -> Result<(), String> {
    validation::provider_id("provider_id", &observation.provider_id)
        .map_err(|error| error.message)?;
    if !observation.model_id.is_empty() {
        validation::model_id("model_id", &observation.model_id).map_err(|error| error.message)?;
    }
    check_time(observation.observed_at_ms)?;
    if !observation.latency_ms.is_finite() || !(0.0..=3_600_000.0).contains(&observation.latency_ms)
    {
        return Err("latency_ms must be a number between 0 and 3600000".to_string());
    }
    check_text("error", &observation.error, 2000)?;
    check_text("source", &observation.source, 100)?;
    check_text("region", &observation.region, 50)?;
    check_summary(observation)
}

/// Latencies a summary may carry.
const MAX_SUMMARY_LATENCIES: usize = 1024;

fn check_summary(observation: &ProviderHealthObserved) -> Result<(), String> {
    if observation.calls <= 1 {
        if !observation.latencies_ms.is_empty() || observation.first_observed_at_ms != 0 {
            return Err(
                "latencies_ms and first_observed_at_ms belong to summaries (calls > 1)".to_string(),
            );
        }
        return Ok(());
    }
    if !observation.success || observation.unconfigured {
        return Err("only successful calls are summarised (calls > 1)".to_string());
    }
    let most = (observation.calls as usize).min(MAX_SUMMARY_LATENCIES);
    if observation.latencies_ms.len() > most {
        return Err(format!(
            "a summary carries at most {most} latencies (min of calls and {MAX_SUMMARY_LATENCIES})"
        ));
    }
    if observation
        .latencies_ms
        .iter()
        .any(|latency| !latency.is_finite() || !(0.0..=3_600_000.0).contains(latency))
    {
        return Err("latencies_ms must be numbers between 0 and 3600000".to_string());
    }
    check_time(observation.first_observed_at_ms)?;
    if observation.first_observed_at_ms > observation.observed_at_ms {
        return Err("first_observed_at_ms is after observed_at_ms".to_string());
    }
    Ok(())
}

fn check_thermal(observation: &ModelThermalObserved) -> Result<(), String> {
    validation::model_id("model_id", &observation.model_id).map_err(|error| error.message)?;
    if !vocabulary::is_one_of(&observation.state, vocabulary::THERMAL_STATES) {
        return Err(format!(
            "state \"{}\" is not one of off, cold, warm, hot",
            observation.state
        ));
    }
    check_time(observation.observed_at_ms)?;
    if observation.warm_until_ms < 0 || observation.warm_until_ms > now_ms() + 7 * 24 * 3_600_000 {
        return Err("warm_until_ms must be within a week".to_string());
    }
    check_text("reason", &observation.reason, 2000)?;
    check_text("source", &observation.source, 100)
}

async fn run_batches(registry: SharedRegistry, mut receiver: mpsc::Receiver<Pending>) {
    let batch_max = registry.config.live.batch_max;
    let linger = Duration::from_millis(registry.config.live.batch_linger_ms);
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + linger;
        while batch.len() < batch_max {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(pending)) => batch.push(pending),
                    _ => break,
                },
            }
        }
        let mut health_batch = Vec::new();
        let mut thermal_batch = Vec::new();
        let mut health_waiters = Vec::new();
        let mut thermal_waiters = Vec::new();
        for pending in batch {
            match pending.observation {
                Observation::Health(observation) => {
                    health_batch.push((pending.dedup_key, observation));
                    health_waiters.push(pending.done);
                }
                Observation::Thermal(observation) => {
                    thermal_batch.push(observation);
                    thermal_waiters.push(pending.done);
                }
            }
        }
        if !health_batch.is_empty() {
            let verdict = project_health(&registry, health_batch)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "health batch failed; will be redelivered");
                    error.to_string()
                });
            for waiter in health_waiters {
                let _ = waiter.send(verdict.clone());
            }
        }
        if !thermal_batch.is_empty() {
            let verdict = project_thermal(&registry, thermal_batch)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "thermal batch failed; will be redelivered");
                    error.to_string()
                });
            for waiter in thermal_waiters {
                let _ = waiter.send(verdict.clone());
            }
        }
    }
}

/// Records the batch (a redelivered observation once) and updates each provider's aggregate
/// with the observations newer than what it holds, in the order they were made; then projects
/// every provider of the batch into the bucket, changed or not, so a projection lost after an
/// earlier commit is made good by the redelivery.
pub async fn project_health(
    registry: &Registry,
    mut observations: Vec<(String, ProviderHealthObserved)>,
) -> anyhow::Result<()> {
    let now = now_ms();
    let max_age_ms = (registry.config.health.max_observation_age_seconds * 1000) as i64;
    for (_, observation) in &mut observations {
        if observation.region.is_empty() {
            observation.region = GLOBAL_REGION.to_string();
        }
    }
    let config = &registry.config.health;
    let transaction = registry.database.begin().await?;
    let fresh = store::live::insert_observations(&transaction, &observations).await?;
    let mut by_provider: BTreeMap<String, Vec<&ProviderHealthObserved>> = BTreeMap::new();
    // (a BTreeMap: the provider ids come out sorted, the order rows are locked in)
    for ((_, observation), is_new) in observations.iter().zip(fresh) {
        let entry = by_provider
            .entry(observation.provider_id.clone())
            .or_default();
        // a repeat, or too old to say anything about now: history only
        if is_new && now.saturating_sub(observation.observed_at_ms) <= max_age_ms {
            entry.push(observation);
        }
    }
    // every provider of the batch is locked at once, in id order (no deadlock between
    // replicas), then updated with its newer observations
    let provider_ids: Vec<String> = by_provider.keys().cloned().collect();
    let mut rows = store::live::lock_health_many(&transaction, &provider_ids).await?;
    let mut changed_ids = Vec::new();
    for row in &mut rows {
        let Some(list) = by_provider.get_mut(&row.health.provider_id) else {
            continue;
        };
        list.sort_by_key(|observation| observation.observed_at_ms);
        let mut changed = false;
        for observation in list.iter() {
            // older than what the aggregate holds: history only (a redelivered one never gets
            // here, its dedup key is known; two calls ending in the same millisecond both count)
            if observation.observed_at_ms < row.health.observed_at_ms {
                continue;
            }
            changed = true;
            let calls = observation.calls.max(1);
            let health = &mut row.health;
            health.observed_at_ms = observation.observed_at_ms;
            health.observations += u64::from(calls);
            row.unconfigured = observation.unconfigured;
            if observation.unconfigured {
                health.last_error = observation.error.clone();
                continue;
            }
            if observation.success {
                health.ewma_latency_ms = health::ewma_of_calls(
                    Some(health.ewma_latency_ms),
                    observation.latency_ms,
                    calls,
                    config.ewma_alpha,
                );
                health.last_success_at_ms = observation.observed_at_ms;
                row.consecutive_failures = 0;
            } else {
                health.last_failure_at_ms = observation.observed_at_ms;
                health.last_error = observation.error.clone();
                row.consecutive_failures += 1;
            }
        }
        if changed {
            changed_ids.push(row.health.provider_id.clone());
        }
    }
    let windows =
        store::live::health_windows(&transaction, &changed_ids, config.window_observations).await?;
    let changed_ids: std::collections::HashSet<String> = changed_ids.into_iter().collect();
    let mut changed_rows = Vec::with_capacity(changed_ids.len());
    for row in &mut rows {
        if !changed_ids.contains(&row.health.provider_id) {
            continue;
        }
        let figures = windows
            .get(&row.health.provider_id)
            .cloned()
            .unwrap_or_default();
        let health = &mut row.health;
        health.p95_latency_ms = figures.p95_latency_ms;
        health.p99_latency_ms = figures.p99_latency_ms;
        health.error_rate = figures.error_rate;
        health.success_rate = figures.success_rate;
        health.status =
            health::status(config, &figures, row.consecutive_failures, row.unconfigured)
                .to_string();
        changed_rows.push(row.clone());
    }
    store::live::save_health_many(&transaction, &changed_rows).await?;
    transaction.commit().await?;
    // every provider of the batch, changed or not: a projection an earlier attempt lost after
    // its commit is made good by the redelivery
    let stale_after_ms = registry.stale_after_ms();
    let projections = rows
        .into_iter()
        .filter(|row| row.health.observed_at_ms > 0)
        .map(|row| {
            let mut entry = row.health;
            entry.stale_after_ms = stale_after_ms;
            entry
        });
    let mut writes = futures::stream::iter(projections)
        .map(|entry| async move {
            let key = subjects::kv_key(subjects::HEALTH_KEY_PREFIX, &entry.provider_id);
            // two observations of one millisecond both count: the later state has more
            super::put_if_newer(&registry.live_bucket, &key, &entry, |health| {
                (health.observed_at_ms, health.observations)
            })
            .await
        })
        .buffer_unordered(KV_WRITES_IN_FLIGHT);
    while let Some(written) = writes.next().await {
        written?;
    }
    Ok(())
}

/// Applies each model's newest observation through the thermal manager.
pub async fn project_thermal(
    registry: &Registry,
    observations: Vec<ModelThermalObserved>,
) -> anyhow::Result<()> {
    let mut newest: BTreeMap<String, ModelThermalObserved> = BTreeMap::new();
    for observation in observations {
        match newest.get(&observation.model_id) {
            Some(current) if current.observed_at_ms >= observation.observed_at_ms => {}
            _ => {
                newest.insert(observation.model_id.clone(), observation);
            }
        }
    }
    for (_, observation) in newest {
        let applied = super::thermal::apply(
            registry,
            &observation.model_id,
            super::thermal::Change::Observed {
                state: &observation.state,
                observed_at_ms: observation.observed_at_ms,
                warm_until_ms: observation.warm_until_ms,
                source: &observation.source,
            },
        )
        .await;
        match applied {
            Ok(_) => {}
            // about a model the registry does not have, or one without thermal state: nothing
            // to project, and retrying would not change that
            Err(RegistryError::Service(error))
                if error.status() == 404 || error.status() == 400 =>
            {
                tracing::warn!(model_id = %observation.model_id, %error, "thermal observation ignored");
            }
            Err(error) => {
                return Err(anyhow::anyhow!(
                    radiant_bus::ServiceError::from(error).message
                ));
            }
        }
    }
    Ok(())
}

/// Shared for tests and the bench: the live state projected for a provider, from the bucket.
pub async fn health_entry(registry: &Arc<Registry>, provider_id: &str) -> Option<ProviderHealth> {
    let key = subjects::kv_key(subjects::HEALTH_KEY_PREFIX, provider_id);
    registry
        .live_bucket
        .get::<ProviderHealth>(&key)
        .await
        .ok()
        .flatten()
        .map(|(entry, _)| entry)
}
