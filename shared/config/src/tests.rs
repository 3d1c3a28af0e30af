use std::collections::HashMap;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize)]
struct ExampleConfig {
    http: HttpSection,
    nats: NatsSection,
    database: DatabaseSection,
    #[serde(default)]
    cors: CorsSection,
}

#[derive(Debug, Deserialize)]
struct HttpSection {
    host: String,
    port: u16,
}

#[derive(Debug, Deserialize)]
struct NatsSection {
    url: String,
    request_timeout_ms: u64,
}

#[derive(Debug, Deserialize)]
struct DatabaseSection {
    url: Secret,
}

#[derive(Debug, Default, Deserialize)]
struct CorsSection {
    #[serde(default)]
    allowed_origins: Vec<String>,
}

const DEFAULTS: &str = r#"
[http]
host = "127.0.0.1"
port = 8080

[nats]
url = "nats://127.0.0.1:4223"
request_timeout_ms = 5000

[database]
url = "postgres://app:default-password@127.0.0.1/example"
"#;

fn variables(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[test]
fn embedded_defaults_apply_without_files_or_variables() {
    let config_dir = tempfile::tempdir().unwrap();
    let config: ExampleConfig = ConfigLoader::new("time-machine", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(HashMap::new())
        .load()
        .unwrap();
    assert_eq!(config.http.port, 8080);
    assert_eq!(config.nats.url, "nats://127.0.0.1:4223");
    assert!(config.cors.allowed_origins.is_empty());
}

#[test]
fn layers_override_in_order_defaults_then_files_then_variables() {
    let config_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        config_dir.path().join("production.toml"),
        "[http]\nhost = \"0.0.0.0\"\nport = 9000\n[nats]\nurl = \"nats://nats.prod:4222\"\n",
    )
    .unwrap();
    std::fs::write(
        config_dir.path().join("time-machine.production.toml"),
        "[http]\nport = 9100\n",
    )
    .unwrap();
    let environment = variables(&[
        ("RADIANT_ENVIRONMENT", "production"),
        ("RADIANT_NATS__REQUEST_TIMEOUT_MS", "750"),
        ("RADIANT_HTTP__PORT", "9200"),
        ("RADIANT_TIME_MACHINE__HTTP__PORT", "9300"),
        // another service's variables do not change this one's settings
        ("RADIANT_GATEWAY__HTTP__PORT", "1"),
        ("UNRELATED", "x"),
    ]);
    let config: ExampleConfig = ConfigLoader::new("time-machine", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(environment)
        .load()
        .unwrap();
    // environment file beats the default
    assert_eq!(config.http.host, "0.0.0.0");
    assert_eq!(config.nats.url, "nats://nats.prod:4222");
    // shared variable beats files, parsed into the field's type
    assert_eq!(config.nats.request_timeout_ms, 750);
    // per-service variable beats the shared one
    assert_eq!(config.http.port, 9300);
}

#[test]
fn service_file_beats_shared_file_when_no_variable_is_set() {
    let config_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        config_dir.path().join("staging.toml"),
        "[http]\nport = 9000\n",
    )
    .unwrap();
    std::fs::write(
        config_dir.path().join("time-machine.staging.toml"),
        "[http]\nport = 9100\n",
    )
    .unwrap();
    let config: ExampleConfig = ConfigLoader::new("time-machine", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_name("staging")
        .environment_variables(HashMap::new())
        .load()
        .unwrap();
    assert_eq!(config.http.port, 9100);
}

#[test]
fn list_keys_split_on_commas() {
    let config_dir = tempfile::tempdir().unwrap();
    let environment = variables(&[(
        "RADIANT_CORS__ALLOWED_ORIGINS",
        "https://a.example,https://b.example",
    )]);
    let config: ExampleConfig = ConfigLoader::new("gateway", DEFAULTS)
        .config_dir(config_dir.path())
        .list_key("cors.allowed_origins")
        .environment_variables(environment)
        .load()
        .unwrap();
    assert_eq!(
        config.cors.allowed_origins,
        vec!["https://a.example", "https://b.example"]
    );
}

#[test]
fn secrets_are_redacted_in_debug_output_but_usable() {
    let config_dir = tempfile::tempdir().unwrap();
    let environment = variables(&[(
        "RADIANT_DATABASE__URL",
        "postgres://app:hunter2-very-secret@db/example",
    )]);
    let config: ExampleConfig = ConfigLoader::new("gateway", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(environment)
        .load()
        .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "secret leaked: {printed}");
    assert!(printed.contains("REDACTED"));
    assert_eq!(
        config.database.url.expose_secret(),
        "postgres://app:hunter2-very-secret@db/example"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_a_clear_error() {
    let config_dir = tempfile::tempdir().unwrap();
    let environment = variables(&[("RADIANT_HTTP__PORT", "not-a-port")]);
    let error = ConfigLoader::new("gateway", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(environment)
        .load::<ExampleConfig>()
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("gateway"), "{message}");
    assert!(message.contains("port"), "{message}");
}

#[test]
fn an_unparsable_environment_file_is_an_error_not_ignored() {
    let config_dir = tempfile::tempdir().unwrap();
    std::fs::write(config_dir.path().join("local.toml"), "[http\nport = ").unwrap();
    let result = ConfigLoader::new("gateway", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(HashMap::new())
        .load::<ExampleConfig>();
    assert!(result.is_err());
}

#[derive(Debug, Deserialize)]
struct StrictSections {
    http: StrictHttp,
    database: DatabaseSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictHttp {
    host: String,
    port: u16,
}

#[test]
fn variables_of_other_services_and_of_the_scripts_are_ignored() {
    let config_dir = tempfile::tempdir().unwrap();
    let environment = variables(&[
        ("RADIANT_TEST_NATS_URL", "nats://elsewhere:1"),
        ("RADIANT_LOCAL_NATS_PORT", "4999"),
        ("RADIANT_TIME_MACHINE__HTTP__PORT", "7000"),
        ("RADIANT_MEDIA_VAULT__S3__BUCKET", "media"),
    ]);
    let config: StrictSections = ConfigLoader::new("gateway", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(environment)
        .load()
        .unwrap();
    assert_eq!(config.http.port, 8080);
    assert_eq!(config.http.host, "127.0.0.1");
}

#[test]
fn values_that_look_like_numbers_stay_text() {
    let config_dir = tempfile::tempdir().unwrap();
    let environment = variables(&[
        ("RADIANT_DATABASE__URL", "0123"),
        ("RADIANT_HTTP__HOST", "1e3"),
        ("RADIANT_HTTP__PORT", "09000"),
    ]);
    let config: StrictSections = ConfigLoader::new("gateway", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(environment)
        .load()
        .unwrap();
    assert_eq!(config.database.url.expose_secret(), "0123");
    assert_eq!(config.http.host, "1e3");
    assert_eq!(config.http.port, 9000);
}

#[test]
fn an_unknown_key_inside_a_strict_section_is_an_error() {
    let config_dir = tempfile::tempdir().unwrap();
    let environment = variables(&[("RADIANT_HTTP__PROT", "1")]);
    let error = ConfigLoader::new("gateway", DEFAULTS)
        .config_dir(config_dir.path())
        .environment_variables(environment)
        .load::<StrictSections>()
        .unwrap_err();
    assert!(error.to_string().contains("prot"), "{error}");
}
