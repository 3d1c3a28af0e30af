//! Periodic background work: schedules, sweeps, syncs.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `work` every `interval` (first run after one interval) until cancelled; a failed run
/// is logged and retried at the next tick.
pub fn every<Work, WorkFuture>(
    name: &'static str,
    interval: Duration,
    cancellation: CancellationToken,
    work: Work,
) -> tokio::task::JoinHandle<()>
where
    Work: Fn() -> WorkFuture + Send + 'static,
    WorkFuture: Future<Output = Result<String, String>> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancellation.cancelled() => return,
                _ = ticker.tick() => {}
            }
            match work().await {
                Ok(summary) => tracing::info!(job = name, %summary, "periodic job ran"),
                Err(error) => tracing::warn!(job = name, %error, "periodic job failed"),
            }
        }
    })
}
