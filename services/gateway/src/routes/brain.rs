//! The brain router's HTTP face: `POST /api/v2/auto-resolve` (the seeds' auto-resolve: which
//! model would answer this prompt, why, at what cost; logged in routing history), routing
//! rules and routing history.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use radiant_bus::subjects::{BRAIN_ROUTER, brain as subjects};
use radiant_proto::brain::{
    ChatMessage, DeleteRuleRequest, DeleteRuleResponse, ListHistoryRequest, ListHistoryResponse,
    ListRulesRequest, ListRulesResponse, RouteDecision, RouteRequest, RoutingRule,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::answers;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Authenticated};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoResolvePreferences {
    /// USD for the whole request
    pub max_cost: Option<f64>,
    pub max_latency_ms: Option<f64>,
    pub preferred_provider: Option<String>,
    /// economy, balanced or premium: recorded with the decision
    pub quality_level: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoResolveBody {
    pub prompt: String,
    #[serde(default)]
    pub preferences: AutoResolvePreferences,
    /// chat, code, analysis, creative, vision, audio (default: classified from the prompt)
    #[serde(default)]
    pub task_type: Option<String>,
    #[serde(default)]
    pub requires_vision: bool,
    #[serde(default)]
    pub requires_audio: bool,
    #[serde(default)]
    pub hipaa: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoResolveResult {
    pub model: String,
    pub provider: String,
    pub reason: String,
    pub estimated_cost: f64,
    pub decision_id: String,
    pub task_type: String,
    pub confidence: f64,
    pub fallbacks: Vec<String>,
    /// The whole decision: score terms, exclusions, notes.
    pub decision: RouteDecision,
}

/// Which model would answer this prompt, why, and what it would cost.
#[utoipa::path(post, path = "/api/v2/auto-resolve", tag = "chat", security(("bearer" = [])),
    request_body = AutoResolveBody,
    responses((status = 200, body = AutoResolveResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn auto_resolve(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiJson(body): ApiJson<AutoResolveBody>,
) -> Result<ApiJson<AutoResolveResult>, ApiError> {
    if let Some(level) = &body.preferences.quality_level
        && !["economy", "balanced", "premium"].contains(&level.as_str())
    {
        return Err(ApiError::invalid_argument(
            "preferences.qualityLevel: must be economy, balanced or premium",
        ));
    }
    let request = RouteRequest {
        messages: vec![ChatMessage {
            role: "user".to_string(),
            content: body.prompt,
        }],
        task_type: body.task_type.unwrap_or_default(),
        max_cost_usd: body.preferences.max_cost,
        max_latency_ms: body.preferences.max_latency_ms,
        preferred_provider: body.preferences.preferred_provider.unwrap_or_default(),
        needs_vision: body.requires_vision,
        needs_audio: body.requires_audio,
        hipaa: body.hipaa,
        source: "auto_resolve".to_string(),
        ..Default::default()
    };
    let decision = answers::route(&state, &context, &request).await?;
    Ok(ApiJson(AutoResolveResult {
        model: decision.model_id.clone(),
        provider: decision.provider_id.clone(),
        reason: decision.summary.clone(),
        estimated_cost: decision.estimated_cost_usd,
        decision_id: decision.decision_id.clone(),
        task_type: decision.task_type.clone(),
        confidence: decision.confidence,
        fallbacks: decision.fallbacks.clone(),
        decision,
    }))
}

/// The caller's tenant's routing rules and the global ones.
#[utoipa::path(get, path = "/api/v2/routing/rules", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = ListRulesResponse), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list_rules(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
) -> Result<ApiJson<ListRulesResponse>, ApiError> {
    Ok(ApiJson(
        state
            .bus
            .call(
                &BRAIN_ROUTER,
                subjects::RULES_LIST,
                &context,
                &ListRulesRequest {},
            )
            .await?,
    ))
}

/// Creates a routing rule, or replaces the one with its `rule_id` (tenant admins; global
/// rules: platform admins).
#[utoipa::path(post, path = "/api/v2/routing/rules", tag = "chat", security(("bearer" = [])),
    request_body = RoutingRule,
    responses((status = 201, body = RoutingRule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn upsert_rule(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiJson(rule): ApiJson<RoutingRule>,
) -> Result<(StatusCode, ApiJson<RoutingRule>), ApiError> {
    let stored: RoutingRule = state
        .bus
        .call(&BRAIN_ROUTER, subjects::RULES_UPSERT, &context, &rule)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(stored)))
}

/// Deactivates a routing rule (kept, never deleted).
#[utoipa::path(delete, path = "/api/v2/routing/rules/{rule_id}", tag = "chat", security(("bearer" = [])),
    params(("rule_id" = String, Path)),
    responses((status = 200, body = DeleteRuleResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn delete_rule(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(rule_id): Path<String>,
) -> Result<ApiJson<DeleteRuleResponse>, ApiError> {
    Ok(ApiJson(
        state
            .bus
            .call(
                &BRAIN_ROUTER,
                subjects::RULES_DELETE,
                &context,
                &DeleteRuleRequest { rule_id },
            )
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct HistoryQuery {
    /// at most 500 (default 50)
    pub limit: u32,
    /// admins: one user's decisions (default: the tenant's); others always see their own
    pub user_id: String,
}

/// Routing decisions, newest first: the caller's own (admins: the tenant's).
#[utoipa::path(get, path = "/api/v2/routing/history", tag = "chat", security(("bearer" = [])),
    params(HistoryQuery),
    responses((status = 200, body = ListHistoryResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn history(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<ApiJson<ListHistoryResponse>, ApiError> {
    Ok(ApiJson(
        state
            .bus
            .call(
                &BRAIN_ROUTER,
                subjects::HISTORY_LIST,
                &context,
                &ListHistoryRequest {
                    limit: query.limit,
                    user_id: query.user_id,
                },
            )
            .await?,
    ))
}
