//! The decision: which model answers, which ones stand behind it, and why.
//!
//! 1. Every candidate is checked against the request (capabilities, compliance, tier,
//!    health, thermal state, limits, context); what excludes each one is counted.
//! 2. A tenant's or a global rule that matches names its model (the first of its models
//!    that is eligible).
//! 3. Otherwise the eligible models are scored ([`super::scoring`]) and the best one wins,
//!    HOT before WARM on near ties; a best model that needs a warm-up is replaced by the best
//!    ready one and warmed in the background ([`Decision::warm_up`]).
//!
//! One pass over the candidates, no allocation per candidate beyond two small vectors, so a
//! decision over 100 candidates takes microseconds (`bench/brain-router.sh`).

use std::collections::HashMap;

use super::candidate::{Candidate, Health, Hosting, Thermal};
use super::context::{RoutingContext, TaskType};
use super::learned::{LearnedKey, LearnedScores, NEUTRAL};
use super::rules::RuleSet;
use super::scoring::{self, Scale, Terms};

/// Why a request cannot be routed; each maps to one status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("model {model_id} is not in the registry")]
    UnknownModel { model_id: String },
    #[error("model {model_id} needs plan tier {min_tier}; this plan is tier {tier}")]
    TierIneligible {
        model_id: String,
        min_tier: u32,
        tier: u32,
    },
    #[error(
        "the prompt needs a context of {needed} tokens; the largest context among the models that could serve it is {largest} tokens"
    )]
    ContextTooLong { needed: u32, largest: u32 },
    #[error("no model can serve this request: {reason}")]
    NoEligibleModel { reason: String },
}

impl RouteError {
    pub fn invalid(field: &str, message: impl Into<String>) -> RouteError {
        RouteError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The HTTP status the gateway answers with.
    pub fn status(&self) -> u16 {
        match self {
            RouteError::Invalid { .. } | RouteError::ContextTooLong { .. } => 400,
            RouteError::UnknownModel { .. } => 404,
            RouteError::TierIneligible { .. } => 403,
            RouteError::NoEligibleModel { .. } => 503,
        }
    }
}

/// What keeps a candidate from serving a request, in the order they are checked; the
/// context comes last, so a model excluded by it would otherwise serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exclusion {
    Disabled,
    NoChat,
    NoImageInput,
    NoAudioInput,
    NotHipaa,
    Tier,
    Unconfigured,
    Unhealthy,
    SwitchedOff,
    OverCost,
    TooSlow,
    ContextTooSmall,
}

impl Exclusion {
    pub const ALL: [Exclusion; 12] = [
        Exclusion::Disabled,
        Exclusion::NoChat,
        Exclusion::NoImageInput,
        Exclusion::NoAudioInput,
        Exclusion::NotHipaa,
        Exclusion::Tier,
        Exclusion::Unconfigured,
        Exclusion::Unhealthy,
        Exclusion::SwitchedOff,
        Exclusion::OverCost,
        Exclusion::TooSlow,
        Exclusion::ContextTooSmall,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Exclusion::Disabled => "disabled or not active",
            Exclusion::NoChat => "not a chat model",
            Exclusion::NoImageInput => "no image input",
            Exclusion::NoAudioInput => "no audio input",
            Exclusion::NotHipaa => "not HIPAA compliant",
            Exclusion::Tier => "above the plan's tier",
            Exclusion::Unconfigured => "provider not configured",
            Exclusion::Unhealthy => "provider unhealthy",
            Exclusion::SwitchedOff => "switched off",
            Exclusion::OverCost => "over the cost limit",
            Exclusion::TooSlow => "slower than the latency limit",
            Exclusion::ContextTooSmall => "context too small",
        }
    }
}

/// The catalogue as the router decides over it: candidates and their index by model id.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    candidates: Vec<Candidate>,
    by_model: HashMap<String, usize>,
}

impl Catalogue {
    pub fn new(candidates: Vec<Candidate>) -> Catalogue {
        let by_model = candidates
            .iter()
            .enumerate()
            .map(|(index, candidate)| (candidate.model_id.clone(), index))
            .collect();
        Catalogue {
            candidates,
            by_model,
        }
    }

    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    pub fn get(&self, model_id: &str) -> Option<&Candidate> {
        self.by_model
            .get(model_id)
            .map(|index| &self.candidates[*index])
    }
}

/// What the decision rests on.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// The caller named the model.
    Requested,
    Rule {
        rule_id: String,
        name: String,
    },
    Scores,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub basis: Basis,
    /// The chosen model's score terms (also computed for rule and requested choices).
    pub terms: Terms,
    pub considered: usize,
    pub eligible: usize,
    /// How many candidates each reason excluded (only reasons that excluded any).
    pub excluded: Vec<(Exclusion, usize)>,
    /// Anything else worth saying: a rule that could not apply, a preference not met, a
    /// warm-up.
    pub notes: Vec<String>,
    /// One sentence for logs, routing history and the client.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub model_id: String,
    pub provider_id: String,
    pub hosting: Hosting,
    pub thermal: Thermal,
    pub health: Health,
    pub task_type: TaskType,
    /// Tried in order when the chosen model fails.
    pub fallbacks: Vec<String>,
    pub estimated_cost_usd: f64,
    pub estimated_latency_ms: Option<f64>,
    /// 0..=1: the chosen model's score (1 for a rule).
    pub confidence: f64,
    /// A better model that was cold: the registry should warm it for the next requests.
    pub warm_up: Option<String>,
    pub explanation: Explanation,
}

/// Fallbacks kept behind the chosen model.
pub const MAX_FALLBACKS: usize = 3;
/// Among ready models, HOT wins over WARM when their scores are this close.
const HOT_BONUS: f64 = 0.02;

fn exclusion(
    candidate: &Candidate,
    context: &RoutingContext,
    needed_context: u32,
    cost: f64,
) -> Option<Exclusion> {
    if !candidate.selectable {
        return Some(Exclusion::Disabled);
    }
    if !candidate.serves_chat {
        return Some(Exclusion::NoChat);
    }
    if context.needs_vision && !candidate.reads_images {
        return Some(Exclusion::NoImageInput);
    }
    if context.needs_audio && !candidate.reads_audio {
        return Some(Exclusion::NoAudioInput);
    }
    if context.hipaa && !candidate.hipaa {
        return Some(Exclusion::NotHipaa);
    }
    if candidate.min_tier > context.tier {
        return Some(Exclusion::Tier);
    }
    match candidate.health {
        Health::Unconfigured => return Some(Exclusion::Unconfigured),
        Health::Unhealthy => return Some(Exclusion::Unhealthy),
        _ => {}
    }
    if candidate.thermal == Thermal::Off {
        return Some(Exclusion::SwitchedOff);
    }
    if context.max_cost_usd.is_some_and(|limit| cost > limit) {
        return Some(Exclusion::OverCost);
    }
    if let (Some(limit), Some(latency)) = (context.max_latency_ms, candidate.latency_ms)
        && latency > limit
    {
        return Some(Exclusion::TooSlow);
    }
    if candidate.context_window < needed_context {
        return Some(Exclusion::ContextTooSmall);
    }
    None
}

struct Eligible {
    index: usize,
    cost: f64,
}

/// What the relative score terms are relative to: the eligible models' costs and latencies.
fn scale_of(catalogue: &Catalogue, eligible: &[Eligible], context: &RoutingContext) -> Scale {
    Scale::new(
        context.max_cost_usd,
        context.max_latency_ms,
        eligible.iter().map(|entry| entry.cost),
        eligible
            .iter()
            .filter_map(|entry| catalogue.candidates[entry.index].latency_ms),
    )
}

/// The score terms of one eligible model for this request.
fn terms_of(
    catalogue: &Catalogue,
    entry: &Eligible,
    scale: &Scale,
    learned: &dyn LearnedScores,
    context: &RoutingContext,
) -> Terms {
    let candidate = &catalogue.candidates[entry.index];
    Terms {
        cost: scale.cost_term(entry.cost),
        latency: scale.latency_term(candidate.latency_ms),
        quality: candidate.quality[context.task_type.index()].unwrap_or(scoring::UNKNOWN_QUALITY),
        reliability: scoring::reliability_term(candidate),
        learned: learned
            .score(LearnedKey {
                tenant_id: &context.tenant_id,
                user_id: &context.user_id,
                model_id: &candidate.model_id,
                task_type: context.task_type,
            })
            .map(|value| value.clamp(0.0, 1.0))
            .unwrap_or(NEUTRAL),
    }
}

/// Decides who answers `context`: `requested` names a model (`None` or "auto": the router
/// chooses).
pub fn decide(
    catalogue: &Catalogue,
    rules: &RuleSet,
    learned: &dyn LearnedScores,
    context: &RoutingContext,
    requested: Option<&str>,
) -> Result<Decision, RouteError> {
    context.validate()?;
    let requested = requested.filter(|model| !model.is_empty() && *model != "auto");
    let needed_context = context.needed_context();
    let output_tokens = context.expected_output_tokens();
    let mut counts = [0usize; Exclusion::ALL.len()];
    let mut largest_excluded_context = 0u32;
    let mut eligible: Vec<Eligible> = Vec::with_capacity(catalogue.candidates.len());
    let mut eligible_flags = vec![false; catalogue.candidates.len()];
    for (index, candidate) in catalogue.candidates.iter().enumerate() {
        let cost = candidate.estimated_cost(context.input_tokens, output_tokens);
        match exclusion(candidate, context, needed_context, cost) {
            Some(reason) => {
                counts[reason as usize] += 1;
                if reason == Exclusion::ContextTooSmall {
                    largest_excluded_context =
                        largest_excluded_context.max(candidate.context_window);
                }
            }
            None => {
                eligible_flags[index] = true;
                eligible.push(Eligible { index, cost });
            }
        }
    }
    let excluded: Vec<(Exclusion, usize)> = Exclusion::ALL
        .into_iter()
        .filter(|reason| counts[*reason as usize] > 0)
        .map(|reason| (reason, counts[reason as usize]))
        .collect();

    if let Some(model_id) = requested {
        return requested_model(
            catalogue,
            learned,
            context,
            model_id,
            &eligible,
            &eligible_flags,
            excluded,
            needed_context,
            output_tokens,
        );
    }
    if eligible.is_empty() {
        if counts[Exclusion::ContextTooSmall as usize] > 0 {
            return Err(RouteError::ContextTooLong {
                needed: needed_context,
                largest: largest_excluded_context,
            });
        }
        return Err(RouteError::NoEligibleModel {
            reason: no_model_reason(catalogue.candidates.len(), &excluded),
        });
    }

    let mut notes = Vec::new();
    if let Some(provider) = context
        .preferred_provider
        .as_deref()
        .filter(|provider| !provider.is_empty())
    {
        let of_provider =
            |entry: &Eligible| catalogue.candidates[entry.index].provider_id == provider;
        if eligible.iter().any(of_provider) {
            for entry in eligible.iter().filter(|entry| !of_provider(entry)) {
                eligible_flags[entry.index] = false;
            }
            eligible.retain(of_provider);
        } else {
            notes.push(format!(
                "the preferred provider {provider} has no model that can serve this request"
            ));
        }
    }
    let scale = scale_of(catalogue, &eligible, context);
    let score =
        |entry: &Eligible| -> Terms { terms_of(catalogue, entry, &scale, learned, context) };

    // rules first: the first matching rule with an eligible model decides
    for rule in rules.matching(context) {
        let models: Vec<usize> = std::iter::once(&rule.target_model)
            .chain(rule.fallback_models.iter())
            .filter_map(|model| catalogue.by_model.get(model.as_str()).copied())
            .filter(|index| eligible_flags[*index])
            .collect();
        if models.is_empty() {
            notes.push(format!(
                "rule \"{}\" matched, but none of its models can serve this request",
                rule.name
            ));
            continue;
        }
        // a ready model of the rule's list before a cold one; the cold target gets warmed
        let chosen = models
            .iter()
            .copied()
            .find(|index| catalogue.candidates[*index].thermal.is_ready())
            .unwrap_or(models[0]);
        let target_index = catalogue.by_model.get(rule.target_model.as_str()).copied();
        let warm_up = target_index
            .filter(|target| *target != chosen && eligible_flags[*target])
            .filter(|target| catalogue.candidates[*target].thermal == Thermal::Cold)
            .map(|target| catalogue.candidates[target].model_id.clone());
        let fallbacks = models
            .iter()
            .copied()
            .filter(|index| *index != chosen)
            .map(|index| catalogue.candidates[index].model_id.clone())
            .take(MAX_FALLBACKS)
            .collect();
        let entry = eligible
            .iter()
            .find(|entry| entry.index == chosen)
            .expect("chosen from the eligible set");
        let terms = score(entry);
        let basis = Basis::Rule {
            rule_id: rule.rule_id.clone(),
            name: rule.name.clone(),
        };
        return Ok(finish(
            catalogue,
            context,
            entry,
            terms,
            1.0,
            basis,
            fallbacks,
            warm_up,
            eligible.len(),
            excluded,
            notes,
        ));
    }

    // scores: the best by score, HOT a little ahead of WARM; cold ones only when none is ready
    let mut ranked: Vec<(f64, f64, usize)> = eligible
        .iter()
        .enumerate()
        .map(|(position, entry)| {
            let total = score(entry).total();
            let bonus = if catalogue.candidates[entry.index].thermal == Thermal::Hot {
                HOT_BONUS
            } else {
                0.0
            };
            (total + bonus, total, position)
        })
        .collect();
    ranked.sort_by(|left, right| {
        right.0.total_cmp(&left.0).then_with(|| {
            catalogue.candidates[eligible[left.2].index]
                .model_id
                .cmp(&catalogue.candidates[eligible[right.2].index].model_id)
        })
    });
    let best = ranked[0];
    let best_candidate = &catalogue.candidates[eligible[best.2].index];
    let ready = ranked
        .iter()
        .find(|(_, _, position)| {
            catalogue.candidates[eligible[*position].index]
                .thermal
                .is_ready()
        })
        .copied();
    let (chosen, warm_up) = match ready {
        Some(ready) if !best_candidate.thermal.is_ready() => {
            notes.push(format!(
                "{} scores best but is cold (warm-up about {} s): answering with a ready model and warming it",
                best_candidate.model_id, best_candidate.warmup_seconds
            ));
            (ready, Some(best_candidate.model_id.clone()))
        }
        _ => (best, None),
    };
    let chosen_entry = &eligible[chosen.2];
    let chosen_provider = &catalogue.candidates[chosen_entry.index].provider_id;
    // fallbacks: ready models of other providers first (an outage takes a provider's
    // models down together), then the rest in score order
    let mut fallbacks: Vec<String> = Vec::with_capacity(MAX_FALLBACKS);
    for other_provider_first in [true, false] {
        for (_, _, position) in &ranked {
            if fallbacks.len() == MAX_FALLBACKS {
                break;
            }
            let candidate = &catalogue.candidates[eligible[*position].index];
            if *position == chosen.2
                || fallbacks.contains(&candidate.model_id)
                || (other_provider_first
                    && (&candidate.provider_id == chosen_provider || !candidate.thermal.is_ready()))
            {
                continue;
            }
            fallbacks.push(candidate.model_id.clone());
        }
    }
    let terms = score(chosen_entry);
    Ok(finish(
        catalogue,
        context,
        chosen_entry,
        terms,
        chosen.1,
        Basis::Scores,
        fallbacks,
        warm_up,
        eligible.len(),
        excluded,
        notes,
    ))
}

#[allow(clippy::too_many_arguments)]
fn requested_model(
    catalogue: &Catalogue,
    learned: &dyn LearnedScores,
    context: &RoutingContext,
    model_id: &str,
    eligible: &[Eligible],
    eligible_flags: &[bool],
    excluded: Vec<(Exclusion, usize)>,
    needed_context: u32,
    output_tokens: u32,
) -> Result<Decision, RouteError> {
    let Some(&index) = catalogue.by_model.get(model_id) else {
        return Err(RouteError::UnknownModel {
            model_id: model_id.to_string(),
        });
    };
    let candidate = &catalogue.candidates[index];
    if !eligible_flags[index] {
        let cost = candidate.estimated_cost(context.input_tokens, output_tokens);
        let reason =
            exclusion(candidate, context, needed_context, cost).unwrap_or(Exclusion::Disabled);
        return Err(match reason {
            Exclusion::Tier => RouteError::TierIneligible {
                model_id: model_id.to_string(),
                min_tier: candidate.min_tier,
                tier: context.tier,
            },
            Exclusion::ContextTooSmall => RouteError::ContextTooLong {
                needed: needed_context,
                largest: candidate.context_window,
            },
            Exclusion::NoChat
            | Exclusion::NoImageInput
            | Exclusion::NoAudioInput
            | Exclusion::NotHipaa
            | Exclusion::OverCost
            | Exclusion::TooSlow => RouteError::invalid(
                "model",
                format!(
                    "{model_id} cannot serve this request: {}",
                    reason.describe()
                ),
            ),
            _ => RouteError::NoEligibleModel {
                reason: format!("{model_id} is {}", reason.describe()),
            },
        });
    }
    let scale = scale_of(catalogue, eligible, context);
    let entry = eligible
        .iter()
        .find(|entry| entry.index == index)
        .expect("eligible");
    let terms = terms_of(catalogue, entry, &scale, learned, context);
    // behind a named model: the cheapest ready models besides it, then cold ones (a warm-up
    // is better than no answer)
    let mut others: Vec<&Eligible> = eligible
        .iter()
        .filter(|other| other.index != index)
        .collect();
    others.sort_by(|left, right| {
        let ready = |entry: &Eligible| catalogue.candidates[entry.index].thermal.is_ready();
        ready(right)
            .cmp(&ready(left))
            .then(left.cost.total_cmp(&right.cost))
    });
    let fallbacks = others
        .iter()
        .map(|other| catalogue.candidates[other.index].model_id.clone())
        .take(MAX_FALLBACKS)
        .collect();
    let mut notes = Vec::new();
    if candidate.thermal == Thermal::Cold {
        notes.push(format!(
            "{model_id} is cold: the answer waits for its warm-up (about {} s)",
            candidate.warmup_seconds
        ));
    }
    let warm_up = (candidate.thermal == Thermal::Cold).then(|| model_id.to_string());
    Ok(finish(
        catalogue,
        context,
        entry,
        terms,
        terms.total(),
        Basis::Requested,
        fallbacks,
        warm_up,
        eligible.len(),
        excluded,
        notes,
    ))
}

fn no_model_reason(considered: usize, excluded: &[(Exclusion, usize)]) -> String {
    if considered == 0 {
        return "the registry lists no models".to_string();
    }
    let reasons: Vec<String> = excluded
        .iter()
        .map(|(reason, count)| format!("{count} {}", reason.describe()))
        .collect();
    format!("of {considered} models: {}", reasons.join(", "))
}

/// The labels the seeds give a choice, from its terms.
fn strengths(terms: &Terms) -> Vec<&'static str> {
    let mut labels = Vec::new();
    if terms.cost > 0.8 {
        labels.push("cost-effective");
    }
    if terms.latency > 0.8 {
        labels.push("fast");
    }
    if terms.quality > 0.8 {
        labels.push("high-quality");
    }
    if terms.reliability > 0.95 {
        labels.push("reliable");
    }
    if terms.learned > 0.7 {
        labels.push("liked");
    }
    labels
}

#[allow(clippy::too_many_arguments)]
fn finish(
    catalogue: &Catalogue,
    context: &RoutingContext,
    entry: &Eligible,
    terms: Terms,
    confidence: f64,
    basis: Basis,
    fallbacks: Vec<String>,
    warm_up: Option<String>,
    eligible: usize,
    excluded: Vec<(Exclusion, usize)>,
    notes: Vec<String>,
) -> Decision {
    let candidate = &catalogue.candidates[entry.index];
    let labels = strengths(&terms);
    let why = match &basis {
        Basis::Requested => "as requested".to_string(),
        Basis::Rule { name, .. } => format!("by rule \"{name}\""),
        Basis::Scores => format!(
            "best score {:.2} of {eligible} eligible ({})",
            terms.total(),
            if labels.is_empty() {
                "balanced choice".to_string()
            } else {
                labels.join(", ")
            }
        ),
    };
    let mut summary = format!(
        "{} for {} {why}: quality {:.2}, cost {:.2}, latency {:.2}, reliability {:.2}, learned {:.2}",
        candidate.model_id,
        context.task_type.as_str(),
        terms.quality,
        terms.cost,
        terms.latency,
        terms.reliability,
        terms.learned
    );
    for note in &notes {
        summary.push_str("; ");
        summary.push_str(note);
    }
    Decision {
        model_id: candidate.model_id.clone(),
        provider_id: candidate.provider_id.clone(),
        hosting: candidate.hosting,
        thermal: candidate.thermal,
        health: candidate.health,
        task_type: context.task_type,
        fallbacks,
        estimated_cost_usd: entry.cost,
        estimated_latency_ms: candidate.latency_ms,
        confidence: confidence.clamp(0.0, 1.0),
        warm_up,
        explanation: Explanation {
            basis,
            terms,
            considered: catalogue.candidates.len(),
            eligible,
            excluded,
            notes,
            summary,
        },
    }
}

#[cfg(test)]
mod tests {
    use radiant_proto::registry::{Model, ModelThermal, Pricing, ProviderHealth, SelfHosted};

    use super::*;
    use crate::domain::candidate::tests::{external_model, healthy};
    use crate::domain::rules::{Conditions, Rule};

    const NOW: i64 = 10_000_000;

    fn priced(model_id: &str, provider: &str, input: f64, output: f64, quality: &str) -> Model {
        let mut model = external_model(model_id, provider);
        model.pricing = Some(Pricing {
            input_per_million: input,
            output_per_million: output,
            ..Default::default()
        });
        model
            .attributes
            .insert("quality".to_string(), quality.to_string());
        model
    }

    fn self_hosted(model_id: &str, thermal: &str) -> (Model, ModelThermal) {
        let mut model = external_model(model_id, "self-hosted");
        model.hosting = "self_hosted".to_string();
        model.pricing = Some(Pricing {
            hourly_rate: 1.2,
            ..Default::default()
        });
        model.self_hosted = Some(SelfHosted {
            warmup_time_seconds: 60,
            ..Default::default()
        });
        model
            .attributes
            .insert("quality".to_string(), "0.99".to_string());
        let state = ModelThermal {
            model_id: model_id.to_string(),
            state: thermal.to_string(),
            observed_at_ms: NOW,
            stale_after_ms: 60_000,
            ..Default::default()
        };
        (model, state)
    }

    struct World {
        models: Vec<Model>,
        health: Vec<ProviderHealth>,
        thermal: Vec<ModelThermal>,
    }

    impl World {
        fn new() -> World {
            World {
                models: vec![
                    priced("openai/gpt-4o", "openai", 2.5, 10.0, "0.9"),
                    priced("openai/gpt-4o-mini", "openai", 0.15, 0.6, "0.75"),
                    priced("anthropic/claude-sonnet-4", "anthropic", 3.0, 15.0, "0.92"),
                    priced("groq/llama-3.1-8b", "groq", 0.05, 0.08, "0.6"),
                ],
                health: vec![
                    healthy("openai", 600.0, NOW),
                    healthy("anthropic", 900.0, NOW),
                    healthy("groq", 150.0, NOW),
                ],
                thermal: Vec::new(),
            }
        }

        fn catalogue(&self) -> Catalogue {
            Catalogue::new(
                self.models
                    .iter()
                    .map(|model| {
                        let health = self
                            .health
                            .iter()
                            .find(|health| health.provider_id == model.provider_id);
                        let thermal = self
                            .thermal
                            .iter()
                            .find(|thermal| thermal.model_id == model.model_id);
                        Candidate::from_model(model, health, thermal, NOW)
                    })
                    .collect(),
            )
        }

        fn model(&mut self, model_id: &str) -> &mut Model {
            self.models
                .iter_mut()
                .find(|model| model.model_id == model_id)
                .unwrap()
        }
    }

    fn context() -> RoutingContext {
        let mut context = RoutingContext::new("acme", "ann", 3, TaskType::Chat);
        context.input_tokens = 500;
        context
    }

    fn route(
        world: &World,
        context: &RoutingContext,
        requested: Option<&str>,
    ) -> Result<Decision, RouteError> {
        decide(
            &world.catalogue(),
            &RuleSet::default(),
            &NeutralScoresForTests,
            context,
            requested,
        )
    }

    struct NeutralScoresForTests;
    impl LearnedScores for NeutralScoresForTests {
        fn score(&self, _key: LearnedKey<'_>) -> Option<f64> {
            None
        }
    }

    struct Likes(&'static str);
    impl LearnedScores for Likes {
        fn score(&self, key: LearnedKey<'_>) -> Option<f64> {
            (key.model_id == self.0 && key.user_id == "ann").then_some(1.0)
        }
    }

    #[test]
    fn the_best_score_wins_and_the_explanation_names_its_terms() {
        let world = World::new();
        let decision = route(&world, &context(), None).unwrap();
        assert_eq!(decision.explanation.basis, Basis::Scores);
        assert_eq!(decision.explanation.considered, 4);
        assert_eq!(decision.explanation.eligible, 4);
        assert_eq!(decision.fallbacks.len(), MAX_FALLBACKS);
        assert!(!decision.fallbacks.contains(&decision.model_id));
        // fallbacks start with other providers
        let chosen_provider = decision.provider_id.clone();
        let first_fallback = world
            .catalogue()
            .get(&decision.fallbacks[0])
            .unwrap()
            .provider_id
            .clone();
        assert_ne!(first_fallback, chosen_provider);
        assert!(
            decision.explanation.summary.starts_with(&decision.model_id),
            "{}",
            decision.explanation.summary
        );
        assert!(
            decision.explanation.summary.contains("quality"),
            "{}",
            decision.explanation.summary
        );
        assert!((decision.confidence - decision.explanation.terms.total()).abs() < 1e-9);
        assert!(decision.estimated_cost_usd > 0.0);
    }

    #[test]
    fn learned_scores_steer_the_choice() {
        let world = World::new();
        let neutral = route(&world, &context(), None).unwrap();
        // the learned term is 35 %: enough to lift a middling model above the cheapest and
        // fastest one, not to make the dearest and slowest win
        let liked = "openai/gpt-4o-mini";
        assert_ne!(neutral.model_id, liked);
        let steered = decide(
            &world.catalogue(),
            &RuleSet::default(),
            &Likes(liked),
            &context(),
            None,
        )
        .unwrap();
        assert_eq!(steered.model_id, liked);
        assert_eq!(steered.explanation.terms.learned, 1.0);
        assert_eq!(neutral.explanation.terms.learned, NEUTRAL);
        // someone else's likes do not count for bob
        let mut bob = context();
        bob.user_id = "bob".to_string();
        let for_bob = decide(
            &world.catalogue(),
            &RuleSet::default(),
            &Likes(liked),
            &bob,
            None,
        )
        .unwrap();
        assert_eq!(for_bob.model_id, neutral.model_id);
    }

    #[test]
    fn unhealthy_disabled_tier_and_capability_exclusions_are_counted() {
        let mut world = World::new();
        world.health[2].status = "unhealthy".to_string();
        world.model("openai/gpt-4o").enabled = false;
        world.model("anthropic/claude-sonnet-4").min_tier = 4;
        let decision = route(&world, &context(), None).unwrap();
        assert_eq!(decision.model_id, "openai/gpt-4o-mini", "the only one left");
        assert!(decision.fallbacks.is_empty());
        let excluded: HashMap<Exclusion, usize> =
            decision.explanation.excluded.iter().copied().collect();
        assert_eq!(excluded[&Exclusion::Unhealthy], 1);
        assert_eq!(excluded[&Exclusion::Disabled], 1);
        assert_eq!(excluded[&Exclusion::Tier], 1);
        // vision: none reads images → 503 with the reasons
        let mut vision = context();
        vision.needs_vision = true;
        let error = route(&world, &vision, None).unwrap_err();
        assert_eq!(error.status(), 503);
        let message = error.to_string();
        assert!(
            message.contains("of 4 models: 1 disabled or not active, 3 no image input"),
            "{message}"
        );
        // HIPAA
        world.model("openai/gpt-4o-mini").hipaa_compliant = true;
        let mut hipaa = context();
        hipaa.hipaa = true;
        assert_eq!(
            route(&world, &hipaa, None).unwrap().model_id,
            "openai/gpt-4o-mini"
        );
        world.model("openai/gpt-4o-mini").hipaa_compliant = false;
        assert_eq!(route(&world, &hipaa, None).unwrap_err().status(), 503);
        // an empty registry
        let empty = decide(
            &Catalogue::default(),
            &RuleSet::default(),
            &NeutralScoresForTests,
            &context(),
            None,
        );
        assert_eq!(
            empty.unwrap_err(),
            RouteError::NoEligibleModel {
                reason: "the registry lists no models".to_string()
            }
        );
    }

    #[test]
    fn a_prompt_beyond_every_context_is_a_400_naming_the_limit() {
        let mut world = World::new();
        for model in &mut world.models {
            model.context_window = 8_192;
        }
        world.model("openai/gpt-4o").context_window = 16_384;
        let mut long = context();
        long.input_tokens = 20_000;
        let error = route(&world, &long, None).unwrap_err();
        assert_eq!(
            error,
            RouteError::ContextTooLong {
                needed: 20_064,
                largest: 16_384
            }
        );
        assert_eq!(error.status(), 400);
        assert!(error.to_string().contains("16384"), "{error}");
        long.input_tokens = 10_000;
        assert_eq!(
            route(&world, &long, None).unwrap().model_id,
            "openai/gpt-4o"
        );
    }

    #[test]
    fn cost_and_latency_limits_exclude_and_preferences_are_honoured() {
        let world = World::new();
        let mut cheap = context();
        // 500 in + 750 out: gpt-4o-mini ≈ 0.000525, llama ≈ 0.000085, the others > 0.008
        cheap.max_cost_usd = Some(0.001);
        let decision = route(&world, &cheap, None).unwrap();
        assert!(["openai/gpt-4o-mini", "groq/llama-3.1-8b"].contains(&decision.model_id.as_str()));
        let excluded: HashMap<Exclusion, usize> =
            decision.explanation.excluded.iter().copied().collect();
        assert_eq!(excluded[&Exclusion::OverCost], 2);
        let mut fast = context();
        fast.max_latency_ms = Some(200.0);
        assert_eq!(
            route(&world, &fast, None).unwrap().model_id,
            "groq/llama-3.1-8b"
        );
        let mut prefers = context();
        prefers.preferred_provider = Some("anthropic".to_string());
        let decision = route(&world, &prefers, None).unwrap();
        assert_eq!(decision.model_id, "anthropic/claude-sonnet-4");
        prefers.preferred_provider = Some("mistral".to_string());
        let decision = route(&world, &prefers, None).unwrap();
        assert!(
            decision.explanation.notes[0].contains("mistral"),
            "{:?}",
            decision.explanation.notes
        );
    }

    #[test]
    fn a_cold_best_model_is_warmed_while_a_ready_one_answers() {
        let mut world = World::new();
        let (model, thermal) = self_hosted("self/llama-70b", "cold");
        world.models.push(model);
        world.thermal.push(thermal);
        world.health.push(healthy("self-hosted", 200.0, NOW));
        let decision = route(&world, &context(), None).unwrap();
        assert_eq!(decision.warm_up.as_deref(), Some("self/llama-70b"));
        assert_ne!(decision.model_id, "self/llama-70b");
        assert!(decision.thermal.is_ready());
        assert!(
            decision.explanation.summary.contains("warming"),
            "{}",
            decision.explanation.summary
        );
        // once HOT it answers itself and nothing is warmed
        world.thermal[0].state = "hot".to_string();
        let decision = route(&world, &context(), None).unwrap();
        assert_eq!(decision.model_id, "self/llama-70b");
        assert_eq!(decision.warm_up, None);
        // OFF: excluded
        world.thermal[0].state = "off".to_string();
        let decision = route(&world, &context(), None).unwrap();
        assert_ne!(decision.model_id, "self/llama-70b");
        // the only model and cold: it is chosen (and the answer waits for it)
        let mut alone = World::new();
        let (model, thermal) = self_hosted("self/llama-70b", "cold");
        alone.models = vec![model];
        alone.thermal = vec![thermal];
        alone.health = vec![healthy("self-hosted", 200.0, NOW)];
        let decision = route(&alone, &context(), None).unwrap();
        assert_eq!(
            (decision.model_id.as_str(), decision.warm_up.as_deref()),
            ("self/llama-70b", None)
        );
    }

    #[test]
    fn rules_decide_first_and_fall_through_when_their_models_cannot_serve() {
        let mut world = World::new();
        let rule = |rule_id: &str,
                    tenant: Option<&str>,
                    priority: i32,
                    target: &str,
                    fallbacks: &[&str]| Rule {
            rule_id: rule_id.to_string(),
            tenant_id: tenant.map(str::to_string),
            name: rule_id.to_string(),
            priority,
            conditions: Conditions {
                task_type: Some(TaskType::Code),
                ..Default::default()
            },
            target_model: target.to_string(),
            fallback_models: fallbacks.iter().map(|model| model.to_string()).collect(),
            active: true,
        };
        let rules = RuleSet::new(vec![
            rule(
                "code-to-claude",
                Some("acme"),
                10,
                "anthropic/claude-sonnet-4",
                &["openai/gpt-4o"],
            ),
            rule("global-code", None, 20, "groq/llama-3.1-8b", &[]),
        ]);
        let mut code = context();
        code.task_type = TaskType::Code;
        let decision = decide(
            &world.catalogue(),
            &rules,
            &NeutralScoresForTests,
            &code,
            None,
        )
        .unwrap();
        assert_eq!(decision.model_id, "anthropic/claude-sonnet-4");
        assert_eq!(decision.fallbacks, ["openai/gpt-4o"]);
        assert_eq!(decision.confidence, 1.0);
        assert!(
            matches!(&decision.explanation.basis, Basis::Rule { rule_id, .. } if rule_id == "code-to-claude")
        );
        assert!(
            decision
                .explanation
                .summary
                .contains("by rule \"code-to-claude\"")
        );
        // the target's provider is down: its fallback serves
        world.health[1].status = "unhealthy".to_string();
        let decision = decide(
            &world.catalogue(),
            &rules,
            &NeutralScoresForTests,
            &code,
            None,
        )
        .unwrap();
        assert_eq!(decision.model_id, "openai/gpt-4o");
        // neither can serve: the next rule applies, with a note
        world.health[0].status = "unhealthy".to_string();
        let decision = decide(
            &world.catalogue(),
            &rules,
            &NeutralScoresForTests,
            &code,
            None,
        )
        .unwrap();
        assert_eq!(decision.model_id, "groq/llama-3.1-8b");
        assert!(decision.explanation.notes[0].contains("code-to-claude"));
        // another tenant gets only the global rule; a chat request no rule
        let mut globex = code.clone();
        globex.tenant_id = "globex".to_string();
        let decision = decide(
            &World::new().catalogue(),
            &rules,
            &NeutralScoresForTests,
            &globex,
            None,
        )
        .unwrap();
        assert!(
            matches!(&decision.explanation.basis, Basis::Rule { rule_id, .. } if rule_id == "global-code")
        );
        let decision = decide(
            &World::new().catalogue(),
            &rules,
            &NeutralScoresForTests,
            &context(),
            None,
        )
        .unwrap();
        assert_eq!(decision.explanation.basis, Basis::Scores);
    }

    #[test]
    fn a_requested_model_is_checked_and_keeps_fallbacks() {
        let mut world = World::new();
        let decision = route(&world, &context(), Some("openai/gpt-4o")).unwrap();
        assert_eq!(decision.model_id, "openai/gpt-4o");
        assert_eq!(decision.explanation.basis, Basis::Requested);
        assert_eq!(decision.fallbacks.len(), 3);
        assert_eq!(
            decision.fallbacks[0], "groq/llama-3.1-8b",
            "the cheapest ready one first"
        );
        assert_eq!(
            route(&world, &context(), Some("auto"))
                .unwrap()
                .explanation
                .basis,
            Basis::Scores
        );
        assert_eq!(
            route(&world, &context(), Some("nobody/nothing")).unwrap_err(),
            RouteError::UnknownModel {
                model_id: "nobody/nothing".to_string()
            }
        );
        world.model("openai/gpt-4o").min_tier = 5;
        let error = route(&world, &context(), Some("openai/gpt-4o")).unwrap_err();
        assert_eq!(error.status(), 403);
        assert!(error.to_string().contains("tier 5"), "{error}");
        world.model("openai/gpt-4o").min_tier = 1;
        world.model("openai/gpt-4o").context_window = 1_000;
        let mut long = context();
        long.input_tokens = 2_000;
        assert_eq!(
            route(&world, &long, Some("openai/gpt-4o")).unwrap_err(),
            RouteError::ContextTooLong {
                needed: 2_064,
                largest: 1_000
            }
        );
        world.health[0].status = "unhealthy".to_string();
        assert_eq!(
            route(&world, &context(), Some("openai/gpt-4o"))
                .unwrap_err()
                .status(),
            503
        );
        let mut vision = context();
        vision.needs_vision = true;
        assert_eq!(
            route(&world, &vision, Some("groq/llama-3.1-8b"))
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn bad_limits_are_refused_before_routing() {
        let world = World::new();
        let mut context = context();
        context.tier = 9;
        assert_eq!(route(&world, &context, None).unwrap_err().status(), 400);
    }
}
