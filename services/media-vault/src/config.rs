//! The media vault's configuration (see `config/default.toml` for every key and its default).

use std::time::Duration;

use radiant_bus::NatsConfig;
use radiant_config::{ConfigLoader, Secret};
use radiant_db::DatabaseConfig;
use radiant_telemetry::TelemetryConfig;
use serde::Deserialize;

pub const SERVICE_NAME: &str = "media-vault";
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");
/// S3's own bound on presigned URL lifetime.
const MAX_PRESIGNED_SECONDS: u64 = 7 * 24 * 3600;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE_BYTES: u64 = 5 * 1024 * 1024;
/// S3's largest part.
pub const MAX_PART_SIZE_BYTES: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
pub struct MediaVaultConfig {
    pub nats: NatsConfig,
    pub database: DatabaseConfig,
    pub s3: S3Config,
    pub limits: LimitsConfig,
    pub uploads: UploadsConfig,
    pub downloads: DownloadsConfig,
    pub variants: VariantsConfig,
    pub scrub: ScrubConfig,
    pub purge: PurgeConfig,
    pub service: ServiceConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumMode {
    WhenRequired,
    WhenSupported,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub force_path_style: bool,
    pub checksum_mode: ChecksumMode,
    pub key_prefix: String,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub small_file_max_bytes: u64,
    pub max_file_bytes: u64,
    pub default_part_size_bytes: u64,
    pub max_parts: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadsConfig {
    pub session_ttl_seconds: u64,
    pub sweep_interval_seconds: u64,
    pub idempotency_ttl_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadsConfig {
    pub default_expiry_seconds: u64,
    pub max_expiry_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantsConfig {
    pub enabled: bool,
    pub recipe_version: String,
    pub thumbnail_max_px: u32,
    pub display_max_px: u32,
    pub max_megapixels: u64,
    pub max_source_bytes: u64,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrubConfig {
    pub enabled: bool,
    pub interval_seconds: u64,
    pub fraction: f64,
    pub min_blobs_per_run: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeConfig {
    pub enabled: bool,
    pub erasure_role: String,
    pub interval_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub max_concurrent_requests: usize,
}

impl UploadsConfig {
    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_seconds)
    }
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(self.idempotency_ttl_seconds)
    }
}

/// The configuration for this process: embedded defaults, files, then the environment.
pub fn load() -> anyhow::Result<MediaVaultConfig> {
    let config: MediaVaultConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS).load()?;
    config.validate().map_err(|problem| {
        anyhow::anyhow!("invalid configuration for {SERVICE_NAME}: {problem}")
    })?;
    Ok(config)
}

/// The embedded defaults alone (tests adjust them).
pub fn embedded_defaults() -> anyhow::Result<MediaVaultConfig> {
    let config: MediaVaultConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS)
        .environment_variables(Default::default())
        .load()?;
    Ok(config)
}

impl MediaVaultConfig {
    /// Settings that would make the service misbehave rather than fail are refused at start.
    pub fn validate(&self) -> Result<(), String> {
        if self.s3.bucket.is_empty() {
            return Err("s3.bucket must be set".to_string());
        }
        let limits = &self.limits;
        if limits.default_part_size_bytes < MIN_PART_SIZE_BYTES
            || limits.default_part_size_bytes > MAX_PART_SIZE_BYTES
        {
            return Err(
                "limits.default_part_size_bytes must be between 5 MiB and 5 GiB".to_string(),
            );
        }
        if limits.max_parts == 0 || limits.max_parts > 10_000 {
            return Err("limits.max_parts must be between 1 and 10000".to_string());
        }
        if limits.small_file_max_bytes == 0 || limits.small_file_max_bytes > 4 * 1024 * 1024 {
            return Err("limits.small_file_max_bytes must be between 1 byte and 4 MiB".to_string());
        }
        let downloads = &self.downloads;
        if downloads.max_expiry_seconds == 0 || downloads.max_expiry_seconds > MAX_PRESIGNED_SECONDS
        {
            return Err("downloads.max_expiry_seconds must be between 1 s and 7 days".to_string());
        }
        if downloads.default_expiry_seconds == 0
            || downloads.default_expiry_seconds > downloads.max_expiry_seconds
        {
            return Err(
                "downloads.default_expiry_seconds must be between 1 s and max_expiry_seconds"
                    .to_string(),
            );
        }
        if self.uploads.session_ttl_seconds == 0
            || self.uploads.session_ttl_seconds > MAX_PRESIGNED_SECONDS
        {
            return Err("uploads.session_ttl_seconds must be between 1 s and 7 days".to_string());
        }
        if !(self.scrub.fraction > 0.0 && self.scrub.fraction <= 1.0) {
            return Err("scrub.fraction must be in (0, 1]".to_string());
        }
        if self.variants.thumbnail_max_px == 0 || self.variants.display_max_px == 0 {
            return Err("variants sizes must be positive".to_string());
        }
        if self.purge.erasure_role.is_empty() {
            return Err("purge.erasure_role must be set".to_string());
        }
        Ok(())
    }
}
