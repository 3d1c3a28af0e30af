use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use radiant_gateway::auth::{MintRequest, mint_token};
use radiant_gateway::{Application, config};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "RADIANT gateway: HTTP/JSON and gRPC in, NATS out"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP and gRPC (the default).
    Serve,
    /// Print a development token signed with the configured HS256 secret.
    MintToken {
        #[arg(long)]
        sub: String,
        #[arg(long)]
        tenant: uuid::Uuid,
        #[arg(long)]
        tier: Option<String>,
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = config::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::MintToken {
            sub,
            tenant,
            tier,
            roles,
            ttl_seconds,
        } => {
            let request = MintRequest {
                subject: sub,
                tenant_id: tenant,
                tier,
                roles,
                time_to_live: Duration::from_secs(ttl_seconds),
            };
            println!(
                "{}",
                mint_token(&config.auth, &request).map_err(anyhow::Error::msg)?
            );
            Ok(())
        }
        Command::Serve => {
            let _telemetry = radiant_telemetry::init(config::SERVICE_NAME, &config.telemetry)?;
            let application = Application::build(config)
                .await
                .context("gateway failed to start")?;
            tracing::info!(
                http_port = application.http_port(),
                grpc_port = application.grpc_port(),
                "gateway listening"
            );
            application
                .run_until_stopped(radiant_bus::shutdown_signal())
                .await?;
            Ok(())
        }
    }
}
