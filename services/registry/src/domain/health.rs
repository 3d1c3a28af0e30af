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

/// One entry of a window: a call, or a share of a summary's calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSample {
    pub success: bool,
    pub latency_ms: f64,
    /// How many calls this sample stands for (1 for a single call; a summary of n calls with
    /// k latencies gives each of them n / k).
    pub weight: f64,
}

impl WindowFigures {
    /// `samples`: (success, latency) of the latest observations, any order. Percentiles are
    /// over successful calls only (a failure's latency says how fast it failed).
    pub fn from_samples(samples: &[(bool, f64)]) -> Self {
        let weighted: Vec<WindowSample> = samples
            .iter()
            .map(|&(success, latency_ms)| WindowSample {
                success,
                latency_ms,
                weight: 1.0,
            })
            .collect();
        Self::from_weighted(weighted)
    }

    /// The figures of weighted samples: rates by weight, percentiles by the weight of the
    /// successful samples at or below them (nearest rank).
    pub fn from_weighted(mut samples: Vec<WindowSample>) -> Self {
        samples.retain(|sample| sample.weight > 0.0 && sample.weight.is_finite());
        let total: f64 = samples.iter().map(|sample| sample.weight).sum();
        if samples.is_empty() || total <= 0.0 {
            return Self::default();
        }
        let failures: f64 = samples
            .iter()
            .filter(|sample| !sample.success)
            .map(|sample| sample.weight)
            .sum();
        let mut latencies: Vec<(f64, f64)> = samples
            .iter()
            .filter(|sample| sample.success && sample.latency_ms.is_finite())
            .map(|sample| (sample.latency_ms, sample.weight))
            .collect();
        latencies.sort_by(|left, right| left.0.total_cmp(&right.0));
        Self {
            p95_latency_ms: weighted_percentile(&latencies, 0.95),
            p99_latency_ms: weighted_percentile(&latencies, 0.99),
            error_rate: failures / total,
            success_rate: (total - failures) / total,
            size: total.round().min(f64::from(u32::MAX)) as u32,
        }
    }
}

/// Nearest-rank percentile of (value, weight) sorted by value: the first value whose
/// cumulative weight reaches `quantile` of the total (0 when empty).
pub fn weighted_percentile(sorted: &[(f64, f64)], quantile: f64) -> f64 {
    let total: f64 = sorted.iter().map(|(_, weight)| weight).sum();
    if sorted.is_empty() || total <= 0.0 {
        return 0.0;
    }
    // a hair below the exact rank, so float sums of equal weights never skip it
    let rank = quantile * total * (1.0 - 1e-12);
    let mut cumulative = 0.0;
    for (value, weight) in sorted {
        cumulative += weight;
        if cumulative >= rank {
            return *value;
        }
    }
    sorted[sorted.len() - 1].0
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
    ewma_of_calls(previous, sample, 1, alpha)
}

/// The moving average after `calls` samples of `mean` each, in closed form: what a summary of
/// calls moves it by, as if its calls had come one by one at their mean.
pub fn ewma_of_calls(previous: Option<f64>, mean: f64, calls: u32, alpha: f64) -> f64 {
    match previous {
        Some(previous) if previous > 0.0 => {
            let kept = (1.0 - alpha).powi(calls.min(i32::MAX as u32) as i32);
            kept * previous + (1.0 - kept) * mean
        }
        _ => mean,
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
    fn weighted_samples_count_by_their_weight() {
        // a summary of 190 fast calls (19 latencies kept) and 10 slow single calls
        let mut samples: Vec<WindowSample> = (0..19)
            .map(|index| WindowSample {
                success: true,
                latency_ms: 10.0 + f64::from(index),
                weight: 10.0,
            })
            .collect();
        samples.extend((0..10).map(|_| WindowSample {
            success: true,
            latency_ms: 500.0,
            weight: 1.0,
        }));
        samples.push(WindowSample {
            success: false,
            latency_ms: 1.0,
            weight: 0.0,
        });
        let figures = WindowFigures::from_weighted(samples.clone());
        assert_eq!(figures.size, 200);
        assert_eq!(figures.error_rate, 0.0);
        assert_eq!(figures.p95_latency_ms, 28.0, "190 of 200 calls are fast");
        assert_eq!(figures.p99_latency_ms, 500.0);
        samples.extend((0..50).map(|_| WindowSample {
            success: false,
            latency_ms: 1.0,
            weight: 1.0,
        }));
        let figures = WindowFigures::from_weighted(samples);
        assert_eq!(figures.size, 250);
        assert!((figures.error_rate - 0.2).abs() < 1e-12);
        assert_eq!(
            figures.p95_latency_ms, 28.0,
            "percentiles ignore the failures"
        );
        // weight one for every sample is the plain nearest rank
        let plain: Vec<(bool, f64)> = (1..=100).map(|value| (true, value as f64)).collect();
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        let figures = WindowFigures::from_samples(&plain);
        assert_eq!(figures.p95_latency_ms, percentile(&sorted, 0.95));
        assert_eq!(figures.p99_latency_ms, percentile(&sorted, 0.99));
    }

    #[test]
    fn a_summary_moves_the_average_as_its_calls_would_one_by_one() {
        let mut one_by_one = Some(100.0);
        for _ in 0..7 {
            one_by_one = Some(ewma(one_by_one, 40.0, 0.3));
        }
        let summarised = ewma_of_calls(Some(100.0), 40.0, 7, 0.3);
        assert!((one_by_one.unwrap() - summarised).abs() < 1e-9);
        assert_eq!(ewma_of_calls(None, 40.0, 7, 0.3), 40.0);
        assert!((ewma_of_calls(Some(100.0), 40.0, u32::MAX, 0.3) - 40.0).abs() < 1e-9);
    }

    #[test]
    fn the_moving_average_starts_at_the_first_sample() {
        assert_eq!(ewma(None, 100.0, 0.3), 100.0);
        assert!((ewma(Some(100.0), 200.0, 0.3) - 130.0).abs() < 1e-9);
    }
}
