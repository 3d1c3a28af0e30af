//! A registry model and its live standing, flattened once per catalogue or live-state change
//! so that a decision only compares numbers and flags.

use radiant_proto::registry::{Model, ModelThermal, ProviderHealth};

use super::context::TaskType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Thermal {
    Hot,
    Warm,
    Cold,
    Off,
}

impl Thermal {
    pub fn parse(value: &str) -> Thermal {
        match value {
            "hot" => Thermal::Hot,
            "warm" => Thermal::Warm,
            "off" => Thermal::Off,
            _ => Thermal::Cold,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Thermal::Hot => "hot",
            Thermal::Warm => "warm",
            Thermal::Cold => "cold",
            Thermal::Off => "off",
        }
    }

    /// Serves at once (a cold model needs a warm-up first).
    pub fn is_ready(self) -> bool {
        matches!(self, Thermal::Hot | Thermal::Warm)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Degraded,
    Unknown,
    Unhealthy,
    Unconfigured,
}

impl Health {
    pub fn parse(value: &str) -> Health {
        match value {
            "healthy" => Health::Healthy,
            "degraded" => Health::Degraded,
            "unhealthy" => Health::Unhealthy,
            "unconfigured" => Health::Unconfigured,
            _ => Health::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unknown => "unknown",
            Health::Unhealthy => "unhealthy",
            Health::Unconfigured => "unconfigured",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosting {
    External,
    SelfHosted,
}

/// Decode rate assumed for a self-hosted model's cost when its latency is unknown.
const ASSUMED_TOKENS_PER_SECOND: f64 = 50.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub model_id: String,
    pub provider_id: String,
    pub hosting: Hosting,
    /// Enabled and active in the registry.
    pub selectable: bool,
    pub serves_chat: bool,
    pub reads_images: bool,
    pub reads_audio: bool,
    pub context_window: u32,
    pub max_output: u32,
    pub min_tier: u32,
    pub hipaa: bool,
    /// USD per token (external models).
    pub input_per_token: f64,
    pub output_per_token: f64,
    pub per_request: f64,
    /// USD per second of instance time, markup included (self-hosted models).
    pub instance_per_second: f64,
    pub thermal: Thermal,
    pub health: Health,
    pub latency_ms: Option<f64>,
    pub success_rate: Option<f64>,
    /// Quality per task (`attributes["quality.<task>"]`), else `attributes["quality"]`, 0..=1.
    pub quality: [Option<f64>; TaskType::ALL.len()],
    pub warmup_seconds: u32,
}

fn unit_interval(value: Option<&String>) -> Option<f64> {
    value
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|number| (0.0..=1.0).contains(number))
}

impl Candidate {
    /// The model as the router sees it at `now_ms`: stale live entries count as unknown
    /// health and the model's default thermal state.
    pub fn from_model(
        model: &Model,
        health: Option<&ProviderHealth>,
        thermal: Option<&ModelThermal>,
        now_ms: i64,
    ) -> Candidate {
        let hosting = if model.hosting == "self_hosted" {
            Hosting::SelfHosted
        } else {
            Hosting::External
        };
        let health_status = health
            .map(|health| Health::parse(health.status_at(now_ms)))
            .unwrap_or(Health::Unknown);
        let thermal_state =
            Thermal::parse(radiant_proto::live::thermal_state(model, thermal, now_ms));
        let fresh_health = health.filter(|_| health_status != Health::Unknown);
        let pricing = model.pricing.unwrap_or_default();
        let general_quality = unit_interval(model.attributes.get("quality"));
        let mut quality = [general_quality; TaskType::ALL.len()];
        for task in TaskType::ALL {
            if let Some(value) =
                unit_interval(model.attributes.get(&format!("quality.{}", task.as_str())))
            {
                quality[task.index()] = Some(value);
            }
        }
        let has = |values: &[String], wanted: &str| values.iter().any(|value| value == wanted);
        Candidate {
            model_id: model.model_id.clone(),
            provider_id: model.provider_id.clone(),
            hosting,
            selectable: model.enabled && model.status == "active",
            serves_chat: has(&model.modes, "chat"),
            reads_images: has(&model.input_modalities, "image"),
            reads_audio: has(&model.input_modalities, "audio"),
            context_window: model.context_window,
            max_output: model.max_output,
            min_tier: model.min_tier,
            hipaa: model.hipaa_compliant,
            input_per_token: pricing.input_per_million.max(0.0) / 1e6,
            output_per_token: pricing.output_per_million.max(0.0) / 1e6,
            per_request: pricing.per_request.max(0.0),
            instance_per_second: pricing.hourly_rate.max(0.0)
                * (1.0 + pricing.markup_percent.max(0.0) / 100.0)
                / 3_600.0,
            thermal: thermal_state,
            health: health_status,
            latency_ms: fresh_health
                .map(|health| health.ewma_latency_ms)
                .filter(|latency| *latency > 0.0),
            success_rate: fresh_health
                .filter(|health| health.observations > 0)
                .map(|health| health.success_rate.clamp(0.0, 1.0)),
            quality,
            warmup_seconds: model
                .self_hosted
                .as_ref()
                .map(|config| config.warmup_time_seconds)
                .unwrap_or(0),
        }
    }

    /// USD for a request of these sizes: tokens at the provider's prices, or the instance time
    /// the answer takes on a self-hosted model.
    pub fn estimated_cost(&self, input_tokens: u32, output_tokens: u32) -> f64 {
        match self.hosting {
            Hosting::External => {
                f64::from(input_tokens) * self.input_per_token
                    + f64::from(output_tokens) * self.output_per_token
                    + self.per_request
            }
            Hosting::SelfHosted => {
                let seconds = self
                    .latency_ms
                    .map(|latency| latency / 1_000.0)
                    .unwrap_or(f64::from(output_tokens) / ASSUMED_TOKENS_PER_SECOND);
                seconds * self.instance_per_second
                    + f64::from(input_tokens) * self.input_per_token
                    + f64::from(output_tokens) * self.output_per_token
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use radiant_proto::registry::{Pricing, SelfHosted};

    use super::*;

    pub fn external_model(model_id: &str, provider_id: &str) -> Model {
        Model {
            model_id: model_id.to_string(),
            provider_id: provider_id.to_string(),
            hosting: "external".to_string(),
            modes: vec!["chat".to_string()],
            input_modalities: vec!["text".to_string()],
            context_window: 128_000,
            max_output: 8_192,
            min_tier: 1,
            status: "active".to_string(),
            enabled: true,
            pricing: Some(Pricing {
                input_per_million: 3.0,
                output_per_million: 15.0,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn healthy(provider_id: &str, latency_ms: f64, now_ms: i64) -> ProviderHealth {
        ProviderHealth {
            provider_id: provider_id.to_string(),
            status: "healthy".to_string(),
            ewma_latency_ms: latency_ms,
            success_rate: 0.99,
            observations: 100,
            observed_at_ms: now_ms,
            stale_after_ms: 60_000,
            ..Default::default()
        }
    }

    #[test]
    fn a_model_is_flattened_with_its_live_standing() {
        let now = 1_000_000;
        let mut model = external_model("openai/gpt-4o", "openai");
        model.input_modalities.push("image".to_string());
        model.attributes = [
            ("quality".to_string(), "0.8".to_string()),
            ("quality.code".to_string(), "0.95".to_string()),
            ("quality.creative".to_string(), "1.7".to_string()),
        ]
        .into_iter()
        .collect();
        let candidate =
            Candidate::from_model(&model, Some(&healthy("openai", 420.0, now)), None, now);
        assert!(candidate.selectable && candidate.serves_chat && candidate.reads_images);
        assert!(!candidate.reads_audio);
        assert_eq!(
            (candidate.thermal, candidate.health),
            (Thermal::Hot, Health::Healthy)
        );
        assert_eq!(candidate.latency_ms, Some(420.0));
        assert_eq!(candidate.quality[TaskType::Code.index()], Some(0.95));
        assert_eq!(candidate.quality[TaskType::Chat.index()], Some(0.8));
        assert_eq!(
            candidate.quality[TaskType::Creative.index()],
            Some(0.8),
            "an out-of-range figure is ignored"
        );
        let cost = candidate.estimated_cost(1_000, 500);
        assert!((cost - (0.003 + 0.0075)).abs() < 1e-12, "{cost}");
        // an hour later the health entry is stale: unknown, and its figures no longer count
        let later = Candidate::from_model(
            &model,
            Some(&healthy("openai", 420.0, now)),
            None,
            now + 3_600_000,
        );
        assert_eq!(later.health, Health::Unknown);
        assert_eq!((later.latency_ms, later.success_rate), (None, None));
    }

    #[test]
    fn self_hosted_models_take_their_thermal_state_and_instance_cost() {
        let now = 5_000;
        let mut model = external_model("self/smollm2", "self-hosted");
        model.hosting = "self_hosted".to_string();
        model.pricing = Some(Pricing {
            hourly_rate: 3.6,
            markup_percent: 50.0,
            ..Default::default()
        });
        model.self_hosted = Some(SelfHosted {
            default_thermal_state: "off".to_string(),
            warmup_time_seconds: 90,
            ..Default::default()
        });
        let switched_off = Candidate::from_model(&model, None, None, now);
        assert_eq!(
            switched_off.thermal,
            Thermal::Off,
            "the default applies without an entry"
        );
        let warm = ModelThermal {
            state: "warm".to_string(),
            observed_at_ms: now,
            stale_after_ms: 1_000,
            ..Default::default()
        };
        let candidate = Candidate::from_model(&model, None, Some(&warm), now);
        assert_eq!(candidate.thermal, Thermal::Warm);
        assert_eq!(candidate.warmup_seconds, 90);
        // 3.6 USD/h × 1.5 = 0.0015 USD/s; 500 tokens at 50 tokens/s = 10 s
        assert!((candidate.estimated_cost(100, 500) - 0.015).abs() < 1e-12);
        let stale = Candidate::from_model(&model, None, Some(&warm), now + 2_000);
        assert_eq!(stale.thermal, Thermal::Off, "a stale entry says nothing");
    }
}
