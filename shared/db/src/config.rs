use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The service's own role: no BYPASSRLS, owns no table.
    pub url: SecretString,
    /// The owner role that runs migrations.
    pub owner_url: SecretString,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    #[serde(default = "default_min_connections")]
    pub min_connections: u32,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long a replica waits for another one's migration run.
    #[serde(default = "default_migration_lock_timeout_ms")]
    pub migration_lock_timeout_ms: u64,
}

fn default_max_connections() -> u32 {
    10
}

fn default_min_connections() -> u32 {
    1
}

fn default_connect_timeout_ms() -> u64 {
    5_000
}

fn default_migration_lock_timeout_ms() -> u64 {
    120_000
}

impl DatabaseConfig {
    pub fn new(url: &str, owner_url: &str) -> Self {
        Self {
            url: SecretString::from(url.to_string()),
            owner_url: SecretString::from(owner_url.to_string()),
            max_connections: default_max_connections(),
            min_connections: default_min_connections(),
            connect_timeout_ms: default_connect_timeout_ms(),
            migration_lock_timeout_ms: default_migration_lock_timeout_ms(),
        }
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn migration_lock_timeout(&self) -> Duration {
        Duration::from_millis(self.migration_lock_timeout_ms)
    }
}
