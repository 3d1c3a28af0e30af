//! The full and pricing syncs: the models.dev snapshot against what the registry holds from it.

use std::path::PathBuf;

use radiant_db::sea_orm::TransactionTrait;
use radiant_proto::events::RegistryCatalogueChanged;

use super::{SyncOutcome, modelsdev};
use crate::domain::catalogue_diff;
use crate::error::RegistryResult;
use crate::registry::Registry;
use crate::store;

pub async fn run(registry: &Registry, prices_only: bool) -> RegistryResult<SyncOutcome> {
    let path = PathBuf::from(&registry.config.catalogue.models_dev_file);
    if registry.config.catalogue.models_dev_file.is_empty() {
        return Ok(SyncOutcome {
            errors: vec!["no catalogue file is configured (catalogue.models_dev_file)".to_string()],
            ..Default::default()
        });
    }
    let snapshot = tokio::task::spawn_blocking(move || modelsdev::read(&path))
        .await
        .map_err(|error| radiant_bus::ServiceError::internal(error.to_string()))?
        .map_err(radiant_bus::ServiceError::unavailable)?;
    let mut outcome = SyncOutcome {
        checked: snapshot.models.len() as u32,
        errors: snapshot.skipped.clone(),
        ..Default::default()
    };
    let transaction = registry.database.begin().await?;
    if !prices_only {
        for provider in &snapshot.providers {
            if store::providers::upsert(&transaction, provider, modelsdev::SOURCE).await? {
                outcome.providers_updated += 1;
            }
        }
    }
    let known = store::models::known_from_source(&transaction, modelsdev::SOURCE).await?;
    let plan = catalogue_diff::plan(snapshot.models, &known, prices_only);
    for model in &plan.add {
        if store::models::insert(&transaction, model, Some(&source_key_of(model))).await? {
            outcome.models_added += 1;
        } else {
            outcome.errors.push(format!(
                "{}: the id is taken by another source",
                model.model_id
            ));
        }
    }
    for (model_id, pricing) in &plan.price_updates {
        store::models::set_pricing(&transaction, model_id, pricing).await?;
        outcome.prices_updated += 1;
    }
    outcome.models_deprecated =
        store::models::set_status(&transaction, &plan.deprecate, "deprecated").await? as u32;
    outcome.models_updated = outcome.prices_updated
        + store::models::set_status(&transaction, &plan.reinstate, "active").await? as u32;
    transaction.commit().await?;
    if outcome.models_added
        + outcome.models_updated
        + outcome.models_deprecated
        + outcome.providers_updated
        > 0
    {
        crate::events::catalogue_changed(
            registry,
            RegistryCatalogueChanged {
                entity_type: "catalogue".to_string(),
                entity_id: modelsdev::SOURCE.to_string(),
                action: if prices_only {
                    "pricing_sync"
                } else {
                    "full_sync"
                }
                .to_string(),
                actor: "sync".to_string(),
            },
        )
        .await;
    }
    Ok(outcome)
}

/// models.dev's own key, "<provider>:<model>", from a model built from it.
fn source_key_of(model: &radiant_proto::registry::Model) -> String {
    format!("{}:{}", model.provider_id, model.name)
}
