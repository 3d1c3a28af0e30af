//! Thermal state of self-hosted models: OFF, COLD, WARM, HOT, and the admin's mode (one of
//! those, or AUTOMATIC). What an endpoint is observed in meets what the mode asks for and
//! what demand says: a warm-up keeps a model warm until `warm_until`; above the
//! requests-per-minute threshold a warm model is hot; an automatic model nobody uses scales to
//! zero by its endpoint's idle period, and is cold from the observation that says so.

/// The inputs of one decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ThermalInputs<'a> {
    pub mode: &'a str,
    /// What the endpoint was last seen in (off, cold, warm, hot).
    pub observed: &'a str,
    pub warm_until_ms: i64,
    pub requests_per_minute: f64,
    pub now_ms: i64,
    pub hot_requests_per_minute: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThermalDecision {
    pub state: &'static str,
    pub reason: String,
    /// The endpoint should be warmed (the manager asks the host to load it).
    pub warm_endpoint: bool,
}

pub fn decide(inputs: &ThermalInputs<'_>) -> ThermalDecision {
    let busy = inputs.requests_per_minute >= inputs.hot_requests_per_minute;
    let loaded = matches!(inputs.observed, "warm" | "hot");
    let kept_warm = inputs.warm_until_ms > inputs.now_ms;
    let decision = |state: &'static str, reason: String, warm_endpoint: bool| ThermalDecision {
        state,
        reason,
        warm_endpoint,
    };
    match inputs.mode {
        "off" => decision("off", "mode is off".to_string(), false),
        "hot" | "warm" => {
            if !loaded {
                return decision(
                    "cold",
                    format!("mode is {} and the endpoint is loading", inputs.mode),
                    true,
                );
            }
            if inputs.mode == "hot" || busy {
                return decision("hot", hot_reason(inputs), false);
            }
            decision("warm", "mode is warm".to_string(), false)
        }
        "cold" => {
            if loaded && busy {
                return decision("hot", hot_reason(inputs), false);
            }
            if loaded {
                return decision("warm", "endpoint is loaded".to_string(), false);
            }
            decision("cold", "mode is cold".to_string(), false)
        }
        // automatic
        _ => {
            if loaded && busy {
                return decision("hot", hot_reason(inputs), false);
            }
            if loaded && kept_warm {
                return decision("warm", "kept warm by a warm-up request".to_string(), false);
            }
            if loaded && inputs.requests_per_minute > 0.0 {
                return decision("warm", "in use".to_string(), false);
            }
            if loaded {
                // the endpoint scales itself to zero after its idle period (the inference
                // host's idle unload, SageMaker's scale-to-zero); the next observation says so
                return decision(
                    "warm",
                    "idle; scales to zero after the idle period".to_string(),
                    false,
                );
            }
            if kept_warm {
                return decision("cold", "warming for a warm-up request".to_string(), true);
            }
            decision(
                if inputs.observed == "off" {
                    "off"
                } else {
                    "cold"
                },
                if inputs.observed == "off" {
                    "endpoint is off"
                } else {
                    "scaled to zero"
                }
                .to_string(),
                false,
            )
        }
    }
}

fn hot_reason(inputs: &ThermalInputs<'_>) -> String {
    format!(
        "{:.1} requests per minute (hot from {:.0})",
        inputs.requests_per_minute, inputs.hot_requests_per_minute
    )
}

/// An observation replaces state only if it is newer.
pub fn is_newer(observed_at_ms: i64, current_observed_at_ms: Option<i64>) -> bool {
    current_observed_at_ms.is_none_or(|current| observed_at_ms > current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(mode: &'a str, observed: &'a str) -> ThermalInputs<'a> {
        ThermalInputs {
            mode,
            observed,
            warm_until_ms: 0,
            requests_per_minute: 0.0,
            now_ms: 1_000_000,
            hot_requests_per_minute: 30.0,
        }
    }

    #[test]
    fn warm_ups_hold_until_warm_until_then_scale_to_zero() {
        let mut kept = inputs("automatic", "cold");
        kept.warm_until_ms = 2_000_000;
        let warming = decide(&kept);
        assert_eq!(warming.state, "cold");
        assert!(warming.warm_endpoint);
        kept.observed = "warm";
        assert_eq!(decide(&kept).state, "warm");
        kept.now_ms = 2_000_001;
        let idle = decide(&kept);
        assert_eq!(idle.state, "warm");
        assert!(idle.reason.contains("idle"));
        kept.observed = "cold";
        let scaled = decide(&kept);
        assert_eq!(scaled.state, "cold");
        assert!(!scaled.warm_endpoint);
        assert!(scaled.reason.contains("scaled to zero"));
    }

    #[test]
    fn demand_makes_a_loaded_model_hot() {
        let mut busy = inputs("automatic", "warm");
        busy.requests_per_minute = 45.0;
        assert_eq!(decide(&busy).state, "hot");
        busy.observed = "cold";
        assert_eq!(decide(&busy).state, "cold");
    }

    #[test]
    fn modes_win_over_observations() {
        assert_eq!(decide(&inputs("off", "warm")).state, "off");
        let warming = decide(&inputs("warm", "cold"));
        assert_eq!(warming.state, "cold");
        assert!(warming.warm_endpoint);
        assert_eq!(decide(&inputs("hot", "warm")).state, "hot");
    }

    #[test]
    fn only_newer_observations_replace_state() {
        assert!(is_newer(5, None));
        assert!(is_newer(5, Some(4)));
        assert!(!is_newer(5, Some(5)));
        assert!(!is_newer(3, Some(5)));
    }
}
