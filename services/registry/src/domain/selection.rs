//! Model selection over the in-memory catalogue: filter by what the request needs, exclude
//! what cannot serve (disabled, not active, unhealthy, unconfigured, thermal OFF), then order
//! HOT > WARM > COLD, then lower latency (unknown latency last), then better health, then id.
//! External models are served by their provider whenever it is up, so they count as HOT.

use radiant_bus::ServiceError;
use radiant_proto::registry::{
    Candidate, Model, ModelThermal, ProviderHealth, SelectModelsRequest,
};

use super::health::effective_status;
use super::vocabulary::{self as vocab, health_rank, thermal_rank};

pub const DEFAULT_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 100;

/// What selection needs to know about live state.
pub trait LiveLookup {
    fn provider_health(&self, provider_id: &str) -> Option<&ProviderHealth>;
    fn model_thermal(&self, model_id: &str) -> Option<&ModelThermal>;
}

/// A model's live standing at `now_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub thermal_state: String,
    pub health_status: String,
    pub latency_ms: f64,
    pub success_rate: f64,
    pub error_rate: f64,
}

pub fn standing(model: &Model, live: &impl LiveLookup, now_ms: i64) -> Standing {
    let health = live.provider_health(&model.provider_id);
    let health_status = match health {
        Some(health) => effective_status(
            &health.status,
            health.observed_at_ms,
            health.stale_after_ms,
            now_ms,
        )
        .to_string(),
        None => "unknown".to_string(),
    };
    let thermal_state =
        radiant_proto::live::thermal_state(model, live.model_thermal(&model.model_id), now_ms)
            .to_string();
    Standing {
        thermal_state,
        health_status,
        latency_ms: health.map(|health| health.ewma_latency_ms).unwrap_or(0.0),
        success_rate: health.map(|health| health.success_rate).unwrap_or(0.0),
        error_rate: health.map(|health| health.error_rate).unwrap_or(0.0),
    }
}

/// A request checked against the vocabularies, with defaults applied.
#[derive(Debug, Clone)]
pub struct Criteria {
    pub request: SelectModelsRequest,
    pub limit: usize,
}

pub fn criteria(mut request: SelectModelsRequest) -> Result<Criteria, ServiceError> {
    if !request.mode.is_empty() && !vocab::is_one_of(&request.mode, vocab::MODES) {
        return Err(ServiceError::invalid_field(
            "mode",
            format!(
                "\"{}\" is not one of: {}",
                request.mode,
                vocab::MODES.join(", ")
            ),
        ));
    }
    if !request.category.is_empty() && !vocab::is_one_of(&request.category, vocab::CATEGORIES) {
        return Err(ServiceError::invalid_field(
            "category",
            format!(
                "\"{}\" is not one of: {}",
                request.category,
                vocab::CATEGORIES.join(", ")
            ),
        ));
    }
    for (field, values) in [
        ("input_modalities", &request.input_modalities),
        ("output_modalities", &request.output_modalities),
    ] {
        for (index, value) in values.iter().enumerate() {
            if !vocab::is_one_of(value, vocab::MODALITIES) {
                return Err(ServiceError::invalid_field(
                    &format!("{field}[{index}]"),
                    format!(
                        "\"{value}\" is not one of: {}",
                        vocab::MODALITIES.join(", ")
                    ),
                ));
            }
        }
    }
    if request.hosting_preference.is_empty() {
        request.hosting_preference = "any".to_string();
    }
    if !vocab::is_one_of(&request.hosting_preference, vocab::HOSTING_PREFERENCES) {
        return Err(ServiceError::invalid_field(
            "hosting_preference",
            "must be any, external or self_hosted",
        ));
    }
    if request.tenant_tier == 0 {
        request.tenant_tier = 1;
    }
    super::validation::tier("tenant_tier", request.tenant_tier)?;
    let limit = match request.limit {
        0 => DEFAULT_LIMIT,
        limit if limit > MAX_LIMIT => {
            return Err(ServiceError::invalid_field("limit", "must be at most 100"));
        }
        limit => limit,
    } as usize;
    Ok(Criteria { request, limit })
}

fn contains_all(have: &[String], need: &[String]) -> bool {
    need.iter()
        .all(|needed| have.iter().any(|had| had == needed))
}

/// Whether the model is what the request asks for (before live state).
pub fn matches(model: &Model, request: &SelectModelsRequest) -> bool {
    if !model.enabled || model.status != "active" {
        return false;
    }
    if !request.mode.is_empty() && !model.modes.contains(&request.mode) {
        return false;
    }
    if !request.category.is_empty() && model.category != request.category {
        return false;
    }
    if model.min_tier > request.tenant_tier {
        return false;
    }
    if request.hosting_preference != "any" && model.hosting != request.hosting_preference {
        return false;
    }
    if request.hipaa_required && !model.hipaa_compliant {
        return false;
    }
    if request.min_context_window > 0 && model.context_window < request.min_context_window {
        return false;
    }
    contains_all(&model.input_modalities, &request.input_modalities)
        && contains_all(&model.output_modalities, &request.output_modalities)
        && contains_all(&model.capabilities, &request.required_capabilities)
}

/// Thermal rank, latency unknown, latency, health rank.
type RankKey = (u8, u8, f64, u8);
type Ranked<'catalogue> = (RankKey, &'catalogue Model, Standing);

pub struct Selection {
    pub candidates: Vec<Candidate>,
    pub eligible: u32,
    pub excluded_unhealthy: u32,
}

/// Selects from `models` (the whole catalogue) in one pass plus a partial sort.
pub fn select<'catalogue>(
    models: impl Iterator<Item = &'catalogue Model>,
    live: &impl LiveLookup,
    criteria: &Criteria,
    now_ms: i64,
) -> Selection {
    let mut ranked: Vec<Ranked<'catalogue>> = Vec::new();
    let mut excluded_unhealthy = 0u32;
    for model in models {
        if !matches(model, &criteria.request) {
            continue;
        }
        let standing = standing(model, live, now_ms);
        let serviceable = !matches!(
            standing.health_status.as_str(),
            "unhealthy" | "unconfigured"
        ) && standing.thermal_state != "off";
        if !serviceable {
            excluded_unhealthy += 1;
            continue;
        }
        let latency_known = standing.latency_ms > 0.0;
        let key = (
            thermal_rank(&standing.thermal_state),
            u8::from(!latency_known),
            if latency_known {
                standing.latency_ms
            } else {
                0.0
            },
            health_rank(&standing.health_status),
        );
        ranked.push((key, model, standing));
    }
    let eligible = ranked.len() as u32;
    let order = |left: &Ranked<'catalogue>, right: &Ranked<'catalogue>| {
        left.0
            .0
            .cmp(&right.0.0)
            .then(left.0.1.cmp(&right.0.1))
            .then(left.0.2.total_cmp(&right.0.2))
            .then(left.0.3.cmp(&right.0.3))
            .then_with(|| left.1.model_id.cmp(&right.1.model_id))
    };
    if ranked.len() > criteria.limit {
        ranked.select_nth_unstable_by(criteria.limit - 1, order);
        ranked.truncate(criteria.limit);
    }
    ranked.sort_by(order);
    let candidates = ranked
        .into_iter()
        .map(|(_, model, standing)| Candidate {
            model_id: model.model_id.clone(),
            provider_id: model.provider_id.clone(),
            hosting: model.hosting.clone(),
            reason: format!(
                "{} {}, {}, {}",
                model.hosting.replace('_', "-"),
                standing.thermal_state,
                if standing.latency_ms > 0.0 {
                    format!("{:.0} ms average latency", standing.latency_ms)
                } else {
                    "latency not yet measured".to_string()
                },
                standing.health_status
            ),
            thermal_state: standing.thermal_state,
            health_status: standing.health_status,
            avg_latency_ms: standing.latency_ms,
            success_rate: standing.success_rate,
            context_window: model.context_window,
            pricing: model.pricing,
        })
        .collect();
    Selection {
        candidates,
        eligible,
        excluded_unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use radiant_proto::registry::SelfHosted;

    use super::*;

    #[derive(Default)]
    struct Live {
        health: HashMap<String, ProviderHealth>,
        thermal: HashMap<String, ModelThermal>,
    }

    impl LiveLookup for Live {
        fn provider_health(&self, provider_id: &str) -> Option<&ProviderHealth> {
            self.health.get(provider_id)
        }
        fn model_thermal(&self, model_id: &str) -> Option<&ModelThermal> {
            self.thermal.get(model_id)
        }
    }

    fn model(id: &str, provider: &str, hosting: &str) -> Model {
        Model {
            model_id: id.to_string(),
            provider_id: provider.to_string(),
            hosting: hosting.to_string(),
            category: "llm".to_string(),
            modes: vec!["chat".to_string()],
            input_modalities: vec!["text".to_string()],
            output_modalities: vec!["text".to_string()],
            min_tier: 1,
            status: "active".to_string(),
            enabled: true,
            context_window: 8192,
            self_hosted: (hosting == "self_hosted").then(SelfHosted::default),
            ..Default::default()
        }
    }

    fn health(provider: &str, status: &str, latency: f64) -> ProviderHealth {
        ProviderHealth {
            provider_id: provider.to_string(),
            status: status.to_string(),
            ewma_latency_ms: latency,
            observed_at_ms: 1_000,
            stale_after_ms: 10_000,
            ..Default::default()
        }
    }

    fn chat() -> Criteria {
        criteria(SelectModelsRequest {
            mode: "chat".to_string(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn order_is_thermal_then_latency_then_health() {
        let models = [
            model("cold-self", "sm", "self_hosted"),
            model("warm-self", "sm", "self_hosted"),
            model("slow-ext", "slow", "external"),
            model("fast-ext", "fast", "external"),
            model("unmeasured-ext", "new", "external"),
        ];
        let mut live = Live::default();
        live.health
            .insert("sm".into(), health("sm", "healthy", 50.0));
        live.health
            .insert("slow".into(), health("slow", "healthy", 900.0));
        live.health
            .insert("fast".into(), health("fast", "degraded", 100.0));
        live.thermal.insert(
            "warm-self".into(),
            ModelThermal {
                state: "warm".into(),
                ..Default::default()
            },
        );
        let selection = select(models.iter(), &live, &chat(), 2_000);
        let order: Vec<_> = selection
            .candidates
            .iter()
            .map(|c| c.model_id.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "fast-ext",
                "slow-ext",
                "unmeasured-ext",
                "warm-self",
                "cold-self"
            ]
        );
    }

    #[test]
    fn unhealthy_unconfigured_disabled_off_and_stale_are_handled() {
        let mut disabled = model("disabled", "ok", "external");
        disabled.enabled = false;
        let models = [
            model("sick", "sick", "external"),
            model("nokey", "nokey", "external"),
            disabled,
            model("off", "ok", "self_hosted"),
            model("stale", "stale", "external"),
        ];
        let mut live = Live::default();
        let fresh = |mut entry: ProviderHealth| {
            entry.observed_at_ms = 45_000;
            entry
        };
        live.health
            .insert("sick".into(), fresh(health("sick", "unhealthy", 10.0)));
        live.health
            .insert("nokey".into(), health("nokey", "unconfigured", 0.0));
        live.health
            .insert("ok".into(), fresh(health("ok", "healthy", 10.0)));
        // healthy once, but not heard from since: unknown, still selectable, ranked by that
        live.health
            .insert("stale".into(), health("stale", "healthy", 10.0));
        live.thermal.insert(
            "off".into(),
            ModelThermal {
                state: "off".into(),
                ..Default::default()
            },
        );
        let selection = select(models.iter(), &live, &chat(), 50_000);
        assert_eq!(selection.excluded_unhealthy, 3);
        assert_eq!(selection.candidates.len(), 1);
        assert_eq!(selection.candidates[0].model_id, "stale");
        assert_eq!(selection.candidates[0].health_status, "unknown");
    }

    #[test]
    fn filters_apply() {
        let mut vision = model("vision", "p", "external");
        vision.input_modalities.push("image".to_string());
        vision.hipaa_compliant = true;
        vision.context_window = 128_000;
        let mut premium = model("premium", "p", "external");
        premium.min_tier = 4;
        let models = [model("plain", "p", "external"), vision, premium];
        let live = Live::default();
        let request = SelectModelsRequest {
            mode: "chat".into(),
            input_modalities: vec!["image".into()],
            hipaa_required: true,
            min_context_window: 100_000,
            ..Default::default()
        };
        let selection = select(models.iter(), &live, &criteria(request).unwrap(), 0);
        assert_eq!(selection.candidates.len(), 1);
        assert_eq!(selection.candidates[0].model_id, "vision");
        let tier_two = criteria(SelectModelsRequest {
            tenant_tier: 2,
            ..Default::default()
        })
        .unwrap();
        let ids: Vec<_> = select(models.iter(), &live, &tier_two, 0)
            .candidates
            .into_iter()
            .map(|c| c.model_id)
            .collect();
        assert!(!ids.contains(&"premium".to_string()));
    }

    #[test]
    fn bad_criteria_name_the_field() {
        let error = criteria(SelectModelsRequest {
            mode: "dance".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(error.field_violations[0].0, "mode");
        let error = criteria(SelectModelsRequest {
            input_modalities: vec!["smell".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(error.field_violations[0].0, "input_modalities[0]");
        let error = criteria(SelectModelsRequest {
            category: "x".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(error.field_violations[0].0, "category");
    }
}
