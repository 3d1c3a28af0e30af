//! The registry's configuration (see `config/default.toml` for every key and its default).

use std::time::Duration;

use radiant_bus::NatsConfig;
use radiant_config::{ConfigLoader, Secret};
use radiant_db::DatabaseConfig;
use radiant_telemetry::TelemetryConfig;
use serde::Deserialize;

pub const SERVICE_NAME: &str = "registry";
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct RegistryConfig {
    pub nats: NatsConfig,
    pub database: DatabaseConfig,
    pub catalogue: CatalogueConfig,
    pub sync: SyncConfig,
    pub health: HealthConfig,
    pub thermal: ThermalConfig,
    pub live: LiveConfig,
    pub credentials: CredentialsConfig,
    pub service: ServiceConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueConfig {
    pub models_dev_file: String,
    pub inference_host_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    pub full_interval_seconds: u64,
    pub pricing_interval_seconds: u64,
    pub health_interval_seconds: u64,
    pub thermal_interval_seconds: u64,
    pub probe_timeout_ms: u64,
    pub import_at_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    pub window_observations: u32,
    pub ewma_alpha: f64,
    pub degraded_error_rate: f64,
    pub unhealthy_error_rate: f64,
    pub degraded_p95_latency_ms: f64,
    pub heartbeat_interval_seconds: u64,
    pub stale_after_heartbeats: u32,
    pub max_observation_age_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermalConfig {
    pub hot_requests_per_minute: f64,
    pub default_keep_warm_seconds: u32,
    pub max_keep_warm_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    pub batch_max: usize,
    pub batch_linger_ms: u64,
    pub consumer_concurrency: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsConfig {
    pub master_key: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub max_concurrent_requests: usize,
}

impl HealthConfig {
    /// How old an entry may be before readers count it as unknown.
    pub fn stale_after(&self) -> Duration {
        Duration::from_secs(
            self.heartbeat_interval_seconds * u64::from(self.stale_after_heartbeats),
        )
    }
}

/// The configuration for this process: embedded defaults, files, then the environment.
pub fn load() -> anyhow::Result<RegistryConfig> {
    let config: RegistryConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS).load()?;
    config.validate().map_err(|problem| {
        anyhow::anyhow!("invalid configuration for {SERVICE_NAME}: {problem}")
    })?;
    Ok(config)
}

/// The embedded defaults alone (tests adjust them).
pub fn embedded_defaults() -> anyhow::Result<RegistryConfig> {
    let config: RegistryConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS)
        .environment_variables(Default::default())
        .load()?;
    Ok(config)
}

impl RegistryConfig {
    /// Settings that would make the service misbehave rather than fail are refused at start.
    pub fn validate(&self) -> Result<(), String> {
        let health = &self.health;
        if health.window_observations == 0 || health.window_observations > 10_000 {
            return Err("health.window_observations must be between 1 and 10000".to_string());
        }
        if !(health.ewma_alpha > 0.0 && health.ewma_alpha <= 1.0) {
            return Err("health.ewma_alpha must be in (0, 1]".to_string());
        }
        if !(0.0..=1.0).contains(&health.degraded_error_rate)
            || !(0.0..=1.0).contains(&health.unhealthy_error_rate)
            || health.degraded_error_rate > health.unhealthy_error_rate
        {
            return Err(
                "health error-rate thresholds must be in [0, 1] with degraded <= unhealthy"
                    .to_string(),
            );
        }
        if health.heartbeat_interval_seconds == 0 || health.stale_after_heartbeats == 0 {
            return Err("health heartbeats must be positive".to_string());
        }
        if self.live.batch_max == 0 || self.live.consumer_concurrency == 0 {
            return Err(
                "live.batch_max and live.consumer_concurrency must be positive".to_string(),
            );
        }
        if self.thermal.default_keep_warm_seconds == 0
            || self.thermal.default_keep_warm_seconds > self.thermal.max_keep_warm_seconds
        {
            return Err(
                "thermal.default_keep_warm_seconds must be between 1 and max_keep_warm_seconds"
                    .to_string(),
            );
        }
        crate::crypto::MasterKey::from_config(&self.credentials.master_key)
            .map_err(|error| format!("credentials.master_key: {error}"))?;
        Ok(())
    }
}
