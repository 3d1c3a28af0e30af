//! Token claims, and minting development tokens (`gateway mint-token`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use radiant_config::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{AuthConfig, AuthMode};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// One audience or several (identity providers send either form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct MintRequest {
    pub subject: String,
    pub tenant_id: Uuid,
    pub tier: Option<String>,
    pub roles: Vec<String>,
    pub time_to_live: Duration,
}

/// Signs a token with the configured HS256 secret. Production tokens come from the identity
/// provider; this exists for development, tests and the local stack's demo.
pub fn mint_token(config: &AuthConfig, request: &MintRequest) -> Result<String, String> {
    if config.mode != AuthMode::Hs256 {
        return Err(
            "minting needs auth.mode = \"hs256\"; rs256 tokens come from the identity provider"
                .to_string(),
        );
    }
    let secret = config
        .hs256_secret
        .as_ref()
        .ok_or_else(|| "auth.hs256_secret is not set".to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|error| error.to_string())?;
    let claims = Claims {
        sub: request.subject.clone(),
        tenant_id: request.tenant_id.to_string(),
        tier: request.tier.clone(),
        roles: request.roles.clone(),
        exp: (now + request.time_to_live).as_secs(),
        iat: now.as_secs(),
        iss: (!config.issuer.is_empty()).then(|| config.issuer.clone()),
        aud: (!config.audience.is_empty()).then(|| Audience::One(config.audience.clone())),
    };
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
    .map_err(|error| error.to_string())
}
