//! NATS request/reply: the service kit against raw async-nats, in the same run.
//!
//! Like production, the callee runs in a process of its own (this binary re-started with
//! `--serve`), with its own runtime and connection. It hosts a raw responder (a plain
//! subscription that publishes the reply) and a kit service (typed protobuf endpoint, context and
//! trace headers, deadline, micro-service stats, telemetry installed). The caller measures one
//! round trip at a time, rotating between
//! - `raw`: `client.request` with the same payload to the raw responder,
//! - `raw_with_headers`: the same plus the headers the kit sends (what the bytes alone cost),
//! - `raw_to_kit_service`: the raw request with those headers to the kit service (splits the
//!   kit's cost between the callee and the caller side),
//! - `kit`: `BusClient::call` to the kit service.
//!
//! Rotating one round trip at a time makes drift on the machine hit all variants alike.
//! Goal: kit p50 ≤ 1.2 × raw p50.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use futures::StreamExt;
use prost::Message;
use radiant_bus::{
    BusClient, Namespace, NatsConfig, RequestContext, ServiceHostBuilder, ServiceName,
};
use radiant_proto::common::{PageInfo, PageRequest};

#[derive(Parser)]
struct Arguments {
    /// Measured round trips per variant.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    #[arg(long, default_value_t = 3_000)]
    warmup: usize,
    /// Run both sides without telemetry (shows what tracing costs).
    #[arg(long)]
    no_telemetry: bool,
    /// Measure one variant only (raw, raw_with_headers, raw_to_kit_service, kit), e.g. to
    /// profile it with `perf record`.
    #[arg(long)]
    only: Option<String>,
    /// Internal: run the callee side in this namespace.
    #[arg(long, hide = true)]
    serve: Option<String>,
    #[arg(long, hide = true)]
    nats_url: Option<String>,
}

fn service() -> ServiceName {
    ServiceName::owned("bench-echo", "benchecho")
}

fn reply_for(token: &str) -> PageInfo {
    PageInfo {
        next_page_token: format!("next-{token}"),
        total_size: 1_000,
    }
}

fn raw_subject(namespace: &Namespace) -> String {
    format!("{}.raw.echo", namespace.subject_prefix())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    // both sides run with telemetry as services do by default (info logs, export off)
    // (log lines to stderr: stdout carries the figures and ends with the JSON line)
    let telemetry_config = radiant_telemetry::TelemetryConfig {
        log_output: radiant_telemetry::LogOutput::Stderr,
        ..Default::default()
    };
    let _telemetry = if arguments.no_telemetry {
        None
    } else {
        Some(radiant_telemetry::init("bench-bus-rpc", &telemetry_config)?)
    };
    match &arguments.serve {
        Some(prefix) => {
            serve(
                prefix,
                arguments
                    .nats_url
                    .as_deref()
                    .unwrap_or("nats://127.0.0.1:4223"),
            )
            .await
        }
        None => measure(&arguments).await,
    }
}

/// The callee process: a raw responder and a kit service, until stdin closes.
async fn serve(prefix: &str, nats_url: &str) -> anyhow::Result<()> {
    let namespace = Namespace::new(prefix, &prefix.to_uppercase());
    let nats = radiant_bus::connect(&NatsConfig::local(nats_url), "bench-callee").await?;
    let mut raw_requests = nats.subscribe(raw_subject(&namespace)).await?;
    let responder = nats.clone();
    let reply_payload = Bytes::from(reply_for("bench-token").encode_to_vec());
    tokio::spawn(async move {
        while let Some(request) = raw_requests.next().await {
            if let Some(reply) = request.reply {
                let _ = responder.publish(reply, reply_payload.clone()).await;
            }
        }
    });
    let host = ServiceHostBuilder::new(nats.clone(), namespace, service(), "1.0.0")
        .endpoint(
            "echo",
            |_context: RequestContext, request: PageRequest| async move {
                Ok(reply_for(&request.page_token))
            },
        )
        .start()
        .await?;
    nats.flush().await?;
    println!("ready");
    std::io::stdout().flush()?;
    // the caller closes our stdin when it is done
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin()
            .read_line(&mut line)
            .map(|read| read > 0)
            .unwrap_or(false)
        {}
    })
    .await?;
    host.stop().await;
    Ok(())
}

async fn measure(arguments: &Arguments) -> anyhow::Result<()> {
    let test = radiant_testkit::TestNamespace::new().await;
    let stack = radiant_testkit::TestStack::get().await;
    let mut callee = Command::new(std::env::current_exe()?);
    callee
        .args([
            "--serve",
            test.namespace.subject_prefix(),
            "--nats-url",
            &stack.nats_url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if arguments.no_telemetry {
        callee.arg("--no-telemetry");
    }
    let mut callee = callee.spawn()?;
    // the callee's log lines share its stdout with the ready line; keep draining it after
    let mut callee_output = BufReader::new(callee.stdout.take().expect("callee stdout"));
    loop {
        let mut line = String::new();
        anyhow::ensure!(
            callee_output.read_line(&mut line)? > 0,
            "callee exited before it was ready"
        );
        if line.trim() == "ready" {
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut callee_output, &mut std::io::sink()));

    let nats = test.nats.clone();
    let client = BusClient::new(nats.clone(), test.namespace.clone(), Duration::from_secs(5));
    let context =
        RequestContext::for_tenant(uuid::Uuid::new_v4(), "bench-user").with_roles(&["member"]);
    let request = PageRequest {
        page_size: 50,
        page_token: "bench-token".to_string(),
    };
    let raw_payload = Bytes::from(request.encode_to_vec());
    let subject = raw_subject(&test.namespace);
    // what the kit client writes: the context with a deadline (and, where spans are recorded,
    // a traceparent); the deadline lies beyond the run so that the kit service never refuses
    let mut kit_headers = async_nats::HeaderMap::new();
    context
        .clone()
        .with_deadline_in(Duration::from_secs(24 * 3600))
        .write_headers(&mut kit_headers);

    let kit_subject = test.namespace.service_subject(&service(), "echo");
    const VARIANTS: [&str; 4] = ["raw", "raw_with_headers", "raw_to_kit_service", "kit"];
    let mut latencies: [Vec<Duration>; 4] = Default::default();
    let only = match &arguments.only {
        Some(name) => Some(
            VARIANTS
                .iter()
                .position(|variant| variant == name)
                .ok_or_else(|| anyhow::anyhow!("--only takes one of {VARIANTS:?}"))?,
        ),
        None => None,
    };
    for index in 0..(arguments.warmup + arguments.requests) * VARIANTS.len() {
        let variant = only.unwrap_or(index % VARIANTS.len());
        let started = Instant::now();
        match variant {
            0 => {
                let reply = nats.request(subject.clone(), raw_payload.clone()).await?;
                std::hint::black_box(PageInfo::decode(reply.payload)?);
            }
            1 => {
                let reply = nats
                    .request_with_headers(subject.clone(), kit_headers.clone(), raw_payload.clone())
                    .await?;
                std::hint::black_box(PageInfo::decode(reply.payload)?);
            }
            2 => {
                let reply = nats
                    .request_with_headers(
                        kit_subject.clone(),
                        kit_headers.clone(),
                        raw_payload.clone(),
                    )
                    .await?;
                std::hint::black_box(PageInfo::decode(reply.payload)?);
            }
            _ => {
                let reply: PageInfo = client.call(&service(), "echo", &context, &request).await?;
                std::hint::black_box(reply);
            }
        }
        let elapsed = started.elapsed();
        if index >= arguments.warmup * VARIANTS.len() {
            latencies[variant].push(elapsed);
        }
    }
    drop(callee.stdin.take());
    callee.wait()?;

    if let Some(only) = only {
        let summary = Summary::of(&mut latencies[only]);
        println!(
            "{}: p50 {:.1} µs, p99 {:.1} µs",
            VARIANTS[only], summary.p50_us, summary.p99_us
        );
        return Ok(());
    }
    let [raw, raw_with_headers, raw_to_kit_service, kit] =
        latencies.map(|mut samples| Summary::of(&mut samples));
    let p50_ratio = kit.p50_us / raw.p50_us;
    let p99_ratio = kit.p99_us / raw.p99_us;
    println!(
        "nats request/reply, {} sequential round trips per variant, caller and callee in separate processes, telemetry {}",
        arguments.requests,
        if arguments.no_telemetry {
            "off"
        } else {
            "on (export off)"
        }
    );
    for (name, summary) in [
        ("raw async-nats request", &raw),
        ("raw + the kit's headers", &raw_with_headers),
        ("raw caller → kit service", &raw_to_kit_service),
        ("service kit call", &kit),
    ] {
        println!(
            "  {name:<24}: p50 {:>7.1} µs   p99 {:>7.1} µs",
            summary.p50_us, summary.p99_us
        );
    }
    println!(
        "  kit / raw               : p50 {p50_ratio:.3}×   p99 {p99_ratio:.3}×   (goal p50 ≤ 1.2×)"
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "bus_rpc",
            "requests_per_variant": arguments.requests,
            "telemetry": !arguments.no_telemetry,
            "raw_p50_us": round(raw.p50_us, 2),
            "raw_p99_us": round(raw.p99_us, 2),
            "raw_with_headers_p50_us": round(raw_with_headers.p50_us, 2),
            "raw_with_headers_p99_us": round(raw_with_headers.p99_us, 2),
            "raw_to_kit_service_p50_us": round(raw_to_kit_service.p50_us, 2),
            "kit_p50_us": round(kit.p50_us, 2),
            "kit_p99_us": round(kit.p99_us, 2),
            "p50_ratio": round(p50_ratio, 3),
            "p99_ratio": round(p99_ratio, 3),
            "goal_p50_ratio": 1.2,
            "meets_goal": p50_ratio <= 1.2,
        })
    );
    Ok(())
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

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}
