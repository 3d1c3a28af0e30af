//! The registry over HTTP/JSON: the catalogue, selection, live state and workflows for any
//! authenticated caller (`/api/v2/registry/...`), and the admin API under the seeds' paths
//! (`/api/v2/admin/models/...`, `/api/v2/admin/workflows/...`, `/api/v2/admin/registry/...`).
//! Bodies are the registry's protobuf messages as JSON (field names as in
//! `proto/radiant/registry/v1/registry.proto`); every call is forwarded to
//! `radiant.registry.v1.*`, which validates and names the field it refuses. Model ids hold
//! `/`: percent-encode them in paths (`openai%2Fgpt-4o`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use radiant_bus::RequestContext;
use radiant_bus::subjects::{REGISTRY, registry as subjects};
use radiant_proto::registry::*;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Admin, ApiJson, ApiQuery, Authenticated};
use crate::state::AppState;

async fn forward<Request: prost::Message, Response: prost::Message + Default>(
    state: &AppState,
    context: &RequestContext,
    endpoint: &str,
    request: &Request,
) -> Result<ApiJson<Response>, ApiError> {
    Ok(ApiJson(
        state
            .bus
            .call(&REGISTRY, endpoint, context, request)
            .await?,
    ))
}

/// Filters of a model list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ModelQuery {
    /// external or self_hosted
    pub hosting: String,
    pub category: String,
    pub provider_id: String,
    /// active, pending_review, deprecated
    pub status: String,
    /// in the display name or id
    pub search: String,
    pub include_disabled: bool,
    /// at most 500 (default 50)
    pub limit: u32,
    pub offset: u32,
}

impl From<ModelQuery> for ListModelsRequest {
    fn from(query: ModelQuery) -> Self {
        Self {
            hosting: query.hosting,
            category: query.category,
            provider_id: query.provider_id,
            status: query.status,
            search: query.search,
            include_disabled: query.include_disabled,
            limit: query.limit,
            offset: query.offset,
        }
    }
}

/// The catalogue, filtered and paginated, with each model's live state.
#[utoipa::path(get, path = "/api/v2/registry/models", tag = "registry", security(("bearer" = [])),
    params(ModelQuery),
    responses((status = 200, body = ListModelsResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list_models(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiQuery(query): ApiQuery<ModelQuery>,
) -> Result<ApiJson<ListModelsResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::MODELS_LIST,
        &ListModelsRequest::from(query),
    )
    .await
}

#[utoipa::path(get, path = "/api/v2/registry/models/{model_id}", tag = "registry", security(("bearer" = [])),
    params(("model_id" = String, Path, description = "percent-encoded model id")),
    responses((status = 200, body = Model), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn get_model(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(model_id): Path<String>,
) -> Result<ApiJson<Model>, ApiError> {
    forward(
        &state,
        &context,
        subjects::MODELS_GET,
        &GetModelRequest { model_id },
    )
    .await
}

/// The model configuration document: the model, its licenses, dependencies, provider,
/// invoke target and the workflows that use it.
#[utoipa::path(get, path = "/api/v2/registry/models/{model_id}/config", tag = "registry", security(("bearer" = [])),
    params(("model_id" = String, Path, description = "percent-encoded model id")),
    responses((status = 200, body = ModelConfig), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn model_config(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(model_id): Path<String>,
) -> Result<ApiJson<ModelConfig>, ApiError> {
    forward(
        &state,
        &context,
        subjects::MODELS_CONFIG,
        &GetModelRequest { model_id },
    )
    .await
}

/// Candidates for a request, best first: healthy, enabled and eligible models, HOT before
/// WARM before COLD, then by latency, then by health.
#[utoipa::path(post, path = "/api/v2/registry/select", tag = "registry", security(("bearer" = [])),
    request_body = SelectModelsRequest,
    responses((status = 200, body = SelectModelsResponse), (status = 400, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn select_models(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiJson(request): ApiJson<SelectModelsRequest>,
) -> Result<ApiJson<SelectModelsResponse>, ApiError> {
    forward(&state, &context, subjects::MODELS_SELECT, &request).await
}

#[utoipa::path(get, path = "/api/v2/registry/providers", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = ListProvidersResponse)))]
#[tracing::instrument(skip_all)]
pub async fn list_providers(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
) -> Result<ApiJson<ListProvidersResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::PROVIDERS_LIST,
        &ListProvidersRequest {},
    )
    .await
}

#[utoipa::path(get, path = "/api/v2/registry/providers/{provider_id}/health", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = ProviderHealth), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%provider_id))]
pub async fn provider_health(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(provider_id): Path<String>,
) -> Result<ApiJson<ProviderHealth>, ApiError> {
    forward(
        &state,
        &context,
        subjects::PROVIDERS_HEALTH,
        &GetProviderHealthRequest { provider_id },
    )
    .await
}

#[utoipa::path(get, path = "/api/v2/registry/thermal/{model_id}", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = ModelThermal), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn get_thermal(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(model_id): Path<String>,
) -> Result<ApiJson<ModelThermal>, ApiError> {
    forward(
        &state,
        &context,
        subjects::THERMAL_GET,
        &GetThermalRequest { model_id },
    )
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct WarmUpBody {
    /// default: the registry's thermal.default_keep_warm_seconds
    pub keep_warm_seconds: u32,
}

/// Warms a self-hosted model and keeps it warm for a while (admin: warm endpoints cost money).
#[utoipa::path(post, path = "/api/v2/admin/registry/thermal/{model_id}/warm", tag = "registry-admin", security(("bearer" = [])),
    request_body = WarmUpBody,
    responses((status = 200, body = ModelThermal), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn warm_up(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(model_id): Path<String>,
    ApiJson(body): ApiJson<WarmUpBody>,
) -> Result<ApiJson<ModelThermal>, ApiError> {
    let request = WarmUpRequest {
        model_id,
        keep_warm_seconds: body.keep_warm_seconds,
        requested_by: context.user_id.clone().unwrap_or_default(),
    };
    forward(&state, &context, subjects::THERMAL_WARM, &request).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ThermalModeBody {
    /// off, cold, warm, hot, automatic
    pub mode: String,
    pub reason: String,
}

#[utoipa::path(put, path = "/api/v2/admin/registry/thermal/{model_id}/mode", tag = "registry-admin", security(("bearer" = [])),
    request_body = ThermalModeBody,
    responses((status = 200, body = ModelThermal), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn set_thermal_mode(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(model_id): Path<String>,
    ApiJson(body): ApiJson<ThermalModeBody>,
) -> Result<ApiJson<ModelThermal>, ApiError> {
    let request = SetThermalModeRequest {
        model_id,
        mode: body.mode,
        reason: body.reason,
    };
    forward(&state, &context, subjects::THERMAL_SET_MODE, &request).await
}

#[utoipa::path(get, path = "/api/v2/registry/workflows", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = ListWorkflowsResponse)))]
#[tracing::instrument(skip_all)]
pub async fn list_workflows(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
) -> Result<ApiJson<ListWorkflowsResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::WORKFLOWS_LIST,
        &ListWorkflowsRequest::default(),
    )
    .await
}

#[utoipa::path(get, path = "/api/v2/registry/workflows/{workflow_id}", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = Workflow), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%workflow_id))]
pub async fn get_workflow(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    Path(workflow_id): Path<String>,
) -> Result<ApiJson<Workflow>, ApiError> {
    forward(
        &state,
        &context,
        subjects::WORKFLOWS_GET,
        &GetWorkflowRequest { workflow_id },
    )
    .await
}

// ---- admin: models and licenses (seed section 35) ----

/// Every model, disabled ones included unless filtered.
#[utoipa::path(get, path = "/api/v2/admin/models", tag = "registry-admin", security(("bearer" = [])),
    params(ModelQuery),
    responses((status = 200, body = ListModelsResponse), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn admin_list_models(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiQuery(query): ApiQuery<ModelQuery>,
) -> Result<ApiJson<ListModelsResponse>, ApiError> {
    let mut request = ListModelsRequest::from(query);
    request.include_disabled = true;
    forward(&state, &context, subjects::MODELS_LIST, &request).await
}

/// Creates a model with its licenses and dependencies (audited); 409 when the id is taken.
#[utoipa::path(post, path = "/api/v2/admin/models", tag = "registry-admin", security(("bearer" = [])),
    request_body = UpsertModelRequest,
    responses((status = 201, body = Model), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn admin_create_model(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiJson(request): ApiJson<UpsertModelRequest>,
) -> Result<(StatusCode, ApiJson<Model>), ApiError> {
    let created = forward(&state, &context, subjects::MODELS_CREATE, &request).await?;
    Ok((StatusCode::CREATED, created))
}

#[utoipa::path(get, path = "/api/v2/admin/models/{model_id}", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = ModelConfig), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn admin_get_model(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(model_id): Path<String>,
) -> Result<ApiJson<ModelConfig>, ApiError> {
    forward(
        &state,
        &context,
        subjects::MODELS_CONFIG,
        &GetModelRequest { model_id },
    )
    .await
}

/// Replaces a model (licenses and dependencies too when given); `expected_revision` guards
/// against lost updates (409).
#[utoipa::path(put, path = "/api/v2/admin/models/{model_id}", tag = "registry-admin", security(("bearer" = [])),
    request_body = UpsertModelRequest,
    responses((status = 200, body = Model), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn admin_update_model(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(model_id): Path<String>,
    ApiJson(request): ApiJson<UpsertModelRequest>,
) -> Result<ApiJson<Model>, ApiError> {
    if request
        .model
        .as_ref()
        .is_some_and(|model| model.model_id != model_id)
    {
        return Err(ApiError::invalid_argument(
            "model.model_id: must match the model id in the path",
        ));
    }
    forward(&state, &context, subjects::MODELS_UPDATE, &request).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ReasonBody {
    pub reason: String,
}

/// Disables a model (soft: it stays in the catalogue and the audit log, never selected).
#[utoipa::path(delete, path = "/api/v2/admin/models/{model_id}", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = Model), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn admin_disable_model(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(model_id): Path<String>,
) -> Result<ApiJson<Model>, ApiError> {
    let request = SetModelEnabledRequest {
        model_id,
        enabled: false,
        reason: String::new(),
    };
    forward(&state, &context, subjects::MODELS_SET_ENABLED, &request).await
}

#[utoipa::path(post, path = "/api/v2/admin/models/{model_id}/enable", tag = "registry-admin", security(("bearer" = [])),
    request_body = ReasonBody,
    responses((status = 200, body = Model), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%model_id))]
pub async fn admin_enable_model(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(model_id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<ApiJson<Model>, ApiError> {
    let request = SetModelEnabledRequest {
        model_id,
        enabled: true,
        reason: body.reason,
    };
    forward(&state, &context, subjects::MODELS_SET_ENABLED, &request).await
}

/// Commercial OK, review needed, non-compliant, expiring within 30 days.
#[utoipa::path(get, path = "/api/v2/admin/models/licenses/summary", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = LicenseComplianceSummary), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn license_summary(
    State(state): State<AppState>,
    Admin(context): Admin,
) -> Result<ApiJson<LicenseComplianceSummary>, ApiError> {
    forward(
        &state,
        &context,
        subjects::LICENSES_COMPLIANCE,
        &LicenseComplianceRequest {},
    )
    .await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct LicenseQuery {
    pub model_id: String,
    /// compliant, review_needed, non_compliant
    pub compliance_status: String,
}

#[utoipa::path(get, path = "/api/v2/admin/models/licenses", tag = "registry-admin", security(("bearer" = [])),
    params(LicenseQuery),
    responses((status = 200, body = ListLicensesResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list_licenses(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiQuery(query): ApiQuery<LicenseQuery>,
) -> Result<ApiJson<ListLicensesResponse>, ApiError> {
    let request = ListLicensesRequest {
        model_id: query.model_id,
        compliance_status: query.compliance_status,
    };
    forward(&state, &context, subjects::LICENSES_LIST, &request).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct LicenseReviewBody {
    /// compliant, review_needed, non_compliant
    pub compliance_status: String,
    pub compliance_notes: String,
    /// RFC 3339
    pub expires_at: String,
}

#[utoipa::path(put, path = "/api/v2/admin/models/licenses/{license_id}/review", tag = "registry-admin", security(("bearer" = [])),
    request_body = LicenseReviewBody,
    responses((status = 200, body = License), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%license_id))]
pub async fn review_license(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(license_id): Path<String>,
    ApiJson(body): ApiJson<LicenseReviewBody>,
) -> Result<ApiJson<License>, ApiError> {
    let request = LicenseReviewRequest {
        license_id,
        compliance_status: body.compliance_status,
        compliance_notes: body.compliance_notes,
        expires_at: body.expires_at,
    };
    forward(&state, &context, subjects::LICENSES_REVIEW, &request).await
}

// ---- admin: workflows ----

#[utoipa::path(get, path = "/api/v2/admin/workflows", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = ListWorkflowsResponse), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn admin_list_workflows(
    State(state): State<AppState>,
    Admin(context): Admin,
) -> Result<ApiJson<ListWorkflowsResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::WORKFLOWS_LIST,
        &ListWorkflowsRequest {
            include_disabled: true,
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v2/admin/workflows", tag = "registry-admin", security(("bearer" = [])),
    request_body = UpsertWorkflowRequest,
    responses((status = 201, body = Workflow), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create_workflow(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiJson(request): ApiJson<UpsertWorkflowRequest>,
) -> Result<(StatusCode, ApiJson<Workflow>), ApiError> {
    let created = forward(&state, &context, subjects::WORKFLOWS_CREATE, &request).await?;
    Ok((StatusCode::CREATED, created))
}

#[utoipa::path(put, path = "/api/v2/admin/workflows/{workflow_id}", tag = "registry-admin", security(("bearer" = [])),
    request_body = UpsertWorkflowRequest,
    responses((status = 200, body = Workflow), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%workflow_id))]
pub async fn update_workflow(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(workflow_id): Path<String>,
    ApiJson(request): ApiJson<UpsertWorkflowRequest>,
) -> Result<ApiJson<Workflow>, ApiError> {
    if request
        .workflow
        .as_ref()
        .is_some_and(|workflow| workflow.workflow_id != workflow_id)
    {
        return Err(ApiError::invalid_argument(
            "workflow.workflow_id: must match the workflow id in the path",
        ));
    }
    forward(&state, &context, subjects::WORKFLOWS_UPDATE, &request).await
}

#[utoipa::path(delete, path = "/api/v2/admin/workflows/{workflow_id}", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = Workflow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%workflow_id))]
pub async fn delete_workflow(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(workflow_id): Path<String>,
) -> Result<ApiJson<Workflow>, ApiError> {
    forward(
        &state,
        &context,
        subjects::WORKFLOWS_DELETE,
        &DeleteWorkflowRequest {
            workflow_id,
            reason: String::new(),
        },
    )
    .await
}

// ---- admin: registry (seed section 36.7) ----

/// The unified view: external and self-hosted models in one list.
#[utoipa::path(get, path = "/api/v2/admin/registry/models", tag = "registry-admin", security(("bearer" = [])),
    params(ModelQuery),
    responses((status = 200, body = ListModelsResponse), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn registry_models(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiQuery(query): ApiQuery<ModelQuery>,
) -> Result<ApiJson<ListModelsResponse>, ApiError> {
    let mut request = ListModelsRequest::from(query);
    request.include_disabled = true;
    forward(&state, &context, subjects::MODELS_LIST, &request).await
}

#[utoipa::path(get, path = "/api/v2/admin/registry/stats", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = RegistryStats), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn registry_stats(
    State(state): State<AppState>,
    Admin(context): Admin,
) -> Result<ApiJson<RegistryStats>, ApiError> {
    forward(&state, &context, subjects::STATS, &StatsRequest {}).await
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct SyncHistoryQuery {
    /// full, pricing, health, thermal
    pub sync_type: String,
    pub limit: u32,
}

#[utoipa::path(get, path = "/api/v2/admin/registry/sync/history", tag = "registry-admin", security(("bearer" = [])),
    params(SyncHistoryQuery),
    responses((status = 200, body = ListSyncRunsResponse), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn sync_history(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiQuery(query): ApiQuery<SyncHistoryQuery>,
) -> Result<ApiJson<ListSyncRunsResponse>, ApiError> {
    let request = ListSyncRunsRequest {
        sync_type: query.sync_type,
        limit: query.limit,
    };
    forward(&state, &context, subjects::SYNC_LIST, &request).await
}

/// Starts a sync: 202 with the running entry, or 200 with the finished one when `wait`.
#[utoipa::path(post, path = "/api/v2/admin/registry/sync", tag = "registry-admin", security(("bearer" = [])),
    request_body = TriggerSyncRequest,
    responses((status = 202, body = SyncRun), (status = 200, body = SyncRun), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn trigger_sync(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiJson(request): ApiJson<TriggerSyncRequest>,
) -> Result<(StatusCode, ApiJson<SyncRun>), ApiError> {
    let status = if request.wait {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let run = if request.wait {
        // a full import takes seconds: give it the long deadline
        let timeout = state.config.http.upload_complete_timeout();
        let context = context.with_deadline_in(timeout);
        ApiJson(
            state
                .bus
                .with_timeout(timeout)
                .call(&REGISTRY, subjects::SYNC_TRIGGER, &context, &request)
                .await?,
        )
    } else {
        forward(&state, &context, subjects::SYNC_TRIGGER, &request).await?
    };
    Ok((status, run))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct AuditQuery {
    /// model, license, workflow, credential, thermal
    pub entity_type: String,
    pub entity_id: String,
    pub limit: u32,
}

#[utoipa::path(get, path = "/api/v2/admin/registry/audit", tag = "registry-admin", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = ListAuditResponse), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn audit_log(
    State(state): State<AppState>,
    Admin(context): Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<ApiJson<ListAuditResponse>, ApiError> {
    let request = ListAuditRequest {
        entity_type: query.entity_type,
        entity_id: query.entity_id,
        limit: query.limit,
    };
    forward(&state, &context, subjects::AUDIT_LIST, &request).await
}

/// Provider keys: versions, hints and use counts, never the keys.
#[utoipa::path(get, path = "/api/v2/admin/registry/credentials", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = ListCredentialsResponse), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list_credentials(
    State(state): State<AppState>,
    Admin(context): Admin,
) -> Result<ApiJson<ListCredentialsResponse>, ApiError> {
    forward(
        &state,
        &context,
        subjects::CREDENTIALS_LIST,
        &ListCredentialsRequest {},
    )
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CredentialBody {
    pub api_key: String,
    pub reason: String,
}

/// Stores (or rotates to) a provider's key, encrypted; answers its hint, never the key.
#[utoipa::path(put, path = "/api/v2/admin/registry/credentials/{provider_id}", tag = "registry-admin", security(("bearer" = [])),
    request_body = CredentialBody,
    responses((status = 200, body = CredentialInfo), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%provider_id))]
pub async fn set_credential(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(provider_id): Path<String>,
    ApiJson(body): ApiJson<CredentialBody>,
) -> Result<ApiJson<CredentialInfo>, ApiError> {
    let request = SetCredentialRequest {
        provider_id,
        api_key: body.api_key,
        reason: body.reason,
    };
    forward(&state, &context, subjects::CREDENTIALS_SET, &request).await
}

#[utoipa::path(delete, path = "/api/v2/admin/registry/credentials/{provider_id}", tag = "registry-admin", security(("bearer" = [])),
    responses((status = 200, body = CredentialInfo), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(%provider_id))]
pub async fn revoke_credential(
    State(state): State<AppState>,
    Admin(context): Admin,
    Path(provider_id): Path<String>,
) -> Result<ApiJson<CredentialInfo>, ApiError> {
    let request = RevokeCredentialRequest {
        provider_id,
        reason: String::new(),
    };
    forward(&state, &context, subjects::CREDENTIALS_REVOKE, &request).await
}
