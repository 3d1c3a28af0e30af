use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tokio::sync::OnceCell;

/// Where the local stack's infrastructure answers.
#[derive(Debug, Clone)]
pub struct TestStack {
    pub nats_url: String,
    pub database_admin_url: String,
    /// The local S3 server (moto) of the stack.
    pub s3_endpoint: String,
}

static STACK: OnceCell<TestStack> = OnceCell::const_new();

impl TestStack {
    /// The running stack; starts it (once per machine at a time) when NATS does not answer.
    pub async fn get() -> &'static TestStack {
        STACK
            .get_or_init(|| async {
                let stack = TestStack {
                    nats_url: std::env::var("RADIANT_TEST_NATS_URL")
                        .unwrap_or_else(|_| "nats://127.0.0.1:4223".to_string()),
                    database_admin_url: std::env::var("RADIANT_TEST_DATABASE_ADMIN_URL")
                        .unwrap_or_else(|_| {
                            "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_string()
                        }),
                    s3_endpoint: std::env::var("RADIANT_TEST_S3_ENDPOINT")
                        .unwrap_or_else(|_| "http://127.0.0.1:9000".to_string()),
                };
                let s3_address = stack
                    .s3_endpoint
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_string();
                let s3_answers = tokio::net::TcpStream::connect(s3_address.as_str())
                    .await
                    .is_ok();
                if !s3_answers || async_nats::connect(stack.nats_url.as_str()).await.is_err() {
                    start_infrastructure().await;
                }
                stack
            })
            .await
    }

    pub async fn nats(&self) -> async_nats::Client {
        let mut last_error = None;
        for _ in 0..50 {
            match async_nats::connect(self.nats_url.as_str()).await {
                Ok(client) => return client,
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nats at {} does not answer: {last_error:?}", self.nats_url);
    }
}

pub(crate) fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn start_infrastructure() {
    let script = repository_root().join("deploy/local/infra.sh");
    let lock = std::env::temp_dir().join("radiant-testkit-infra.lock");
    let status = tokio::task::spawn_blocking(move || {
        // flock serialises the test processes that all found the stack missing at once
        Command::new("flock")
            .arg(&lock)
            .arg("bash")
            .arg(&script)
            .status()
    })
    .await
    .expect("infra start task")
    .expect("deploy/local/infra.sh could not be run");
    assert!(status.success(), "deploy/local/infra.sh failed: {status}");
}
