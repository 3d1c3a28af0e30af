//! `models.*` and `providers.*`: reads from the in-memory catalogue (selection, get) or the
//! database (lists, config documents); admin writes with audit.

use radiant_bus::{RequestContext, ServiceError};
use radiant_db::sea_orm::TransactionTrait;
use radiant_proto::events::RegistryCatalogueChanged;
use radiant_proto::registry::{
    GetModelRequest, GetProviderHealthRequest, ListModelsRequest, ListModelsResponse,
    ListProvidersRequest, ListProvidersResponse, LiveModelState, Model, ModelConfig,
    ProviderHealth, SelectModelsRequest, SelectModelsResponse, SetModelEnabledRequest,
    UpsertModelRequest,
};

use super::{actor, require_admin, summary_or};
use crate::domain::selection::{self, standing};
use crate::domain::{now_ms, validation};
use crate::error::RegistryResult;
use crate::registry::Registry;
use crate::store;
use crate::store::audit::NewAuditEntry;

const MAX_PAGE: u32 = 500;

fn not_found(model_id: &str) -> ServiceError {
    ServiceError::not_found(format!("no model {model_id}"))
}

/// The model with its live standing.
fn with_live(registry: &Registry, mut model: Model) -> Model {
    let standing = registry
        .view
        .with_live(|live| standing(&model, live, now_ms()));
    model.live = Some(LiveModelState {
        thermal_state: standing.thermal_state,
        health_status: standing.health_status,
        avg_latency_ms: standing.latency_ms,
        error_rate: standing.error_rate,
    });
    model
}

#[tracing::instrument(skip_all, fields(model_id = %request.model_id))]
pub async fn get(
    registry: &Registry,
    _context: RequestContext,
    request: GetModelRequest,
) -> RegistryResult<Model> {
    validation::model_id("model_id", &request.model_id)?;
    let model = store::models::get(&registry.database, &request.model_id)
        .await?
        .ok_or_else(|| not_found(&request.model_id))?;
    Ok(with_live(registry, model))
}

#[tracing::instrument(skip_all)]
pub async fn list(
    registry: &Registry,
    context: RequestContext,
    mut request: ListModelsRequest,
) -> RegistryResult<ListModelsResponse> {
    use crate::domain::vocabulary as vocab;
    // disabled models are the admins' business
    request.include_disabled &= context.is_admin();
    for (field, value, vocabulary) in [
        ("hosting", &request.hosting, vocab::HOSTING),
        ("category", &request.category, vocab::CATEGORIES),
        ("status", &request.status, vocab::MODEL_STATUSES),
    ] {
        if !value.is_empty() && !vocab::is_one_of(value, vocabulary) {
            return Err(ServiceError::invalid_field(
                field,
                format!("\"{value}\" is not one of: {}", vocabulary.join(", ")),
            )
            .into());
        }
    }
    if request.search.len() > 200 {
        return Err(ServiceError::invalid_field("search", "is longer than 200 bytes").into());
    }
    let limit = match request.limit {
        0 => 50,
        limit => limit.min(MAX_PAGE),
    };
    let (models, total) = store::models::list(&registry.database, &request, limit).await?;
    Ok(ListModelsResponse {
        models: models
            .into_iter()
            .map(|model| with_live(registry, model))
            .collect(),
        total,
    })
}

#[tracing::instrument(skip_all, fields(mode = %request.mode))]
pub async fn select(
    registry: &Registry,
    _context: RequestContext,
    request: SelectModelsRequest,
) -> RegistryResult<SelectModelsResponse> {
    let criteria = selection::criteria(request)?;
    let catalogue = registry.view.catalogue();
    let now = now_ms();
    let selection = registry
        .view
        .with_live(|live| selection::select(catalogue.models.iter(), live, &criteria, now));
    Ok(SelectModelsResponse {
        candidates: selection.candidates,
        catalogue_size: catalogue.models.len() as u32,
        eligible: selection.eligible,
        excluded_unhealthy: selection.excluded_unhealthy,
    })
}

/// The model configuration document (the seeds' get_model_config).
#[tracing::instrument(skip_all, fields(model_id = %request.model_id))]
pub async fn config(
    registry: &Registry,
    _context: RequestContext,
    request: GetModelRequest,
) -> RegistryResult<ModelConfig> {
    validation::model_id("model_id", &request.model_id)?;
    let model = store::models::get(&registry.database, &request.model_id)
        .await?
        .ok_or_else(|| not_found(&request.model_id))?;
    let licenses = store::licenses::for_model(&registry.database, &model.model_id).await?;
    let dependencies =
        store::licenses::dependencies_for_model(&registry.database, &model.model_id).await?;
    let provider = store::providers::get(&registry.database, &model.provider_id).await?;
    let workflow_ids =
        store::workflows::ids_using_model(&registry.database, &model.model_id).await?;
    let invoke_target = match (&model.self_hosted, &provider) {
        (Some(config), Some(provider)) if !provider.base_url.is_empty() => {
            format!(
                "{}/endpoints/{}/invocations",
                provider.base_url, config.endpoint_name
            )
        }
        (Some(config), _) => format!("sagemaker:{}", config.endpoint_name),
        (None, Some(provider)) => provider.base_url.clone(),
        (None, None) => String::new(),
    };
    Ok(ModelConfig {
        model: Some(with_live(registry, model)),
        licenses,
        dependencies,
        provider,
        invoke_target,
        workflow_ids,
    })
}

fn checked_upsert(request: &mut UpsertModelRequest) -> Result<Model, ServiceError> {
    let mut model = request
        .model
        .take()
        .ok_or_else(|| ServiceError::invalid_field("model", "is required"))?;
    validation::model(&mut model)?;
    for (index, license) in request.licenses.iter_mut().enumerate() {
        validation::license(index, license, &model.model_id)?;
    }
    for (index, dependency) in request.dependencies.iter_mut().enumerate() {
        validation::dependency(index, dependency, &model.model_id)?;
    }
    validation::text("reason", &mut request.reason, false, 2000)?;
    // the license list of the model is the SPDX ids of its licenses
    if !request.licenses.is_empty() {
        let mut ids: Vec<String> = request
            .licenses
            .iter()
            .map(|license| license.spdx_id.clone())
            .collect();
        ids.dedup();
        model.license_ids = ids;
    }
    Ok(model)
}

async fn announce(registry: &Registry, context: &RequestContext, model_id: &str, action: &str) {
    crate::events::catalogue_changed(
        registry,
        RegistryCatalogueChanged {
            entity_type: "model".to_string(),
            entity_id: model_id.to_string(),
            action: action.to_string(),
            actor: actor(context),
        },
    )
    .await;
}

#[tracing::instrument(skip_all)]
pub async fn create(
    registry: &Registry,
    context: RequestContext,
    mut request: UpsertModelRequest,
) -> RegistryResult<Model> {
    require_admin(&context)?;
    let mut model = checked_upsert(&mut request)?;
    model.source = "admin".to_string();
    model.enabled = true;
    let transaction = registry.database.begin().await?;
    if store::providers::get(&transaction, &model.provider_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::invalid_field(
            "model.provider_id",
            format!("no provider {}", model.provider_id),
        )
        .into());
    }
    if !store::models::insert(&transaction, &model, None).await? {
        return Err(
            ServiceError::conflict(format!("a model {} exists already", model.model_id)).into(),
        );
    }
    store::licenses::replace_for_model(&transaction, &model.model_id, &request.licenses).await?;
    store::licenses::replace_dependencies(&transaction, &model.model_id, &request.dependencies)
        .await?;
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &actor(&context),
            entity_type: "model",
            entity_id: &model.model_id,
            action: "create",
            summary: summary_or(&request.reason, || format!("created {}", model.model_id)),
            before: None,
            after: Some(serde_json::to_value(&model)?),
            request_id: &context.request_id,
        },
    )
    .await?;
    let created = store::models::get(&transaction, &model.model_id)
        .await?
        .ok_or_else(|| not_found(&model.model_id))?;
    transaction.commit().await?;
    announce(registry, &context, &model.model_id, "create").await;
    Ok(created)
}

#[tracing::instrument(skip_all)]
pub async fn update(
    registry: &Registry,
    context: RequestContext,
    mut request: UpsertModelRequest,
) -> RegistryResult<Model> {
    require_admin(&context)?;
    let mut model = checked_upsert(&mut request)?;
    let transaction = registry.database.begin().await?;
    let before = store::models::lock(&transaction, &model.model_id)
        .await?
        .ok_or_else(|| not_found(&model.model_id))?;
    if request.expected_revision != 0 && request.expected_revision != before.revision {
        return Err(ServiceError::conflict(format!(
            "the model is at revision {}, not {}; read it again",
            before.revision, request.expected_revision
        ))
        .into());
    }
    if store::providers::get(&transaction, &model.provider_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::invalid_field(
            "model.provider_id",
            format!("no provider {}", model.provider_id),
        )
        .into());
    }
    // what the admin API does not own stays as it was
    model.source = before.source.clone();
    model.enabled = before.enabled;
    store::models::replace(&transaction, &model).await?;
    if !request.licenses.is_empty() {
        store::licenses::replace_for_model(&transaction, &model.model_id, &request.licenses)
            .await?;
    }
    if !request.dependencies.is_empty() {
        store::licenses::replace_dependencies(&transaction, &model.model_id, &request.dependencies)
            .await?;
    }
    let after = store::models::get(&transaction, &model.model_id)
        .await?
        .ok_or_else(|| not_found(&model.model_id))?;
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &actor(&context),
            entity_type: "model",
            entity_id: &model.model_id,
            action: "update",
            summary: summary_or(&request.reason, || format!("updated {}", model.model_id)),
            before: Some(serde_json::to_value(&before)?),
            after: Some(serde_json::to_value(&after)?),
            request_id: &context.request_id,
        },
    )
    .await?;
    transaction.commit().await?;
    announce(registry, &context, &model.model_id, "update").await;
    Ok(after)
}

#[tracing::instrument(skip_all, fields(model_id = %request.model_id, enabled = request.enabled))]
pub async fn set_enabled(
    registry: &Registry,
    context: RequestContext,
    mut request: SetModelEnabledRequest,
) -> RegistryResult<Model> {
    require_admin(&context)?;
    validation::model_id("model_id", &request.model_id)?;
    validation::text("reason", &mut request.reason, false, 2000)?;
    let transaction = registry.database.begin().await?;
    let before = store::models::lock(&transaction, &request.model_id)
        .await?
        .ok_or_else(|| not_found(&request.model_id))?;
    if before.enabled == request.enabled {
        transaction.commit().await?;
        return Ok(before);
    }
    let mut after = before.clone();
    after.enabled = request.enabled;
    store::models::replace(&transaction, &after).await?;
    let action = if request.enabled { "enable" } else { "disable" };
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &actor(&context),
            entity_type: "model",
            entity_id: &request.model_id,
            action,
            summary: summary_or(&request.reason, || {
                format!("{action}d {}", request.model_id)
            }),
            before: Some(serde_json::json!({ "enabled": before.enabled })),
            after: Some(serde_json::json!({ "enabled": request.enabled })),
            request_id: &context.request_id,
        },
    )
    .await?;
    let after = store::models::get(&transaction, &request.model_id)
        .await?
        .ok_or_else(|| not_found(&request.model_id))?;
    transaction.commit().await?;
    announce(registry, &context, &request.model_id, action).await;
    Ok(after)
}

#[tracing::instrument(skip_all)]
pub async fn providers(
    registry: &Registry,
    _context: RequestContext,
    _request: ListProvidersRequest,
) -> RegistryResult<ListProvidersResponse> {
    let mut providers = store::providers::all(&registry.database).await?;
    registry.view.with_live(|live| {
        for provider in &mut providers {
            provider.health = live.health.get(&provider.provider_id).cloned();
        }
    });
    Ok(ListProvidersResponse { providers })
}

#[tracing::instrument(skip_all, fields(provider_id = %request.provider_id))]
pub async fn provider_health(
    registry: &Registry,
    _context: RequestContext,
    request: GetProviderHealthRequest,
) -> RegistryResult<ProviderHealth> {
    validation::provider_id("provider_id", &request.provider_id)?;
    if store::providers::get(&registry.database, &request.provider_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::not_found(format!("no provider {}", request.provider_id)).into());
    }
    let now = now_ms();
    let health = registry
        .view
        .with_live(|live| live.health.get(&request.provider_id).cloned());
    Ok(match health {
        Some(mut health) => {
            health.status = crate::domain::health::effective_status(
                &health.status,
                health.observed_at_ms,
                health.stale_after_ms,
                now,
            )
            .to_string();
            health
        }
        None => ProviderHealth {
            provider_id: request.provider_id,
            status: "unknown".to_string(),
            ..Default::default()
        },
    })
}
