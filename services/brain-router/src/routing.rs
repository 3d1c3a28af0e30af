//! From a request to a decision: validate the messages, classify the task, build the routing
//! context, load the tenant's rules (cached), decide over the live catalogue, ask for a
//! warm-up, and record the decision in routing history.

use std::sync::Arc;
use std::time::Instant;

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::brain::{self as proto, RouteRequest};
use uuid::Uuid;

use crate::brain::BrainRouter;
use crate::classify::TaskSource;
use crate::domain::context::{RoutingContext, TaskType};
use crate::domain::decide::{self, Basis, Catalogue, Decision, RouteError};
use crate::domain::learned::NeutralScores;
use crate::domain::rules::RuleSet;
use crate::recording::Record;
use crate::store::history::DecisionRow;

pub const ROLES: [&str; 3] = ["system", "user", "assistant"];

/// A decision and what it was made from.
pub struct Routed {
    pub tenant_id: Uuid,
    pub user_id: String,
    pub decision_id: Uuid,
    pub decision: Decision,
    pub proto: proto::RouteDecision,
    pub requested_model: String,
    pub input_tokens: u32,
}

/// Tokens a text takes, roughly (4 characters a token, as providers' tokenizers average).
pub fn estimate_tokens(text: &str) -> u32 {
    (text.chars().count() as u32).div_ceil(4)
}

/// Refuses what no model should be asked: no messages, an unknown role, empty content, too
/// many or too large messages.
pub fn validate_messages(
    router: &BrainRouter,
    messages: &[proto::ChatMessage],
) -> Result<(), ServiceError> {
    if messages.is_empty() {
        return Err(ServiceError::invalid_field(
            "messages",
            "must hold at least one message",
        ));
    }
    let limits = &router.config.limits;
    if messages.len() > limits.max_messages {
        return Err(ServiceError::invalid_field(
            "messages",
            format!("at most {} messages per request", limits.max_messages),
        ));
    }
    let mut bytes = 0usize;
    for (index, message) in messages.iter().enumerate() {
        if !ROLES.contains(&message.role.as_str()) {
            return Err(ServiceError::invalid_field(
                &format!("messages[{index}].role"),
                format!(
                    "\"{}\" is not one of: system, user, assistant",
                    message.role
                ),
            ));
        }
        if message.content.trim().is_empty() {
            return Err(ServiceError::invalid_field(
                &format!("messages[{index}].content"),
                "must not be empty",
            ));
        }
        bytes += message.content.len();
    }
    if bytes > limits.max_prompt_bytes {
        return Err(ServiceError::new(
            radiant_bus::ErrorCode::PayloadTooLarge,
            format!(
                "the messages hold {bytes} bytes; at most {} are accepted",
                limits.max_prompt_bytes
            ),
        ));
    }
    if !messages.iter().any(|message| message.role == "user") {
        return Err(ServiceError::invalid_field(
            "messages",
            "must hold a user message",
        ));
    }
    Ok(())
}

pub fn route_error(error: RouteError) -> ServiceError {
    let message = error.to_string();
    match error {
        RouteError::Invalid { field, message } => ServiceError::invalid_field(&field, message),
        RouteError::UnknownModel { .. } => ServiceError::not_found(message),
        RouteError::TierIneligible { .. } => ServiceError::permission_denied(message),
        RouteError::ContextTooLong { .. } => ServiceError::invalid_argument(message),
        RouteError::NoEligibleModel { .. } => ServiceError::unavailable(message),
    }
}

/// The tenant's rules, from the cache or the database.
async fn rules_for(router: &BrainRouter, tenant_id: Uuid) -> Result<Arc<RuleSet>, ServiceError> {
    if let Some(rules) = router
        .rules
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&tenant_id)
    {
        return Ok(rules.clone());
    }
    let stored = radiant_db::with_tenant(&router.database, tenant_id, |transaction| {
        Box::pin(async move { crate::store::rules::visible(transaction).await })
    })
    .await
    .map_err(|error| ServiceError::unavailable(format!("routing rules unavailable: {error}")))?;
    let tenant = tenant_id.to_string();
    let rules = Arc::new(RuleSet::new(
        stored
            .iter()
            .filter_map(|rule| crate::handlers::rules::domain_rule(&tenant, rule))
            .collect(),
    ));
    router
        .rules
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(tenant_id, rules.clone());
    Ok(rules)
}

/// Decides who answers `request` for the caller, and records the decision.
pub async fn route(
    router: &BrainRouter,
    context: &RequestContext,
    request: &RouteRequest,
) -> Result<Routed, ServiceError> {
    let started = Instant::now();
    let tenant_id = context.require_tenant()?;
    let user_id = context
        .user_id
        .clone()
        .unwrap_or_else(|| "anonymous".to_string());
    validate_messages(router, &request.messages)?;
    let requested = request.model.trim();
    let named = !requested.is_empty() && requested != "auto";
    let last_user = request
        .messages
        .iter()
        .rev()
        .find(|message| message.role == "user")
        .map(|message| message.content.as_str())
        .unwrap_or("");
    let (task_type, task_source) = if !request.task_type.is_empty() {
        let task = TaskType::parse(&request.task_type).ok_or_else(|| {
            ServiceError::invalid_field(
                "task_type",
                format!(
                    "\"{}\" is not one of: chat, code, analysis, creative, vision, audio",
                    request.task_type
                ),
            )
        })?;
        (task, TaskSource::Caller)
    } else if named {
        // the model is chosen already: the task is only recorded, keywords will do
        (
            crate::domain::task::classify_by_keywords(last_user),
            TaskSource::Keywords,
        )
    } else {
        router.classifier.classify(&router.clients, last_user).await
    };
    let input_tokens: u32 = request
        .messages
        .iter()
        .map(|message| estimate_tokens(&message.content) + 4)
        .sum();
    let mut routing_context = RoutingContext::new(
        &tenant_id.to_string(),
        &user_id,
        context.plan_tier(),
        task_type,
    );
    routing_context.input_tokens = input_tokens;
    routing_context.max_output_tokens =
        (request.max_output_tokens > 0).then_some(request.max_output_tokens);
    routing_context.max_cost_usd = request.max_cost_usd;
    routing_context.max_latency_ms = request.max_latency_ms;
    routing_context.preferred_provider =
        (!request.preferred_provider.is_empty()).then(|| request.preferred_provider.clone());
    routing_context.needs_vision =
        request.needs_vision || task_type == TaskType::Vision && task_source == TaskSource::Caller;
    routing_context.needs_audio = request.needs_audio;
    routing_context.hipaa = request.hipaa;
    routing_context.min_context_window = request.min_context_window;

    let rules = rules_for(router, tenant_id).await?;
    let catalogue = router.view.catalogue();
    let one_off;
    let catalogue: &Catalogue = if named && catalogue.get(requested).is_none() {
        // not callable here: the registry tells whether it exists, the decision why it cannot serve
        match crate::live::lookup(&router.bus, requested).await? {
            None => {
                return Err(route_error(RouteError::UnknownModel {
                    model_id: requested.to_string(),
                }));
            }
            Some(model) => {
                one_off = Catalogue::new(vec![router.view.candidate_of(&model)]);
                &one_off
            }
        }
    } else {
        &catalogue
    };
    let decision = decide::decide(
        catalogue,
        &rules,
        &NeutralScores,
        &routing_context,
        named.then_some(requested),
    )
    .map_err(route_error)?;
    let decision_id = Uuid::now_v7();
    if let Some(model_id) = &decision.warm_up {
        request_warm_up(router, model_id);
    }
    let proto = decision_proto(router, &decision, decision_id, task_source, input_tokens);
    router
        .recorder
        .record(Record::Decision(Box::new(DecisionRow {
            id: decision_id,
            tenant_id,
            user_id: user_id.clone(),
            request_id: context.request_id.clone(),
            source: if request.source.is_empty() {
                "api".to_string()
            } else {
                request.source.clone()
            },
            requested_model: requested.to_string(),
            model_id: decision.model_id.clone(),
            provider_id: decision.provider_id.clone(),
            basis: proto.basis.clone(),
            rule_id: proto.rule_id.parse().ok(),
            task_type: proto.task_type.clone(),
            task_source: proto.task_source.clone(),
            confidence: decision.confidence,
            estimated_cost_usd: decision.estimated_cost_usd,
            summary: decision.explanation.summary.clone(),
            explanation: explanation_json(&proto),
            created_at: chrono::Utc::now(),
        })));
    tracing::debug!(
        model_id = %decision.model_id,
        basis = %proto.basis,
        elapsed_us = started.elapsed().as_micros() as u64,
        "routed"
    );
    Ok(Routed {
        tenant_id,
        user_id,
        decision_id,
        decision,
        proto,
        requested_model: requested.to_string(),
        input_tokens,
    })
}

fn explanation_json(decision: &proto::RouteDecision) -> serde_json::Value {
    serde_json::json!({
        "terms": decision.terms,
        "considered": decision.considered,
        "eligible": decision.eligible,
        "excluded": decision.excluded,
        "notes": decision.notes,
        "fallbacks": decision.fallbacks,
        "warm_up_model": decision.warm_up_model,
        "thermal_state": decision.thermal_state,
        "health_status": decision.health_status,
    })
}

/// Asks the registry to warm `model_id`, at most once per keep-warm interval per replica.
fn request_warm_up(router: &BrainRouter, model_id: &str) {
    let keep_warm = router.config.warmup.keep_warm_seconds;
    {
        let mut warmups = router
            .warmups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let interval = std::time::Duration::from_secs(u64::from(keep_warm / 2).max(10));
        if warmups
            .get(model_id)
            .is_some_and(|asked| asked.elapsed() < interval)
        {
            return;
        }
        warmups.insert(model_id.to_string(), Instant::now());
    }
    router.recorder.record(Record::Warmup(
        radiant_proto::events::ThermalWarmupRequested {
            model_id: model_id.to_string(),
            keep_warm_seconds: keep_warm,
            requested_by: crate::config::SERVICE_NAME.to_string(),
            requested_at_ms: crate::live::now_ms(),
        },
    ));
}

pub fn decision_proto(
    router: &BrainRouter,
    decision: &Decision,
    decision_id: Uuid,
    task_source: TaskSource,
    input_tokens: u32,
) -> proto::RouteDecision {
    let explanation = &decision.explanation;
    let (basis, rule_id) = match &explanation.basis {
        Basis::Requested => ("requested", String::new()),
        Basis::Rule { rule_id, .. } => ("rule", rule_id.clone()),
        Basis::Scores => ("scores", String::new()),
    };
    let terms = &explanation.terms;
    let model_version = router
        .view
        .callable(&decision.model_id)
        .map(|callable| model_version(&callable.model))
        .unwrap_or_default();
    proto::RouteDecision {
        decision_id: decision_id.to_string(),
        model_id: decision.model_id.clone(),
        provider_id: decision.provider_id.clone(),
        hosting: match decision.hosting {
            crate::domain::candidate::Hosting::External => "external",
            crate::domain::candidate::Hosting::SelfHosted => "self_hosted",
        }
        .to_string(),
        thermal_state: decision.thermal.as_str().to_string(),
        health_status: decision.health.as_str().to_string(),
        task_type: decision.task_type.as_str().to_string(),
        task_source: task_source.as_str().to_string(),
        fallbacks: decision.fallbacks.clone(),
        estimated_cost_usd: decision.estimated_cost_usd,
        estimated_latency_ms: decision.estimated_latency_ms.unwrap_or(0.0),
        confidence: decision.confidence,
        warm_up_model: decision.warm_up.clone().unwrap_or_default(),
        basis: basis.to_string(),
        rule_id,
        summary: explanation.summary.clone(),
        notes: explanation.notes.clone(),
        terms: Some(proto::ScoreTerms {
            cost: terms.cost,
            latency: terms.latency,
            quality: terms.quality,
            reliability: terms.reliability,
            learned: terms.learned,
            total: terms.total(),
        }),
        considered: explanation.considered as u32,
        eligible: explanation.eligible as u32,
        excluded: explanation
            .excluded
            .iter()
            .map(|(reason, count)| proto::Exclusion {
                reason: reason.describe().to_string(),
                count: *count as u32,
            })
            .collect(),
        input_tokens,
        model_version,
    }
}

/// A model's version as the registry knows it: its `version` attribute, else its revision.
pub fn model_version(model: &radiant_proto::registry::Model) -> String {
    model
        .attributes
        .get("version")
        .cloned()
        .unwrap_or_else(|| format!("rev{}", model.revision))
}
