//! `gateway mint-token` prints a token the running gateway accepts.

mod support;

use std::process::Command;

use support::spawn_app;

#[tokio::test]
async fn minted_dev_tokens_are_accepted() {
    let app = spawn_app().await;
    let output = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args([
            "mint-token",
            "--sub",
            "carol",
            "--tenant",
            &app.tenant_id.to_string(),
            "--tier",
            "free",
            "--role",
            "admin",
            "--ttl-seconds",
            "120",
        ])
        // the embedded defaults alone, as on a fresh machine
        .env("RADIANT_CONFIG_DIR", "/nonexistent")
        .env_remove("RADIANT_ENVIRONMENT")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();

    let response = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user_id"], "carol");
    assert_eq!(body["tier"], "free");
    assert_eq!(body["roles"], serde_json::json!(["admin"]));
    app.stop().await;
}

#[test]
fn minting_with_a_bad_tenant_fails_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["mint-token", "--sub", "carol", "--tenant", "acme"])
        .env("RADIANT_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tenant"));
}
