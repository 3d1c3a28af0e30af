//! The brain router's configuration (see `config/default.toml` for every key and its default).

use std::time::Duration;

use radiant_bus::NatsConfig;
use radiant_config::ConfigLoader;
use radiant_db::DatabaseConfig;
use radiant_telemetry::TelemetryConfig;
use serde::Deserialize;

pub const SERVICE_NAME: &str = "brain-router";
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct BrainRouterConfig {
    pub nats: NatsConfig,
    pub database: DatabaseConfig,
    pub limits: LimitsConfig,
    pub catalogue: CatalogueConfig,
    pub classifier: ClassifierConfig,
    pub invocation: InvocationConfig,
    pub warmup: WarmupConfig,
    pub recording: RecordingConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_messages: usize,
    pub max_prompt_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueConfig {
    pub refresh_interval_ms: u64,
    pub callable_api_kinds: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    pub embedding_model: String,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvocationConfig {
    pub attempts_per_model: u32,
    pub retry_backoff_ms: u64,
    pub first_token_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub total_timeout_ms: u64,
    pub max_output_tokens: u32,
    pub anthropic_version: String,
    pub sagemaker_region: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmupConfig {
    pub keep_warm_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingConfig {
    pub batch_max: usize,
    pub linger_ms: u64,
    pub queue: usize,
    /// Successful calls to one provider and model are reported to the registry as one
    /// summary per this interval (0: every call on its own); failures go at once.
    pub health_summary_interval_ms: u64,
}

impl InvocationConfig {
    pub fn first_token_timeout(&self) -> Duration {
        Duration::from_millis(self.first_token_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
    pub fn total_timeout(&self) -> Duration {
        Duration::from_millis(self.total_timeout_ms)
    }
}

/// The configuration for this process: embedded defaults, files, then the environment.
pub fn load() -> anyhow::Result<BrainRouterConfig> {
    let config: BrainRouterConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS).load()?;
    config.validate().map_err(|problem| {
        anyhow::anyhow!("invalid configuration for {SERVICE_NAME}: {problem}")
    })?;
    Ok(config)
}

/// The embedded defaults alone (tests adjust them).
pub fn embedded_defaults() -> anyhow::Result<BrainRouterConfig> {
    let config: BrainRouterConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS)
        .environment_variables(Default::default())
        .load()?;
    Ok(config)
}

impl BrainRouterConfig {
    /// Settings that would make the service misbehave rather than fail are refused at start.
    pub fn validate(&self) -> Result<(), String> {
        let invocation = &self.invocation;
        if invocation.attempts_per_model == 0 || invocation.attempts_per_model > 5 {
            return Err("invocation.attempts_per_model must be between 1 and 5".to_string());
        }
        if invocation.first_token_timeout_ms == 0
            || invocation.idle_timeout_ms == 0
            || invocation.total_timeout_ms == 0
        {
            return Err("invocation timeouts must be positive".to_string());
        }
        if invocation.max_output_tokens == 0 {
            return Err("invocation.max_output_tokens must be positive".to_string());
        }
        if self.limits.max_messages == 0 || self.limits.max_prompt_bytes == 0 {
            return Err("limits must be positive".to_string());
        }
        if self.recording.batch_max == 0 || self.recording.queue == 0 {
            return Err("recording.batch_max and recording.queue must be positive".to_string());
        }
        if self.recording.health_summary_interval_ms > 60_000 {
            // the registry must hear of a provider at work well within its staleness limit
            return Err("recording.health_summary_interval_ms must be at most 60000".to_string());
        }
        if self.catalogue.refresh_interval_ms == 0 {
            return Err("catalogue.refresh_interval_ms must be positive".to_string());
        }
        Ok(())
    }
}
