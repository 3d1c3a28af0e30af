//! The brain router's decision in process: 100 candidates (external providers and self-hosted
//! models in every thermal state, live health), tenant and global rules, six request shapes
//! rotating (tasks, limits, vision, a preferred provider, HIPAA), beside the seeds' way of
//! scoring (every candidate scored with a performance lookup and a reason string, the whole
//! list sorted; its database queries left out) on the same catalogue in the same run.
//!
//! Goal: p50 ≤ 100 µs and p99 ≤ 1 ms with 100 candidates. Ends with one JSON line.

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use clap::Parser;
use radiant_brain_router::domain::candidate::Candidate;
use radiant_brain_router::domain::context::{RoutingContext, TaskType};
use radiant_brain_router::domain::decide::{Catalogue, decide};
use radiant_brain_router::domain::learned::NeutralScores;
use radiant_brain_router::domain::rules::{Conditions, Rule, RuleSet};
use radiant_proto::registry::{Model, ModelThermal, Pricing, ProviderHealth, SelfHosted};

use common::percentile;

#[derive(Parser)]
struct Arguments {
    /// Candidates in the catalogue
    #[arg(long, default_value_t = 100)]
    candidates: usize,
    /// Decisions measured per way
    #[arg(long, default_value_t = 100_000)]
    decisions: usize,
}

const NOW: i64 = 1_800_000_000_000;
const PROVIDERS: [&str; 8] = [
    "openai",
    "anthropic",
    "google",
    "mistral",
    "groq",
    "deepseek",
    "xai",
    "self-hosted",
];

fn catalogue(count: usize) -> (Vec<Model>, Vec<ProviderHealth>, Vec<ModelThermal>) {
    let mut models = Vec::with_capacity(count);
    let mut thermal = Vec::new();
    for index in 0..count {
        let provider = PROVIDERS[index % PROVIDERS.len()];
        let self_hosted = provider == "self-hosted";
        let model_id = format!("{provider}/model-{index}");
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert(
            "quality".to_string(),
            format!("{:.2}", 0.55 + (index % 9) as f64 * 0.05),
        );
        if index % 5 == 0 {
            attributes.insert("quality.code".to_string(), "0.93".to_string());
        }
        models.push(Model {
            model_id: model_id.clone(),
            provider_id: provider.to_string(),
            hosting: if self_hosted {
                "self_hosted"
            } else {
                "external"
            }
            .to_string(),
            modes: vec!["chat".to_string()],
            input_modalities: if index % 3 == 0 {
                vec!["text".to_string(), "image".to_string()]
            } else {
                vec!["text".to_string()]
            },
            context_window: [8_192, 32_768, 128_000, 200_000][index % 4],
            max_output: 8_192,
            min_tier: 1 + (index % 4) as u32,
            hipaa_compliant: index % 4 == 1,
            status: "active".to_string(),
            enabled: index % 17 != 0,
            pricing: Some(Pricing {
                input_per_million: if self_hosted {
                    0.0
                } else {
                    0.05 * (1 + index % 40) as f64
                },
                output_per_million: if self_hosted {
                    0.0
                } else {
                    0.2 * (1 + index % 40) as f64
                },
                hourly_rate: if self_hosted { 1.5 } else { 0.0 },
                ..Default::default()
            }),
            self_hosted: self_hosted.then(|| SelfHosted {
                warmup_time_seconds: 90,
                ..Default::default()
            }),
            attributes,
            ..Default::default()
        });
        if self_hosted {
            thermal.push(ModelThermal {
                model_id,
                state: ["hot", "warm", "cold", "off"][(index / PROVIDERS.len()) % 4].to_string(),
                observed_at_ms: NOW,
                stale_after_ms: 60_000,
                ..Default::default()
            });
        }
    }
    let health = PROVIDERS
        .iter()
        .enumerate()
        .map(|(index, provider)| ProviderHealth {
            provider_id: provider.to_string(),
            status: if index == 6 {
                "unhealthy"
            } else if index == 3 {
                "degraded"
            } else {
                "healthy"
            }
            .to_string(),
            ewma_latency_ms: 150.0 + 120.0 * index as f64,
            success_rate: 0.999 - 0.01 * index as f64,
            observations: 500,
            observed_at_ms: NOW,
            stale_after_ms: 60_000,
            ..Default::default()
        })
        .collect();
    (models, health, thermal)
}

fn requests() -> Vec<RoutingContext> {
    let base = |task: TaskType, tier: u32| {
        let mut context = RoutingContext::new("tenant-a", "user-1", tier, task);
        context.input_tokens = 1_200;
        context
    };
    let mut shapes = vec![
        base(TaskType::Chat, 3),
        base(TaskType::Code, 5),
        base(TaskType::Analysis, 2),
    ];
    let mut limited = base(TaskType::Chat, 4);
    limited.max_cost_usd = Some(0.01);
    limited.max_latency_ms = Some(800.0);
    shapes.push(limited);
    let mut vision = base(TaskType::Vision, 5);
    vision.needs_vision = true;
    vision.preferred_provider = Some("google".to_string());
    shapes.push(vision);
    let mut hipaa = base(TaskType::Creative, 5);
    hipaa.hipaa = true;
    hipaa.input_tokens = 20_000;
    shapes.push(hipaa);
    shapes
}

fn rules() -> RuleSet {
    let rule = |rule_id: &str,
                tenant: Option<&str>,
                priority: i32,
                conditions: Conditions,
                target: &str| Rule {
        rule_id: rule_id.to_string(),
        tenant_id: tenant.map(str::to_string),
        name: rule_id.to_string(),
        priority,
        conditions,
        target_model: target.to_string(),
        fallback_models: vec!["openai/model-8".to_string()],
        active: true,
    };
    RuleSet::new(vec![
        rule(
            "analysis-to-anthropic",
            Some("tenant-a"),
            10,
            Conditions {
                task_type: Some(TaskType::Analysis),
                ..Default::default()
            },
            "anthropic/model-1",
        ),
        rule(
            "other-tenant",
            Some("tenant-b"),
            1,
            Conditions::default(),
            "openai/model-0",
        ),
        rule(
            "huge-prompts",
            None,
            50,
            Conditions {
                min_tokens: Some(100_000),
                ..Default::default()
            },
            "google/model-2",
        ),
    ])
}

/// The seeds' way, in process: each candidate scored with a performance lookup, a reason
/// string per candidate, the whole list sorted, then the rules checked in a loop.
fn seed_route(
    models: &[Model],
    performance: &HashMap<String, (f64, f64)>,
    context: &RoutingContext,
) -> String {
    struct Scored {
        model_id: String,
        provider: String,
        reason: String,
        total: f64,
    }
    let mut scored: Vec<Scored> = models
        .iter()
        .filter(|model| {
            model.enabled
                && (!context.needs_vision || model.input_modalities.iter().any(|m| m == "image"))
        })
        .map(|model| {
            let (latency, success) = performance
                .get(&model.model_id)
                .copied()
                .unwrap_or((1_000.0, 0.9));
            let pricing = model.pricing.unwrap_or_default();
            let output = f64::from(context.input_tokens) * 1.5;
            let cost = f64::from(context.input_tokens) * pricing.input_per_million / 1e6
                + output * pricing.output_per_million / 1e6;
            let cost_score = context
                .max_cost_usd
                .map(|max| if cost > max { 0.0 } else { 1.0 - cost / max })
                .unwrap_or(0.5);
            let latency_score = context
                .max_latency_ms
                .map(|max| {
                    if latency > max {
                        0.0
                    } else {
                        1.0 - latency / max
                    }
                })
                .unwrap_or(0.5);
            let quality = model
                .attributes
                .get("quality")
                .and_then(|value| value.parse::<f64>().ok())
                .unwrap_or(0.7);
            let total = cost_score * 0.25 + latency_score * 0.25 + quality * 0.35 + success * 0.15;
            let mut factors = Vec::new();
            if cost_score > 0.8 {
                factors.push("cost-effective");
            }
            if latency_score > 0.8 {
                factors.push("fast");
            }
            if quality > 0.8 {
                factors.push("high-quality");
            }
            if success > 0.95 {
                factors.push("reliable");
            }
            Scored {
                model_id: model.model_id.clone(),
                provider: model.provider_id.clone(),
                reason: if factors.is_empty() {
                    "balanced choice".to_string()
                } else {
                    factors.join(", ")
                },
                total,
            }
        })
        .collect();
    scored.sort_by(|left, right| right.total.total_cmp(&left.total));
    let best = scored
        .into_iter()
        .next()
        .map(|best| format!("{} {} {}", best.model_id, best.provider, best.reason));
    best.unwrap_or_default()
}

fn micros(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    (
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
    )
}

fn main() {
    let arguments = Arguments::parse();
    let (models, health, thermal) = catalogue(arguments.candidates);
    let flattening = Instant::now();
    let candidates: Vec<Candidate> = models
        .iter()
        .map(|model| {
            let provider_health = health
                .iter()
                .find(|entry| entry.provider_id == model.provider_id);
            let model_thermal = thermal
                .iter()
                .find(|entry| entry.model_id == model.model_id);
            Candidate::from_model(model, provider_health, model_thermal, NOW)
        })
        .collect();
    let catalogue_view = Catalogue::new(candidates);
    let flatten_ms = flattening.elapsed().as_secs_f64() * 1_000.0;
    let rules = rules();
    let shapes = requests();
    let performance: HashMap<String, (f64, f64)> = models
        .iter()
        .map(|model| {
            let provider = health
                .iter()
                .find(|entry| entry.provider_id == model.provider_id)
                .unwrap();
            (
                model.model_id.clone(),
                (provider.ewma_latency_ms, provider.success_rate),
            )
        })
        .collect();

    // warm both paths, and check every shape routes
    let mut outcomes = Vec::new();
    for context in &shapes {
        let outcome = decide(&catalogue_view, &rules, &NeutralScores, context, None);
        outcomes.push(match &outcome {
            Ok(decision) => format!(
                "{} → {} ({})",
                context.task_type.as_str(),
                decision.model_id,
                decision.explanation.summary
            ),
            Err(error) => format!("{} → {error}", context.task_type.as_str()),
        });
        black_box(seed_route(&models, &performance, context));
    }
    let mut ours = Vec::with_capacity(arguments.decisions);
    let mut seeds = Vec::with_capacity(arguments.decisions);
    for index in 0..arguments.decisions {
        let context = &shapes[index % shapes.len()];
        // alternate the two ways so both see the same machine state
        let started = Instant::now();
        let decision = decide(&catalogue_view, &rules, &NeutralScores, context, None);
        ours.push(started.elapsed().as_secs_f64() * 1e6);
        black_box(decision.ok());
        let started = Instant::now();
        black_box(seed_route(&models, &performance, context));
        seeds.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let (ours_p50, ours_p99, ours_p999) = micros(ours);
    let (seeds_p50, seeds_p99, seeds_p999) = micros(seeds);
    println!(
        "brain router decision, in process, {} candidates, {} rules, {} request shapes:",
        arguments.candidates,
        rules.len(),
        shapes.len()
    );
    for outcome in &outcomes {
        println!("  {outcome}");
    }
    println!(
        "  catalogue view (every model flattened with its live state) built in {flatten_ms:.3} ms"
    );
    println!(
        "  decision (eligibility, rules, scores, thermal, fallbacks, explanation)  p50 {ours_p50:>7.2} µs  p99 {ours_p99:>7.2} µs  p99.9 {ours_p999:>7.2} µs"
    );
    println!(
        "  baseline: the seeds' scoring (no database)                           p50 {seeds_p50:>7.2} µs  p99 {seeds_p99:>7.2} µs  p99.9 {seeds_p999:>7.2} µs"
    );
    let goals_met = ours_p50 <= 100.0 && ours_p99 <= 1_000.0;
    println!(
        "goals: decision p50 ≤ 100 µs {}, p99 ≤ 1 ms {}",
        ours_p50 <= 100.0,
        ours_p99 <= 1_000.0
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "brain-router",
            "candidates": arguments.candidates,
            "decisions": arguments.decisions,
            "decision_p50_us": ours_p50,
            "decision_p99_us": ours_p99,
            "baseline_seed_p50_us": seeds_p50,
            "baseline_seed_p99_us": seeds_p99,
            "goals_met": goals_met,
        })
    );
}
