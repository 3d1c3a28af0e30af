//! How readers of the registry's live state (the registry itself, the brain router) interpret
//! an entry: a stored status counts only while the entry is fresh.

use crate::registry::{ModelThermal, ProviderHealth};

/// The status a reader should act on: a stored status, unless the entry is stale (then
/// `unknown`). `unconfigured` never goes stale: it is a fact of configuration, not an
/// observation.
pub fn effective_status(
    status: &str,
    observed_at_ms: i64,
    stale_after_ms: i64,
    now_ms: i64,
) -> &str {
    if status == "unconfigured" {
        return status;
    }
    if stale_after_ms > 0 && now_ms.saturating_sub(observed_at_ms) > stale_after_ms {
        return "unknown";
    }
    status
}

impl ProviderHealth {
    /// [`effective_status`] of this entry at `now_ms`.
    pub fn status_at(&self, now_ms: i64) -> &str {
        effective_status(
            &self.status,
            self.observed_at_ms,
            self.stale_after_ms,
            now_ms,
        )
    }
}

impl ModelThermal {
    /// Whether the entry still describes the model at `now_ms` (a stale one says nothing).
    pub fn is_fresh_at(&self, now_ms: i64) -> bool {
        self.stale_after_ms <= 0
            || now_ms.saturating_sub(self.observed_at_ms) <= self.stale_after_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thermal_entry_is_fresh_until_its_expiry() {
        let thermal = ModelThermal {
            observed_at_ms: 1_000,
            stale_after_ms: 500,
            ..Default::default()
        };
        assert!(thermal.is_fresh_at(1_500));
        assert!(!thermal.is_fresh_at(1_501));
        let forever = ModelThermal {
            stale_after_ms: 0,
            ..thermal
        };
        assert!(forever.is_fresh_at(i64::MAX));
    }
}
