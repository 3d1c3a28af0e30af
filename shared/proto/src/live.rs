//! How readers of the registry's live state (the registry itself, the brain router) interpret
//! an entry: a stored status counts only while the entry is fresh.

use crate::registry::{Model, ModelThermal, ProviderHealth};

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

/// A model's thermal state as a reader should act on it at `now_ms`: an external model is
/// served whenever its provider is up (`hot`); a self-hosted one is what a fresh entry says,
/// else its default (`off` stays off, anything else is `cold` until observed).
pub fn thermal_state<'a>(
    model: &'a Model,
    thermal: Option<&'a ModelThermal>,
    now_ms: i64,
) -> &'a str {
    if model.hosting == "external" {
        return "hot";
    }
    match thermal.filter(|entry| entry.is_fresh_at(now_ms)) {
        Some(entry) if !entry.state.is_empty() => &entry.state,
        _ => match model
            .self_hosted
            .as_ref()
            .map(|config| config.default_thermal_state.as_str())
        {
            Some("off") => "off",
            _ => "cold",
        },
    }
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
