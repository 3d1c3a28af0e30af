//! Health observations of the router's own calls, summarised: a busy router answers thousands
//! of requests a second, and one JetStream event (and one history row in the registry) per
//! answer would cost more than the answer. Successful calls to a provider and model are folded
//! into one summary per interval (count, mean latency, the latest latencies for percentiles);
//! a failure is let through at once, after the summary of the successes before it, so the
//! registry still sees calls in the order they were made and marks a failing deployment
//! within seconds.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::time::Duration;

use radiant_proto::events::ProviderHealthObserved;
use tokio::time::Instant;

/// Latencies a summary keeps for the registry's percentiles (the latest ones).
pub const SAMPLES_PER_SUMMARY: usize = 256;

struct Summary {
    /// The first call's observation (provider, model, region, source).
    first: ProviderHealthObserved,
    calls: u32,
    latency_sum_ms: f64,
    latencies_ms: VecDeque<f32>,
    last_observed_at_ms: i64,
    due_at: Instant,
}

impl Summary {
    fn start(observation: ProviderHealthObserved, due_at: Instant) -> Self {
        let mut latencies_ms = VecDeque::with_capacity(SAMPLES_PER_SUMMARY);
        latencies_ms.push_back(observation.latency_ms as f32);
        Self {
            calls: 1,
            latency_sum_ms: observation.latency_ms,
            latencies_ms,
            last_observed_at_ms: observation.observed_at_ms,
            due_at,
            first: observation,
        }
    }

    fn add(&mut self, observation: &ProviderHealthObserved) {
        self.calls = self.calls.saturating_add(1);
        self.latency_sum_ms += observation.latency_ms;
        if self.latencies_ms.len() == SAMPLES_PER_SUMMARY {
            self.latencies_ms.pop_front();
        }
        self.latencies_ms.push_back(observation.latency_ms as f32);
        self.last_observed_at_ms = self.last_observed_at_ms.max(observation.observed_at_ms);
    }

    /// One call stays an ordinary observation; several become a summary.
    fn into_observation(self) -> ProviderHealthObserved {
        let mut observation = self.first;
        if self.calls == 1 {
            return observation;
        }
        observation.first_observed_at_ms = observation.observed_at_ms;
        observation.observed_at_ms = self.last_observed_at_ms;
        observation.calls = self.calls;
        observation.latency_ms = self.latency_sum_ms / f64::from(self.calls);
        observation.latencies_ms = self.latencies_ms.into();
        observation
    }
}

/// Pending summaries, one per provider and model.
pub struct HealthSummaries {
    interval: Duration,
    pending: HashMap<(String, String), Summary>,
}

impl HealthSummaries {
    /// `interval` zero lets every observation through on its own.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            pending: HashMap::new(),
        }
    }

    /// Takes one call's observation; what must be published now goes to `ready`.
    pub fn observe(
        &mut self,
        observation: ProviderHealthObserved,
        now: Instant,
        ready: &mut Vec<ProviderHealthObserved>,
    ) {
        let key = (
            observation.provider_id.clone(),
            observation.model_id.clone(),
        );
        let summarisable = observation.success && !observation.unconfigured;
        if self.interval.is_zero() || !summarisable {
            // the successes before a failure go first, so the failure stays the latest word
            if let Some(summary) = self.pending.remove(&key) {
                ready.push(summary.into_observation());
            }
            ready.push(observation);
            return;
        }
        match self.pending.get_mut(&key) {
            Some(summary) => summary.add(&observation),
            None => {
                let summary = Summary::start(observation, now + self.interval);
                self.pending.insert(key, summary);
            }
        }
    }

    /// Moves the summaries whose interval has passed to `ready`.
    pub fn take_due(&mut self, now: Instant, ready: &mut Vec<ProviderHealthObserved>) {
        let due: Vec<(String, String)> = self
            .pending
            .iter()
            .filter(|(_, summary)| summary.due_at <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            if let Some(summary) = self.pending.remove(&key) {
                ready.push(summary.into_observation());
            }
        }
    }

    /// Moves every summary to `ready` (the router is stopping).
    pub fn take_all(&mut self, ready: &mut Vec<ProviderHealthObserved>) {
        ready.extend(
            self.pending
                .drain()
                .map(|(_, summary)| summary.into_observation()),
        );
    }

    /// When the next summary is due, if any is pending.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|summary| summary.due_at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(model_id: &str, success: bool, latency_ms: f64, at: i64) -> ProviderHealthObserved {
        ProviderHealthObserved {
            provider_id: "provider".to_string(),
            model_id: model_id.to_string(),
            success,
            latency_ms,
            observed_at_ms: at,
            error: if success { "" } else { "503" }.to_string(),
            source: "router".to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn successes_become_one_summary_when_due() {
        let mut summaries = HealthSummaries::new(Duration::from_secs(1));
        let start = Instant::now();
        let mut ready = Vec::new();
        for index in 0..300 {
            summaries.observe(
                call("model", true, f64::from(index), 1_000 + i64::from(index)),
                start,
                &mut ready,
            );
        }
        summaries.take_due(start + Duration::from_millis(999), &mut ready);
        assert!(ready.is_empty(), "nothing before the interval");
        assert_eq!(summaries.next_due(), Some(start + Duration::from_secs(1)));
        summaries.take_due(start + Duration::from_secs(1), &mut ready);
        assert_eq!(ready.len(), 1);
        let summary = &ready[0];
        assert_eq!(summary.calls, 300);
        assert_eq!(summary.first_observed_at_ms, 1_000);
        assert_eq!(summary.observed_at_ms, 1_299);
        assert!((summary.latency_ms - 149.5).abs() < 1e-9);
        assert_eq!(summary.latencies_ms.len(), SAMPLES_PER_SUMMARY);
        // the latest latencies are kept
        assert_eq!(summary.latencies_ms[0], 44.0);
        assert_eq!(*summary.latencies_ms.last().unwrap(), 299.0);
        assert_eq!(summaries.next_due(), None);
    }

    #[test]
    fn a_failure_goes_at_once_after_the_successes_before_it() {
        let mut summaries = HealthSummaries::new(Duration::from_secs(1));
        let now = Instant::now();
        let mut ready = Vec::new();
        summaries.observe(call("model", true, 10.0, 1), now, &mut ready);
        summaries.observe(call("model", true, 20.0, 2), now, &mut ready);
        summaries.observe(call("other", true, 30.0, 3), now, &mut ready);
        summaries.observe(call("model", false, 5.0, 4), now, &mut ready);
        assert_eq!(ready.len(), 2);
        assert!(ready[0].success && ready[0].calls == 2 && ready[0].observed_at_ms == 2);
        assert!(!ready[1].success && ready[1].calls == 0 && ready[1].observed_at_ms == 4);
        // the other model's summary waits for its interval; a lone call stays a plain one
        ready.clear();
        summaries.take_all(&mut ready);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].model_id, "other");
        assert_eq!(ready[0].calls, 0);
        assert!(ready[0].latencies_ms.is_empty());
        assert_eq!(ready[0].latency_ms, 30.0);
    }

    #[test]
    fn a_zero_interval_lets_every_call_through() {
        let mut summaries = HealthSummaries::new(Duration::ZERO);
        let mut ready = Vec::new();
        for at in 0..3 {
            summaries.observe(call("model", true, 1.0, at), Instant::now(), &mut ready);
        }
        assert_eq!(ready.len(), 3);
        assert_eq!(summaries.next_due(), None);
    }
}
