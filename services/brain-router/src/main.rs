use anyhow::Context;
use radiant_brain_router::{Application, config};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = config::load()?;
    let _telemetry = radiant_telemetry::init(config::SERVICE_NAME, &config.telemetry)?;
    let application = Application::build(config)
        .await
        .context("brain-router failed to start")?;
    tracing::info!("brain-router serving");
    application
        .run_until_stopped(radiant_bus::shutdown_signal())
        .await
}
