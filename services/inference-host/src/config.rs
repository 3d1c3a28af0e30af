//! The inference host's configuration (see `config/default.toml` for every key and its default).

use std::path::PathBuf;
use std::time::Duration;

use radiant_config::ConfigLoader;
use radiant_telemetry::TelemetryConfig;
use serde::Deserialize;

pub const SERVICE_NAME: &str = "inference-host";
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");
/// One hour: SageMaker's own invocation limits are far below it.
const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// A week.
const MAX_IDLE_UNLOAD_SECONDS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Deserialize)]
pub struct InferenceHostConfig {
    pub http: HttpConfig,
    pub models: ModelsConfig,
    pub limits: LimitsConfig,
    pub endpoints: Vec<EndpointConfig>,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub host: String,
    pub port: u16,
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    pub dir: PathBuf,
    pub threads: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_image_megapixels: u64,
    pub max_embedding_batch: usize,
    pub max_completion_tokens: usize,
}

/// What computes an endpoint's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    ChatLlm,
    Embedding,
    ZeroWork,
    Upscale,
    Inpaint,
    Segment,
    Interpolate,
    FaceRestore,
    Matting,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    pub name: String,
    pub kind: EndpointKind,
    /// Invocations computed at once.
    pub max_concurrency: usize,
    /// Invocations allowed to wait for a slot; one more is refused with 429.
    pub max_queue: usize,
    /// The whole invocation (waiting included); past it the caller gets 503 or 424.
    pub timeout_ms: u64,
    /// Unload the model after this long without an invocation; 0 = never.
    pub idle_unload_seconds: u64,
}

impl EndpointConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn idle_unload_after(&self) -> Option<Duration> {
        (self.idle_unload_seconds > 0).then(|| Duration::from_secs(self.idle_unload_seconds))
    }
}

impl InferenceHostConfig {
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for endpoint in &self.endpoints {
            if endpoint.name.is_empty()
                || endpoint.name.len() > 63
                || !endpoint
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!(
                    "endpoint name {:?} must be 1-63 letters, digits or hyphens (SageMaker's rule)",
                    endpoint.name
                ));
            }
            if !names.insert(endpoint.name.as_str()) {
                return Err(format!("endpoint {} is declared twice", endpoint.name));
            }
            if endpoint.max_concurrency == 0 {
                return Err(format!(
                    "endpoint {}: max_concurrency must be at least 1",
                    endpoint.name
                ));
            }
            if endpoint.timeout_ms == 0 || endpoint.timeout_ms > MAX_TIMEOUT_MS {
                return Err(format!(
                    "endpoint {}: timeout_ms must be within 1..{MAX_TIMEOUT_MS}",
                    endpoint.name
                ));
            }
            if endpoint.idle_unload_seconds > MAX_IDLE_UNLOAD_SECONDS {
                return Err(format!(
                    "endpoint {}: idle_unload_seconds must be at most {MAX_IDLE_UNLOAD_SECONDS} (0 = never unload)",
                    endpoint.name
                ));
            }
        }
        if self.limits.max_image_megapixels == 0 {
            return Err("limits.max_image_megapixels must be at least 1".into());
        }
        Ok(())
    }

    /// The models folder: as configured when it exists, else relative to the repository root
    /// this binary was built in (so tests and `cargo run` find `.run/models` from any folder).
    pub fn models_dir(&self) -> PathBuf {
        let configured = &self.models.dir;
        if configured.is_absolute() || configured.exists() {
            return configured.clone();
        }
        let repository_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        repository_root.join(configured)
    }

    /// Threads for the model kernels.
    pub fn kernel_threads(&self) -> usize {
        if self.models.threads > 0 {
            return self.models.threads;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// The configuration for this process: embedded defaults, files, then the environment.
pub fn load() -> anyhow::Result<InferenceHostConfig> {
    let config: InferenceHostConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS).load()?;
    config.validate().map_err(|problem| {
        anyhow::anyhow!("invalid configuration for {SERVICE_NAME}: {problem}")
    })?;
    Ok(config)
}

/// The embedded defaults alone (tests adjust them).
pub fn embedded_defaults() -> anyhow::Result<InferenceHostConfig> {
    let config: InferenceHostConfig = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS)
        .environment_variables(Default::default())
        .load()?;
    Ok(config)
}
