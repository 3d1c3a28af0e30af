//! What every request leaves behind, written off the request's path: routing history rows
//! (batched into one statement per tenant), execution manifests and health observations on
//! JetStream (successes summarised per provider and model, see `health_summary`), warm-up
//! requests to the registry. A request only puts a record on a bounded
//! queue; when the queue is full (the database or JetStream cannot keep up) the record is
//! dropped and counted, so recording never slows an answer down.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use radiant_bus::RequestContext;
use radiant_bus::jetstream::publish_message;
use radiant_db::sea_orm::DatabaseConnection;
use radiant_proto::events::{ExecutionManifest, ProviderHealthObserved, ThermalWarmupRequested};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::health_summary::HealthSummaries;
use crate::store::history::DecisionRow;

pub enum Record {
    Decision(Box<DecisionRow>),
    Manifest(Box<ExecutionManifest>),
    Health(ProviderHealthObserved),
    Warmup(ThermalWarmupRequested),
}

#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Record>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    pub fn record(&self, record: Record) {
        if self.queue.try_send(record).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "recording queue full; records dropped");
            }
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

pub struct Destinations {
    pub database: DatabaseConnection,
    pub jetstream: jetstream::Context,
    pub manifest_subject: String,
    pub health_subject: String,
    pub warmup_subject: String,
}

/// How the writer batches.
pub struct Batching {
    pub queue: usize,
    pub batch_max: usize,
    pub linger: Duration,
    /// Successful calls to one provider and model are summarised over this long.
    pub health_summary_interval: Duration,
}

/// Starts the writer; it drains the queue when cancelled.
pub fn start(
    destinations: Destinations,
    batching: Batching,
    cancellation: CancellationToken,
) -> (Recorder, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<Record>(batching.queue);
    let recorder = Recorder {
        queue: sender,
        dropped: Arc::new(AtomicU64::new(0)),
    };
    let destinations = Arc::new(destinations);
    let batch_max = batching.batch_max;
    let linger = batching.linger;
    let writer = tokio::spawn(async move {
        let mut summaries = HealthSummaries::new(batching.health_summary_interval);
        let mut batch = Vec::with_capacity(batch_max);
        loop {
            let summaries_due = summaries.next_due();
            let first = tokio::select! {
                record = receiver.recv() => record.map(Some),
                _ = cancellation.cancelled() => None,
                // an idle router still sends its pending summaries when they are due
                _ = sleep_until_some(summaries_due) => Some(None),
            };
            let Some(first) = first else {
                // cancelled or closed: write what is left
                receiver.close();
                while let Some(record) = receiver.recv().await {
                    batch.push(record);
                    if batch.len() >= batch_max {
                        let batch = std::mem::take(&mut batch);
                        write(&destinations, batch, &mut summaries, Summaries::Keep).await;
                    }
                }
                let batch = std::mem::take(&mut batch);
                write(&destinations, batch, &mut summaries, Summaries::All).await;
                return;
            };
            if let Some(first) = first {
                batch.push(first);
                let deadline = tokio::time::Instant::now() + linger;
                while batch.len() < batch_max {
                    match tokio::time::timeout_at(deadline, receiver.recv()).await {
                        Ok(Some(record)) => batch.push(record),
                        _ => break,
                    }
                }
            }
            let now = tokio::time::Instant::now();
            let batch = std::mem::take(&mut batch);
            write(&destinations, batch, &mut summaries, Summaries::Due(now)).await;
        }
    });
    (recorder, writer)
}

/// Which pending health summaries a write sends along.
enum Summaries {
    /// None yet: more of the same batch follows.
    Keep,
    /// Those due at this instant.
    Due(tokio::time::Instant),
    /// Every one (the writer is stopping).
    All,
}

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Writes the batch; its health observations go through the summaries, and only failures
/// and the summaries `send` names are published.
async fn write(
    destinations: &Destinations,
    batch: Vec<Record>,
    summaries: &mut HealthSummaries,
    send: Summaries,
) {
    let now = match send {
        Summaries::Due(now) => now,
        Summaries::Keep | Summaries::All => tokio::time::Instant::now(),
    };
    let mut decisions: HashMap<uuid::Uuid, Vec<DecisionRow>> = HashMap::new();
    let mut manifests = Vec::new();
    let mut observations = Vec::new();
    let mut warmups = Vec::new();
    for record in batch {
        match record {
            Record::Decision(row) => decisions.entry(row.tenant_id).or_default().push(*row),
            Record::Manifest(manifest) => manifests.push(manifest),
            Record::Health(observation) => summaries.observe(observation, now, &mut observations),
            Record::Warmup(request) => warmups.push(request),
        }
    }
    match send {
        Summaries::Keep => {}
        Summaries::Due(now) => summaries.take_due(now, &mut observations),
        Summaries::All => summaries.take_all(&mut observations),
    }
    if decisions.is_empty() && manifests.is_empty() && observations.is_empty() && warmups.is_empty()
    {
        return;
    }
    let context = RequestContext::internal();
    // publishes go out together; their acknowledgements are awaited together
    let jetstream = &destinations.jetstream;
    let context = &context;
    let manifests_published = futures::future::join_all(manifests.iter().map(|manifest| {
        let id = format!("manifest-{}", manifest.output_id);
        async move {
            publish_message(
                jetstream,
                &destinations.manifest_subject,
                &id,
                context,
                manifest.as_ref(),
            )
            .await
        }
    }));
    let observations_published =
        futures::future::join_all(observations.iter().map(|observation| {
            let id = format!("health-{}", uuid::Uuid::now_v7());
            async move {
                publish_message(
                    jetstream,
                    &destinations.health_subject,
                    &id,
                    context,
                    observation,
                )
                .await
            }
        }));
    let warmups_published = futures::future::join_all(warmups.iter().map(|request| {
        // one warm-up per model per 10 s window reaches the registry
        let id = format!(
            "warmup-{}-{}",
            request.model_id,
            request.requested_at_ms / 10_000
        );
        async move {
            publish_message(
                jetstream,
                &destinations.warmup_subject,
                &id,
                context,
                request,
            )
            .await
        }
    }));
    let (manifests_published, observations_published, warmups_published) = tokio::join!(
        manifests_published,
        observations_published,
        warmups_published
    );
    for result in manifests_published
        .into_iter()
        .chain(observations_published)
        .chain(warmups_published)
    {
        if let Err(error) = result {
            tracing::warn!(%error, "record not published");
        }
    }
    for (tenant_id, rows) in decisions {
        let count = rows.len();
        let result = radiant_db::with_tenant(&destinations.database, tenant_id, |transaction| {
            Box::pin(async move { crate::store::history::insert_batch(transaction, &rows).await })
        })
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, %tenant_id, count, "routing history not written");
        }
    }
}
