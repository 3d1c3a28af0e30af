//! Provider health from observations: a moving average of latency, p95/p99 and the error rate
//! over the latest window, consecutive failures, and the status those imply. Entries carry when
//! their newest observation was made; readers treat an entry past its staleness limit as
//! unknown, so a provider nobody has heard from is never reported healthy.

use crate::config::HealthConfig;

/// Consecutive failures after which a provider is unhealthy whatever its window says, so a
/// deployment that starts failing is marked within seconds.
pub const UNHEALTHY_AFTER_CONSECUTIVE_FAILURES: u32 = 3;

/// What the latest window of observations says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowFigures {
    pub p95_latency_ms: f64,
    pub p99_latency_ms: f64,
    pub error_rate: f64,
    pub success_rate: f64,
    pub size: u32,
}

impl WindowFigures {
    /// `samples`: (success, latency) of the latest observations, any order. Percentiles are
    /// over successful calls only (a failure's latency says how fast it failed).
    pub fn from_samples(samples: &[(bool, f64)]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut latencies: Vec<f64> = samples
            .iter()
            .filter(|(success, latency)| *success && latency.is_finite())
            .map(|(_, latency)| *latency)
            .collect();
        latencies.sort_by(f64::total_cmp);
        let failures = samples.iter().filter(|(success, _)| !success).count();
        let size = samples.len();
        Self {
            p95_latency_ms: percentile(&latencies, 0.95),
            p99_latency_ms: percentile(&latencies, 0.99),
            error_rate: failures as f64 / size as f64,
            success_rate: (size - failures) as f64 / size as f64,
            size: size as u32,
        }
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The exponentially weighted moving average after `sample`.
pub fn ewma(previous: Option<f64>, sample: f64, alpha: f64) -> f64 {
    match previous {
        Some(previous) if previous > 0.0 => alpha * sample + (1.0 - alpha) * previous,
        _ => sample,
    }
}

/// The status the figures imply.
pub fn status(
    config: &HealthConfig,
    window: &WindowFigures,
    consecutive_failures: u32,
    unconfigured: bool,
) -> &'static str {
    if unconfigured {
        return "unconfigured";
    }
    if window.size == 0 {
        return "unknown";
    }
    if consecutive_failures >= UNHEALTHY_AFTER_CONSECUTIVE_FAILURES
        || window.error_rate >= config.unhealthy_error_rate
    {
        return "unhealthy";
    }
    if window.error_rate >= config.degraded_error_rate
        || consecutive_failures > 0
        || window.p95_latency_ms > config.degraded_p95_latency_ms
    {
        return "degraded";
    }
    "healthy"
}

pub use radiant_proto::live::effective_status;

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HealthConfig {
        HealthConfig {
            window_observations: 200,
            ewma_alpha: 0.3,
            degraded_error_rate: 0.05,
            unhealthy_error_rate: 0.25,
            degraded_p95_latency_ms: 10_000.0,
            heartbeat_interval_seconds: 300,
            stale_after_heartbeats: 3,
            max_observation_age_seconds: 3600,
        }
    }

    #[test]
    fn percentiles_and_rates_come_from_the_window() {
        let samples: Vec<(bool, f64)> = (1..=100).map(|value| (true, value as f64)).collect();
        let figures = WindowFigures::from_samples(&samples);
        assert_eq!(figures.p95_latency_ms, 95.0);
        assert_eq!(figures.p99_latency_ms, 99.0);
        assert_eq!(figures.error_rate, 0.0);
        let mut samples = samples;
        samples.extend((0..100).map(|_| (false, 1.0)));
        let figures = WindowFigures::from_samples(&samples);
        assert_eq!(figures.error_rate, 0.5);
        assert_eq!(figures.p95_latency_ms, 95.0);
    }

    #[test]
    fn status_follows_errors_latency_and_failure_runs() {
        let config = config();
        let healthy = WindowFigures {
            p95_latency_ms: 200.0,
            size: 10,
            success_rate: 1.0,
            ..Default::default()
        };
        assert_eq!(status(&config, &healthy, 0, false), "healthy");
        assert_eq!(status(&config, &healthy, 1, false), "degraded");
        assert_eq!(status(&config, &healthy, 3, false), "unhealthy");
        assert_eq!(status(&config, &healthy, 0, true), "unconfigured");
        let slow = WindowFigures {
            p95_latency_ms: 20_000.0,
            ..healthy.clone()
        };
        assert_eq!(status(&config, &slow, 0, false), "degraded");
        let failing = WindowFigures {
            error_rate: 0.3,
            ..healthy
        };
        assert_eq!(status(&config, &failing, 0, false), "unhealthy");
        assert_eq!(
            status(&config, &WindowFigures::default(), 0, false),
            "unknown"
        );
    }

    #[test]
    fn stale_entries_read_as_unknown() {
        assert_eq!(effective_status("healthy", 1_000, 500, 1_400), "healthy");
        assert_eq!(effective_status("healthy", 1_000, 500, 1_501), "unknown");
        assert_eq!(
            effective_status("unconfigured", 0, 500, 10_000),
            "unconfigured"
        );
    }

    #[test]
    fn the_moving_average_starts_at_the_first_sample() {
        assert_eq!(ewma(None, 100.0, 0.3), 100.0);
        assert!((ewma(Some(100.0), 200.0, 0.3) - 130.0).abs() < 1e-9);
    }
}
