//! The inference host's SageMaker-compatible lifecycle API: an endpoint's status and warm-up.
//! Locally it stands in for SageMaker's DescribeEndpoint / scale-from-zero.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointDescription {
    pub endpoint_name: String,
    /// Absent, Creating, InService, Failed.
    pub endpoint_status: String,
    #[serde(default)]
    pub in_flight: u64,
    #[serde(default)]
    pub invocations: u64,
}

impl EndpointDescription {
    /// The thermal state the status means: loaded = warm, loading or absent = cold, a failed
    /// load = off until it loads again.
    pub fn thermal_state(&self) -> &'static str {
        match self.endpoint_status.as_str() {
            "InService" => "warm",
            "Failed" => "off",
            _ => "cold",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("inference host unreachable: {0}")]
    Unreachable(String),
    #[error("inference host answered {status}: {body}")]
    Refused { status: u16, body: String },
}

fn endpoint_url(base_url: &str, endpoint: &str, suffix: &str) -> String {
    format!(
        "{}/endpoints/{endpoint}{suffix}",
        base_url.trim_end_matches('/')
    )
}

pub async fn describe(
    http: &reqwest::Client,
    base_url: &str,
    endpoint: &str,
    timeout: Duration,
) -> Result<EndpointDescription, HostError> {
    let response = http
        .get(endpoint_url(base_url, endpoint, ""))
        .timeout(timeout)
        .send()
        .await
        .map_err(|error| HostError::Unreachable(error.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(HostError::Refused {
            status: status.as_u16(),
            body,
        });
    }
    response
        .json()
        .await
        .map_err(|error| HostError::Unreachable(format!("unreadable description: {error}")))
}

/// Loads the endpoint's model (a cold start when it was absent).
pub async fn warm(
    http: &reqwest::Client,
    base_url: &str,
    endpoint: &str,
    timeout: Duration,
) -> Result<(), HostError> {
    let response = http
        .post(endpoint_url(base_url, endpoint, "/warm"))
        .timeout(timeout)
        .send()
        .await
        .map_err(|error| HostError::Unreachable(error.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(HostError::Refused {
            status: status.as_u16(),
            body,
        });
    }
    Ok(())
}
