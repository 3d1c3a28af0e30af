//! The gateway's configuration (see `config/default.toml` for every key and its default).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use radiant_bus::NatsConfig;
use radiant_config::{ConfigError, ConfigLoader, ExposeSecret, Secret};
use radiant_telemetry::TelemetryConfig;
use serde::Deserialize;

pub const SERVICE_NAME: &str = "gateway";
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");
/// The embedded development secret: refused outside the local environment.
const DEVELOPMENT_SECRET: &str = "radiant-local-development-secret-do-not-use-in-production";

/// Sections reject unknown keys (a typo is an error); the top level ignores them, so that
/// variables meant for other services or for the scripts do not stop the gateway.
#[derive(Debug, Clone, Deserialize)]
pub struct GatewayConfig {
    pub http: HttpConfig,
    pub grpc: GrpcConfig,
    pub auth: AuthConfig,
    pub cors: CorsConfig,
    pub discovery: DiscoveryConfig,
    pub nats: NatsConfig,
    pub readiness: ReadinessConfig,
    pub chat: ChatConfig,
    pub telemetry: TelemetryConfig,
}

/// Answers from the brain router: how long one may take, and the longest silence in a stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    pub answer_timeout_ms: u64,
    pub idle_timeout_ms: u64,
}

impl ChatConfig {
    pub fn answer_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.answer_timeout_ms)
    }
    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.idle_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    /// Upper bound of upload completion, which reads the whole file back to verify it.
    pub upload_complete_timeout_ms: u64,
}

impl HttpConfig {
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn upload_complete_timeout(&self) -> Duration {
        Duration::from_millis(self.upload_complete_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    pub host: IpAddr,
    pub port: u16,
}

impl GrpcConfig {
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    Hs256,
    Rs256,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub mode: AuthMode,
    #[serde(default)]
    pub hs256_secret: Option<Secret>,
    /// RS256 verification key as PEM (one key) ...
    #[serde(default)]
    pub rs256_public_key_pem: Option<String>,
    /// ... or the identity provider's JWKS document (keys chosen by `kid`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    #[serde(default = "default_jwks_refresh_seconds")]
    pub jwks_refresh_seconds: u64,
    /// Required `iss`; empty accepts any.
    #[serde(default)]
    pub issuer: String,
    /// Required `aud`; empty accepts any.
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub leeway_seconds: u64,
}

fn default_jwks_refresh_seconds() -> u64 {
    300
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Exact origins, or `["*"]` for any origin (never with credentials).
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    pub window_ms: u64,
}

impl DiscoveryConfig {
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadinessConfig {
    pub required_services: Vec<String>,
    pub probe_timeout_ms: u64,
}

impl ReadinessConfig {
    pub fn probe_timeout(&self) -> Duration {
        Duration::from_millis(self.probe_timeout_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayConfigError {
    #[error(transparent)]
    Load(Box<ConfigError>),
    #[error("invalid gateway configuration: {0}")]
    Invalid(String),
}

/// Loads the layered configuration and checks what serde cannot.
pub fn load() -> Result<GatewayConfig, GatewayConfigError> {
    let loader = ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS)
        .list_key("cors.allowed_origins")
        .list_key("readiness.required_services");
    let config: GatewayConfig = loader
        .load()
        .map_err(|error| GatewayConfigError::Load(Box::new(error)))?;
    config.validate(&loader.resolved_environment_name())?;
    Ok(config)
}

/// The embedded defaults alone (tests start from these).
pub fn defaults() -> GatewayConfig {
    ConfigLoader::new(SERVICE_NAME, EMBEDDED_DEFAULTS)
        .environment_variables(Default::default())
        .config_dir("/nonexistent")
        .load()
        .expect("embedded gateway defaults are valid")
}

impl GatewayConfig {
    pub fn validate(&self, environment_name: &str) -> Result<(), GatewayConfigError> {
        let invalid = |message: &str| Err(GatewayConfigError::Invalid(message.to_string()));
        match self.auth.mode {
            AuthMode::Hs256 => {
                let Some(secret) = &self.auth.hs256_secret else {
                    return invalid("auth.mode = \"hs256\" needs auth.hs256_secret");
                };
                if secret.expose_secret().len() < 32 {
                    return invalid("auth.hs256_secret must be at least 32 bytes");
                }
                if environment_name != "local" && secret.expose_secret() == DEVELOPMENT_SECRET {
                    return invalid(
                        "the embedded development auth.hs256_secret is only allowed in the local environment",
                    );
                }
            }
            AuthMode::Rs256 => {
                if self.auth.rs256_public_key_pem.is_none() && self.auth.jwks_url.is_none() {
                    return invalid(
                        "auth.mode = \"rs256\" needs auth.rs256_public_key_pem or auth.jwks_url",
                    );
                }
            }
        }
        if self.http.body_limit_bytes == 0 {
            return invalid("http.body_limit_bytes must be positive");
        }
        if self.http.request_timeout_ms == 0 {
            return invalid("http.request_timeout_ms must be positive");
        }
        if self.http.upload_complete_timeout_ms == 0 {
            return invalid("http.upload_complete_timeout_ms must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_are_valid_for_local_use() {
        defaults().validate("local").unwrap();
    }

    #[test]
    fn the_development_secret_is_refused_outside_local() {
        let error = defaults().validate("production").unwrap_err();
        assert!(error.to_string().contains("development"), "{error}");
    }

    #[test]
    fn short_secrets_and_incomplete_rs256_are_refused() {
        let mut config = defaults();
        config.auth.hs256_secret = Some(Secret::from("short".to_string()));
        assert!(
            config
                .validate("local")
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );

        let mut config = defaults();
        config.auth.mode = AuthMode::Rs256;
        assert!(
            config
                .validate("local")
                .unwrap_err()
                .to_string()
                .contains("jwks_url")
        );
    }
}
