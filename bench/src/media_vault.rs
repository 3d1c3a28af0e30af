//! The media vault against the S3 server it stores into, in the same run.
//!
//! The vault runs as its own process (the release `media-vault` binary, started here with a
//! fresh database, bucket and NATS namespace); this process is the client.
//! - `upload`: a file through an upload session (create over NATS, presigned part PUTs,
//!   complete over NATS, which checks the parts, assembles the object and reads it back to
//!   verify size and SHA-256) versus the same bytes as a plain aws-sdk multipart upload to the
//!   same bucket, same part size and concurrency. Rounds alternate; medians are compared.
//!   Goal: direct time / session time ≥ 0.8.
//! - `dedup`: creating a session for content that is already stored: the vault records the
//!   version at once and the client sends no content. Baseline: storing a new 64 KiB small file
//!   (hash, S3 put, record). Goal: dedup p99 ≤ 50 ms.
//! - `sha256`: the vault's streaming verification (S3 GET + SHA-256) in MB/s, beside SHA-256
//!   over the same bytes in memory.

mod common;

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use clap::Parser;
use common::{ServiceProcess, median, percentile};
use futures::StreamExt;
use radiant_bus::subjects::{MEDIA_VAULT, media as subjects};
use radiant_bus::{BusClient, RequestContext};
use radiant_media_vault::storage::ObjectStore;
use radiant_proto::media;
use radiant_testkit::{TestDatabase, TestNamespace, TestStack, unique_suffix};
use sha2::{Digest, Sha256};

#[derive(Parser)]
struct Arguments {
    /// File size of the upload comparison, in MiB.
    #[arg(long, default_value_t = 256)]
    size_mib: usize,
    #[arg(long, default_value_t = 16)]
    part_mib: usize,
    /// Parts in flight at once (both variants).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Rounds of each upload variant (alternating).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Deduplicated session creations measured.
    #[arg(long, default_value_t = 300)]
    dedup_requests: usize,
    /// Only compare ways of reading one object back from S3 (diagnostics).
    #[arg(long)]
    probe_read: bool,
}

fn content(size: usize, round: u64) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ round.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let mut bytes = vec![0u8; size];
    for chunk in bytes.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = state.to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn call<Request: prost::Message, Response: prost::Message + Default>(
    bus: &BusClient,
    context: &RequestContext,
    endpoint: &str,
    request: &Request,
) -> anyhow::Result<Response> {
    let context = context.clone().with_deadline_in(Duration::from_secs(300));
    bus.call(&MEDIA_VAULT, endpoint, &context, request)
        .await
        .map_err(|error| anyhow::anyhow!("{endpoint}: {}", error.to_service_error()))
}

async fn upload_through_session(
    bus: &BusClient,
    http: &reqwest::Client,
    context: &RequestContext,
    bytes: &[u8],
    arguments: &Arguments,
) -> anyhow::Result<(Duration, media::FileVersion)> {
    let started = Instant::now();
    let session: media::UploadSession = call(
        bus,
        context,
        subjects::UPLOADS_CREATE,
        &media::CreateUploadSessionRequest {
            scope: "bench:upload".to_string(),
            name: format!("file-{}", unique_suffix()),
            size_bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            part_size_bytes: (arguments.part_mib * 1024 * 1024) as u64,
            ..Default::default()
        },
    )
    .await?;
    let urls: media::PartUrls = call(
        bus,
        context,
        subjects::UPLOADS_PART_URLS,
        &media::GetPartUrlsRequest {
            session_id: session.session_id.clone(),
            part_numbers: vec![],
        },
    )
    .await?;
    let part_size = session.part_size_bytes as usize;
    let uploads = futures::stream::iter(urls.parts.into_iter().map(|part| {
        let start = (part.part_number as usize - 1) * part_size;
        let body = bytes::Bytes::copy_from_slice(&bytes[start..start + part.size_bytes as usize]);
        let http = http.clone();
        async move {
            let response = http.put(&part.url).body(body).send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "part {} refused: {}",
                part.part_number,
                response.status()
            );
            Ok::<_, anyhow::Error>(())
        }
    }))
    .buffer_unordered(arguments.concurrency)
    .collect::<Vec<_>>()
    .await;
    for upload in uploads {
        upload?;
    }
    let parts_done = started.elapsed();
    let version: media::FileVersion = call(
        bus,
        context,
        subjects::UPLOADS_COMPLETE,
        &media::CompleteUploadSessionRequest {
            session_id: session.session_id,
            ..Default::default()
        },
    )
    .await?;
    let elapsed = started.elapsed();
    println!(
        "    session phases: create + part urls + parts {:.3} s, complete (check, assemble, read back, record) {:.3} s",
        parts_done.as_secs_f64(),
        (elapsed - parts_done).as_secs_f64()
    );
    Ok((elapsed, version))
}

async fn upload_direct(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    bytes: &[u8],
    arguments: &Arguments,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let key = format!("direct/{}", unique_suffix());
    let created = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .send()
        .await?;
    let upload_id = created.upload_id().context("upload id")?.to_string();
    let part_size = arguments.part_mib * 1024 * 1024;
    let parts = futures::stream::iter(bytes.chunks(part_size).enumerate().map(|(index, chunk)| {
        let client = client.clone();
        let (key, upload_id) = (key.clone(), upload_id.clone());
        let body = ByteStream::from(bytes::Bytes::copy_from_slice(chunk));
        async move {
            let part_number = index as i32 + 1;
            let output = client
                .upload_part()
                .bucket(bucket)
                .key(&key)
                .upload_id(&upload_id)
                .part_number(part_number)
                .body(body)
                .send()
                .await?;
            Ok::<_, anyhow::Error>(
                CompletedPart::builder()
                    .part_number(part_number)
                    .e_tag(output.e_tag().unwrap_or_default())
                    .build(),
            )
        }
    }))
    .buffer_unordered(arguments.concurrency)
    .collect::<Vec<_>>()
    .await;
    let parts_done = started.elapsed();
    let mut completed = parts.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    completed.sort_by_key(|part| part.part_number());
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await?;
    let elapsed = started.elapsed();
    println!(
        "    direct phases: create + parts {:.3} s, complete {:.3} s",
        parts_done.as_secs_f64(),
        (elapsed - parts_done).as_secs_f64()
    );
    Ok(elapsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let stack = TestStack::get().await;
    let namespace = TestNamespace::new().await;
    let database = TestDatabase::create().await;
    let mut s3 = radiant_media_vault::config::embedded_defaults()?.s3;
    s3.endpoint = stack.s3_endpoint.clone();
    s3.bucket = format!("radiant-bench-{}", unique_suffix());
    let objects = ObjectStore::new(&s3);
    objects.ensure_versioned_bucket().await?;

    if arguments.probe_read {
        return probe_read(&objects, &s3.bucket, arguments.size_mib * 1024 * 1024).await;
    }
    let _vault = ServiceProcess(
        common::service_command(
            "media-vault",
            "RADIANT_MEDIA_VAULT",
            &database.config,
            &namespace.nats_config(),
        )?
        .env("RADIANT_MEDIA_VAULT__S3__ENDPOINT", &s3.endpoint)
        .env("RADIANT_MEDIA_VAULT__S3__BUCKET", &s3.bucket)
        .spawn()
        .context("starting the media vault")?,
    );
    // completing a large upload reads the whole file back: allow it minutes, as the gateway does
    let bus = namespace
        .bus_client()
        .with_timeout(Duration::from_secs(600));
    let context = RequestContext::for_tenant(uuid::Uuid::now_v7(), "bench");
    common::wait_until_ready(&bus, &MEDIA_VAULT, &context).await?;
    let http = reqwest::Client::new();
    let size = arguments.size_mib * 1024 * 1024;

    // upload: session vs direct multipart, alternating, fresh content every round
    println!(
        "upload of {} MiB in {} MiB parts, {} in flight, {} rounds each",
        arguments.size_mib, arguments.part_mib, arguments.concurrency, arguments.rounds
    );
    let mut session_seconds = Vec::new();
    let mut direct_seconds = Vec::new();
    let mut last_version = None;
    for round in 0..arguments.rounds {
        let bytes = content(size, round as u64 * 2);
        let (elapsed, version) =
            upload_through_session(&bus, &http, &context, &bytes, &arguments).await?;
        anyhow::ensure!(
            version.sha256 == sha256_hex(&bytes),
            "the vault recorded another hash"
        );
        println!("  round {round}: session {:.3} s", elapsed.as_secs_f64());
        session_seconds.push(elapsed.as_secs_f64());
        last_version = Some(version);
        let bytes = content(size, round as u64 * 2 + 1);
        let elapsed = upload_direct(objects.client(), &s3.bucket, &bytes, &arguments).await?;
        println!("  round {round}: direct  {:.3} s", elapsed.as_secs_f64());
        direct_seconds.push(elapsed.as_secs_f64());
    }
    let session_median = median(&mut session_seconds);
    let direct_median = median(&mut direct_seconds);
    let ratio = direct_median / session_median;
    println!(
        "upload: session {session_median:.3} s ({:.1} MB/s), direct {direct_median:.3} s ({:.1} MB/s), ratio {ratio:.3} (goal >= 0.8)",
        size as f64 / session_median / 1e6,
        size as f64 / direct_median / 1e6
    );

    // dedup: the hash of stored content, nothing uploaded
    let stored = last_version.context("no upload ran")?;
    let mut dedup_ms = Vec::with_capacity(arguments.dedup_requests);
    for index in 0..arguments.dedup_requests + 20 {
        let started = Instant::now();
        let session: media::UploadSession = call(
            &bus,
            &context,
            subjects::UPLOADS_CREATE,
            &media::CreateUploadSessionRequest {
                scope: "bench:dedup".to_string(),
                name: format!("copy-{index}"),
                size_bytes: stored.size_bytes,
                sha256: stored.sha256.clone(),
                ..Default::default()
            },
        )
        .await?;
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        anyhow::ensure!(
            session.deduplicated && session.file_version.is_some(),
            "not deduplicated"
        );
        if index >= 20 {
            dedup_ms.push(elapsed);
        }
    }
    dedup_ms.sort_by(|a, b| a.total_cmp(b));
    let mut small_ms = Vec::new();
    for index in 0..100 {
        let bytes = content(64 * 1024, 1_000_000 + index);
        let started = Instant::now();
        let _: media::FileVersion = call(
            &bus,
            &context,
            subjects::FILES_STORE,
            &media::StoreFileRequest {
                scope: "bench:small".to_string(),
                name: format!("small-{index}"),
                content: bytes,
                ..Default::default()
            },
        )
        .await?;
        small_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    small_ms.sort_by(|a, b| a.total_cmp(b));
    let (dedup_p50, dedup_p99) = (percentile(&dedup_ms, 0.5), percentile(&dedup_ms, 0.99));
    let (small_p50, small_p99) = (percentile(&small_ms, 0.5), percentile(&small_ms, 0.99));
    println!(
        "dedup session (0 content bytes sent): p50 {dedup_p50:.2} ms, p99 {dedup_p99:.2} ms over {} (goal p99 <= 50 ms)",
        dedup_ms.len()
    );
    println!("baseline, new 64 KiB small file: p50 {small_p50:.2} ms, p99 {small_p99:.2} ms");

    // sha256: streaming verification of the stored object vs hashing in memory
    let location = radiant_media_vault::storage::ObjectLocation {
        bucket: stored.s3_bucket.clone(),
        key: stored.s3_key.clone(),
        version_id: stored.s3_version_id.clone(),
    };
    let started = Instant::now();
    let digest = objects.digest(&location).await?;
    let streaming_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(digest.sha256 == stored.sha256, "streamed hash differs");
    let bytes = content(size, 99);
    let started = Instant::now();
    let _ = std::hint::black_box(Sha256::digest(&bytes));
    let memory_seconds = started.elapsed().as_secs_f64();
    let streaming_mb_s = digest.size_bytes as f64 / streaming_seconds / 1e6;
    let memory_mb_s = size as f64 / memory_seconds / 1e6;
    println!("sha256: streaming from S3 {streaming_mb_s:.0} MB/s, in memory {memory_mb_s:.0} MB/s");

    let summary = serde_json::json!({
        "bench": "media-vault",
        "upload": {
            "size_mib": arguments.size_mib,
            "part_mib": arguments.part_mib,
            "concurrency": arguments.concurrency,
            "rounds": arguments.rounds,
            "session_median_s": session_median,
            "direct_median_s": direct_median,
            "ratio": ratio,
            "goal_ratio": 0.8,
            "pass": ratio >= 0.8,
        },
        "dedup": {
            "requests": dedup_ms.len(),
            "content_bytes_sent": 0,
            "p50_ms": dedup_p50,
            "p99_ms": dedup_p99,
            "goal_p99_ms": 50.0,
            "pass": dedup_p99 <= 50.0,
            "baseline_small_64kib_p50_ms": small_p50,
            "baseline_small_64kib_p99_ms": small_p99,
        },
        "sha256": {
            "streaming_mb_s": streaming_mb_s,
            "in_memory_mb_s": memory_mb_s,
        },
    });
    println!("{summary}");
    Ok(())
}

/// How fast can one object be read back, by which client, with and without hashing.
async fn probe_read(objects: &ObjectStore, bucket: &str, size: usize) -> anyhow::Result<()> {
    let bytes = content(size, 7);
    let location = objects
        .put(
            "probe/object",
            bytes::Bytes::from(bytes),
            "application/octet-stream",
        )
        .await?;
    for _ in 0..2 {
        let started = Instant::now();
        let output = objects
            .client()
            .get_object()
            .bucket(bucket)
            .key(&location.key)
            .version_id(&location.version_id)
            .send()
            .await?;
        let mut body = output.body;
        let (mut total, mut chunks) = (0usize, 0usize);
        while let Some(chunk) = body.next().await {
            total += chunk?.len();
            chunks += 1;
        }
        println!(
            "aws-sdk stream, no hash: {:.0} MB/s, {chunks} chunks",
            total as f64 / started.elapsed().as_secs_f64() / 1e6
        );
        let url = objects
            .presign_get(&location, Duration::from_secs(600))
            .await?;
        let started = Instant::now();
        let response = reqwest::get(&url).await?;
        let mut stream = response.bytes_stream();
        let (mut total, mut chunks) = (0usize, 0usize);
        while let Some(chunk) = stream.next().await {
            total += chunk?.len();
            chunks += 1;
        }
        println!(
            "reqwest stream, no hash: {:.0} MB/s, {chunks} chunks",
            total as f64 / started.elapsed().as_secs_f64() / 1e6
        );
        let started = Instant::now();
        let digest = objects.digest(&location).await?;
        println!(
            "vault digest: {:.0} MB/s",
            digest.size_bytes as f64 / started.elapsed().as_secs_f64() / 1e6
        );
    }
    Ok(())
}
