//! Sync jobs, each logged in `sync_runs` and announced by a `sync_completed` event:
//!
//! - `full`: the models.dev snapshot against the catalogue ([`catalogue`]).
//! - `pricing`: the same source, prices only.
//! - `health`: probes every provider that can be called ([`health`]).
//! - `thermal`: asks each local endpoint for its status ([`thermal`]).
//!
//! A run takes a PostgreSQL advisory lock for its type, so replicas never run the same sync
//! at once (the other replica's run is skipped, not queued).

pub mod catalogue;
pub mod health;
pub mod modelsdev;
pub mod thermal;

use radiant_bus::ServiceError;
use radiant_db::sea_orm::{ConnectionTrait, TransactionTrait};
use radiant_proto::events::RegistrySyncCompleted;
use radiant_proto::registry::SyncRun;

use crate::error::RegistryResult;
use crate::registry::Registry;
use crate::store::{self, statement};

/// What a sync job found and did (counts go into `sync_runs`).
#[derive(Debug, Default)]
pub struct SyncOutcome {
    pub providers_updated: u32,
    pub models_added: u32,
    pub models_updated: u32,
    pub models_deprecated: u32,
    pub prices_updated: u32,
    pub checked: u32,
    pub errors: Vec<String>,
}

pub async fn run(registry: &Registry, sync_type: &str, trigger: &str) -> RegistryResult<SyncRun> {
    let started = start(registry, sync_type, trigger, None)
        .await?
        .ok_or_else(|| ServiceError::internal("a sync that may always run was skipped"))?;
    complete(registry, started).await
}

/// A scheduled run: skipped (None) when another replica runs this type now or ran it within
/// `interval / 2`, so N replicas run each schedule about once, not N times.
pub async fn run_scheduled(
    registry: &Registry,
    sync_type: &str,
    interval: std::time::Duration,
) -> RegistryResult<Option<SyncRun>> {
    let started = match start(registry, sync_type, "schedule", Some(interval / 2)).await {
        Ok(Some(started)) => started,
        Ok(None) => return Ok(None),
        Err(crate::error::RegistryError::Service(error)) if error.status() == 409 => {
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    complete(registry, started).await.map(Some)
}

/// A run that holds its type's lock and has its `sync_runs` row.
pub struct StartedSync {
    lock: radiant_db::sea_orm::DatabaseTransaction,
    pub run: SyncRun,
}

/// Takes the type's lock and logs the run as running; a conflict when the type runs already,
/// None when `skip_if_ran_within` is given and a run of the type started that recently.
pub async fn start(
    registry: &Registry,
    sync_type: &str,
    trigger: &str,
    skip_if_ran_within: Option<std::time::Duration>,
) -> RegistryResult<Option<StartedSync>> {
    if !crate::domain::vocabulary::is_one_of(sync_type, crate::domain::vocabulary::SYNC_TYPES) {
        return Err(ServiceError::invalid_field(
            "sync_type",
            "must be full, pricing, health or thermal",
        )
        .into());
    }
    // a transaction-level lock on a connection of its own: held until the run completes
    let lock = registry.database.begin().await?;
    let locked = lock
        .query_one_raw(statement(
            "SELECT pg_try_advisory_xact_lock(hashtext('registry.sync'), hashtext($1)) AS locked",
            [sync_type.into()],
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "locked"))
        .transpose()?
        .unwrap_or(false);
    if !locked {
        return Err(
            ServiceError::conflict(format!("a {sync_type} sync is already running")).into(),
        );
    }
    if let Some(gap) = skip_if_ran_within {
        let recent = lock
            .query_one_raw(statement(
                "SELECT EXISTS (SELECT 1 FROM sync_runs WHERE sync_type = $1 \
                 AND started_at > now() - make_interval(secs => $2)) AS recent",
                [sync_type.into(), gap.as_secs_f64().into()],
            ))
            .await?
            .map(|row| row.try_get::<bool>("", "recent"))
            .transpose()?
            .unwrap_or(false);
        if recent {
            lock.rollback().await?;
            return Ok(None);
        }
    }
    // runs of this type still "running" ended without finishing (their process died, or the
    // caller that waited went away): nobody else holds the lock
    registry
        .database
        .execute_raw(statement(
            "UPDATE sync_runs SET status = 'failed', completed_at = now(), \
             errors = array_append(errors, 'interrupted: the run ended without finishing') \
             WHERE sync_type = $1 AND status = 'running'",
            [sync_type.into()],
        ))
        .await?;
    let sync_id = store::sync_runs::start(&registry.database, sync_type, trigger).await?;
    let run = SyncRun {
        sync_id: sync_id.to_string(),
        sync_type: sync_type.to_string(),
        trigger: trigger.to_string(),
        status: "running".to_string(),
        started_at: crate::domain::rfc3339(chrono::Utc::now()),
        ..Default::default()
    };
    Ok(Some(StartedSync { lock, run }))
}

/// Does the work of a started run, logs and announces how it ended, releases the lock.
pub async fn complete(registry: &Registry, started: StartedSync) -> RegistryResult<SyncRun> {
    let StartedSync { lock, run } = started;
    let sync_type = run.sync_type.as_str();
    let sync_id = run.sync_id.clone();
    let outcome = match sync_type {
        "full" => catalogue::run(registry, false).await,
        "pricing" => catalogue::run(registry, true).await,
        "health" => health::run(registry).await,
        _ => thermal::run(registry).await,
    };
    let (status, outcome) = match outcome {
        Ok(outcome) => ("completed", outcome),
        Err(error) => (
            "failed",
            SyncOutcome {
                errors: vec![ServiceError::from(error).message],
                ..Default::default()
            },
        ),
    };
    let mut errors = outcome.errors;
    if errors.len() > 100 {
        let more = errors.len() - 100;
        errors.truncate(100);
        errors.push(format!("... and {more} more"));
    }
    let finished = store::sync_runs::finish(
        &registry.database,
        &SyncRun {
            sync_id,
            status: status.to_string(),
            providers_updated: outcome.providers_updated,
            models_added: outcome.models_added,
            models_updated: outcome.models_updated,
            models_deprecated: outcome.models_deprecated,
            prices_updated: outcome.prices_updated,
            checked: outcome.checked,
            errors,
            ..Default::default()
        },
    )
    .await?;
    lock.commit().await?;
    crate::events::sync_completed(
        registry,
        &RegistrySyncCompleted {
            sync_id: finished.sync_id.clone(),
            sync_type: finished.sync_type.clone(),
            status: finished.status.clone(),
            models_added: finished.models_added,
            models_updated: finished.models_updated,
            models_deprecated: finished.models_deprecated,
            prices_updated: finished.prices_updated,
            checked: finished.checked,
            errors: finished.errors.len() as u32,
            duration_ms: finished.duration_ms,
        },
    )
    .await;
    tracing::info!(
        sync_type,
        status,
        duration_ms = finished.duration_ms,
        "sync finished"
    );
    Ok(finished)
}
