//! The time machine's configuration (see `config/default.toml` for every key and its default).

use radiant_bus::NatsConfig;
use radiant_config::{ConfigLoader, ExposeSecret, Secret};
use radiant_db::DatabaseConfig;
use radiant_telemetry::TelemetryConfig;
use serde::Deserialize;

pub const SERVICE_NAME: &str = "time-machine";
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");
/// The embedded development key of AI restore confirmations: refused outside `local`.
const DEVELOPMENT_CONFIRMATION_KEY: &str =
    "radiant-local-confirmation-key-do-not-use-in-production";

#[derive(Debug, Clone, Deserialize)]
pub struct TimeMachineConfig {
    pub nats: NatsConfig,
    pub database: DatabaseConfig,
    pub limits: LimitsConfig,
    pub views: ViewsConfig,
    pub search: SearchConfig,
    pub files: FilesConfig,
    pub exports: ExportsConfig,
    pub events: EventsConfig,
    pub ai: AiConfig,
    pub service: ServiceConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_content_bytes: usize,
    pub max_parts: usize,
    pub max_parts_bytes: usize,
    pub max_title_chars: usize,
    pub max_reason_chars: usize,
    pub max_description_chars: usize,
    pub max_query_chars: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewsConfig {
    pub default_page_size: u32,
    pub max_page_size: u32,
    pub default_message_limit: u32,
    pub max_message_limit: u32,
    pub default_timeline_page_size: u32,
    pub max_timeline_page_size: u32,
    pub default_chat_list_limit: u32,
    pub max_chat_list_limit: u32,
    /// A page of an as-of view ends before its reply passes this size (NATS messages are at
    /// most 2 MiB on this platform).
    pub max_page_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    pub default_limit: u32,
    pub max_limit: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    pub max_extracted_text_bytes: usize,
    pub max_upload_bytes: usize,
    pub default_download_expiry_seconds: u32,
    pub max_download_expiry_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportsConfig {
    pub enabled: bool,
    pub ttl_seconds: u64,
    pub max_media_bytes: u64,
    pub part_size_bytes: u64,
    pub concurrency: usize,
    pub max_deliver: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    pub relay_interval_seconds: u64,
    pub relay_grace_seconds: u64,
    pub relay_batch: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiConfig {
    /// Signs restore confirmations (HMAC-SHA256), so an assistant cannot confirm a restore it
    /// never asked about; the same on every replica.
    pub confirmation_key: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub max_concurrent_requests: usize,
}

/// The configuration for this process: embedded defaults, files, then the environment.
pub fn load() -> anyhow::Result<TimeMachineConfig> {
    let loader = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS);
    let config: TimeMachineConfig = loader.load()?;
    let key = config.ai.confirmation_key.expose_secret();
    if loader.resolved_environment_name() != "local" && key == DEVELOPMENT_CONFIRMATION_KEY {
        anyhow::bail!(
            "invalid configuration for {SERVICE_NAME}: the embedded development ai.confirmation_key is only allowed in the local environment"
        );
    }
    config.validate().map_err(|problem| {
        anyhow::anyhow!("invalid configuration for {SERVICE_NAME}: {problem}")
    })?;
    Ok(config)
}

/// The embedded defaults alone (tests adjust them).
pub fn embedded_defaults() -> anyhow::Result<TimeMachineConfig> {
    let config: TimeMachineConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS)
        .environment_variables(Default::default())
        .load()?;
    Ok(config)
}

impl TimeMachineConfig {
    /// Settings that would make the service misbehave rather than fail are refused at start.
    pub fn validate(&self) -> Result<(), String> {
        let limits = &self.limits;
        // a message must fit in one NATS request (2 MiB) with its parts and framing
        if limits.max_content_bytes == 0 || limits.max_content_bytes > 1024 * 1024 {
            return Err("limits.max_content_bytes must be between 1 byte and 1 MiB".to_string());
        }
        if limits.max_parts_bytes > 512 * 1024 {
            return Err("limits.max_parts_bytes must be at most 512 KiB".to_string());
        }
        let views = &self.views;
        for (name, default, max) in [
            ("page_size", views.default_page_size, views.max_page_size),
            (
                "message_limit",
                views.default_message_limit,
                views.max_message_limit,
            ),
            (
                "timeline_page_size",
                views.default_timeline_page_size,
                views.max_timeline_page_size,
            ),
            (
                "chat_list_limit",
                views.default_chat_list_limit,
                views.max_chat_list_limit,
            ),
        ] {
            if default == 0 || default > max {
                return Err(format!(
                    "views.default_{name} must be between 1 and views.max_{name}"
                ));
            }
        }
        if views.max_page_bytes < 64 * 1024 || views.max_page_bytes > 1536 * 1024 {
            return Err("views.max_page_bytes must be between 64 KiB and 1.5 MiB".to_string());
        }
        if self.search.default_limit == 0 || self.search.default_limit > self.search.max_limit {
            return Err("search.default_limit must be between 1 and search.max_limit".to_string());
        }
        let files = &self.files;
        if files.default_download_expiry_seconds == 0
            || files.default_download_expiry_seconds > files.max_download_expiry_seconds
            || files.max_download_expiry_seconds > 7 * 24 * 3600
        {
            return Err(
                "files download expiries must be between 1 s and 7 days, default within max"
                    .to_string(),
            );
        }
        if self.exports.ttl_seconds == 0 || self.exports.ttl_seconds > 7 * 24 * 3600 {
            // presigned URLs live at most 7 days, so a bundle cannot outlive that either
            return Err("exports.ttl_seconds must be between 1 s and 7 days".to_string());
        }
        if self.exports.part_size_bytes < 5 * 1024 * 1024 {
            return Err(
                "exports.part_size_bytes must be at least 5 MiB (S3's minimum)".to_string(),
            );
        }
        if self.exports.concurrency == 0 {
            return Err("exports.concurrency must be at least 1".to_string());
        }
        if self.ai.confirmation_key.expose_secret().len() < 32 {
            return Err("ai.confirmation_key must be at least 32 bytes".to_string());
        }
        if self.events.relay_interval_seconds == 0 || self.events.relay_batch == 0 {
            return Err(
                "events.relay_interval_seconds and relay_batch must be positive".to_string(),
            );
        }
        Ok(())
    }
}
