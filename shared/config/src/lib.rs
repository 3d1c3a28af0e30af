//! Layered configuration for every RADIANT binary.
//!
//! Layers, later ones winning:
//! 1. the service's embedded defaults (a TOML string compiled into the binary, so a bare
//!    binary runs against the local stack with no files at all);
//! 2. the environment files `<config_dir>/<environment>.toml` (shared by every service) and
//!    `<config_dir>/<service>.<environment>.toml` (this service only), both optional;
//! 3. `RADIANT_`-prefixed environment variables, `__` separating nesting levels
//!    (`RADIANT_NATS__URL` sets `nats.url` for every service);
//! 4. `RADIANT_<SERVICE>__`-prefixed environment variables for one service only
//!    (`RADIANT_GATEWAY__HTTP__PORT` sets `http.port` for the gateway).
//!
//! `RADIANT_ENVIRONMENT` names the environment (default `local`) and `RADIANT_CONFIG_DIR` the
//! folder of environment files (default `config`). Secrets are [`Secret`] values: they never
//! appear in `Debug` output or logs.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;

pub use secrecy::{ExposeSecret, SecretString};

/// A secret string from configuration; `Debug` prints `[REDACTED]`.
pub type Secret = SecretString;

const ENV_PREFIX: &str = "RADIANT";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration for {service}: {source}")]
    Invalid {
        service: String,
        #[source]
        source: config::ConfigError,
    },
    #[error("environment file {path} could not be read: {source}")]
    EnvironmentFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Builds a service's typed configuration from the layers described in the crate docs.
#[derive(Debug, Clone)]
pub struct ConfigLoader {
    service_name: String,
    embedded_defaults: &'static str,
    environment_name: Option<String>,
    config_dir: Option<PathBuf>,
    list_keys: Vec<String>,
    environment_variables: Option<HashMap<String, String>>,
}

impl ConfigLoader {
    /// `service_name` is the service's kebab-case name (`gateway`, `time-machine`); its
    /// per-service variable prefix is `RADIANT_<NAME_IN_UPPER_SNAKE_CASE>__`.
    pub fn new(service_name: &str, embedded_defaults: &'static str) -> Self {
        Self {
            service_name: service_name.to_string(),
            embedded_defaults,
            environment_name: None,
            config_dir: None,
            list_keys: Vec::new(),
            environment_variables: None,
        }
    }

    /// Keys whose environment-variable value is a comma separated list
    /// (e.g. `cors.allowed_origins`).
    pub fn list_key(mut self, key: &str) -> Self {
        self.list_keys.push(key.to_string());
        self
    }

    /// Overrides `RADIANT_ENVIRONMENT`.
    pub fn environment_name(mut self, environment_name: &str) -> Self {
        self.environment_name = Some(environment_name.to_string());
        self
    }

    /// Overrides `RADIANT_CONFIG_DIR`.
    pub fn config_dir(mut self, config_dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(config_dir.into());
        self
    }

    /// Reads variables from this map instead of the process environment (tests use this so
    /// that they never race on process-global state).
    pub fn environment_variables(mut self, variables: HashMap<String, String>) -> Self {
        self.environment_variables = Some(variables);
        self
    }

    fn variable(&self, name: &str) -> Option<String> {
        match &self.environment_variables {
            Some(variables) => variables.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// The environment whose files are layered over the defaults.
    pub fn resolved_environment_name(&self) -> String {
        self.environment_name
            .clone()
            .or_else(|| self.variable("RADIANT_ENVIRONMENT"))
            .unwrap_or_else(|| "local".to_string())
    }

    fn resolved_config_dir(&self) -> PathBuf {
        self.config_dir
            .clone()
            .or_else(|| self.variable("RADIANT_CONFIG_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("config"))
    }

    /// The per-service prefix, `RADIANT_TIME_MACHINE` for `time-machine`.
    pub fn service_variable_prefix(&self) -> String {
        format!(
            "{ENV_PREFIX}_{}",
            self.service_name.replace('-', "_").to_uppercase()
        )
    }

    pub fn load<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let environment_name = self.resolved_environment_name();
        let config_dir = self.resolved_config_dir();
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            self.embedded_defaults,
            config::FileFormat::Toml,
        ));

        let environment_files = [
            config_dir.join(format!("{environment_name}.toml")),
            config_dir.join(format!("{}.{environment_name}.toml", self.service_name)),
        ];
        for path in environment_files {
            // read the file ourselves so that a file that exists but cannot be read is an
            // error instead of being skipped like an absent one
            let contents = match std::fs::read_to_string(&path) {
                Ok(contents) => contents,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ConfigError::EnvironmentFile { path, source }),
            };
            builder =
                builder.add_source(config::File::from_str(&contents, config::FileFormat::Toml));
        }

        // Variables are applied as overrides, shared ones first so that per-service ones win.
        // Values stay strings (deserialization converts them where a field wants a number), so
        // a secret such as "0123" is never turned into 123. Variables that name no field of this
        // service (another service's, the scripts' own) end up as unknown top-level keys, which
        // the typed configuration ignores.
        let service_prefix = format!("{}__", self.service_variable_prefix());
        let shared_prefix = format!("{ENV_PREFIX}_");
        let mut variables: Vec<(String, String)> = match &self.environment_variables {
            Some(variables) => variables.clone().into_iter().collect(),
            None => std::env::vars().collect(),
        };
        variables.sort();
        let mut shared_overrides = Vec::new();
        let mut service_overrides = Vec::new();
        for (name, value) in variables {
            if value.is_empty() || name == "RADIANT_ENVIRONMENT" || name == "RADIANT_CONFIG_DIR" {
                continue;
            }
            if let Some(rest) = name.strip_prefix(&service_prefix) {
                service_overrides.push((variable_key(rest), value));
            } else if let Some(rest) = name.strip_prefix(&shared_prefix) {
                shared_overrides.push((variable_key(rest), value));
            }
        }
        for (key, value) in shared_overrides.into_iter().chain(service_overrides) {
            builder = if self.list_keys.contains(&key) {
                let items: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect();
                builder.set_override(&key, items)
            } else {
                builder.set_override(&key, value)
            }
            .map_err(|source| ConfigError::Invalid {
                service: self.service_name.clone(),
                source,
            })?;
        }

        let invalid = |source| ConfigError::Invalid {
            service: self.service_name.clone(),
            source,
        };
        builder
            .build()
            .map_err(invalid)?
            .try_deserialize()
            .map_err(invalid)
    }
}

/// `NATS__REQUEST_TIMEOUT_MS` → `nats.request_timeout_ms`.
fn variable_key(variable_suffix: &str) -> String {
    variable_suffix
        .split("__")
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests;
