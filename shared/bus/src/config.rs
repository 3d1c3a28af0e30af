//! NATS connection settings shared by every service.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::subjects::Namespace;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    pub url: String,
    #[serde(default)]
    pub token: Option<SecretString>,
    #[serde(default)]
    pub credentials_file: Option<std::path::PathBuf>,
    /// Upper bound of a request/reply round trip when the caller set no earlier deadline.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// First token of every subject (`radiant.tm.v1...`); tests use a unique one each.
    #[serde(default = "default_subject_prefix")]
    pub subject_prefix: String,
    /// Prefix of every stream and KV bucket name.
    #[serde(default = "default_stream_prefix")]
    pub stream_prefix: String,
    /// Requests one replica handles at once per endpoint before it stops pulling more.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
}

fn default_request_timeout_ms() -> u64 {
    5_000
}

fn default_subject_prefix() -> String {
    "radiant".to_string()
}

fn default_stream_prefix() -> String {
    "RADIANT".to_string()
}

fn default_max_concurrent_requests() -> usize {
    256
}

impl NatsConfig {
    pub fn local(url: &str) -> Self {
        Self {
            url: url.to_string(),
            token: None,
            credentials_file: None,
            request_timeout_ms: default_request_timeout_ms(),
            subject_prefix: default_subject_prefix(),
            stream_prefix: default_stream_prefix(),
            max_concurrent_requests: default_max_concurrent_requests(),
        }
    }

    pub fn namespace(&self) -> Namespace {
        Namespace::new(&self.subject_prefix, &self.stream_prefix)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to nats at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("cannot read nats credentials file {path}: {message}")]
    Credentials { path: String, message: String },
}

/// Connects with the client name shown in `nats-server` monitoring.
pub async fn connect(
    config: &NatsConfig,
    client_name: &str,
) -> Result<async_nats::Client, ConnectError> {
    let mut options = async_nats::ConnectOptions::new()
        .name(client_name)
        .connection_timeout(Duration::from_secs(5))
        // replies are small; a slow consumer should surface rather than buffer without bound
        .subscription_capacity(8_192);
    if let Some(token) = &config.token {
        options = options.token(token.expose_secret().to_string());
    }
    if let Some(path) = &config.credentials_file {
        options =
            options
                .credentials_file(path)
                .await
                .map_err(|error| ConnectError::Credentials {
                    path: path.display().to_string(),
                    message: error.to_string(),
                })?;
    }
    options
        .connect(config.url.as_str())
        .await
        .map_err(|error| ConnectError::Connect {
            url: without_credentials(&config.url),
            message: error.to_string(),
        })
}

/// `nats://user:secret@host:4222` → `nats://host:4222`, for messages and logs.
pub fn without_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|index| index + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_never_reach_messages() {
        assert_eq!(
            super::without_credentials("nats://user:s3cret@nats:4222"),
            "nats://nats:4222"
        );
        assert_eq!(
            super::without_credentials("nats://nats:4222"),
            "nats://nats:4222"
        );
        assert_eq!(
            super::without_credentials("tls://tok@a:1,b:2"),
            "tls://a:1,b:2"
        );
    }
}
