//! NATS request/reply: the service kit (typed protobuf, context and trace headers, deadline,
//! error-header check, micro-service stats) against raw async-nats `request` to a raw
//! responder, on the same server in the same run. Rounds alternate between the two so drift
//! on the machine hits both alike. Goal: kit p50 ≤ 1.2 × raw p50.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use futures::StreamExt;
use prost::Message;
use radiant_bus::{BusClient, RequestContext, ServiceHostBuilder, ServiceName};
use radiant_proto::common::{PageInfo, PageRequest};

#[derive(Parser)]
struct Arguments {
    /// Round trips per side per round.
    #[arg(long, default_value_t = 2_000)]
    requests_per_round: usize,
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    #[arg(long, default_value_t = 2_000)]
    warmup: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    // the kit runs with telemetry installed as in production (export off)
    let telemetry_config = radiant_telemetry::TelemetryConfig {
        log_filter: "warn".to_string(),
        ..Default::default()
    };
    let _telemetry = radiant_telemetry::init("bench-bus-rpc", &telemetry_config)?;

    let test = radiant_testkit::TestNamespace::new().await;
    let service = ServiceName::owned("bench-echo", "benchecho");

    // baseline: a raw responder on a raw subscription
    let raw_subject = format!("{}.raw.echo", test.namespace.subject_prefix());
    let mut raw_requests = test.nats.subscribe(raw_subject.clone()).await?;
    let responder = test.nats.clone();
    let reply_payload = Bytes::from(reply_for("bench-token").encode_to_vec());
    tokio::spawn(async move {
        while let Some(request) = raw_requests.next().await {
            if let Some(reply) = request.reply {
                let _ = responder.publish(reply, reply_payload.clone()).await;
            }
        }
    });

    // the kit: a service host and the typed client
    let host = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service.clone(),
        "1.0.0",
    )
    .endpoint(
        "echo",
        |_context: RequestContext, request: PageRequest| async move {
            Ok(reply_for(&request.page_token))
        },
    )
    .start()
    .await?;
    let client = BusClient::new(
        test.nats.clone(),
        test.namespace.clone(),
        Duration::from_secs(5),
    );
    let context =
        RequestContext::for_tenant(uuid::Uuid::new_v4(), "bench-user").with_roles(&["member"]);
    let request = PageRequest {
        page_size: 50,
        page_token: "bench-token".to_string(),
    };
    let raw_payload = Bytes::from(request.encode_to_vec());

    let raw_round = |count: usize| {
        let nats = test.nats.clone();
        let subject = raw_subject.clone();
        let payload = raw_payload.clone();
        async move {
            let mut latencies = Vec::with_capacity(count);
            for _ in 0..count {
                let started = Instant::now();
                let reply = nats
                    .request(subject.clone(), payload.clone())
                    .await
                    .expect("raw reply");
                let decoded = PageInfo::decode(reply.payload).expect("raw payload");
                std::hint::black_box(decoded);
                latencies.push(started.elapsed());
            }
            latencies
        }
    };
    let kit_round = |count: usize| {
        let client = client.clone();
        let service = service.clone();
        let context = context.clone();
        let request = request.clone();
        async move {
            let mut latencies = Vec::with_capacity(count);
            for _ in 0..count {
                let started = Instant::now();
                let reply: PageInfo = client
                    .call(&service, "echo", &context, &request)
                    .await
                    .expect("kit reply");
                std::hint::black_box(reply);
                latencies.push(started.elapsed());
            }
            latencies
        }
    };

    raw_round(arguments.warmup).await;
    kit_round(arguments.warmup).await;
    let mut raw_latencies = Vec::new();
    let mut kit_latencies = Vec::new();
    for round in 0..arguments.rounds {
        // alternate which side goes first
        if round % 2 == 0 {
            raw_latencies.extend(raw_round(arguments.requests_per_round).await);
            kit_latencies.extend(kit_round(arguments.requests_per_round).await);
        } else {
            kit_latencies.extend(kit_round(arguments.requests_per_round).await);
            raw_latencies.extend(raw_round(arguments.requests_per_round).await);
        }
    }
    host.stop().await;

    let raw = Summary::of(&mut raw_latencies);
    let kit = Summary::of(&mut kit_latencies);
    let p50_ratio = kit.p50_us / raw.p50_us;
    let p99_ratio = kit.p99_us / raw.p99_us;
    println!(
        "nats request/reply, {} round trips per side (sequential, one connection)",
        raw_latencies.len()
    );
    println!(
        "  raw async-nats request : p50 {:>7.1} µs   p99 {:>7.1} µs",
        raw.p50_us, raw.p99_us
    );
    println!(
        "  service kit call       : p50 {:>7.1} µs   p99 {:>7.1} µs",
        kit.p50_us, kit.p99_us
    );
    println!(
        "  kit / raw              : p50 {p50_ratio:.3}×   p99 {p99_ratio:.3}×   (goal p50 ≤ 1.2×)"
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "bus_rpc",
            "requests_per_side": raw_latencies.len(),
            "raw_p50_us": round2(raw.p50_us),
            "raw_p99_us": round2(raw.p99_us),
            "kit_p50_us": round2(kit.p50_us),
            "kit_p99_us": round2(kit.p99_us),
            "p50_ratio": round3(p50_ratio),
            "p99_ratio": round3(p99_ratio),
            "goal_p50_ratio": 1.2,
            "meets_goal": p50_ratio <= 1.2,
        })
    );
    Ok(())
}

fn reply_for(token: &str) -> PageInfo {
    PageInfo {
        next_page_token: format!("next-{token}"),
        total_size: 1_000,
    }
}

struct Summary {
    p50_us: f64,
    p99_us: f64,
}

impl Summary {
    fn of(latencies: &mut [Duration]) -> Self {
        latencies.sort_unstable();
        let at = |quantile: f64| {
            let index = ((latencies.len() as f64 - 1.0) * quantile).round() as usize;
            latencies[index].as_secs_f64() * 1e6
        };
        Self {
            p50_us: at(0.50),
            p99_us: at(0.99),
        }
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
