//! `stats.get`, `audit.list`, `sync.list`, `sync.trigger`: admin only.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::registry::{
    Count, ListAuditRequest, ListAuditResponse, ListSyncRunsRequest, ListSyncRunsResponse,
    RegistryStats, StatsRequest, SyncRun, TriggerSyncRequest,
};

use super::require_admin;
use crate::domain::{now_ms, selection::standing, vocabulary as vocab};
use crate::error::RegistryResult;
use crate::registry::{Registry, SharedRegistry};
use crate::store;
use crate::store::models::CountColumn;

fn counts(pairs: Vec<(String, u32)>) -> Vec<Count> {
    pairs
        .into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

#[tracing::instrument(skip_all)]
pub async fn stats(
    registry: &Registry,
    context: RequestContext,
    _request: StatsRequest,
) -> RegistryResult<RegistryStats> {
    require_admin(&context)?;
    let database = &registry.database;
    let catalogue = registry.view.catalogue();
    let now = now_ms();
    let mut by_health = std::collections::BTreeMap::<String, u32>::new();
    let mut by_thermal = std::collections::BTreeMap::<String, u32>::new();
    registry.view.with_live(|live| {
        for model in &catalogue.models {
            let standing = standing(model, live, now);
            *by_health.entry(standing.health_status).or_default() += 1;
            if model.hosting == "self_hosted" {
                *by_thermal.entry(standing.thermal_state).or_default() += 1;
            }
        }
    });
    Ok(RegistryStats {
        total_models: catalogue.models.len() as u32,
        enabled_models: catalogue
            .models
            .iter()
            .filter(|model| model.enabled)
            .count() as u32,
        by_hosting: counts(store::models::counts_by(database, CountColumn::Hosting).await?),
        by_health: counts(by_health.into_iter().collect()),
        by_thermal: counts(by_thermal.into_iter().collect()),
        by_category: counts(store::models::counts_by(database, CountColumn::Category).await?),
        by_provider: counts(
            store::models::counts_by(database, CountColumn::Provider)
                .await?
                .into_iter()
                .take(50)
                .collect(),
        ),
        by_status: counts(store::models::counts_by(database, CountColumn::Status).await?),
        providers: store::providers::all(database).await?.len() as u32,
        licenses: store::licenses::count(database).await?,
        workflows: store::workflows::count(database).await?,
    })
}

#[tracing::instrument(skip_all)]
pub async fn audit(
    registry: &Registry,
    context: RequestContext,
    request: ListAuditRequest,
) -> RegistryResult<ListAuditResponse> {
    require_admin(&context)?;
    let limit = match request.limit {
        0 => 50,
        limit => limit.min(500),
    };
    Ok(ListAuditResponse {
        entries: store::audit::list(
            &registry.database,
            &request.entity_type,
            &request.entity_id,
            limit,
        )
        .await?,
    })
}

#[tracing::instrument(skip_all)]
pub async fn sync_runs(
    registry: &Registry,
    context: RequestContext,
    request: ListSyncRunsRequest,
) -> RegistryResult<ListSyncRunsResponse> {
    require_admin(&context)?;
    if !request.sync_type.is_empty() && !vocab::is_one_of(&request.sync_type, vocab::SYNC_TYPES) {
        return Err(ServiceError::invalid_field(
            "sync_type",
            "must be full, pricing, health or thermal",
        )
        .into());
    }
    let limit = match request.limit {
        0 => 50,
        limit => limit.min(500),
    };
    Ok(ListSyncRunsResponse {
        runs: store::sync_runs::list(&registry.database, &request.sync_type, limit).await?,
    })
}

/// Starts the sync; answers with its log entry, at once (still running) or, with `wait`,
/// when it has finished.
#[tracing::instrument(skip_all, fields(sync_type = %request.sync_type))]
pub async fn trigger_sync(
    registry: &SharedRegistry,
    context: RequestContext,
    request: TriggerSyncRequest,
) -> RegistryResult<SyncRun> {
    require_admin(&context)?;
    let sync_type = if request.sync_type.is_empty() {
        "full"
    } else {
        request.sync_type.as_str()
    };
    let started = crate::sync::start(
        registry,
        sync_type,
        &format!("admin:{}", super::actor(&context)),
        None,
    )
    .await?
    .ok_or_else(|| ServiceError::internal("a triggered sync was skipped"))?;
    if request.wait {
        return crate::sync::complete(registry, started).await;
    }
    let running = started.run.clone();
    let background = registry.clone();
    tokio::spawn(async move {
        if let Err(error) = crate::sync::complete(&background, started).await {
            tracing::warn!(error = %ServiceError::from(error), "triggered sync failed");
        }
    });
    Ok(running)
}
