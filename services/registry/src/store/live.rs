//! Live-state history and projections: `health_observations` (every observation as it came),
//! `provider_health` (the current aggregate per provider and region), `thermal_states` (the
//! current state per self-hosted model) and `thermal_transitions` (every change).

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::events::ProviderHealthObserved;
use radiant_proto::registry::{ModelThermal, ProviderHealth};

use super::statement;
use crate::domain::health::{WindowFigures, WindowSample};

fn millis(time: Option<DateTime<Utc>>) -> i64 {
    time.map(|time| time.timestamp_millis()).unwrap_or(0)
}

fn time_of(milliseconds: i64) -> Option<DateTime<Utc>> {
    (milliseconds > 0)
        .then(|| DateTime::from_timestamp_millis(milliseconds))
        .flatten()
}

/// Appends a batch of observations in one statement; for each, whether it is new (a
/// redelivered one, known by its dedup key, is not recorded again).
pub async fn insert_observations(
    connection: &impl ConnectionTrait,
    observations: &[(String, ProviderHealthObserved)],
) -> Result<Vec<bool>, DbErr> {
    if observations.is_empty() {
        return Ok(Vec::new());
    }
    let column = |get: fn(&ProviderHealthObserved) -> String| -> Vec<String> {
        observations
            .iter()
            .map(|(_, observation)| get(observation))
            .collect()
    };
    let rows = connection
        .query_all_raw(statement(
            // a summary's latencies travel as one array literal each (unnest would flatten a
            // two-dimensional array); they are finite numbers, checked at the edge
            "INSERT INTO health_observations (dedup_key, provider_id, region, model_id, success, unconfigured, latency_ms, error, source, observed_at, \
               calls, latencies_ms, first_observed_at) \
             SELECT dedup_key, provider_id, region, model_id, success, unconfigured, latency_ms, error, source, to_timestamp(observed_at_ms / 1000.0), \
               calls, latencies::real[], CASE WHEN first_observed_at_ms > 0 THEN to_timestamp(first_observed_at_ms / 1000.0) END \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::bool[], $7::float8[], $8::text[], $9::text[], $10::int8[], \
                         $11::int4[], $12::text[], $13::int8[]) \
               AS batch (dedup_key, provider_id, region, model_id, success, unconfigured, latency_ms, error, source, observed_at_ms, \
                         calls, latencies, first_observed_at_ms) \
             ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key",
            [
                observations.iter().map(|(key, _)| key.clone()).collect::<Vec<String>>().into(),
                column(|observation| observation.provider_id.clone()).into(),
                column(|observation| observation.region.clone()).into(),
                column(|observation| observation.model_id.clone()).into(),
                observations.iter().map(|(_, observation)| observation.success).collect::<Vec<bool>>().into(),
                observations.iter().map(|(_, observation)| observation.unconfigured).collect::<Vec<bool>>().into(),
                observations.iter().map(|(_, observation)| observation.latency_ms).collect::<Vec<f64>>().into(),
                column(|observation| observation.error.clone()).into(),
                column(|observation| observation.source.clone()).into(),
                observations.iter().map(|(_, observation)| observation.observed_at_ms).collect::<Vec<i64>>().into(),
                observations
                    .iter()
                    .map(|(_, observation)| observation.calls.clamp(1, i32::MAX as u32) as i32)
                    .collect::<Vec<i32>>()
                    .into(),
                observations.iter().map(|(_, observation)| array_literal(&observation.latencies_ms)).collect::<Vec<String>>().into(),
                observations.iter().map(|(_, observation)| observation.first_observed_at_ms).collect::<Vec<i64>>().into(),
            ],
        ))
        .await?;
    let inserted: std::collections::HashSet<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", "dedup_key"))
        .collect::<Result<_, _>>()?;
    // a key twice in one batch: only its first occurrence is new
    let mut seen = std::collections::HashSet::new();
    Ok(observations
        .iter()
        .map(|(key, _)| inserted.contains(key) && seen.insert(key.clone()))
        .collect())
}

/// `{1.5,2}`: a PostgreSQL array literal of finite numbers.
fn array_literal(values: &[f32]) -> String {
    let mut literal = String::with_capacity(2 + values.len() * 8);
    literal.push('{');
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            literal.push(',');
        }
        literal.push_str(&value.to_string());
    }
    literal.push('}');
    literal
}

/// The current aggregate and the counters the next observation continues.
#[derive(Debug, Clone, Default)]
pub struct HealthRow {
    pub health: ProviderHealth,
    pub consecutive_failures: u32,
    pub unconfigured: bool,
}

const HEALTH_COLUMNS: &str = "provider_id, region, status, ewma_latency_ms, p95_latency_ms, p99_latency_ms, error_rate, success_rate, \
    observations, consecutive_failures, unconfigured, last_success_at, last_failure_at, last_error, observed_at";

fn health_from_row(row: &QueryResult) -> Result<HealthRow, DbErr> {
    Ok(HealthRow {
        health: ProviderHealth {
            provider_id: row.try_get("", "provider_id")?,
            region: row.try_get("", "region")?,
            status: row.try_get("", "status")?,
            ewma_latency_ms: row.try_get("", "ewma_latency_ms")?,
            p95_latency_ms: row.try_get("", "p95_latency_ms")?,
            p99_latency_ms: row.try_get("", "p99_latency_ms")?,
            error_rate: row.try_get("", "error_rate")?,
            success_rate: row.try_get("", "success_rate")?,
            observations: row.try_get::<i64>("", "observations")?.max(0) as u64,
            last_success_at_ms: millis(row.try_get("", "last_success_at")?),
            last_failure_at_ms: millis(row.try_get("", "last_failure_at")?),
            last_error: row.try_get("", "last_error")?,
            observed_at_ms: millis(Some(row.try_get("", "observed_at")?)),
            stale_after_ms: 0,
        },
        consecutive_failures: row.try_get::<i32>("", "consecutive_failures")?.max(0) as u32,
        unconfigured: row.try_get("", "unconfigured")?,
    })
}

/// The aggregates of `provider_ids` (sorted, distinct), locked until the transaction ends, in
/// that order, so two replicas' batches never deadlock. Missing rows are created empty first,
/// so replicas seeing a provider for the first time still take turns.
pub async fn lock_health_many(
    connection: &impl ConnectionTrait,
    provider_ids: &[String],
) -> Result<Vec<HealthRow>, DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO provider_health (provider_id, region, status, observed_at) \
             SELECT provider_id, 'global', 'unknown', to_timestamp(0) FROM unnest($1::text[]) AS batch (provider_id) \
             ORDER BY provider_id ON CONFLICT DO NOTHING",
            [provider_ids.to_vec().into()],
        ))
        .await?;
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "SELECT {HEALTH_COLUMNS} FROM provider_health WHERE provider_id = ANY($1) AND region = 'global' \
                 ORDER BY provider_id FOR UPDATE"
            ),
            [provider_ids.to_vec().into()],
        ))
        .await?;
    rows.iter().map(health_from_row).collect()
}

/// The window figures of each provider over its latest `size` configured calls (every
/// region): the newest rows until their calls reach `size` (a summary row stands for many
/// calls, the oldest one only for the calls the window still has room for), read in one
/// statement and weighed in `WindowFigures::from_weighted`.
pub async fn health_windows(
    connection: &impl ConnectionTrait,
    provider_ids: &[String],
    size: u32,
) -> Result<std::collections::HashMap<String, WindowFigures>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            // every row is at least one call, so the newest `size` rows always cover the window
            "SELECT batch.provider_id, latest.success, latest.calls, latest.calls_before, latest.latency_ms, \
               latest.latencies_ms::float8[] AS latencies_ms \
             FROM unnest($1::text[]) AS batch (provider_id) \
             CROSS JOIN LATERAL ( \
               SELECT recent.*, coalesce(sum(recent.calls) OVER (ORDER BY recent.observed_at DESC, recent.observation_id DESC \
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS calls_before \
               FROM (SELECT observation_id, observed_at, success, calls, latency_ms, latencies_ms FROM health_observations \
                 WHERE provider_id = batch.provider_id AND NOT unconfigured \
                 ORDER BY observed_at DESC, observation_id DESC LIMIT $2) AS recent \
             ) AS latest \
             WHERE latest.calls_before < $2",
            [provider_ids.to_vec().into(), i64::from(size).into()],
        ))
        .await?;
    let mut samples: std::collections::HashMap<String, Vec<WindowSample>> =
        std::collections::HashMap::with_capacity(provider_ids.len());
    for row in rows {
        let provider_id: String = row.try_get("", "provider_id")?;
        let success: bool = row.try_get("", "success")?;
        let calls = f64::from(row.try_get::<i32>("", "calls")?.max(1));
        let calls_before = row.try_get::<i64>("", "calls_before")?.max(0) as f64;
        // the oldest row counts only as far as the window reaches
        let calls_in_window = calls.min(f64::from(size) - calls_before).max(0.0);
        let latency_ms: f64 = row.try_get("", "latency_ms")?;
        let latencies_ms: Vec<f64> = row.try_get("", "latencies_ms")?;
        let entry = samples.entry(provider_id).or_default();
        if latencies_ms.is_empty() {
            entry.push(WindowSample {
                success,
                latency_ms,
                weight: calls_in_window,
            });
            continue;
        }
        let weight = calls_in_window / latencies_ms.len() as f64;
        entry.extend(latencies_ms.into_iter().map(|latency_ms| WindowSample {
            success,
            latency_ms,
            weight,
        }));
    }
    Ok(samples
        .into_iter()
        .map(|(provider_id, samples)| (provider_id, WindowFigures::from_weighted(samples)))
        .collect())
}

/// Writes locked aggregates back, in one statement.
pub async fn save_health_many(
    connection: &impl ConnectionTrait,
    rows: &[HealthRow],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let texts = |get: fn(&HealthRow) -> String| -> Vec<String> { rows.iter().map(get).collect() };
    let numbers = |get: fn(&HealthRow) -> f64| -> Vec<f64> { rows.iter().map(get).collect() };
    let integers = |get: fn(&HealthRow) -> i64| -> Vec<i64> { rows.iter().map(get).collect() };
    connection
        .execute_raw(statement(
            "UPDATE provider_health AS health SET status = batch.status, ewma_latency_ms = batch.ewma, p95_latency_ms = batch.p95, \
               p99_latency_ms = batch.p99, error_rate = batch.error_rate, success_rate = batch.success_rate, \
               observations = batch.observations, consecutive_failures = batch.failures::int, unconfigured = batch.unconfigured, \
               last_success_at = CASE WHEN batch.last_success > 0 THEN to_timestamp(batch.last_success / 1000.0) END, \
               last_failure_at = CASE WHEN batch.last_failure > 0 THEN to_timestamp(batch.last_failure / 1000.0) END, \
               last_error = batch.last_error, observed_at = to_timestamp(batch.observed_at / 1000.0), updated_at = now() \
             FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::int8[], \
                         $9::int8[], $10::bool[], $11::int8[], $12::int8[], $13::text[], $14::int8[]) \
               AS batch (provider_id, status, ewma, p95, p99, error_rate, success_rate, observations, failures, unconfigured, \
                         last_success, last_failure, last_error, observed_at) \
             WHERE health.provider_id = batch.provider_id AND health.region = 'global'",
            [
                texts(|row| row.health.provider_id.clone()).into(),
                texts(|row| row.health.status.clone()).into(),
                numbers(|row| row.health.ewma_latency_ms).into(),
                numbers(|row| row.health.p95_latency_ms).into(),
                numbers(|row| row.health.p99_latency_ms).into(),
                numbers(|row| row.health.error_rate).into(),
                numbers(|row| row.health.success_rate).into(),
                integers(|row| row.health.observations.min(i64::MAX as u64) as i64).into(),
                integers(|row| i64::from(row.consecutive_failures.min(i32::MAX as u32))).into(),
                rows.iter().map(|row| row.unconfigured).collect::<Vec<bool>>().into(),
                integers(|row| row.health.last_success_at_ms).into(),
                integers(|row| row.health.last_failure_at_ms).into(),
                texts(|row| row.health.last_error.clone()).into(),
                integers(|row| row.health.observed_at_ms.max(0)).into(),
            ],
        ))
        .await?;
    Ok(())
}

pub async fn all_health(connection: &impl ConnectionTrait) -> Result<Vec<ProviderHealth>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {HEALTH_COLUMNS} FROM provider_health ORDER BY provider_id, region"),
            [],
        ))
        .await?;
    rows.iter()
        .map(|row| health_from_row(row).map(|row| row.health))
        .collect()
}

const THERMAL_COLUMNS: &str =
    "model_id, mode, state, observed_state, warm_until, requests_per_minute, reason, observed_at";

fn thermal_from_row(row: &QueryResult) -> Result<ModelThermal, DbErr> {
    Ok(ModelThermal {
        model_id: row.try_get("", "model_id")?,
        mode: row.try_get("", "mode")?,
        state: row.try_get("", "state")?,
        observed_state: row.try_get("", "observed_state")?,
        endpoint_observed_at_ms: millis(row.try_get("", "endpoint_observed_at")?),
        warm_until_ms: millis(row.try_get("", "warm_until")?),
        requests_per_minute: row.try_get("", "requests_per_minute")?,
        reason: row.try_get("", "reason")?,
        observed_at_ms: millis(Some(row.try_get("", "observed_at")?)),
        stale_after_ms: 0,
    })
}

pub async fn lock_thermal(
    connection: &impl ConnectionTrait,
    model_id: &str,
) -> Result<Option<ModelThermal>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {THERMAL_COLUMNS} FROM thermal_states WHERE model_id = $1 FOR UPDATE"),
            [model_id.into()],
        ))
        .await?
        .map(|row| thermal_from_row(&row))
        .transpose()
}

pub async fn get_thermal(
    connection: &impl ConnectionTrait,
    model_id: &str,
) -> Result<Option<ModelThermal>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {THERMAL_COLUMNS} FROM thermal_states WHERE model_id = $1"),
            [model_id.into()],
        ))
        .await?
        .map(|row| thermal_from_row(&row))
        .transpose()
}

pub async fn save_thermal(
    connection: &impl ConnectionTrait,
    thermal: &ModelThermal,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO thermal_states (model_id, mode, state, warm_until, requests_per_minute, reason, observed_at, observed_state, endpoint_observed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (model_id) DO UPDATE SET mode = EXCLUDED.mode, state = EXCLUDED.state, \
               observed_state = EXCLUDED.observed_state, endpoint_observed_at = EXCLUDED.endpoint_observed_at, warm_until = EXCLUDED.warm_until, \
               requests_per_minute = EXCLUDED.requests_per_minute, reason = EXCLUDED.reason, observed_at = EXCLUDED.observed_at, \
               updated_at = now()",
            [
                thermal.model_id.clone().into(),
                thermal.mode.clone().into(),
                thermal.state.clone().into(),
                time_of(thermal.warm_until_ms).into(),
                thermal.requests_per_minute.into(),
                thermal.reason.clone().into(),
                time_of(thermal.observed_at_ms).unwrap_or_else(Utc::now).into(),
                thermal.observed_state.clone().into(),
                time_of(thermal.endpoint_observed_at_ms).into(),
            ],
        ))
        .await?;
    Ok(())
}

/// Creates the model's row if it has none (so first writers take turns on its lock).
pub async fn ensure_thermal(
    connection: &impl ConnectionTrait,
    model_id: &str,
    mode: &str,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO thermal_states (model_id, mode, state, observed_state, reason, observed_at) \
             VALUES ($1, $2, 'cold', 'cold', 'not yet observed', to_timestamp(0)) ON CONFLICT DO NOTHING",
            [model_id.into(), mode.into()],
        ))
        .await?;
    Ok(())
}

pub async fn record_transition(
    connection: &impl ConnectionTrait,
    model_id: &str,
    from_state: &str,
    to_state: &str,
    reason: &str,
    source: &str,
    at_ms: i64,
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "INSERT INTO thermal_transitions (model_id, from_state, to_state, reason, source, at) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                model_id.into(),
                from_state.into(),
                to_state.into(),
                reason.into(),
                source.into(),
                time_of(at_ms).unwrap_or_else(Utc::now).into(),
            ],
        ))
        .await?;
    Ok(())
}

pub async fn all_thermal(connection: &impl ConnectionTrait) -> Result<Vec<ModelThermal>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {THERMAL_COLUMNS} FROM thermal_states ORDER BY model_id"),
            [],
        ))
        .await?;
    rows.iter().map(thermal_from_row).collect()
}

/// Calls observed per self-hosted model over the last minute.
pub async fn requests_last_minute(
    connection: &impl ConnectionTrait,
) -> Result<Vec<(String, f64)>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT model_id, sum(calls)::float8 AS calls FROM health_observations \
             WHERE model_id <> '' AND observed_at > now() - interval '1 minute' GROUP BY model_id",
            [],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "model_id")?, row.try_get("", "calls")?)))
        .collect()
}
