//! RS256 tokens verified with a PEM key or with keys fetched from a JWKS endpoint.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use radiant_gateway::auth::{Audience, Claims};
use radiant_gateway::config::AuthMode;
use support::{error_body, spawn_app_with};

const IDP_PRIVATE: &str = include_str!("fixtures/idp_private.pem");
const IDP_PUBLIC: &str = include_str!("fixtures/idp_public.pem");
const IDP_JWKS: &str = include_str!("fixtures/idp_jwks.json");
const OTHER_PRIVATE: &str = include_str!("fixtures/other_private.pem");

fn claims() -> Claims {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Claims {
        sub: "bob".to_string(),
        tenant_id: uuid::Uuid::new_v4().to_string(),
        tier: Some("enterprise".to_string()),
        roles: vec!["admin".to_string()],
        exp: now + 300,
        iat: now,
        iss: Some("radiant-local".to_string()),
        // the array form identity providers often send
        aud: Some(Audience::Many(vec![
            "radiant".to_string(),
            "billing".to_string(),
        ])),
    }
}

fn sign(private_pem: &str, key_id: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = key_id.map(str::to_string);
    jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn serve_jwks() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(|| async { ([("content-type", "application/json")], IDP_JWKS) }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}/.well-known/jwks.json")
}

async fn status_of(app: &support::TestApp, token: &str) -> (u16, String) {
    let response = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if response.status() == 200 {
        let body: serde_json::Value = response.json().await.unwrap();
        return (200, body["user_id"].as_str().unwrap().to_string());
    }
    let (status, _, body) = error_body(response).await;
    (
        status,
        body["error"]["message"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn jwks_keys_verify_tokens_by_kid() {
    let jwks_url = serve_jwks().await;
    let app = spawn_app_with(|config| {
        config.auth.mode = AuthMode::Rs256;
        config.auth.hs256_secret = None;
        config.auth.jwks_url = Some(jwks_url);
    })
    .await;

    assert_eq!(
        status_of(&app, &sign(IDP_PRIVATE, Some("idp-key-1"))).await,
        (200, "bob".to_string())
    );

    let (status, message) = status_of(&app, &sign(OTHER_PRIVATE, Some("idp-key-1"))).await;
    assert_eq!(status, 401);
    assert!(message.contains("signature"), "{message}");

    let (status, message) = status_of(&app, &sign(IDP_PRIVATE, Some("rotated-away"))).await;
    assert_eq!(status, 401);
    assert!(message.contains("not known"), "{message}");

    // an HS256 token must not pass where RS256 is configured
    let hs256 = jsonwebtoken::encode(
        &Header::default(),
        &claims(),
        &EncodingKey::from_secret(IDP_PUBLIC.as_bytes()),
    )
    .unwrap();
    assert_eq!(status_of(&app, &hs256).await.0, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_pem_key_verifies_rs256_tokens() {
    let app = spawn_app_with(|config| {
        config.auth.mode = AuthMode::Rs256;
        config.auth.hs256_secret = None;
        config.auth.rs256_public_key_pem = Some(IDP_PUBLIC.to_string());
    })
    .await;
    assert_eq!(
        status_of(&app, &sign(IDP_PRIVATE, None)).await,
        (200, "bob".to_string())
    );
    assert_eq!(status_of(&app, &sign(OTHER_PRIVATE, None)).await.0, 401);
    app.stop().await;
}
