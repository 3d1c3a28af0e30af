//! The score of an eligible model: five terms in 0..=1, weighted.
//!
//! The seeds weigh cost 25 %, latency 25 %, quality 35 % and reliability 15 %, and give a
//! learned term 35 % of the total; here the seeds' four share the other 65 % in their
//! proportions. Without a limit from the caller, cost and latency are relative to the other
//! eligible models on a log scale (the cheapest or fastest 1, the dearest or slowest 0), so a
//! price ten times another's counts the same at any magnitude.

use super::candidate::{Candidate, Health};

pub const WEIGHT_LEARNED: f64 = 0.35;
pub const WEIGHT_COST: f64 = 0.65 * 0.25;
pub const WEIGHT_LATENCY: f64 = 0.65 * 0.25;
pub const WEIGHT_QUALITY: f64 = 0.65 * 0.35;
pub const WEIGHT_RELIABILITY: f64 = 0.65 * 0.15;

/// The seeds' defaults where nothing is known.
pub const UNKNOWN_QUALITY: f64 = 0.7;
pub const UNKNOWN_RELIABILITY: f64 = 0.9;
pub const UNKNOWN_LATENCY: f64 = 0.5;
/// A degraded provider's reliability counts this much.
pub const DEGRADED_FACTOR: f64 = 0.75;

/// Costs below this (USD) count as free.
const COST_FLOOR: f64 = 1e-7;
const LATENCY_FLOOR_MS: f64 = 1.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms {
    pub cost: f64,
    pub latency: f64,
    pub quality: f64,
    pub reliability: f64,
    pub learned: f64,
}

impl Terms {
    pub fn total(&self) -> f64 {
        self.cost * WEIGHT_COST
            + self.latency * WEIGHT_LATENCY
            + self.quality * WEIGHT_QUALITY
            + self.reliability * WEIGHT_RELIABILITY
            + self.learned * WEIGHT_LEARNED
    }
}

/// A range of values on a log scale: where a value sits, 1 at the low end.
#[derive(Debug, Clone, Copy)]
pub struct LogRange {
    low: f64,
    high: f64,
}

impl LogRange {
    fn new(floor: f64, values: impl Iterator<Item = f64>) -> Option<LogRange> {
        let mut range: Option<LogRange> = None;
        for value in values {
            let value = value.max(floor).ln();
            range = Some(match range {
                None => LogRange {
                    low: value,
                    high: value,
                },
                Some(range) => LogRange {
                    low: range.low.min(value),
                    high: range.high.max(value),
                },
            });
        }
        range
    }

    fn position(&self, floor: f64, value: f64) -> f64 {
        if self.high - self.low < 1e-9 {
            return 1.0;
        }
        ((self.high - value.max(floor).ln()) / (self.high - self.low)).clamp(0.0, 1.0)
    }
}

/// What the relative terms are relative to: the eligible set's costs and known latencies.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub max_cost: Option<f64>,
    pub max_latency_ms: Option<f64>,
    costs: Option<LogRange>,
    latencies: Option<LogRange>,
}

impl Scale {
    pub fn new(
        max_cost: Option<f64>,
        max_latency_ms: Option<f64>,
        costs: impl Iterator<Item = f64>,
        latencies: impl Iterator<Item = f64>,
    ) -> Scale {
        Scale {
            max_cost,
            max_latency_ms,
            costs: LogRange::new(COST_FLOOR, costs),
            latencies: LogRange::new(LATENCY_FLOOR_MS, latencies),
        }
    }

    pub fn cost_term(&self, cost: f64) -> f64 {
        match (self.max_cost, self.costs) {
            (Some(limit), _) if limit > 0.0 => (1.0 - cost / limit).clamp(0.0, 1.0),
            // a limit of zero: only free models are eligible, and they are all equal
            (Some(_), _) => 1.0,
            (None, Some(range)) => range.position(COST_FLOOR, cost),
            (None, None) => 1.0,
        }
    }

    pub fn latency_term(&self, latency_ms: Option<f64>) -> f64 {
        let Some(latency) = latency_ms else {
            return UNKNOWN_LATENCY;
        };
        match (self.max_latency_ms, self.latencies) {
            (Some(limit), _) => (1.0 - latency / limit).clamp(0.0, 1.0),
            (None, Some(range)) => range.position(LATENCY_FLOOR_MS, latency),
            (None, None) => UNKNOWN_LATENCY,
        }
    }
}

pub fn reliability_term(candidate: &Candidate) -> f64 {
    let rate = candidate.success_rate.unwrap_or(UNKNOWN_RELIABILITY);
    if candidate.health == Health::Degraded {
        rate * DEGRADED_FACTOR
    } else {
        rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_add_up_and_keep_the_seeds_proportions() {
        let total =
            WEIGHT_COST + WEIGHT_LATENCY + WEIGHT_QUALITY + WEIGHT_RELIABILITY + WEIGHT_LEARNED;
        assert!((total - 1.0).abs() < 1e-12);
        assert!((WEIGHT_QUALITY / WEIGHT_COST - 0.35 / 0.25).abs() < 1e-12);
        let perfect = Terms {
            cost: 1.0,
            latency: 1.0,
            quality: 1.0,
            reliability: 1.0,
            learned: 1.0,
        };
        assert!((perfect.total() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn relative_terms_sit_on_a_log_scale_and_limits_are_absolute() {
        let scale = Scale::new(
            None,
            None,
            [0.001, 0.01, 0.1].into_iter(),
            [100.0, 1_000.0].into_iter(),
        );
        assert_eq!(scale.cost_term(0.001), 1.0);
        assert!(
            (scale.cost_term(0.01) - 0.5).abs() < 1e-9,
            "ten times dearer: halfway"
        );
        assert_eq!(scale.cost_term(0.1), 0.0);
        assert_eq!(scale.latency_term(Some(100.0)), 1.0);
        assert_eq!(scale.latency_term(None), UNKNOWN_LATENCY);
        let limited = Scale::new(
            Some(0.02),
            Some(2_000.0),
            [0.01].into_iter(),
            [500.0].into_iter(),
        );
        assert!((limited.cost_term(0.01) - 0.5).abs() < 1e-12);
        assert!((limited.latency_term(Some(500.0)) - 0.75).abs() < 1e-12);
        let single = Scale::new(None, None, [0.5].into_iter(), std::iter::empty());
        assert_eq!(single.cost_term(0.5), 1.0, "one model is the cheapest");
        assert_eq!(
            single.latency_term(Some(300.0)),
            UNKNOWN_LATENCY,
            "nothing to compare with"
        );
    }
}
