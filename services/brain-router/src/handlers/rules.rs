//! `rules.list`, `rules.upsert`, `rules.delete`: a tenant's routing rules (tenant admins) and
//! the global ones (platform admins). Every change is announced so every replica reloads.

use radiant_bus::subjects::brain as subjects;
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::brain::{
    DeleteRuleRequest, DeleteRuleResponse, ListRulesRequest, ListRulesResponse, RoutingRule,
};
use uuid::Uuid;

use crate::brain::BrainRouter;
use crate::domain::context::TaskType;
use crate::domain::rules::{Conditions, Rule};

/// The rule as the decision reads it (a tenant's rules are read under its tenant, so a rule
/// that is not global is `tenant_id`'s); `None` for a stored rule that no longer parses.
pub fn domain_rule(tenant_id: &str, rule: &RoutingRule) -> Option<Rule> {
    let conditions = rule.conditions.clone().unwrap_or_default();
    let task_type = if conditions.task_type.is_empty() {
        None
    } else {
        Some(TaskType::parse(&conditions.task_type)?)
    };
    Some(Rule {
        rule_id: rule.rule_id.clone(),
        tenant_id: (!rule.global).then(|| tenant_id.to_string()),
        name: rule.name.clone(),
        priority: rule.priority,
        conditions: Conditions {
            task_type,
            min_tokens: conditions.min_tokens,
            max_tokens: conditions.max_tokens,
            min_tier: conditions.min_tier,
            max_tier: conditions.max_tier,
            needs_vision: conditions.needs_vision,
            hipaa: conditions.hipaa,
            user_ids: conditions.user_ids,
        },
        target_model: rule.target_model.clone(),
        fallback_models: rule.fallback_models.clone(),
        active: rule.active,
    })
}

fn require_rule_admin(context: &RequestContext, global: bool) -> Result<(), ServiceError> {
    if context.is_admin() || (!global && context.has_role("tenant_admin")) {
        return Ok(());
    }
    Err(ServiceError::permission_denied(if global {
        "global routing rules are for platform admins"
    } else {
        "routing rules are for admins of the tenant"
    }))
}

/// Tells every replica (this one included) that the tenant's rules changed.
async fn announce(router: &BrainRouter, tenant_id: Uuid, global: bool) {
    let payload = if global {
        "global".to_string()
    } else {
        tenant_id.to_string()
    };
    let subject = router
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_RULES_CHANGED);
    forget(router, &payload);
    if let Err(error) = router.bus.nats().publish(subject, payload.into()).await {
        tracing::warn!(%error, "rules change not announced");
    }
}

/// Drops cached rules: one tenant's, or everyone's for a global change.
pub fn forget(router: &BrainRouter, changed: &str) {
    let mut rules = router
        .rules
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match changed.parse::<Uuid>() {
        Ok(tenant_id) => {
            rules.remove(&tenant_id);
        }
        Err(_) => rules.clear(),
    }
}

#[tracing::instrument(skip_all)]
pub async fn list(
    router: &BrainRouter,
    context: RequestContext,
    _request: ListRulesRequest,
) -> Result<ListRulesResponse, ServiceError> {
    let tenant_id = context.require_tenant()?;
    let rules = radiant_db::with_tenant(&router.database, tenant_id, |transaction| {
        Box::pin(async move { crate::store::rules::visible(transaction).await })
    })
    .await
    .map_err(|error| ServiceError::unavailable(format!("routing rules unavailable: {error}")))?;
    Ok(ListRulesResponse { rules })
}

fn validate(rule: &mut RoutingRule) -> Result<(), ServiceError> {
    rule.name = rule.name.trim().to_string();
    if rule.name.is_empty() || rule.name.chars().count() > 200 {
        return Err(ServiceError::invalid_field(
            "name",
            "must be 1 to 200 characters",
        ));
    }
    rule.target_model = rule.target_model.trim().to_string();
    if rule.target_model.is_empty() || rule.target_model.len() > 300 {
        return Err(ServiceError::invalid_field(
            "target_model",
            "must name a model",
        ));
    }
    if rule.fallback_models.len() > 5 {
        return Err(ServiceError::invalid_field("fallback_models", "at most 5"));
    }
    let conditions = rule.conditions.get_or_insert_with(Default::default);
    if !conditions.task_type.is_empty() && TaskType::parse(&conditions.task_type).is_none() {
        return Err(ServiceError::invalid_field(
            "conditions.task_type",
            "must be one of: chat, code, analysis, creative, vision, audio",
        ));
    }
    for (field, value) in [
        ("conditions.min_tier", conditions.min_tier),
        ("conditions.max_tier", conditions.max_tier),
    ] {
        if value.is_some_and(|tier| !(1..=5).contains(&tier)) {
            return Err(ServiceError::invalid_field(
                field,
                "must be between 1 and 5",
            ));
        }
    }
    if let (Some(low), Some(high)) = (conditions.min_tokens, conditions.max_tokens)
        && low > high
    {
        return Err(ServiceError::invalid_field(
            "conditions.min_tokens",
            "must not exceed max_tokens",
        ));
    }
    if conditions.user_ids.len() > 1_000 {
        return Err(ServiceError::invalid_field(
            "conditions.user_ids",
            "at most 1000",
        ));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(rule_id = %request.rule_id))]
pub async fn upsert(
    router: &BrainRouter,
    context: RequestContext,
    mut request: RoutingRule,
) -> Result<RoutingRule, ServiceError> {
    let tenant_id = context.require_tenant()?;
    require_rule_admin(&context, request.global)?;
    validate(&mut request)?;
    // a rule may name a model that is not callable yet (its provider's key is to come), but
    // not one the registry has never heard of: that is a typo
    for model_id in std::iter::once(&request.target_model).chain(request.fallback_models.iter()) {
        if router.view.callable(model_id).is_none()
            && crate::live::lookup(&router.bus, model_id).await?.is_none()
        {
            return Err(ServiceError::not_found(format!(
                "model {model_id} is not in the registry"
            )));
        }
    }
    let rule_id = if request.rule_id.is_empty() {
        Uuid::now_v7()
    } else {
        request
            .rule_id
            .parse()
            .map_err(|_| ServiceError::invalid_field("rule_id", "must be a UUID"))?
    };
    let owner = (!request.global).then_some(tenant_id);
    let actor = context
        .user_id
        .clone()
        .unwrap_or_else(|| "system".to_string());
    let global = request.global;
    let stored = radiant_db::with_tenant(&router.database, tenant_id, |transaction| {
        Box::pin(async move {
            crate::store::rules::upsert(transaction, owner, rule_id, &request, &actor).await
        })
    })
    .await
    .map_err(|error| ServiceError::unavailable(format!("routing rules unavailable: {error}")))?
    .ok_or_else(|| ServiceError::not_found(format!("routing rule {rule_id} not found")))?;
    announce(router, tenant_id, global).await;
    Ok(stored)
}

#[tracing::instrument(skip_all, fields(rule_id = %request.rule_id))]
pub async fn delete(
    router: &BrainRouter,
    context: RequestContext,
    request: DeleteRuleRequest,
) -> Result<DeleteRuleResponse, ServiceError> {
    let tenant_id = context.require_tenant()?;
    let rule_id: Uuid = request
        .rule_id
        .parse()
        .map_err(|_| ServiceError::invalid_field("rule_id", "must be a UUID"))?;
    let rules = radiant_db::with_tenant(&router.database, tenant_id, |transaction| {
        Box::pin(async move { crate::store::rules::visible(transaction).await })
    })
    .await
    .map_err(|error| ServiceError::unavailable(format!("routing rules unavailable: {error}")))?;
    let Some(rule) = rules
        .iter()
        .find(|rule| rule.rule_id == rule_id.to_string())
    else {
        return Err(ServiceError::not_found(format!(
            "routing rule {rule_id} not found"
        )));
    };
    let global = rule.global;
    require_rule_admin(&context, global)?;
    let deleted = radiant_db::with_tenant(&router.database, tenant_id, |transaction| {
        Box::pin(async move { crate::store::rules::delete(transaction, rule_id, global).await })
    })
    .await
    .map_err(|error| ServiceError::unavailable(format!("routing rules unavailable: {error}")))?;
    announce(router, tenant_id, global).await;
    Ok(DeleteRuleResponse { deleted })
}
