//! The gateway's HTTP API against the real stack: auth, errors, limits, forwarding over NATS.

mod support;

use radiant_bus::subjects::{MEDIA_VAULT, TIME_MACHINE};
use serde_json::json;
use support::{error_body, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    app.stop().await;
}

#[tokio::test]
async fn readyz_needs_every_required_service_to_answer_ping() {
    let app = spawn_app_with(|config| {
        config.readiness.required_services =
            vec!["time-machine".to_string(), "media-vault".to_string()];
    })
    .await;
    let time_machine = app.start_service(TIME_MACHINE).await;

    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    let checks = body["checks"].as_array().unwrap();
    let check = |name: &str| {
        checks.iter().find(|check| check["name"] == name).unwrap()["ok"]
            .as_bool()
            .unwrap()
    };
    assert!(check("nats"));
    assert!(check("service:time-machine"));
    assert!(!check("service:media-vault"));

    let media_vault = app.start_service(MEDIA_VAULT).await;
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
    time_machine.stop().await;
    media_vault.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_missing_token_is_401_in_the_error_format() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    let (status, request_id, body) = error_body(response).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(body["error"]["message"], "missing bearer token");
    assert_eq!(body["error"]["request_id"], request_id.as_str());
    assert!(!request_id.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn expired_forged_and_malformed_tokens_are_401() {
    let app = spawn_app().await;
    let expired = app.token_with_claims(&app.claims(-120));
    let forged = {
        let claims = app.claims(300);
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(
                b"an-attacker-who-guessed-the-format-but-not-the-secret",
            ),
        )
        .unwrap()
    };
    let mut wrong_issuer_claims = app.claims(300);
    wrong_issuer_claims.iss = Some("someone-else".to_string());
    let wrong_issuer = app.token_with_claims(&wrong_issuer_claims);
    let mut no_issuer_claims = app.claims(300);
    no_issuer_claims.iss = None;
    let no_issuer = app.token_with_claims(&no_issuer_claims);
    let mut no_audience_claims = app.claims(300);
    no_audience_claims.aud = None;
    let no_audience = app.token_with_claims(&no_audience_claims);
    let mut bad_tenant_claims = app.claims(300);
    bad_tenant_claims.tenant_id = "acme".to_string();
    let bad_tenant = app.token_with_claims(&bad_tenant_claims);

    let cases = [
        (format!("Bearer {expired}"), "token has expired"),
        (format!("Bearer {forged}"), "token signature is not valid"),
        ("Bearer not.a.jwt".to_string(), "token is not valid"),
        (format!("Bearer {wrong_issuer}"), "issuer is not accepted"),
        (format!("Bearer {no_issuer}"), "claim iss is missing"),
        (format!("Bearer {no_audience}"), "claim aud is missing"),
        (
            format!("Bearer {bad_tenant}"),
            "claim tenant_id is not a uuid",
        ),
        (
            "Basic YWxpY2U6c2VjcmV0".to_string(),
            "authorization header is not a bearer token",
        ),
    ];
    for (authorization, expected_message) in cases {
        let response = app
            .http
            .get(app.url("/api/v1/me"))
            .header("authorization", &authorization)
            .send()
            .await
            .unwrap();
        let (status, _, body) = error_body(response).await;
        assert_eq!(status, 401, "{authorization}");
        assert_eq!(body["error"]["code"], "unauthenticated");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(expected_message),
            "{authorization}: {message}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_valid_token_becomes_the_request_context() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(app.token(&["editor"]))
        .header("x-request-id", "client-chosen-id-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "client-chosen-id-1"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "user_id": "alice",
            "tenant_id": app.tenant_id.to_string(),
            "tier": "pro",
            "roles": ["editor"],
            "request_id": "client-chosen-id-1",
        })
    );
    app.stop().await;
}

#[tokio::test]
async fn admin_routes_refuse_non_admins_with_403() {
    let app = spawn_app().await;
    let time_machine = app.start_service(TIME_MACHINE).await;
    let response = app
        .http
        .get(app.url("/api/v1/admin/services/time-machine/status"))
        .bearer_auth(app.token(&["editor"]))
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "permission_denied");

    let response = app
        .http
        .post(app.url("/api/v1/admin/services/status"))
        .bearer_auth(app.token(&[]))
        .json(&json!({"services": ["time-machine"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    time_machine.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn service_status_is_forwarded_over_nats() {
    let app = spawn_app().await;
    let time_machine = app.start_service(TIME_MACHINE).await;
    let admin = app.token(&["admin"]);

    let response = app
        .http
        .get(app.url("/api/v1/admin/services/time-machine/status"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["service"], "time-machine");
    assert_eq!(body["version"], "0.9.0");
    assert_eq!(body["instance_id"], time_machine.instance_id());
    assert_eq!(body["ready"], true);
    assert_eq!(body["checks"][0]["name"], "database");

    // a name that is no platform service, and one that is not running
    let response = app
        .http
        .get(app.url("/api/v1/admin/services/no-such-service/status"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown service")
    );
    let response = app
        .http
        .get(app.url("/api/v1/admin/services/registry/status"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "unavailable");
    time_machine.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn batch_status_validates_its_json_body() {
    let app = spawn_app_with(|config| config.http.body_limit_bytes = 1_024).await;
    let time_machine = app.start_service(TIME_MACHINE).await;
    let admin = app.token(&["admin"]);
    let url = app.url("/api/v1/admin/services/status");

    // malformed json
    let response = app
        .http
        .post(&url)
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"services\": [\"time-machine\"")
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_argument");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid json"),
        "{body}"
    );

    // well-formed json of the wrong shape
    let response = app
        .http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({"services": "time-machine"}))
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("services"),
        "{body}"
    );

    // over the body limit
    let names: Vec<String> = (0..200).map(|index| format!("service-{index}")).collect();
    let response = app
        .http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({"services": names}))
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024 bytes")
    );

    // no json content type
    let response = app
        .http
        .post(&url)
        .bearer_auth(&admin)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    // an empty list
    let response = app
        .http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({"services": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // and a good request: one answer per name, failures named
    let response = app
        .http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({"services": ["time-machine", "registry"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["results"][0]["service"], "time-machine", "{body}");
    assert_eq!(body["results"][0]["status"]["ready"], true, "{body}");
    assert_eq!(body["results"][1]["service"], "registry");
    assert!(body["results"][1]["status"].is_null());
    assert!(
        body["results"][1]["error"]
            .as_str()
            .unwrap()
            .contains("no service answers")
    );
    time_machine.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn services_lists_what_answers_discovery() {
    // a wide window: replies are slow while the other tests load the machine
    let app = spawn_app_with(|config| config.discovery.window_ms = 2_000).await;
    let time_machine = app.start_service(TIME_MACHINE).await;
    let response = app
        .http
        .get(app.url("/api/v1/admin/services"))
        .bearer_auth(app.token(&["admin"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let names: Vec<&str> = body["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|instance| instance["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["gateway", "time-machine"]);
    time_machine.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_format() {
    let app = spawn_app().await;
    let (status, _, body) = error_body(
        app.http
            .get(app.url("/api/v1/nothing-here"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _, body) =
        error_body(app.http.delete(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    app.stop().await;
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "http://localhost:3000"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes() {
    let app = spawn_app().await;
    let document: serde_json::Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/me",
        "/api/v1/admin/services",
        "/api/v1/admin/services/{name}/status",
        "/api/v1/admin/services/status",
    ] {
        assert!(document["paths"][path].is_object(), "{path} missing");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    app.stop().await;
}
