//! `thermal.get`, `thermal.warm` (any service: the router, the visual pipeline),
//! `thermal.set_mode` (admin, audited).

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::registry::{
    GetThermalRequest, ModelThermal, SetThermalModeRequest, WarmUpRequest,
};

use super::{actor, require_admin};
use crate::domain::{validation, vocabulary as vocab};
use crate::error::RegistryResult;
use crate::live::thermal::{Change, apply};
use crate::registry::Registry;
use crate::store;

#[tracing::instrument(skip_all, fields(model_id = %request.model_id))]
pub async fn get(
    registry: &Registry,
    _context: RequestContext,
    request: GetThermalRequest,
) -> RegistryResult<ModelThermal> {
    validation::model_id("model_id", &request.model_id)?;
    let model = store::models::get(&registry.database, &request.model_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("no model {}", request.model_id)))?;
    if let Some(thermal) = store::live::get_thermal(&registry.database, &request.model_id).await? {
        return Ok(thermal);
    }
    let standing = registry.view.with_live(|live| {
        crate::domain::selection::standing(&model, live, crate::domain::now_ms())
    });
    Ok(ModelThermal {
        model_id: model.model_id,
        state: standing.thermal_state,
        mode: "automatic".to_string(),
        reason: "no activity recorded".to_string(),
        ..Default::default()
    })
}

#[tracing::instrument(skip_all, fields(model_id = %request.model_id))]
pub async fn warm(
    registry: &Registry,
    context: RequestContext,
    request: WarmUpRequest,
) -> RegistryResult<ModelThermal> {
    validation::model_id("model_id", &request.model_id)?;
    let limits = &registry.config.thermal;
    let keep_warm_seconds = match request.keep_warm_seconds {
        0 => limits.default_keep_warm_seconds,
        seconds if seconds > limits.max_keep_warm_seconds => {
            return Err(ServiceError::invalid_field(
                "keep_warm_seconds",
                format!("must be at most {}", limits.max_keep_warm_seconds),
            )
            .into());
        }
        seconds => seconds,
    };
    let requested_by = if request.requested_by.is_empty() {
        actor(&context)
    } else {
        request.requested_by.clone()
    };
    apply(
        registry,
        &request.model_id,
        Change::WarmUp {
            keep_warm_seconds,
            requested_by: &requested_by,
        },
    )
    .await
}

#[tracing::instrument(skip_all, fields(model_id = %request.model_id, mode = %request.mode))]
pub async fn set_mode(
    registry: &Registry,
    context: RequestContext,
    request: SetThermalModeRequest,
) -> RegistryResult<ModelThermal> {
    require_admin(&context)?;
    validation::model_id("model_id", &request.model_id)?;
    if !vocab::is_one_of(&request.mode, vocab::THERMAL_MODES) {
        return Err(ServiceError::invalid_field(
            "mode",
            "must be off, cold, warm, hot or automatic",
        )
        .into());
    }
    let mut reason = request.reason.clone();
    validation::text("reason", &mut reason, false, 2000)?;
    let actor = actor(&context);
    apply(
        registry,
        &request.model_id,
        Change::SetMode {
            mode: &request.mode,
            reason: &reason,
            actor: &actor,
            request_id: &context.request_id,
        },
    )
    .await
}
