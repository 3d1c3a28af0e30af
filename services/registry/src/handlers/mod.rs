//! The NATS endpoints: decode → domain → encode. One file per endpoint group. Admin endpoints
//! check the caller's `admin` role here, at the edge; reads are open to any caller.

pub mod admin;
pub mod credentials;
pub mod licenses;
pub mod models;
pub mod thermal;
pub mod workflows;

use radiant_bus::context::ADMIN_ROLE;
use radiant_bus::subjects::registry as subjects;
use radiant_bus::{RequestContext, ServiceError, ServiceHostBuilder};

use crate::registry::SharedRegistry;

pub(crate) fn require_admin(context: &RequestContext) -> Result<(), ServiceError> {
    context.require_role(ADMIN_ROLE)
}

/// The audit summary: the caller's reason, or what happened.
pub(crate) fn summary_or(reason: &str, what_happened: impl FnOnce() -> String) -> String {
    if reason.is_empty() {
        return what_happened();
    }
    reason.to_string()
}

/// Who did it, for the audit log.
pub(crate) fn actor(context: &RequestContext) -> String {
    context
        .user_id
        .clone()
        .unwrap_or_else(|| "system".to_string())
}

pub fn register(builder: ServiceHostBuilder, registry: &SharedRegistry) -> ServiceHostBuilder {
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::MODELS_GET, models::get);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::MODELS_LIST, models::list);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::MODELS_SELECT, models::select);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::MODELS_CONFIG, models::config);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::MODELS_CREATE, models::create);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::MODELS_UPDATE, models::update);
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::MODELS_SET_ENABLED,
        models::set_enabled
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::PROVIDERS_LIST,
        models::providers
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::PROVIDERS_HEALTH,
        models::provider_health
    );
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::LICENSES_LIST, licenses::list);
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::LICENSES_REVIEW,
        licenses::review
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::LICENSES_COMPLIANCE,
        licenses::compliance
    );
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::WORKFLOWS_GET, workflows::get);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::WORKFLOWS_LIST, workflows::list);
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::WORKFLOWS_CREATE,
        workflows::create
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::WORKFLOWS_UPDATE,
        workflows::update
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::WORKFLOWS_DELETE,
        workflows::delete
    );
    let builder = radiant_bus::state_endpoint!(builder, registry, subjects::STATS, admin::stats);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::AUDIT_LIST, admin::audit);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::SYNC_LIST, admin::sync_runs);
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::SYNC_TRIGGER,
        admin::trigger_sync
    );
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::THERMAL_GET, thermal::get);
    let builder =
        radiant_bus::state_endpoint!(builder, registry, subjects::THERMAL_WARM, thermal::warm);
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::THERMAL_SET_MODE,
        thermal::set_mode
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::CREDENTIALS_SET,
        credentials::set
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::CREDENTIALS_LIST,
        credentials::list
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::CREDENTIALS_REVOKE,
        credentials::revoke
    );
    radiant_bus::state_endpoint!(
        builder,
        registry,
        subjects::CREDENTIALS_RESOLVE,
        credentials::resolve
    )
}
