//! What every benchmark command needs: order statistics and a service process that is killed
//! when the benchmark ends, however it ends.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use radiant_bus::subjects::{ServiceName, endpoints};
use radiant_bus::{BusClient, NatsConfig, RequestContext};
use radiant_config::ExposeSecret;
use radiant_db::DatabaseConfig;
use radiant_proto::system;

/// The middle value (sorts `values`).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// A service started by the benchmark; killed and reaped on drop.
pub struct ServiceProcess(pub Child);

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A service's release binary, built beside the bench, pointed at the bench's database and
/// NATS namespace through its `<settings_prefix>__…` settings and logging warnings only.
pub fn service_command(
    binary: &str,
    settings_prefix: &str,
    database: &DatabaseConfig,
    nats: &NatsConfig,
) -> anyhow::Result<Command> {
    let path = std::env::current_exe()?.with_file_name(binary);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it with the bench (bench/{binary}.sh)",
        path.display()
    );
    let mut command = Command::new(&path);
    command
        .env(
            format!("{settings_prefix}__DATABASE__URL"),
            database.url.expose_secret(),
        )
        .env(
            format!("{settings_prefix}__DATABASE__OWNER_URL"),
            database.owner_url.expose_secret(),
        )
        .env(format!("{settings_prefix}__NATS__URL"), &nats.url)
        .env(
            format!("{settings_prefix}__NATS__SUBJECT_PREFIX"),
            &nats.subject_prefix,
        )
        .env(
            format!("{settings_prefix}__NATS__STREAM_PREFIX"),
            &nats.stream_prefix,
        )
        .env(format!("{settings_prefix}__TELEMETRY__LOG_FILTER"), "warn")
        .stdout(Stdio::null());
    Ok(command)
}

/// Asks the service for its status until it says ready (at most a minute).
pub async fn wait_until_ready(
    bus: &BusClient,
    service: &ServiceName,
    context: &RequestContext,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let status: Result<system::ServiceStatus, _> = bus
            .call(
                service,
                endpoints::SYSTEM_STATUS,
                context,
                &system::StatusRequest {},
            )
            .await;
        if matches!(&status, Ok(status) if status.ready) {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "{} did not become ready: {status:?}",
            service.name()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
