//! The chat path, in the same run (release binaries, each its own process: inference host,
//! registry, brain router, gateway; this process is the client):
//!
//! - `route`: a routing decision over NATS (`radiant.brain.v1.route`, model "auto", task type
//!   given, so the embedding classifier is not timed), sequential. Beside it, the kit's own
//!   round trip to the router (`system.status`), the floor of any request over NATS.
//!   Goal: p99 ≤ 5 ms.
//! - `gateway`: `POST /v1/chat/completions` through the gateway (auth, NATS, brain router,
//!   SageMaker runtime client) to the inference host's zero-work endpoint, against calling
//!   that endpoint's OpenAI route directly, interleaved. At concurrency 1: added p50 ≤ 1 ms.
//!   At concurrency 50: requests/s at least a quarter of the direct figure, and the CPU each
//!   answer costs per process (from `/proc`) for both ways, to show where the time goes.
//! - `mandated parts alone`: at the same concurrency, the two parts the design card fixes for
//!   every such answer, each without anything else: the model call through
//!   aws-sdk-sagemakerruntime (the router's own client code, from this process, to the same
//!   zero-work endpoint) and one NATS round trip (a plain responder, the gateway's request
//!   payload). One of each per answer on the same cores bounds what any gateway way can reach:
//!   `1 / (1/sdk + 1/nats)` requests/s, printed as a share of the direct figure.

mod common;
mod cpu;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use common::{ServiceProcess, percentile};
use radiant_brain_router::invoke::{Prompt, Target};
use radiant_bus::RequestContext;
use radiant_bus::subjects::{
    BRAIN_ROUTER, REGISTRY, brain as subjects, endpoints, registry as registry_subjects,
};
use radiant_proto::brain::{ChatMessage, CompleteRequest, Completion, RouteDecision, RouteRequest};
use radiant_proto::registry::{GetModelRequest, Model, UpsertModelRequest};
use radiant_testkit::{TestDatabase, TestNamespace};
use serde_json::{Value, json};

#[derive(Parser)]
struct Arguments {
    /// Sequential requests per way.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Seconds of load per way at concurrency 50.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn binary(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = std::env::current_exe()?.with_file_name(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it with bench/chat-path.sh",
        path.display()
    );
    Ok(path)
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

async fn wait_for(client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    for _ in 0..600 {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{url} did not answer")
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<()> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "{url} answered {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(())
}

/// Requests per second at `concurrency` for `seconds`, and how many were answered: each of
/// `concurrency` workers makes `call`s one after the other until the time is up.
async fn load<Call, Made>(
    what: &str,
    concurrency: usize,
    seconds: u64,
    call: Call,
) -> anyhow::Result<(f64, u64)>
where
    Call: Fn() -> Made + Clone + Send + 'static,
    Made: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let call = call.clone();
            let done = done.clone();
            let failed = failed.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    match call().await {
                        Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let failures = failed.load(Ordering::Relaxed);
    anyhow::ensure!(failures == 0, "{failures} {what} failed under load");
    let answered = done.load(Ordering::Relaxed);
    Ok((answered as f64 / started.elapsed().as_secs_f64(), answered))
}

/// [`load`] of `POST url` with `body`.
async fn throughput(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<(f64, u64)> {
    let client = client.clone();
    let url = Arc::new(url.to_string());
    let token = Arc::new(token.map(str::to_string));
    let body = Arc::new(body.clone());
    let what = format!("requests to {url}");
    load(&what, concurrency, seconds, move || {
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        let body = body.clone();
        async move { post(&client, &url, token.as_deref(), &body).await }
    })
    .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()?;
    let namespace = TestNamespace::new().await;
    let nats = namespace.nats_config();

    // the inference host
    let host_port = free_port()?;
    let host = ServiceProcess(
        Command::new(binary("inference-host")?)
            .env("RADIANT_INFERENCE_HOST__HTTP__PORT", host_port.to_string())
            .env("RADIANT_TELEMETRY__LOG_FILTER", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting the inference host")?,
    );
    let host_url = format!("http://127.0.0.1:{host_port}");
    wait_for(&http, &format!("{host_url}/ping")).await?;

    // the registry, with a chat model on the zero-work endpoint
    let registry_database = TestDatabase::create().await;
    let registry = ServiceProcess(
        common::service_command(
            "registry",
            "RADIANT_REGISTRY",
            &registry_database.config,
            &nats,
        )?
        .env("RADIANT_REGISTRY__CATALOGUE__MODELS_DEV_FILE", "")
        .env("RADIANT_REGISTRY__CATALOGUE__INFERENCE_HOST_URL", &host_url)
        .env("RADIANT_REGISTRY__SYNC__FULL_INTERVAL_SECONDS", "0")
        .env("RADIANT_REGISTRY__SYNC__PRICING_INTERVAL_SECONDS", "0")
        .env("RADIANT_REGISTRY__SYNC__HEALTH_INTERVAL_SECONDS", "0")
        .env("RADIANT_REGISTRY__SYNC__THERMAL_INTERVAL_SECONDS", "0")
        .env("RADIANT_REGISTRY__SYNC__IMPORT_AT_START", "false")
        .spawn()
        .context("starting the registry")?,
    );
    let bus = namespace.bus_client().with_timeout(Duration::from_secs(60));
    let internal = RequestContext::internal();
    common::wait_until_ready(&bus, &REGISTRY, &internal).await?;
    let admin =
        RequestContext::for_tenant(uuid::Uuid::now_v7(), "bench-admin").with_roles(&["admin"]);
    let mut zero_work: Model = bus
        .call(
            &REGISTRY,
            registry_subjects::MODELS_GET,
            &admin,
            &GetModelRequest {
                model_id: "smollm2-135m-instruct".to_string(),
            },
        )
        .await?;
    zero_work.model_id = "zero-work".to_string();
    zero_work.name = "zero-work".to_string();
    zero_work.display_name = "Zero-work endpoint".to_string();
    zero_work.source = String::new();
    zero_work.live = None;
    if let Some(hosted) = zero_work.self_hosted.as_mut() {
        hosted.endpoint_name = "zero-work".to_string();
    }
    let _: Model = bus
        .call(
            &REGISTRY,
            registry_subjects::MODELS_CREATE,
            &admin,
            &UpsertModelRequest {
                model: Some(zero_work),
                reason: "bench".to_string(),
                ..Default::default()
            },
        )
        .await?;

    // the brain router and the gateway
    let router_database = TestDatabase::create().await;
    let router = ServiceProcess(
        common::service_command(
            "brain-router",
            "RADIANT_BRAIN_ROUTER",
            &router_database.config,
            &nats,
        )?
        .spawn()
        .context("starting the brain router")?,
    );
    common::wait_until_ready(&bus, &BRAIN_ROUTER, &internal).await?;
    let gateway_port = free_port()?;
    let gateway_grpc_port = free_port()?;
    let gateway = ServiceProcess(
        Command::new(binary("gateway")?)
            .env("RADIANT_GATEWAY__HTTP__PORT", gateway_port.to_string())
            .env("RADIANT_GATEWAY__GRPC__PORT", gateway_grpc_port.to_string())
            .env("RADIANT_GATEWAY__NATS__URL", &nats.url)
            .env(
                "RADIANT_GATEWAY__NATS__SUBJECT_PREFIX",
                &nats.subject_prefix,
            )
            .env("RADIANT_GATEWAY__NATS__STREAM_PREFIX", &nats.stream_prefix)
            .env("RADIANT_GATEWAY__TELEMETRY__LOG_FILTER", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting the gateway")?,
    );
    let gateway_url = format!("http://127.0.0.1:{gateway_port}");
    wait_for(&http, &format!("{gateway_url}/healthz")).await?;
    let tenant = uuid::Uuid::now_v7();
    let token = String::from_utf8(
        Command::new(binary("gateway")?)
            .args([
                "mint-token",
                "--sub",
                "bench-user",
                "--tenant",
                &tenant.to_string(),
                "--ttl-seconds",
                "3600",
            ])
            .output()?
            .stdout,
    )?
    .trim()
    .to_string();

    // ---- route over NATS ----
    let user = RequestContext::for_tenant(tenant, "bench-user");
    let route_request = RouteRequest {
        messages: vec![ChatMessage {
            role: "user".to_string(),
            content: "What is the capital of France?".to_string(),
        }],
        model: "auto".to_string(),
        task_type: "chat".to_string(),
        source: "bench".to_string(),
        ..Default::default()
    };
    for _ in 0..200 {
        let _: RouteDecision = bus
            .call(&BRAIN_ROUTER, subjects::ROUTE, &user, &route_request)
            .await?;
        let _: radiant_proto::system::ServiceStatus = bus
            .call(
                &BRAIN_ROUTER,
                endpoints::SYSTEM_STATUS,
                &internal,
                &radiant_proto::system::StatusRequest {},
            )
            .await?;
    }
    let mut routes = Vec::with_capacity(arguments.requests);
    let mut floors = Vec::with_capacity(arguments.requests);
    for _ in 0..arguments.requests {
        let started = Instant::now();
        let decision: RouteDecision = bus
            .call(&BRAIN_ROUTER, subjects::ROUTE, &user, &route_request)
            .await?;
        routes.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(decision);
        let started = Instant::now();
        let _: radiant_proto::system::ServiceStatus = bus
            .call(
                &BRAIN_ROUTER,
                endpoints::SYSTEM_STATUS,
                &internal,
                &radiant_proto::system::StatusRequest {},
            )
            .await?;
        floors.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let route = figures(routes);
    let floor = figures(floors);
    println!(
        "route over NATS (model auto, task given; decision and its history record): p50 {:.3} ms, p99 {:.3} ms",
        route.p50, route.p99
    );
    println!(
        "  floor: system.status round trip to the router: p50 {:.3} ms, p99 {:.3} ms",
        floor.p50, floor.p99
    );

    // ---- gateway against the endpoint directly ----
    let direct_url = format!("{host_url}/v1/chat/completions");
    let gateway_completions = format!("{gateway_url}/v1/chat/completions");
    let body = json!({"model": "zero-work", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8});
    for _ in 0..200 {
        post(&http, &direct_url, None, &body).await?;
        post(&http, &gateway_completions, Some(&token), &body).await?;
    }
    // the breakdown: the same answer asked of the router over NATS (no gateway), and the
    // model call inside the router as the router timed it
    let complete_request = CompleteRequest {
        route: Some(RouteRequest {
            messages: vec![ChatMessage {
                role: "user".to_string(),
                content: "hello".to_string(),
            }],
            model: "zero-work".to_string(),
            max_output_tokens: 8,
            source: "bench".to_string(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut direct = Vec::with_capacity(arguments.requests);
    let mut through = Vec::with_capacity(arguments.requests);
    let mut router_only = Vec::with_capacity(arguments.requests);
    let mut model_calls = Vec::with_capacity(arguments.requests);
    for _ in 0..arguments.requests {
        let started = Instant::now();
        post(&http, &direct_url, None, &body).await?;
        direct.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        post(&http, &gateway_completions, Some(&token), &body).await?;
        through.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        let completion: Completion = bus
            .call(
                &BRAIN_ROUTER,
                subjects::CHAT_COMPLETE,
                &user,
                &complete_request,
            )
            .await?;
        router_only.push(started.elapsed().as_secs_f64() * 1e3);
        model_calls.extend(completion.attempts.iter().map(|attempt| attempt.latency_ms));
    }
    let direct = figures(direct);
    let through = figures(through);
    let router_only = figures(router_only);
    let model_calls = figures(model_calls);
    let added_p50 = through.p50 - direct.p50;
    println!(
        "concurrency 1: direct p50 {:.3} ms p99 {:.3} ms; through the gateway p50 {:.3} ms p99 {:.3} ms; added p50 {:.3} ms",
        direct.p50, direct.p99, through.p50, through.p99, added_p50
    );
    println!(
        "  breakdown: chat.complete to the router over NATS p50 {:.3} ms p99 {:.3} ms; the model call inside the router p50 {:.3} ms p99 {:.3} ms",
        router_only.p50, router_only.p99, model_calls.p50, model_calls.p99
    );
    let watched = cpu::Watched {
        pids: vec![
            ("bench client".to_string(), std::process::id()),
            ("inference host".to_string(), host.0.id()),
            ("registry".to_string(), registry.0.id()),
            ("brain router".to_string(), router.0.id()),
            ("gateway".to_string(), gateway.0.id()),
        ],
        names: vec![
            ("nats-server".to_string(), "nats-server".to_string()),
            ("postgresql".to_string(), "postgres".to_string()),
        ],
    };
    let before_direct = watched.snapshot();
    let (direct_rps, direct_answered) = throughput(
        &http,
        &direct_url,
        None,
        &body,
        arguments.concurrency,
        arguments.seconds,
    )
    .await?;
    // (what the services do after the load, e.g. recording, is counted with the gateway way)
    let before_gateway = watched.snapshot();
    let (gateway_rps, gateway_answered) = throughput(
        &http,
        &gateway_completions,
        Some(&token),
        &body,
        arguments.concurrency,
        arguments.seconds,
    )
    .await?;
    // the records of the last answers are written within the router's and registry's lingers
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after_gateway = watched.snapshot();
    let share = gateway_rps / direct_rps;
    println!(
        "concurrency {}: direct {:.0} req/s, through the gateway {:.0} req/s ({:.1} % of direct)",
        arguments.concurrency,
        direct_rps,
        gateway_rps,
        share * 100.0
    );
    let direct_cpu = before_direct.per_unit_micros(&before_gateway, direct_answered);
    let gateway_cpu = before_gateway.per_unit_micros(&after_gateway, gateway_answered);
    let line = |cpu: &std::collections::BTreeMap<String, f64>| {
        let total: f64 = cpu.values().sum();
        let parts: Vec<String> = cpu
            .iter()
            .filter(|(_, micros)| **micros > 0.0)
            .map(|(label, micros)| format!("{label} {micros:.1}"))
            .collect();
        format!("{total:.0} µs ({})", parts.join(", "))
    };
    println!("  CPU per answer, direct: {}", line(&direct_cpu));
    println!(
        "  CPU per answer, through the gateway: {}",
        line(&gateway_cpu)
    );

    // ---- the design's mandated parts alone, at the same concurrency ----
    // The model call as the router makes it (its own code, aws-sdk-sagemakerruntime), from
    // this process to the same zero-work endpoint: the least a self-hosted answer costs.
    let clients = Arc::new(radiant_brain_router::invoke::Clients::new(
        "us-east-1",
        "2023-06-01",
    )?);
    let target = Arc::new(Target::SageMaker {
        base_url: host_url.clone(),
        endpoint_name: "zero-work".to_string(),
        credential: None,
    });
    let prompt = Arc::new(Prompt {
        messages: vec![ChatMessage {
            role: "user".to_string(),
            content: "hello".to_string(),
        }],
        max_output_tokens: 8,
        temperature: None,
        top_p: None,
    });
    let model_call = move || {
        let clients = clients.clone();
        let target = target.clone();
        let prompt = prompt.clone();
        async move {
            let pieces = radiant_brain_router::invoke::complete(&clients, &target, &prompt)
                .await
                .map_err(|error| anyhow::anyhow!("model call: {error}"))?;
            anyhow::ensure!(!pieces.is_empty(), "the model call answered nothing");
            Ok(())
        }
    };
    for _ in 0..200 {
        model_call().await?;
    }
    let before_sdk = watched.snapshot();
    let (sdk_rps, sdk_answered) = load(
        "model calls through the sagemaker sdk",
        arguments.concurrency,
        arguments.seconds,
        model_call,
    )
    .await?;
    let after_sdk = watched.snapshot();
    // One request over NATS and its reply, to a plain responder on a connection of its own
    // (no service kit, no work), with the payload of the gateway's request: the least the
    // gateway's hop to the router costs.
    let responder = async_nats::connect(&nats.url).await?;
    let echo_subject = format!("{}.bench.echo", nats.subject_prefix);
    let mut echo_requests = responder.subscribe(echo_subject.clone()).await?;
    responder.flush().await?;
    let echo = tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(request) = echo_requests.next().await {
            if let Some(reply) = request.reply {
                let _ = responder.publish(reply, request.payload).await;
            }
        }
    });
    let echo_payload = bytes::Bytes::from(prost::Message::encode_to_vec(&complete_request));
    let echo_call = {
        let nats = bus.nats().clone();
        move || {
            let nats = nats.clone();
            let subject = echo_subject.clone();
            let payload = echo_payload.clone();
            async move {
                let answer = nats.request(subject, payload).await?;
                anyhow::ensure!(!answer.payload.is_empty(), "the echo answered nothing");
                Ok(())
            }
        }
    };
    let (nats_rps, nats_answered) = load(
        "nats round trips",
        arguments.concurrency,
        arguments.seconds,
        echo_call,
    )
    .await?;
    let after_nats = watched.snapshot();
    echo.abort();
    // Both on the same two cores, each answer needing one of each: no way through the
    // gateway can answer faster than this, whatever the gateway and router do besides.
    let ceiling_rps = 1.0 / (1.0 / sdk_rps + 1.0 / nats_rps);
    let sdk_cpu = before_sdk.per_unit_micros(&after_sdk, sdk_answered);
    let nats_cpu = after_sdk.per_unit_micros(&after_nats, nats_answered);
    println!(
        "  the mandated parts alone at concurrency {}: the model call through the SageMaker SDK {:.0} req/s ({:.1} % of direct), one NATS round trip {:.0} req/s; one of each per answer: at most {:.0} req/s ({:.1} % of direct)",
        arguments.concurrency,
        sdk_rps,
        sdk_rps / direct_rps * 100.0,
        nats_rps,
        ceiling_rps,
        ceiling_rps / direct_rps * 100.0
    );
    println!(
        "  CPU per answer, the SDK's model call alone: {}",
        line(&sdk_cpu)
    );
    println!(
        "  CPU per answer, one NATS round trip alone: {}",
        line(&nats_cpu)
    );

    let goals_met = route.p99 <= 5.0 && added_p50 <= 1.0 && share >= 0.25;
    println!(
        "{}",
        json!({
            "bench": "chat-path",
            "route_p50_ms": route.p50,
            "route_p99_ms": route.p99,
            "nats_floor_p50_ms": floor.p50,
            "direct_p50_ms": direct.p50,
            "gateway_p50_ms": through.p50,
            "added_p50_ms": added_p50,
            "router_over_nats_p50_ms": router_only.p50,
            "model_call_in_router_p50_ms": model_calls.p50,
            "direct_rps_c50": direct_rps,
            "gateway_rps_c50": gateway_rps,
            "gateway_share_c50": share,
            "sdk_model_call_rps_c50": sdk_rps,
            "nats_round_trip_rps_c50": nats_rps,
            "mandated_parts_ceiling_rps_c50": ceiling_rps,
            "mandated_parts_ceiling_share_c50": ceiling_rps / direct_rps,
            "cpu_us_per_answer_sdk_model_call_c50": sdk_cpu,
            "cpu_us_per_answer_nats_round_trip_c50": nats_cpu,
            "cpu_us_per_answer_direct_c50": direct_cpu,
            "cpu_us_per_answer_gateway_c50": gateway_cpu,
            "goals": {"route_p99_ms_max": 5.0, "added_p50_ms_max": 1.0, "share_c50_min": 0.25},
            "goals_met": goals_met,
        })
    );
    Ok(())
}
