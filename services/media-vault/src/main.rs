use anyhow::Context;
use clap::{Parser, Subcommand};
use radiant_media_vault::{Application, app, config, jobs};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "media-vault",
    version,
    about = "RADIANT media vault: every file version, kept and verified"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the NATS endpoints and run the background jobs (the default).
    Serve,
    /// Re-read every stored blob, verify its SHA-256 and print a report; exits 1 on failures.
    Scrub,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = config::load()?;
    let _telemetry = radiant_telemetry::init(config::SERVICE_NAME, &config.telemetry)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let application = Application::build(config)
                .await
                .context("media-vault failed to start")?;
            tracing::info!("media-vault serving");
            application
                .run_until_stopped(radiant_bus::shutdown_signal())
                .await
        }
        Command::Scrub => {
            let vault = app::connect(config).await?;
            let report = jobs::scrub::run_full(&vault).await?;
            for failure in &report.failures {
                println!("FAILED {failure}");
            }
            println!("{}", report.summary());
            if !report.failures.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
