use anyhow::Context;
use radiant_inference_host::{Application, app, config};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let config = config::load()?;
    // the model kernels read their thread count from the environment once, at first use;
    // set it before any other thread exists
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: no other thread runs yet (the runtime is built below)
        unsafe { std::env::set_var("RAYON_NUM_THREADS", config.kernel_threads().to_string()) };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let _telemetry = radiant_telemetry::init(config::SERVICE_NAME, &config.telemetry)?;
        let application = Application::build(config)
            .await
            .context("inference-host failed to start")?;
        tracing::info!(url = %application.base_url(), "inference-host serving");
        application.run_until_stopped(app::shutdown_signal()).await
    })
}
