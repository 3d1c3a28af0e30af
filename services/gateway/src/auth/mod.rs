//! Bearer-token authentication: JWTs signed with HS256 (a shared secret, for development) or
//! RS256 (a PEM key or the identity provider's JWKS), carrying `sub`, `tenant_id`, `tier` and
//! `roles`. A valid token becomes the [`RequestContext`] forwarded to services in NATS headers.

mod jwks;
mod token;

pub use jwks::JwksCache;
pub use token::{Audience, Claims, MintRequest, mint_token};

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use radiant_bus::RequestContext;
use radiant_config::ExposeSecret;
use uuid::Uuid;

use crate::config::{AuthConfig, AuthMode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    MissingToken,
    #[error("authorization header is not a bearer token")]
    NotBearer,
    #[error("token has expired")]
    Expired,
    #[error("token signature is not valid")]
    BadSignature,
    #[error("token is not valid: {0}")]
    Invalid(String),
    #[error("token signing key {0:?} is not known")]
    UnknownKey(String),
    #[error("token verification keys are unavailable: {0}")]
    KeysUnavailable(String),
}

#[derive(Debug, thiserror::Error)]
#[error("auth configuration is not usable: {0}")]
pub struct AuthSetupError(pub String);

enum Verifier {
    Static(DecodingKey),
    Jwks(Arc<JwksCache>),
}

/// Verifies bearer tokens and turns their claims into a request context.
pub struct Authenticator {
    verifier: Verifier,
    validation: Validation,
}

impl Authenticator {
    pub async fn from_config(config: &AuthConfig) -> Result<Self, AuthSetupError> {
        let (algorithm, verifier) = match config.mode {
            AuthMode::Hs256 => {
                let secret = config
                    .hs256_secret
                    .as_ref()
                    .ok_or_else(|| AuthSetupError("hs256 needs auth.hs256_secret".to_string()))?;
                (
                    Algorithm::HS256,
                    Verifier::Static(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
                )
            }
            AuthMode::Rs256 => match (&config.rs256_public_key_pem, &config.jwks_url) {
                (Some(pem), _) => {
                    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|error| {
                        AuthSetupError(format!("auth.rs256_public_key_pem: {error}"))
                    })?;
                    (Algorithm::RS256, Verifier::Static(key))
                }
                (None, Some(url)) => {
                    let cache = JwksCache::start(
                        url.clone(),
                        std::time::Duration::from_secs(config.jwks_refresh_seconds),
                    )
                    .await
                    .map_err(|error| AuthSetupError(format!("auth.jwks_url: {error}")))?;
                    (Algorithm::RS256, Verifier::Jwks(cache))
                }
                (None, None) => {
                    return Err(AuthSetupError(
                        "rs256 needs auth.rs256_public_key_pem or auth.jwks_url".to_string(),
                    ));
                }
            },
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = config.leeway_seconds;
        // a configured issuer or audience must be present, not only right when present
        let mut required_claims = vec!["exp", "sub"];
        if config.issuer.is_empty() {
            validation.iss = None;
        } else {
            validation.set_issuer(&[config.issuer.as_str()]);
            required_claims.push("iss");
        }
        if config.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&[config.audience.as_str()]);
            required_claims.push("aud");
        }
        validation.set_required_spec_claims(&required_claims);
        Ok(Self {
            verifier,
            validation,
        })
    }

    /// Verifies the value of an `Authorization` header.
    pub async fn authenticate_header(
        &self,
        authorization: Option<&str>,
        request_id: &str,
    ) -> Result<RequestContext, AuthError> {
        let authorization = authorization.ok_or(AuthError::MissingToken)?;
        let (scheme, token) = authorization
            .trim()
            .split_once(' ')
            .ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        self.authenticate_token(token.trim(), request_id).await
    }

    pub async fn authenticate_token(
        &self,
        token: &str,
        request_id: &str,
    ) -> Result<RequestContext, AuthError> {
        let claims = match &self.verifier {
            Verifier::Static(key) => decode(token, key, &self.validation)?,
            Verifier::Jwks(cache) => {
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|error| AuthError::Invalid(error.to_string()))?;
                let key_id = header.kid.unwrap_or_default();
                let key = cache.key(&key_id).await?;
                decode(token, &key, &self.validation)?
            }
        };
        claims_to_context(claims, request_id)
    }
}

fn decode(token: &str, key: &DecodingKey, validation: &Validation) -> Result<Claims, AuthError> {
    use jsonwebtoken::errors::ErrorKind;
    jsonwebtoken::decode::<Claims>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|error| match error.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidIssuer => AuthError::Invalid("issuer is not accepted".to_string()),
            ErrorKind::InvalidAudience => {
                AuthError::Invalid("audience is not accepted".to_string())
            }
            ErrorKind::InvalidAlgorithm => {
                AuthError::Invalid("signing algorithm is not accepted".to_string())
            }
            ErrorKind::ImmatureSignature => {
                AuthError::Invalid("token is not valid yet".to_string())
            }
            ErrorKind::MissingRequiredClaim(claim) => {
                AuthError::Invalid(format!("claim {claim} is missing"))
            }
            _ => AuthError::Invalid(error.to_string()),
        })
}

fn claims_to_context(claims: Claims, request_id: &str) -> Result<RequestContext, AuthError> {
    let tenant_id = Uuid::parse_str(&claims.tenant_id)
        .map_err(|_| AuthError::Invalid("claim tenant_id is not a uuid".to_string()))?;
    if claims.sub.trim().is_empty() {
        return Err(AuthError::Invalid("claim sub is empty".to_string()));
    }
    let has_control_characters = |value: &str| value.chars().any(char::is_control);
    if has_control_characters(&claims.sub)
        || claims.tier.as_deref().is_some_and(has_control_characters)
        || claims
            .roles
            .iter()
            .any(|role| has_control_characters(role) || role.contains(','))
    {
        return Err(AuthError::Invalid(
            "claims contain characters that are not allowed".to_string(),
        ));
    }
    Ok(RequestContext {
        tenant_id: Some(tenant_id),
        user_id: Some(claims.sub),
        roles: claims.roles,
        tier: claims.tier,
        request_id: request_id.to_string(),
        deadline: None,
        trace_parent: None,
        trace_state: None,
    })
}
