//! The vault's background work against real NATS, PostgreSQL and S3: image variants, the
//! lifecycle up to a physical purge, the integrity scrub and the upload sweeper.

mod support;

use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use futures::StreamExt;
use radiant_bus::ErrorCode;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::media as subjects;
use radiant_media_vault::jobs;
use radiant_proto::{events, media};
use radiant_testkit::eventually;
use support::*;

const SCOPE: &str = "chat:0195f0c2-0000-7000-8000-000000000002";

async fn file(
    test: &TestVault,
    context: &radiant_bus::RequestContext,
    file_id: &str,
) -> media::FileVersion {
    test.call(
        context,
        subjects::FILES_GET,
        &media::GetFileRequest {
            file_id: file_id.to_string(),
            version: 0,
        },
    )
    .await
    .unwrap()
}

async fn processed(
    test: &TestVault,
    context: &radiant_bus::RequestContext,
    file_id: &str,
) -> media::FileVersion {
    let done = [
        media::ProcessingStatus::Completed as i32,
        media::ProcessingStatus::Failed as i32,
    ];
    let finished = eventually(Duration::from_secs(30), || async {
        done.contains(&file(test, context, file_id).await.processing_status)
    })
    .await;
    assert!(finished, "variants still processing after 30 s");
    file(test, context, file_id).await
}

#[tokio::test]
async fn images_get_webp_thumbnail_and_display_variants() {
    let test = spawn_vault().await;
    let context = tenant();
    let stored = test
        .store(&context, SCOPE, "photo.png", "image/png", &png(600, 300))
        .await
        .unwrap();
    assert_eq!(
        stored.processing_status,
        media::ProcessingStatus::Pending as i32
    );
    let done = processed(&test, &context, &stored.file_id).await;
    assert_eq!(
        done.processing_status,
        media::ProcessingStatus::Completed as i32
    );
    let mut variants: Vec<(String, u32, u32, String)> = done
        .variants
        .iter()
        .map(|variant| {
            (
                variant.variant_type.clone(),
                variant.width,
                variant.height,
                variant.mime_type.clone(),
            )
        })
        .collect();
    variants.sort();
    assert_eq!(
        variants,
        vec![
            ("display".to_string(), 600, 300, "image/webp".to_string()),
            ("thumbnail".to_string(), 256, 128, "image/webp".to_string()),
        ]
    );
    let url: media::DownloadUrl = test
        .download_url(&context, &stored.file_id, 0, "thumbnail")
        .await
        .unwrap();
    let thumbnail = reqwest::get(&url.url).await.unwrap().bytes().await.unwrap();
    let decoded =
        image::load_from_memory_with_format(&thumbnail, image::ImageFormat::WebP).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 128));

    // redelivering the job (a new message id, so JetStream does not drop it) adds no references
    let thumbnail_sha = done
        .variants
        .iter()
        .find(|variant| variant.variant_type == "thumbnail")
        .unwrap()
        .sha256
        .clone();
    assert_eq!(test.ref_count(&thumbnail_sha).await, 1);
    let job = events::MediaVariantJob {
        tenant_id: context.tenant_id.unwrap().to_string(),
        version_id: stored.version_id.clone(),
        recipe_version: test.config.variants.recipe_version.clone(),
    };
    for attempt in 0..2 {
        publish_message(
            &test.namespace.jetstream,
            &test.vault.variant_job_subject(),
            &format!("redelivery-{attempt}"),
            &context,
            &job,
        )
        .await
        .unwrap();
    }
    // both redeliveries are consumed (the work queue is empty) before the counts are read
    let jobs_stream = test.namespace.namespace.stream_name(subjects::JOBS_STREAM);
    let drained = eventually(Duration::from_secs(15), || async {
        let mut stream = test
            .namespace
            .jetstream
            .get_stream(&jobs_stream)
            .await
            .unwrap();
        stream.info().await.unwrap().state.messages == 0
    })
    .await;
    assert!(drained, "redelivered jobs were not consumed");
    assert_eq!(test.ref_count(&thumbnail_sha).await, 1);
    assert_eq!(
        test.count("SELECT count(*) FROM variants WHERE processing_status = 'completed'")
            .await,
        2
    );
    test.stop().await;
}

#[tokio::test]
async fn undecodable_and_oversized_images_fail_their_variants_and_keep_the_original() {
    let test = spawn_vault().await;
    let context = tenant();
    let broken = test
        .store(
            &context,
            SCOPE,
            "broken.png",
            "image/png",
            b"\x89PNG but not really",
        )
        .await
        .unwrap();
    let bomb = test
        .store(
            &context,
            SCOPE,
            "bomb.png",
            "image/png",
            &png_header_only(9_000, 9_000),
        )
        .await
        .unwrap();
    for (stored, expected_reason) in [
        (&broken, "not a recognized image format"),
        (&bomb, "exceeds the limit of 80 megapixels"),
    ] {
        let done = processed(&test, &context, &stored.file_id).await;
        assert_eq!(
            done.processing_status,
            media::ProcessingStatus::Failed as i32
        );
        assert_eq!(done.variants.len(), 2);
        for variant in &done.variants {
            assert_eq!(
                variant.processing_status,
                media::ProcessingStatus::Failed as i32
            );
            assert!(
                variant.failure_reason.contains(expected_reason),
                "{}",
                variant.failure_reason
            );
        }
        // the original is untouched and downloadable
        assert_eq!(done.lifecycle_status, media::LifecycleStatus::Active as i32);
        let body = test.download(&context, &stored.file_id).await;
        assert_eq!(sha256_hex(&body), stored.sha256);
    }
    test.stop().await;
}

fn lifecycle_request(file_id: &str) -> media::FileLifecycleRequest {
    media::FileLifecycleRequest {
        file_id: file_id.to_string(),
        reason: "test".to_string(),
    }
}

#[tokio::test]
async fn tombstones_restore_legal_holds_block_and_only_the_erasure_role_purges() {
    let test = spawn_vault().await;
    let context = tenant();
    let shared_content = pseudo_random_bytes(2048, 7);
    let stored = test
        .store(
            &context,
            SCOPE,
            "contract.pdf",
            "application/pdf",
            &shared_content,
        )
        .await
        .unwrap();
    let only_here = test
        .store(
            &context,
            SCOPE,
            "contract.pdf",
            "application/pdf",
            b"version two",
        )
        .await
        .unwrap();
    // another tenant holds the same bytes as version 1
    let other_tenant = tenant();
    test.store(
        &other_tenant,
        "chat:x",
        "copy.pdf",
        "application/pdf",
        &shared_content,
    )
    .await
    .unwrap();

    let tombstoned: media::FileVersion = test
        .call(
            &context,
            subjects::FILES_TOMBSTONE,
            &lifecycle_request(&stored.file_id),
        )
        .await
        .unwrap();
    assert_eq!(
        tombstoned.file_lifecycle,
        media::LifecycleStatus::Tombstoned as i32
    );
    let download: Result<media::DownloadUrl, _> =
        test.download_url(&context, &stored.file_id, 0, "").await;
    assert_eq!(download.unwrap_err().code, ErrorCode::Conflict);
    let restored: media::FileVersion = test
        .call(
            &context,
            subjects::FILES_RESTORE,
            &lifecycle_request(&stored.file_id),
        )
        .await
        .unwrap();
    assert_eq!(
        restored.file_lifecycle,
        media::LifecycleStatus::Active as i32
    );

    // legal hold: admins only, and it blocks every lifecycle change
    let hold = media::SetLegalHoldRequest {
        file_id: stored.file_id.clone(),
        hold: true,
        reason: "litigation 42".to_string(),
    };
    let not_admin: Result<media::FileVersion, _> =
        test.call(&context, subjects::FILES_LEGAL_HOLD, &hold).await;
    assert_eq!(not_admin.unwrap_err().code, ErrorCode::PermissionDenied);
    let admin = context.clone().with_roles(&["admin"]);
    let held: media::FileVersion = test
        .call(&admin, subjects::FILES_LEGAL_HOLD, &hold)
        .await
        .unwrap();
    assert!(held.legal_hold);
    let blocked: Result<media::FileVersion, _> = test
        .call(
            &context,
            subjects::FILES_TOMBSTONE,
            &lifecycle_request(&stored.file_id),
        )
        .await;
    assert_eq!(blocked.unwrap_err().code, ErrorCode::Conflict);
    let release = media::SetLegalHoldRequest {
        file_id: stored.file_id.clone(),
        hold: false,
        reason: String::new(),
    };
    let _: media::FileVersion = test
        .call(&admin, subjects::FILES_LEGAL_HOLD, &release)
        .await
        .unwrap();

    // purge: the erasure role only, tombstoned files only
    let eraser = context.clone().with_roles(&["erasure"]);
    let not_eraser: Result<media::PurgeFileResponse, _> = test
        .call(
            &admin,
            subjects::FILES_PURGE,
            &lifecycle_request(&stored.file_id),
        )
        .await;
    assert_eq!(not_eraser.unwrap_err().code, ErrorCode::PermissionDenied);
    let active: Result<media::PurgeFileResponse, _> = test
        .call(
            &eraser,
            subjects::FILES_PURGE,
            &lifecycle_request(&stored.file_id),
        )
        .await;
    assert_eq!(active.unwrap_err().code, ErrorCode::Conflict);
    let _: media::FileVersion = test
        .call(
            &context,
            subjects::FILES_TOMBSTONE,
            &lifecycle_request(&stored.file_id),
        )
        .await
        .unwrap();
    let purged: media::PurgeFileResponse = test
        .call(
            &eraser,
            subjects::FILES_PURGE,
            &lifecycle_request(&stored.file_id),
        )
        .await
        .unwrap();
    assert_eq!(purged.versions_purged, 2);
    // version 1's bytes are still referenced by the other tenant; version 2's are not
    assert_eq!(purged.blobs_scheduled, 1);
    assert_eq!(test.ref_count(&stored.sha256).await, 1);
    assert_eq!(test.ref_count(&only_here.sha256).await, 0);

    let report = jobs::purge::run_pending(&test.vault).await.unwrap();
    assert_eq!(report.purged, 1);
    let gone = test
        .vault
        .objects
        .client()
        .head_object()
        .bucket(&only_here.s3_bucket)
        .key(&only_here.s3_key)
        .version_id(&only_here.s3_version_id)
        .send()
        .await;
    assert!(gone.is_err(), "the purged object version is deleted");
    let kept = test
        .vault
        .objects
        .client()
        .head_object()
        .bucket(&stored.s3_bucket)
        .key(&stored.s3_key)
        .version_id(&stored.s3_version_id)
        .send()
        .await;
    assert!(kept.is_ok(), "shared bytes stay");
    assert_eq!(
        test.count(&format!(
            "SELECT count(*) FROM blobs WHERE sha256 = '{}' AND status = 'purged'",
            only_here.sha256
        ))
        .await,
        1
    );
    let after: Result<media::FileVersion, _> = test
        .call(
            &context,
            subjects::FILES_RESTORE,
            &lifecycle_request(&stored.file_id),
        )
        .await;
    assert_eq!(after.unwrap_err().code, ErrorCode::Conflict);
    test.stop().await;
}

#[tokio::test]
async fn a_purge_job_is_cancelled_when_the_content_is_stored_again_before_it_runs() {
    let test = spawn_vault().await;
    let context = tenant();
    let eraser = context.clone().with_roles(&["erasure"]);
    let stored = test
        .store(&context, SCOPE, "temp.txt", "text/plain", b"comes back")
        .await
        .unwrap();
    let _: media::FileVersion = test
        .call(
            &context,
            subjects::FILES_TOMBSTONE,
            &lifecycle_request(&stored.file_id),
        )
        .await
        .unwrap();
    let _: media::PurgeFileResponse = test
        .call(
            &eraser,
            subjects::FILES_PURGE,
            &lifecycle_request(&stored.file_id),
        )
        .await
        .unwrap();
    let again = test
        .store(&context, SCOPE, "again.txt", "text/plain", b"comes back")
        .await
        .unwrap();
    assert_eq!(test.ref_count(&again.sha256).await, 1);
    let report = jobs::purge::run_pending(&test.vault).await.unwrap();
    assert_eq!((report.purged, report.cancelled), (0, 1));
    let url: media::DownloadUrl = test
        .download_url(&context, &again.file_id, 0, "")
        .await
        .unwrap();
    assert_eq!(
        &reqwest::get(&url.url).await.unwrap().bytes().await.unwrap()[..],
        b"comes back"
    );
    test.stop().await;
}

#[tokio::test]
async fn the_scrub_finds_corrupted_blobs_reports_and_announces_them() {
    // the vault takes its counter from the global meter provider when it starts
    let metrics = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let meter_provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(metrics.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    let test = spawn_vault().await;
    let context = tenant();
    let mut stored = Vec::new();
    for index in 0..4u64 {
        stored.push(
            test.store(
                &context,
                SCOPE,
                &format!("f{index}.bin"),
                "",
                &pseudo_random_bytes(1000, 100 + index),
            )
            .await
            .unwrap(),
        );
    }
    // corrupt one blob: its row now points at an object version holding other bytes
    let victim = &stored[2];
    test.corrupt(victim, b"bit rot").await;

    // a periodic run reads its share, at least min_blobs_per_run (10): here every blob
    let first = jobs::scrub::run_partial(&test.vault).await.unwrap();
    assert_eq!(first.checked, 4, "min_blobs_per_run (10) covers all four");
    assert_eq!(first.mismatched, 1);
    assert!(first.failures[0].contains(&victim.sha256));
    assert_eq!(
        test.count("SELECT count(*) FROM blobs WHERE integrity_status = 'mismatch'")
            .await,
        1
    );
    assert_eq!(
        test.count("SELECT count(*) FROM blobs WHERE integrity_status = 'ok'")
            .await,
        3
    );

    // ... and counted: one failure of kind "mismatch"
    meter_provider.force_flush().unwrap();
    let failures: u64 = metrics
        .get_finished_metrics()
        .unwrap()
        .iter()
        .flat_map(|resource| resource.scope_metrics())
        .flat_map(|scope| scope.metrics())
        .filter(|metric| metric.name() == "media.integrity.failures")
        .map(|metric| match metric.data() {
            opentelemetry_sdk::metrics::data::AggregatedMetrics::U64(
                opentelemetry_sdk::metrics::data::MetricData::Sum(sum),
            ) => sum.data_points().map(|point| point.value()).sum::<u64>(),
            other => panic!("unexpected metric data {other:?}"),
        })
        .max()
        .unwrap_or_default();
    assert_eq!(failures, 1);

    let full = jobs::scrub::run_full(&test.vault).await.unwrap();
    assert_eq!((full.checked, full.ok, full.mismatched), (4, 3, 1));

    // the failure is an event on the media stream
    let stream = test
        .namespace
        .jetstream
        .get_stream(
            test.namespace
                .namespace
                .stream_name(subjects::EVENTS_STREAM),
        )
        .await
        .unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            filter_subject: test
                .namespace
                .namespace
                .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_INTEGRITY_FAILED),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(1)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .unwrap();
    let message = messages.next().await.expect("an integrity event").unwrap();
    let event: events::MediaIntegrityFailed =
        prost::Message::decode(message.payload.clone()).unwrap();
    assert_eq!(event.blob_sha256, victim.sha256);
    assert!(event.observed.contains(&sha256_hex(b"bit rot")));

    // the command prints the report and exits 1
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_media-vault"))
        .arg("scrub")
        .env(
            "RADIANT_MEDIA_VAULT__DATABASE__URL",
            radiant_config::ExposeSecret::expose_secret(&test.config.database.url),
        )
        .env(
            "RADIANT_MEDIA_VAULT__DATABASE__OWNER_URL",
            radiant_config::ExposeSecret::expose_secret(&test.config.database.owner_url),
        )
        .env("RADIANT_MEDIA_VAULT__S3__BUCKET", &test.config.s3.bucket)
        .env(
            "RADIANT_MEDIA_VAULT__S3__ENDPOINT",
            &test.config.s3.endpoint,
        )
        .env("RADIANT_MEDIA_VAULT__NATS__URL", &test.config.nats.url)
        .env(
            "RADIANT_MEDIA_VAULT__NATS__SUBJECT_PREFIX",
            &test.config.nats.subject_prefix,
        )
        .env(
            "RADIANT_MEDIA_VAULT__NATS__STREAM_PREFIX",
            &test.config.nats.stream_prefix,
        )
        .env("RADIANT_MEDIA_VAULT__TELEMETRY__LOG_OUTPUT", "stderr")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("checked 4 blobs"), "{stdout}");
    assert!(stdout.contains("1 mismatched"), "{stdout}");
    assert!(
        stdout.contains(&format!("FAILED {}", victim.sha256)),
        "{stdout}"
    );
    test.stop().await;
}

#[tokio::test]
async fn expired_sessions_fail_and_their_multipart_uploads_are_aborted() {
    let test = spawn_vault_with(|config| config.uploads.session_ttl_seconds = 1).await;
    let context = tenant();
    let session: media::UploadSession = test
        .call(
            &context,
            subjects::UPLOADS_CREATE,
            &media::CreateUploadSessionRequest {
                scope: SCOPE.to_string(),
                name: "slow.bin".to_string(),
                size_bytes: 100,
                sha256: "c".repeat(64),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let aborted = jobs::sweeper::abort_expired(&test.vault).await.unwrap();
    assert_eq!(aborted, 1);
    let upload_id: String = {
        let admin = test.admin().await;
        let row = radiant_db::sea_orm::ConnectionTrait::query_one_raw(
            &admin,
            radiant_db::sea_orm::Statement::from_string(
                radiant_db::sea_orm::DbBackend::Postgres,
                "SELECT s3_upload_id, status FROM multipart_uploads",
            ),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(row.try_get::<String>("", "status").unwrap(), "aborted");
        row.try_get("", "s3_upload_id").unwrap()
    };
    let parts = test
        .vault
        .objects
        .client()
        .list_parts()
        .bucket(&test.config.s3.bucket)
        .key(test.vault.objects.blob_key(&"c".repeat(64)))
        .upload_id(upload_id)
        .send()
        .await;
    assert!(parts.is_err(), "the multipart upload no longer exists");
    let status: media::UploadSession = test
        .call(
            &context,
            subjects::UPLOADS_GET,
            &media::GetUploadSessionRequest {
                session_id: session.session_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(status.upload_status, media::UploadStatus::Failed as i32);
    assert_eq!(status.failure_reason, "expired");
    let late: Result<media::PartUrls, _> = test
        .call(
            &context,
            subjects::UPLOADS_PART_URLS,
            &media::GetPartUrlsRequest {
                session_id: session.session_id.clone(),
                part_numbers: vec![],
            },
        )
        .await;
    assert_eq!(late.unwrap_err().code, ErrorCode::Conflict);
    test.stop().await;
}

#[tokio::test]
async fn image_files_over_the_size_bound_fail_their_variants_unread() {
    let test = spawn_vault_with(|config| config.variants.max_source_bytes = 1_000).await;
    let context = tenant();
    let stored = test
        .store(&context, SCOPE, "large.png", "image/png", &png(400, 400))
        .await
        .unwrap();
    let done = processed(&test, &context, &stored.file_id).await;
    assert_eq!(
        done.processing_status,
        media::ProcessingStatus::Failed as i32
    );
    for variant in &done.variants {
        assert!(
            variant.failure_reason.contains("exceeds the variant limit"),
            "{}",
            variant.failure_reason
        );
    }
    test.stop().await;
}

#[tokio::test]
async fn a_corrupted_blob_is_repaired_by_the_next_upload_of_its_content() {
    let test = spawn_vault().await;
    let context = tenant();
    let content = pseudo_random_bytes(3000, 77);
    let stored = test
        .store(&context, SCOPE, "precious.bin", "", &content)
        .await
        .unwrap();
    // bit rot: the blob's object version now holds other bytes, and the scrub notices
    let rotten_version_id = test.corrupt(&stored, b"rot").await;
    let report = jobs::scrub::run_full(&test.vault).await.unwrap();
    assert_eq!(report.mismatched, 1);

    // the same content uploaded again replaces the bad copy instead of being dropped as redundant
    let again = test
        .store(&context, SCOPE, "precious-copy.bin", "", &content)
        .await
        .unwrap();
    assert_ne!(again.s3_version_id, rotten_version_id);
    assert_eq!(test.ref_count(&stored.sha256).await, 2);
    let repaired = jobs::scrub::run_full(&test.vault).await.unwrap();
    assert_eq!(
        (repaired.checked, repaired.ok, repaired.mismatched),
        (1, 1, 0)
    );
    // and the first file now downloads as its own bytes again
    let body = test.download(&context, &stored.file_id).await;
    assert_eq!(sha256_hex(&body), stored.sha256);
    test.stop().await;
}
