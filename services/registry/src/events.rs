//! What the registry publishes on JetStream (`<prefix>.events.registry.<event>`). Publishing
//! happens after the database commit; a failed publish is logged, never undoes the change.

use radiant_bus::RequestContext;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::registry as subjects;
use radiant_proto::events::{ModelThermalChanged, RegistryCatalogueChanged, RegistrySyncCompleted};

use crate::registry::Registry;

async fn publish<M: prost::Message>(
    registry: &Registry,
    event: &str,
    message_id: &str,
    message: &M,
) {
    let subject = registry
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, event);
    if let Err(error) = publish_message(
        &registry.jetstream,
        &subject,
        message_id,
        &RequestContext::internal(),
        message,
    )
    .await
    {
        tracing::warn!(%error, %subject, "event not published");
    }
}

pub async fn thermal_changed(registry: &Registry, change: &ModelThermalChanged) {
    let message_id = format!(
        "thermal-{}-{}-{}",
        change.model_id, change.to_state, change.changed_at_ms
    );
    publish(
        registry,
        subjects::EVENT_THERMAL_CHANGED,
        &message_id,
        change,
    )
    .await;
}

pub async fn sync_completed(registry: &Registry, completed: &RegistrySyncCompleted) {
    publish(
        registry,
        subjects::EVENT_SYNC_COMPLETED,
        &format!("sync-{}", completed.sync_id),
        completed,
    )
    .await;
}

/// Announces a catalogue change and bumps the `catalogue` key, so every replica reloads.
pub async fn catalogue_changed(registry: &Registry, change: RegistryCatalogueChanged) {
    let message_id = format!("catalogue-{}", uuid::Uuid::now_v7());
    publish(
        registry,
        subjects::EVENT_CATALOGUE_CHANGED,
        &message_id,
        &change,
    )
    .await;
    registry
        .view
        .announce_change(
            registry,
            &format!(
                "{} {} {}",
                change.action, change.entity_type, change.entity_id
            ),
        )
        .await;
}
