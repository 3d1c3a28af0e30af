//! What the time machine publishes: one event per snapshot on `<prefix>.events.chat.<event>`,
//! with `Nats-Msg-Id` = the snapshot id.
//!
//! Each snapshot's transaction also writes its row in `event_outbox` (the event is owed from
//! the moment the snapshot exists). After the commit the handler hands the event to the
//! [`EventSender`], whose one task publishes events in the order they were committed and
//! marks them published in batches; the relay publishes whatever is still owed after a grace
//! period (a crash between commit and publish, NATS down, a full queue), reading the snapshot
//! back under its tenant, so a relayed event can arrive after newer events of its chat:
//! consumers order a chat's events by `version`. Publishing twice is harmless within the
//! stream's duplicate window: it drops a repeated message id.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use bytes::Bytes;
use prost::Message as _;
use radiant_bus::subjects::tm as subjects;
use radiant_bus::{Namespace, RequestContext};
use radiant_db::sea_orm::{DatabaseConnection, TransactionTrait};
use radiant_proto::events;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::domain::vocabulary::Trigger;
use crate::store;
use crate::store::restores::LoggedRestore;
use crate::store::snapshots::SnapshotRow;

/// What an event says beyond its snapshot: the message or file the snapshot wrote, or the
/// restore it performed.
#[derive(Debug, Clone, Default)]
pub struct EventFacts {
    pub message_id: Option<Uuid>,
    pub message_version: u32,
    pub role: String,
    pub metadata: Option<radiant_proto::tm::MessageMetadata>,
    pub file_id: Option<Uuid>,
    pub restore: Option<RestoreFacts>,
}

#[derive(Debug, Clone)]
pub struct RestoreFacts {
    pub scope: String,
    pub messages_restored: u32,
    pub messages_removed: u32,
    pub files_restored: u32,
    pub files_removed: u32,
}

impl From<LoggedRestore> for RestoreFacts {
    fn from(logged: LoggedRestore) -> Self {
        Self {
            scope: logged.scope,
            messages_restored: logged.messages_restored.max(0) as u32,
            messages_removed: logged.messages_removed.max(0) as u32,
            files_restored: logged.files_restored.max(0) as u32,
            files_removed: logged.files_removed.max(0) as u32,
        }
    }
}

pub fn build_event(
    tenant_id: Uuid,
    chat_owner: &str,
    snapshot: &SnapshotRow,
    facts: &EventFacts,
) -> events::ChatSnapshotCreated {
    let metadata = facts.metadata.clone().unwrap_or_default();
    let restore = facts.restore.clone();
    let micros = snapshot.created_at.timestamp_micros();
    events::ChatSnapshotCreated {
        tenant_id: tenant_id.to_string(),
        chat_id: snapshot.chat_id.to_string(),
        chat_owner: chat_owner.to_string(),
        snapshot_id: snapshot.snapshot_id.to_string(),
        version: snapshot.version_number(),
        trigger: snapshot.trigger.clone(),
        message_id: facts
            .message_id
            .or(snapshot.trigger_message_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        message_version: facts.message_version,
        role: facts.role.clone(),
        model_id: metadata.model_id.clone(),
        output_id: metadata.output_id.clone(),
        total_tokens: crate::domain::content::tokens_of(&metadata),
        cost_micros: metadata.cost_micros,
        partial: metadata.partial,
        file_id: facts
            .file_id
            .or(snapshot.trigger_file_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        restored_from_snapshot_id: snapshot
            .restored_from_snapshot_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        restore_scope: restore
            .as_ref()
            .map(|restore| restore.scope.clone())
            .unwrap_or_default(),
        messages_restored: restore
            .as_ref()
            .map_or(0, |restore| restore.messages_restored),
        messages_removed: restore
            .as_ref()
            .map_or(0, |restore| restore.messages_removed),
        files_restored: restore.as_ref().map_or(0, |restore| restore.files_restored),
        files_removed: restore.as_ref().map_or(0, |restore| restore.files_removed),
        message_count: store::non_negative(snapshot.message_count),
        file_count: store::non_negative(snapshot.file_count),
        checksum: snapshot.checksum.clone(),
        actor: snapshot.actor.clone(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: micros.div_euclid(1_000_000),
            nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
        }),
    }
}

pub fn subject_for(namespace: &Namespace, trigger: &str) -> String {
    let event = Trigger::parse(trigger)
        .map(Trigger::event_name)
        .unwrap_or(subjects::EVENT_SNAPSHOT_CREATED);
    namespace.event_subject(subjects::EVENT_DOMAIN, event)
}

struct OwedEvent {
    snapshot_id: Uuid,
    subject: String,
    payload: Bytes,
    context: RequestContext,
}

/// Hands committed snapshots' events to the publishing task (never blocks a handler: when
/// the queue is full the relay publishes the event later).
#[derive(Clone)]
pub struct EventSender {
    sender: mpsc::Sender<OwedEvent>,
    namespace: Namespace,
}

impl EventSender {
    pub fn send(
        &self,
        context: &RequestContext,
        tenant_id: Uuid,
        chat_owner: &str,
        snapshot: &SnapshotRow,
        facts: &EventFacts,
    ) {
        let event = build_event(tenant_id, chat_owner, snapshot, facts);
        let owed = OwedEvent {
            snapshot_id: snapshot.snapshot_id,
            subject: subject_for(&self.namespace, &snapshot.trigger),
            payload: Bytes::from(event.encode_to_vec()),
            context: context.clone(),
        };
        if self.sender.try_send(owed).is_err() {
            tracing::warn!(snapshot_id = %snapshot.snapshot_id, "event queue full; the relay will publish it");
        }
    }
}

/// Starts the publishing task; it ends when every sender is dropped.
pub fn start_publisher(
    jetstream: jetstream::Context,
    database: DatabaseConnection,
    namespace: Namespace,
) -> (EventSender, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<OwedEvent>(4096);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(256);
        while receiver.recv_many(&mut batch, 256).await > 0 {
            let published = publish_batch(&jetstream, std::mem::take(&mut batch)).await;
            if let Err(error) = store::outbox::mark_published(&database, &published).await {
                // the rows stay owed: the relay publishes them again, deduplicated by id
                tracing::warn!(%error, "published events not marked");
            }
        }
    });
    (EventSender { sender, namespace }, task)
}

/// Publishes a batch without waiting for each acknowledgement in turn; answers the snapshot
/// ids the stream acknowledged.
async fn publish_batch(jetstream: &jetstream::Context, batch: Vec<OwedEvent>) -> Vec<Uuid> {
    let mut acknowledgements = Vec::with_capacity(batch.len());
    for owed in batch {
        let mut headers = HeaderMap::new();
        owed.context.write_headers(&mut headers);
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            owed.snapshot_id.to_string().as_str(),
        );
        match jetstream
            .publish_with_headers(owed.subject.clone(), headers, owed.payload)
            .await
        {
            Ok(acknowledgement) => acknowledgements.push((owed.snapshot_id, acknowledgement)),
            Err(error) => {
                tracing::warn!(%error, subject = %owed.subject, "event not published; the relay will retry")
            }
        }
    }
    let mut published = Vec::with_capacity(acknowledgements.len());
    for (snapshot_id, acknowledgement) in acknowledgements {
        match acknowledgement.await {
            Ok(_) => published.push(snapshot_id),
            Err(error) => tracing::warn!(%error, %snapshot_id, "event not acknowledged"),
        }
    }
    published
}

/// One relay pass: publishes owed events older than `grace`; answers how many went out.
pub async fn relay_overdue(
    database: &DatabaseConnection,
    jetstream: &jetstream::Context,
    namespace: &Namespace,
    grace: Duration,
    batch: u32,
) -> Result<usize, String> {
    let claim = database.begin().await.map_err(|error| error.to_string())?;
    let owed = store::outbox::claim_overdue(&claim, grace, batch)
        .await
        .map_err(|error| error.to_string())?;
    let mut published = Vec::new();
    for (snapshot_id, tenant_id) in owed {
        match relay_one(database, jetstream, namespace, snapshot_id, tenant_id).await {
            Ok(()) => published.push(snapshot_id),
            Err(error) => tracing::warn!(%snapshot_id, %error, "owed event not relayed"),
        }
    }
    store::outbox::mark_published(&claim, &published)
        .await
        .map_err(|error| error.to_string())?;
    claim.commit().await.map_err(|error| error.to_string())?;
    Ok(published.len())
}

async fn relay_one(
    database: &DatabaseConnection,
    jetstream: &jetstream::Context,
    namespace: &Namespace,
    snapshot_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), String> {
    let transaction = radiant_db::begin_tenant(database, tenant_id)
        .await
        .map_err(|error| error.to_string())?;
    let snapshot = store::snapshots::get(&transaction, snapshot_id)
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the snapshot is not readable under its tenant")?;
    let chat = store::chats::get(&transaction, snapshot.chat_id)
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the snapshot's chat is not readable")?;
    let mut facts = EventFacts::default();
    if let Some(message_id) = snapshot.trigger_message_id {
        let written =
            store::messages::started_at(&transaction, chat.chat_id, message_id, snapshot.version)
                .await
                .map_err(|error| error.to_string())?;
        if let Some(written) = written {
            facts.message_version = written.version.max(0) as u32;
            facts.role = written.role.clone();
            facts.metadata = Some(written.metadata());
        }
    }
    if snapshot.trigger == Trigger::RestorePerformed.as_str() {
        facts.restore = store::restores::by_result_snapshot(&transaction, snapshot_id)
            .await
            .map_err(|error| error.to_string())?
            .map(RestoreFacts::from);
    }
    transaction
        .commit()
        .await
        .map_err(|error| error.to_string())?;
    let event = build_event(tenant_id, &chat.user_id, &snapshot, &facts);
    let context = RequestContext::for_tenant(tenant_id, &snapshot.actor);
    radiant_bus::jetstream::publish_message(
        jetstream,
        &subject_for(namespace, &snapshot.trigger),
        &snapshot_id.to_string(),
        &context,
        &event,
    )
    .await
    .map_err(|error| error.to_string())?;
    Ok(())
}
