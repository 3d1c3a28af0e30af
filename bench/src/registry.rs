//! The registry, in the same run:
//!
//! The registry runs as its own process (the release `registry` binary, started here with a
//! fresh database and NATS namespace, the models.dev snapshot imported by a full sync); this
//! process is the client.
//! - `select`: selection over the whole catalogue (≥ 3,000 models) with live health for every
//!   provider, for a mix of requests. Measured service-side (the selection function on the same
//!   catalogue and live state, in this process) and end to end over NATS. Baseline: the seeds'
//!   approach, one SQL query over the catalogue and the health table per selection, on the same
//!   database. Goal: service-side p99 ≤ 5 ms.
//! - `kv`: a health observation published on JetStream until a KV watcher sees the projected
//!   entry. Beside it, the publish acknowledgement alone (the floor). Goal: p99 ≤ 100 ms.
//! - `consume`: observations published as fast as the stream takes them until the projector has
//!   acknowledged all of them. Baseline: the same work done one transaction per event (insert,
//!   lock the aggregate, read the window, update) on the same database. Goal: ≥ 5,000 events/s.

mod common;

use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use common::{ServiceProcess, percentile};
use futures::StreamExt;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::{REGISTRY, registry as subjects};
use radiant_bus::{BusClient, RequestContext};
use radiant_db::sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use radiant_proto::events::ProviderHealthObserved;
use radiant_proto::registry::*;
use radiant_testkit::{TestDatabase, TestNamespace};

#[derive(Parser)]
struct Arguments {
    /// Selections measured per way.
    #[arg(long, default_value_t = 2000)]
    selections: usize,
    /// Observations published one at a time for the KV visibility figure.
    #[arg(long, default_value_t = 500)]
    kv_events: usize,
    /// Observations published for the consumption figure.
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Events of the one-transaction-per-event baseline.
    #[arg(long, default_value_t = 2_000)]
    baseline_events: usize,
}

struct Figures {
    p50: f64,
    p99: f64,
}

fn figures(mut milliseconds: Vec<f64>) -> Figures {
    milliseconds.sort_by(f64::total_cmp);
    Figures {
        p50: percentile(&milliseconds, 0.50),
        p99: percentile(&milliseconds, 0.99),
    }
}

fn admin_context() -> RequestContext {
    RequestContext::internal()
        .with_roles(&["admin"])
        .with_deadline_in(Duration::from_secs(300))
}

async fn call<Request: prost::Message, Response: prost::Message + Default>(
    bus: &BusClient,
    endpoint: &str,
    request: &Request,
) -> anyhow::Result<Response> {
    let context = admin_context();
    bus.call(&REGISTRY, endpoint, &context, request)
        .await
        .map_err(|error| anyhow::anyhow!("{endpoint}: {}", error.to_service_error()))
}

fn requests() -> Vec<SelectModelsRequest> {
    vec![
        SelectModelsRequest {
            mode: "chat".into(),
            ..Default::default()
        },
        SelectModelsRequest {
            mode: "chat".into(),
            input_modalities: vec!["text".into(), "image".into()],
            min_context_window: 100_000,
            tenant_tier: 3,
            ..Default::default()
        },
        SelectModelsRequest {
            mode: "chat".into(),
            required_capabilities: vec!["tool_calling".into(), "reasoning".into()],
            hosting_preference: "external".into(),
            limit: 20,
            ..Default::default()
        },
        SelectModelsRequest {
            mode: "embedding".into(),
            ..Default::default()
        },
        SelectModelsRequest {
            mode: "segmentation".into(),
            tenant_tier: 5,
            hosting_preference: "self_hosted".into(),
            ..Default::default()
        },
        SelectModelsRequest {
            mode: "chat".into(),
            hipaa_required: true,
            ..Default::default()
        },
    ]
}

/// The seeds' select_model: one SQL query over the catalogue and the health table, filtered and
/// ordered in the database.
const BASELINE_SQL: &str = "SELECT m.model_id, m.provider_id, m.hosting, COALESCE(t.state, 'cold') AS thermal, \
    COALESCE(h.status, 'unknown') AS health, COALESCE(h.ewma_latency_ms, 0) AS latency \
    FROM models m LEFT JOIN provider_health h ON h.provider_id = m.provider_id \
    LEFT JOIN thermal_states t ON t.model_id = m.model_id \
    WHERE m.enabled AND m.status = 'active' AND ($1 = '' OR m.document -> 'modes' ? $1) \
      AND (m.document -> 'input_modalities') @> to_jsonb($2::text[]) \
      AND (m.document -> 'capabilities') @> to_jsonb($3::text[]) \
      AND COALESCE((m.document ->> 'min_tier')::int, 1) <= $4 \
      AND ($5 = 'any' OR m.hosting = $5) AND (NOT $6 OR COALESCE((m.document ->> 'hipaa_compliant')::boolean, false)) \
      AND COALESCE((m.document ->> 'context_window')::bigint, 0) >= $7 \
      AND COALESCE(h.status, 'unknown') NOT IN ('unhealthy', 'unconfigured') AND COALESCE(t.state, 'cold') <> 'off' \
    ORDER BY CASE WHEN m.hosting = 'external' THEN 0 ELSE CASE COALESCE(t.state, 'cold') WHEN 'hot' THEN 0 WHEN 'warm' THEN 1 ELSE 2 END END, \
      CASE WHEN COALESCE(h.ewma_latency_ms, 0) > 0 THEN 0 ELSE 1 END, COALESCE(h.ewma_latency_ms, 0), \
      CASE COALESCE(h.status, 'unknown') WHEN 'healthy' THEN 0 WHEN 'degraded' THEN 1 ELSE 2 END, m.model_id \
    LIMIT $8";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let namespace = TestNamespace::new().await;
    let database = TestDatabase::create().await;
    let catalogue_file = std::env::var("RADIANT_CATALOG_FILE")
        .unwrap_or_else(|_| ".run/catalog/models-dev.sqlite".to_string());
    let catalogue_file = std::fs::canonicalize(&catalogue_file)
        .with_context(|| format!("{catalogue_file}: run deploy/local/catalog.sh"))?;
    let _registry = ServiceProcess(
        common::service_command(
            "registry",
            "RADIANT_REGISTRY",
            &database.config,
            &namespace.nats_config(),
        )?
        .env(
            "RADIANT_REGISTRY__CATALOGUE__MODELS_DEV_FILE",
            &catalogue_file,
        )
        .env(
            "RADIANT_REGISTRY__CATALOGUE__INFERENCE_HOST_URL",
            "http://127.0.0.1:9",
        )
        .env("RADIANT_REGISTRY__SYNC__IMPORT_AT_START", "false")
        .env("RADIANT_REGISTRY__SYNC__FULL_INTERVAL_SECONDS", "0")
        .env("RADIANT_REGISTRY__SYNC__PRICING_INTERVAL_SECONDS", "0")
        .env("RADIANT_REGISTRY__SYNC__HEALTH_INTERVAL_SECONDS", "0")
        .env("RADIANT_REGISTRY__SYNC__THERMAL_INTERVAL_SECONDS", "0")
        .spawn()
        .context("starting the registry")?,
    );
    let bus = namespace
        .bus_client()
        .with_timeout(Duration::from_secs(300));
    common::wait_until_ready(&bus, &REGISTRY, &admin_context()).await?;
    let sync: SyncRun = call(
        &bus,
        subjects::SYNC_TRIGGER,
        &TriggerSyncRequest {
            sync_type: "full".into(),
            wait: true,
        },
    )
    .await?;
    println!(
        "full sync: {} models added from models.dev in {} ms",
        sync.models_added, sync.duration_ms
    );

    // every provider healthy with its own latency, so selection orders on real live state
    let providers: ListProvidersResponse =
        call(&bus, subjects::PROVIDERS_LIST, &ListProvidersRequest {}).await?;
    let health_subject = namespace
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_HEALTH_OBSERVED);
    let now = chrono::Utc::now().timestamp_millis();
    for (index, provider) in providers.providers.iter().enumerate() {
        let observation = ProviderHealthObserved {
            provider_id: provider.provider_id.clone(),
            success: true,
            latency_ms: 50.0 + (index % 40) as f64 * 25.0,
            observed_at_ms: now,
            source: "bench".into(),
            ..Default::default()
        };
        publish_message(
            &namespace.jetstream,
            &health_subject,
            &format!("seed-{index}"),
            &RequestContext::internal(),
            &observation,
        )
        .await?;
    }
    let bucket = namespace
        .jetstream
        .get_key_value(namespace.namespace.kv_bucket(subjects::LIVE_BUCKET))
        .await
        .context("live bucket")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut live_health: HashMap<String, ProviderHealth> = HashMap::new();
    while live_health.len() < providers.providers.len() && Instant::now() < deadline {
        let mut keys = bucket.keys().await?;
        while let Some(key) = keys.next().await {
            let key = key?;
            if let Some(provider_id) = subjects::id_of_kv_key(subjects::HEALTH_KEY_PREFIX, &key)
                && let Some(value) = bucket.get(&key).await?
            {
                live_health.insert(provider_id, prost::Message::decode(value)?);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("{} providers with live health", live_health.len());

    // ---- select ----
    let mut list = ListModelsRequest {
        include_disabled: true,
        limit: 500,
        ..Default::default()
    };
    let mut models = Vec::new();
    loop {
        let page: ListModelsResponse = call(&bus, subjects::MODELS_LIST, &list).await?;
        let count = page.models.len();
        models.extend(page.models.into_iter().map(|mut model| {
            model.live = None;
            model
        }));
        if count < 500 {
            break;
        }
        list.offset += 500;
    }
    anyhow::ensure!(
        models.len() >= 3000,
        "the catalogue has only {} models",
        models.len()
    );
    struct Live(
        HashMap<String, ProviderHealth>,
        HashMap<String, ModelThermal>,
    );
    impl radiant_registry::domain::selection::LiveLookup for Live {
        fn provider_health(&self, provider_id: &str) -> Option<&ProviderHealth> {
            self.0.get(provider_id)
        }
        fn model_thermal(&self, model_id: &str) -> Option<&ModelThermal> {
            self.1.get(model_id)
        }
    }
    let live = Live(live_health, HashMap::new());
    let mix = requests();
    let criteria: Vec<_> = mix
        .iter()
        .map(|request| radiant_registry::domain::selection::criteria(request.clone()))
        .collect::<Result<_, _>>()
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut in_process = Vec::with_capacity(arguments.selections);
    let mut eligible_total = 0u64;
    for index in 0..arguments.selections {
        let started = Instant::now();
        let selection = radiant_registry::domain::selection::select(
            models.iter(),
            &live,
            &criteria[index % criteria.len()],
            chrono::Utc::now().timestamp_millis(),
        );
        in_process.push(started.elapsed().as_secs_f64() * 1000.0);
        eligible_total += u64::from(selection.eligible);
    }
    let mut over_nats = Vec::with_capacity(arguments.selections);
    for index in 0..arguments.selections {
        let started = Instant::now();
        let selection: SelectModelsResponse =
            call(&bus, subjects::MODELS_SELECT, &mix[index % mix.len()]).await?;
        over_nats.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            selection.catalogue_size as usize == models.len(),
            "the service selects from another catalogue"
        );
    }
    let connection = radiant_db::connect(&database.config).await?;
    let mut baseline = Vec::with_capacity(arguments.selections);
    for index in 0..arguments.selections {
        let request = &mix[index % mix.len()];
        let started = Instant::now();
        let rows = connection
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                BASELINE_SQL,
                [
                    request.mode.clone().into(),
                    request.input_modalities.clone().into(),
                    request.required_capabilities.clone().into(),
                    (request.tenant_tier.max(1) as i32).into(),
                    (if request.hosting_preference.is_empty() {
                        "any".to_string()
                    } else {
                        request.hosting_preference.clone()
                    })
                    .into(),
                    request.hipaa_required.into(),
                    i64::from(request.min_context_window).into(),
                    i64::from(if request.limit == 0 {
                        10
                    } else {
                        request.limit
                    })
                    .into(),
                ],
            ))
            .await?;
        baseline.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(rows.len());
    }
    let in_process = figures(in_process);
    let over_nats = figures(over_nats);
    let baseline = figures(baseline);
    println!(
        "select over {} models ({} requests, mix of {}; {:.0} eligible on average):",
        models.len(),
        arguments.selections,
        mix.len(),
        eligible_total as f64 / arguments.selections as f64
    );
    println!(
        "  service-side (in memory)   p50 {:.3} ms  p99 {:.3} ms",
        in_process.p50, in_process.p99
    );
    println!(
        "  over NATS (round trip)     p50 {:.3} ms  p99 {:.3} ms",
        over_nats.p50, over_nats.p99
    );
    println!(
        "  baseline: SQL per request  p50 {:.3} ms  p99 {:.3} ms",
        baseline.p50, baseline.p99
    );

    // ---- kv ----
    let kv_provider = "openai";
    let key = subjects::kv_key(subjects::HEALTH_KEY_PREFIX, kv_provider);
    let mut watch = bucket.watch(&key).await?;
    let mut visible = Vec::with_capacity(arguments.kv_events);
    let mut acked = Vec::with_capacity(arguments.kv_events);
    for index in 0..arguments.kv_events {
        let observed_at_ms = chrono::Utc::now()
            .timestamp_millis()
            .max(now + 1 + index as i64);
        let observation = ProviderHealthObserved {
            provider_id: kv_provider.into(),
            success: true,
            latency_ms: 100.0,
            observed_at_ms,
            source: "bench".into(),
            ..Default::default()
        };
        let started = Instant::now();
        publish_message(
            &namespace.jetstream,
            &health_subject,
            &format!("kv-{index}"),
            &RequestContext::internal(),
            &observation,
        )
        .await?;
        acked.push(started.elapsed().as_secs_f64() * 1000.0);
        loop {
            let entry = tokio::time::timeout(Duration::from_secs(10), watch.next())
                .await
                .context("the projected entry did not appear within 10 s")?
                .context("watch ended")??;
            let health: ProviderHealth = prost::Message::decode(entry.value)?;
            if health.observed_at_ms >= observed_at_ms {
                break;
            }
        }
        visible.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let visible = figures(visible);
    let acked = figures(acked);
    println!(
        "kv visibility of a health event ({} events, one at a time):",
        arguments.kv_events
    );
    println!(
        "  publish → KV entry seen    p50 {:.2} ms  p99 {:.2} ms",
        visible.p50, visible.p99
    );
    println!(
        "  floor: publish ack alone   p50 {:.2} ms  p99 {:.2} ms",
        acked.p50, acked.p99
    );

    // ---- consume ----
    let stream_name = namespace.namespace.stream_name(subjects::EVENTS_STREAM);
    let provider_ids: Vec<String> = providers
        .providers
        .iter()
        .map(|provider| provider.provider_id.clone())
        .collect();
    let started = Instant::now();
    let mut pending_acks = futures::stream::FuturesUnordered::new();
    let base = chrono::Utc::now().timestamp_millis();
    for index in 0..arguments.events {
        let observation = ProviderHealthObserved {
            provider_id: provider_ids[index % provider_ids.len()].clone(),
            success: index % 50 != 0,
            latency_ms: 40.0 + (index % 200) as f64,
            observed_at_ms: base + (index / provider_ids.len()) as i64,
            source: "bench".into(),
            ..Default::default()
        };
        let payload = prost::Message::encode_to_vec(&observation);
        pending_acks.push(
            namespace
                .jetstream
                .publish(health_subject.clone(), payload.into())
                .await?
                .into_future(),
        );
        if pending_acks.len() >= 4096 {
            while pending_acks.len() > 2048 {
                pending_acks.next().await.context("ack")??;
            }
        }
    }
    while let Some(ack) = pending_acks.next().await {
        ack?;
    }
    let published = started.elapsed();
    let mut stream = namespace.jetstream.get_stream(&stream_name).await?;
    let mut consumer: async_nats::jetstream::consumer::PullConsumer = stream
        .get_consumer(subjects::LIVE_STATE_CONSUMER)
        .await
        .map_err(|error| anyhow::anyhow!("live-state consumer: {error}"))?;
    let consume_deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let info = consumer.info().await?;
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            break;
        }
        anyhow::ensure!(
            Instant::now() < consume_deadline,
            "the projector did not keep up: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let consumed = started.elapsed();
    let rate = arguments.events as f64 / consumed.as_secs_f64();
    let _ = stream.info().await?;

    // baseline: the same work, one transaction per event
    let baseline_started = Instant::now();
    for index in 0..arguments.baseline_events {
        let provider_id = &provider_ids[index % provider_ids.len()];
        let transaction = connection.begin().await?;
        transaction
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO health_observations (dedup_key, provider_id, region, success, latency_ms, source, observed_at) VALUES (gen_random_uuid()::text, $1, 'global', true, 50, 'baseline', now())",
                [provider_id.clone().into()],
            ))
            .await?;
        transaction
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT * FROM provider_health WHERE provider_id = $1 AND region = 'global' FOR UPDATE",
                [provider_id.clone().into()],
            ))
            .await?;
        transaction
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT success, latency_ms FROM health_observations WHERE provider_id = $1 AND region = 'global' AND NOT unconfigured ORDER BY observed_at DESC LIMIT 200",
                [provider_id.clone().into()],
            ))
            .await?;
        transaction
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE provider_health SET observations = observations + 1, updated_at = now() WHERE provider_id = $1 AND region = 'global'",
                [provider_id.clone().into()],
            ))
            .await?;
        transaction.commit().await?;
    }
    let baseline_rate = arguments.baseline_events as f64 / baseline_started.elapsed().as_secs_f64();
    println!(
        "consumption of {} health events over {} providers:",
        arguments.events,
        provider_ids.len()
    );
    println!(
        "  published in {:.2} s, all projected and acked after {:.2} s: {:.0} events/s",
        published.as_secs_f64(),
        consumed.as_secs_f64(),
        rate
    );
    println!(
        "  baseline: one transaction per event ({} events): {:.0} events/s",
        arguments.baseline_events, baseline_rate
    );

    let goals_met = in_process.p99 <= 5.0 && visible.p99 <= 100.0 && rate >= 5000.0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "registry",
            "catalogue_models": models.len(),
            "select_service_side_p50_ms": in_process.p50,
            "select_service_side_p99_ms": in_process.p99,
            "select_over_nats_p50_ms": over_nats.p50,
            "select_over_nats_p99_ms": over_nats.p99,
            "select_baseline_sql_p50_ms": baseline.p50,
            "select_baseline_sql_p99_ms": baseline.p99,
            "kv_visible_p50_ms": visible.p50,
            "kv_visible_p99_ms": visible.p99,
            "kv_publish_ack_p99_ms": acked.p99,
            "consume_events_per_second": rate,
            "consume_baseline_events_per_second": baseline_rate,
            "goals_met": goals_met,
        })
    );
    Ok(())
}
