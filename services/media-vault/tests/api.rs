//! The vault's NATS API against real NATS, PostgreSQL and S3: small files, versions,
//! deduplication, upload sessions, idempotency, downloads and every refusal.

mod support;

use radiant_bus::ErrorCode;
use radiant_bus::subjects::media as subjects;
use radiant_proto::media;
use support::*;

const SCOPE: &str = "chat:0195f0c2-0000-7000-8000-000000000001";

#[tokio::test]
async fn small_files_get_versions_and_their_exact_bytes_back() {
    let test = spawn_vault().await;
    let context = tenant();
    let first = test
        .store(&context, SCOPE, "notes.txt", "text/plain", b"first draft")
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.sha256, sha256_hex(b"first draft"));
    assert_eq!(first.size_bytes, 11);
    assert!(!first.s3_version_id.is_empty());
    assert_eq!(first.upload_status, media::UploadStatus::Completed as i32);
    assert_eq!(
        first.processing_status,
        media::ProcessingStatus::NotApplicable as i32
    );

    let second = test
        .store(&context, SCOPE, "notes.txt", "text/plain", b"second draft")
        .await
        .unwrap();
    assert_eq!(second.file_id, first.file_id);
    assert_eq!(second.version, 2);

    let versions: media::FileVersionList = test
        .call(
            &context,
            subjects::FILES_VERSIONS,
            &media::ListFileVersionsRequest {
                file_id: first.file_id.clone(),
            },
        )
        .await
        .unwrap();
    let states: Vec<(u32, i32)> = versions
        .versions
        .iter()
        .map(|version| (version.version, version.lifecycle_status))
        .collect();
    assert_eq!(
        states,
        vec![
            (1, media::LifecycleStatus::Archived as i32),
            (2, media::LifecycleStatus::Active as i32)
        ]
    );

    // any version downloads as exactly its bytes, and ranges work
    let http = reqwest::Client::new();
    for (version, expected) in [(1, &b"first draft"[..]), (0, &b"second draft"[..])] {
        let url: media::DownloadUrl = test
            .download_url(&context, &first.file_id, version, "")
            .await
            .unwrap();
        let body = http
            .get(&url.url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], expected);
        let partial = http
            .get(&url.url)
            .header("Range", "bytes=0-4")
            .send()
            .await
            .unwrap();
        assert_eq!(partial.status().as_u16(), 206);
        assert_eq!(&partial.bytes().await.unwrap()[..], &expected[..5]);
    }
    test.stop().await;
}

#[tokio::test]
async fn identical_content_is_stored_once_across_tenants() {
    let test = spawn_vault().await;
    let content = pseudo_random_bytes(4096, 1);
    let first = test
        .store(&tenant(), SCOPE, "a.bin", "", &content)
        .await
        .unwrap();
    let second = test
        .store(&tenant(), "chat:other", "b.bin", "", &content)
        .await
        .unwrap();
    // both clients sent the bytes (neither learns whether the other stored them) ...
    assert!(!first.deduplicated);
    assert!(!second.deduplicated);
    // ... and the bytes are stored once
    assert_eq!(first.s3_version_id, second.s3_version_id);
    assert_eq!(first.mime_type, "application/octet-stream");
    assert_eq!(test.ref_count(&first.sha256).await, 2);
    assert_eq!(test.count("SELECT count(*) FROM blobs").await, 1);
    test.stop().await;
}

#[tokio::test]
async fn a_hash_the_tenant_already_holds_completes_an_upload_with_zero_bytes() {
    let test = spawn_vault().await;
    let content = pseudo_random_bytes(10_000, 2);
    let owner = tenant();
    test.store(&owner, SCOPE, "original.bin", "", &content)
        .await
        .unwrap();
    let request = |name: &str, size_bytes: u64| media::CreateUploadSessionRequest {
        scope: SCOPE.to_string(),
        name: name.to_string(),
        size_bytes,
        sha256: sha256_hex(&content),
        ..Default::default()
    };
    let session: media::UploadSession = test
        .call(
            &owner,
            subjects::UPLOADS_CREATE,
            &request("copy.bin", content.len() as u64),
        )
        .await
        .unwrap();
    assert!(session.deduplicated);
    assert_eq!(session.upload_status, media::UploadStatus::Completed as i32);
    let version = session
        .file_version
        .expect("the version is recorded at once");
    assert!(version.deduplicated);
    assert_eq!(version.sha256, sha256_hex(&content));
    assert_eq!(test.ref_count(&version.sha256).await, 2);
    // the same hash with another size is a lie about the content
    let lie: Result<media::UploadSession, _> = test
        .call(
            &owner,
            subjects::UPLOADS_CREATE,
            &request("lie.bin", content.len() as u64 + 1),
        )
        .await;
    assert_eq!(lie.unwrap_err().code, ErrorCode::UnprocessableEntity);

    // another tenant knowing the hash gets no shortcut to those bytes: it must upload them
    let stranger = tenant();
    let theirs: media::UploadSession = test
        .call(
            &stranger,
            subjects::UPLOADS_CREATE,
            &request("guess.bin", content.len() as u64),
        )
        .await
        .unwrap();
    assert!(!theirs.deduplicated);
    assert!(theirs.file_version.is_none());
    assert_eq!(theirs.upload_status, media::UploadStatus::Pending as i32);
    let any_size: media::UploadSession = test
        .call(
            &stranger,
            subjects::UPLOADS_CREATE,
            &request("guess2.bin", 12_345),
        )
        .await
        .unwrap();
    assert_eq!(any_size.upload_status, media::UploadStatus::Pending as i32);
    assert_eq!(test.ref_count(&version.sha256).await, 2);
    test.stop().await;
}

async fn create_session(
    test: &TestVault,
    context: &radiant_bus::RequestContext,
    name: &str,
    content: &[u8],
    sha256: &str,
    key: &str,
) -> media::UploadSession {
    test.call(
        context,
        subjects::UPLOADS_CREATE,
        &media::CreateUploadSessionRequest {
            scope: SCOPE.to_string(),
            name: name.to_string(),
            mime_type: "application/octet-stream".to_string(),
            size_bytes: content.len() as u64,
            sha256: sha256.to_string(),
            part_size_bytes: 5 * 1024 * 1024,
            idempotency_key: key.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn put_parts(
    test: &TestVault,
    context: &radiant_bus::RequestContext,
    session: &media::UploadSession,
    content: &[u8],
    part_numbers: &[u32],
) {
    let urls: media::PartUrls = test
        .call(
            context,
            subjects::UPLOADS_PART_URLS,
            &media::GetPartUrlsRequest {
                session_id: session.session_id.clone(),
                part_numbers: part_numbers.to_vec(),
            },
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for part in urls.parts {
        let start = (part.part_number as u64 - 1) * session.part_size_bytes;
        let end = start + part.size_bytes;
        let response = http
            .put(&part.url)
            .body(content[start as usize..end as usize].to_vec())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "part upload: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn upload_sessions_resume_verify_and_complete_once() {
    let test = spawn_vault().await;
    let context = tenant();
    let content = pseudo_random_bytes(12 * 1024 * 1024 + 17, 3);
    let sha256 = sha256_hex(&content);
    let session = create_session(&test, &context, "big.bin", &content, &sha256, "create-1").await;
    assert_eq!(session.part_count, 3);
    assert_eq!(session.upload_status, media::UploadStatus::Pending as i32);

    // a replayed create returns the same session
    let replay = create_session(&test, &context, "big.bin", &content, &sha256, "create-1").await;
    assert_eq!(replay.session_id, session.session_id);

    // upload one part, then resume: the session reports it and hands out the others
    put_parts(&test, &context, &session, &content, &[2]).await;
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
    assert_eq!(status.upload_status, media::UploadStatus::Uploading as i32);
    let received: Vec<u32> = status
        .received_parts
        .iter()
        .map(|part| part.part_number)
        .collect();
    assert_eq!(received, vec![2]);
    let missing: media::PartUrls = test
        .call(
            &context,
            subjects::UPLOADS_PART_URLS,
            &media::GetPartUrlsRequest {
                session_id: session.session_id.clone(),
                part_numbers: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        missing
            .parts
            .iter()
            .map(|part| part.part_number)
            .collect::<Vec<_>>(),
        vec![1, 3]
    );

    // completing with a part missing is refused and the session stays open
    let early: Result<media::FileVersion, _> = test
        .call(
            &context,
            subjects::UPLOADS_COMPLETE,
            &media::CompleteUploadSessionRequest {
                session_id: session.session_id.clone(),
                ..Default::default()
            },
        )
        .await;
    let early = early.unwrap_err();
    assert_eq!(early.code, ErrorCode::UnprocessableEntity);
    assert!(early.message.contains("part 1"), "{}", early.message);

    put_parts(&test, &context, &session, &content, &[1, 3]).await;
    let complete = media::CompleteUploadSessionRequest {
        session_id: session.session_id.clone(),
        idempotency_key: "complete-1".to_string(),
    };
    let version: media::FileVersion = test
        .call(&context, subjects::UPLOADS_COMPLETE, &complete)
        .await
        .unwrap();
    assert_eq!(version.sha256, sha256);
    assert_eq!(version.size_bytes, content.len() as u64);
    assert_eq!(version.version, 1);
    // completing again (with or without the key) returns the same version; nothing doubles
    let again: media::FileVersion = test
        .call(&context, subjects::UPLOADS_COMPLETE, &complete)
        .await
        .unwrap();
    assert_eq!(again.version_id, version.version_id);
    let without_key: media::FileVersion = test
        .call(
            &context,
            subjects::UPLOADS_COMPLETE,
            &media::CompleteUploadSessionRequest {
                session_id: session.session_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(without_key.version_id, version.version_id);
    assert_eq!(test.ref_count(&sha256).await, 1);
    assert_eq!(test.count("SELECT count(*) FROM file_versions").await, 1);

    // the stored object really is the file
    let body = test.download(&context, &version.file_id).await;
    assert_eq!(sha256_hex(&body), sha256);
    test.stop().await;
}

#[tokio::test]
async fn a_wrong_checksum_at_completion_records_nothing() {
    let test = spawn_vault().await;
    let context = tenant();
    let content = pseudo_random_bytes(6 * 1024 * 1024, 4);
    let claimed = sha256_hex(b"something else entirely");
    let session = create_session(&test, &context, "liar.bin", &content, &claimed, "").await;
    put_parts(&test, &context, &session, &content, &[]).await;
    let result: Result<media::FileVersion, _> = test
        .call(
            &context,
            subjects::UPLOADS_COMPLETE,
            &media::CompleteUploadSessionRequest {
                session_id: session.session_id.clone(),
                ..Default::default()
            },
        )
        .await;
    let error = result.unwrap_err();
    assert_eq!(error.code, ErrorCode::UnprocessableEntity);
    assert!(
        error.message.contains("nothing was recorded"),
        "{}",
        error.message
    );
    assert_eq!(test.count("SELECT count(*) FROM file_versions").await, 0);
    assert_eq!(test.count("SELECT count(*) FROM blobs").await, 0);
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
    assert!(status.failure_reason.contains("do not match"));
    test.stop().await;
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_reuse_with_another_request() {
    let test = spawn_vault().await;
    let context = tenant();
    let request = media::StoreFileRequest {
        scope: SCOPE.to_string(),
        name: "once.txt".to_string(),
        content: b"exactly once".to_vec(),
        idempotency_key: "store-1".to_string(),
        ..Default::default()
    };
    let first: media::FileVersion = test
        .call(&context, subjects::FILES_STORE, &request)
        .await
        .unwrap();
    let replay: media::FileVersion = test
        .call(&context, subjects::FILES_STORE, &request)
        .await
        .unwrap();
    assert_eq!(first.version_id, replay.version_id);
    assert_eq!(test.ref_count(&first.sha256).await, 1);
    let mut other = request.clone();
    other.content = b"something different".to_vec();
    let conflict: Result<media::FileVersion, _> =
        test.call(&context, subjects::FILES_STORE, &other).await;
    assert_eq!(conflict.unwrap_err().code, ErrorCode::Conflict);
    // keys are per user: another user with the same key stores a new version
    let mut colleague = context.clone();
    colleague.user_id = Some("user-2".to_string());
    let theirs: media::FileVersion = test
        .call(&colleague, subjects::FILES_STORE, &request)
        .await
        .unwrap();
    assert_eq!(theirs.version, 2);
    test.stop().await;
}

#[tokio::test]
async fn bad_requests_get_precise_errors_and_other_tenants_files_do_not_exist() {
    let test = spawn_vault().await;
    let owner = tenant();
    let stored = test
        .store(&owner, SCOPE, "private.txt", "text/plain", b"mine")
        .await
        .unwrap();

    let stranger = tenant();
    let peek: Result<media::FileVersion, _> = test
        .call(
            &stranger,
            subjects::FILES_GET,
            &media::GetFileRequest {
                file_id: stored.file_id.clone(),
                version: 0,
            },
        )
        .await;
    assert_eq!(peek.unwrap_err().code, ErrorCode::NotFound);
    let url: Result<media::DownloadUrl, _> =
        test.download_url(&stranger, &stored.file_id, 0, "").await;
    assert_eq!(url.unwrap_err().code, ErrorCode::NotFound);

    let unknown_session: Result<media::UploadSession, _> = test
        .call(
            &owner,
            subjects::UPLOADS_GET,
            &media::GetUploadSessionRequest {
                session_id: uuid::Uuid::now_v7().to_string(),
            },
        )
        .await;
    assert_eq!(unknown_session.unwrap_err().code, ErrorCode::NotFound);
    let unknown_version: Result<media::FileVersion, _> = test
        .call(
            &owner,
            subjects::FILES_GET,
            &media::GetFileRequest {
                file_id: stored.file_id.clone(),
                version: 9,
            },
        )
        .await;
    assert_eq!(unknown_version.unwrap_err().code, ErrorCode::NotFound);

    let too_big = test
        .store(&owner, SCOPE, "big.bin", "", &vec![0u8; 1024 * 1024 + 1])
        .await;
    assert_eq!(too_big.unwrap_err().code, ErrorCode::PayloadTooLarge);
    let huge_session: Result<media::UploadSession, _> = test
        .call(
            &owner,
            subjects::UPLOADS_CREATE,
            &media::CreateUploadSessionRequest {
                scope: SCOPE.to_string(),
                name: "huge.bin".to_string(),
                size_bytes: 60 * 1024 * 1024 * 1024,
                sha256: "a".repeat(64),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(huge_session.unwrap_err().code, ErrorCode::PayloadTooLarge);

    for (scope, name, mime, field) in [
        ("bad scope!", "a.txt", "text/plain", "scope"),
        (SCOPE, "", "text/plain", "name"),
        (SCOPE, "a.txt", "nonsense", "mime_type"),
    ] {
        let error = test
            .store(&owner, scope, name, mime, b"x")
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument, "{field}");
        assert!(error.message.contains(field), "{field}: {}", error.message);
    }
    let bad_hash: Result<media::FileVersion, _> = test
        .call(
            &owner,
            subjects::FILES_STORE,
            &media::StoreFileRequest {
                scope: SCOPE.to_string(),
                name: "h.txt".to_string(),
                content: b"abc".to_vec(),
                expected_sha256: "0".repeat(64),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(bad_hash.unwrap_err().code, ErrorCode::UnprocessableEntity);
    let bad_id: Result<media::FileVersion, _> = test
        .call(
            &owner,
            subjects::FILES_GET,
            &media::GetFileRequest {
                file_id: "not-a-uuid".to_string(),
                version: 0,
            },
        )
        .await;
    assert_eq!(bad_id.unwrap_err().code, ErrorCode::InvalidArgument);
    let long_expiry: Result<media::DownloadUrl, _> = test
        .call(
            &owner,
            subjects::FILES_DOWNLOAD_URL,
            &media::GetDownloadUrlRequest {
                file_id: stored.file_id.clone(),
                expires_in_seconds: 8 * 24 * 3600,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(long_expiry.unwrap_err().code, ErrorCode::InvalidArgument);
    let no_tenant = test
        .store(
            &radiant_bus::RequestContext::internal(),
            SCOPE,
            "x.txt",
            "",
            b"x",
        )
        .await;
    assert!(no_tenant.is_err());
    // nothing of the refused requests was recorded
    assert_eq!(test.count("SELECT count(*) FROM file_versions").await, 1);
    test.stop().await;
}

#[tokio::test]
async fn unreachable_storage_answers_503_and_records_no_metadata() {
    // nothing listens on port 9: every S3 call fails to connect
    let test =
        spawn_vault_with(|config| config.s3.endpoint = "http://127.0.0.1:9".to_string()).await;
    let context = tenant();
    let error = test
        .store(&context, SCOPE, "lost.txt", "text/plain", b"never stored")
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Unavailable);
    let session: Result<media::UploadSession, _> = test
        .call(
            &context,
            subjects::UPLOADS_CREATE,
            &media::CreateUploadSessionRequest {
                scope: SCOPE.to_string(),
                name: "big.bin".to_string(),
                size_bytes: 10,
                sha256: "b".repeat(64),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(session.unwrap_err().code, ErrorCode::Unavailable);
    assert_eq!(test.count("SELECT count(*) FROM files").await, 0);
    assert_eq!(test.count("SELECT count(*) FROM blobs").await, 0);
    assert_eq!(test.count("SELECT count(*) FROM upload_sessions").await, 0);
    test.stop().await;
}

#[tokio::test]
async fn a_completion_that_failed_after_assembly_is_finished_by_the_retry() {
    let test = spawn_vault().await;
    let context = tenant();
    let content = pseudo_random_bytes(5 * 1024 * 1024 + 3, 9);
    let sha256 = sha256_hex(&content);
    let session = create_session(&test, &context, "retry.bin", &content, &sha256, "").await;
    put_parts(&test, &context, &session, &content, &[]).await;
    // an earlier completion assembled the object in S3, then died before recording anything
    let admin = test.admin().await;
    let row = radiant_db::sea_orm::ConnectionTrait::query_one_raw(
        &admin,
        radiant_db::sea_orm::Statement::from_string(
            radiant_db::sea_orm::DbBackend::Postgres,
            format!(
                "SELECT s3_key, s3_upload_id FROM upload_sessions WHERE id = '{}'",
                session.session_id
            ),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let key: String = row.try_get("", "s3_key").unwrap();
    let upload_id: String = row.try_get("", "s3_upload_id").unwrap();
    let parts = test
        .vault
        .objects
        .list_parts(&key, &upload_id)
        .await
        .unwrap();
    let assembled = test
        .vault
        .objects
        .complete_multipart(&key, &upload_id, &parts)
        .await
        .unwrap();
    test.execute(&format!(
        "UPDATE upload_sessions SET assembled_s3_version_id = '{}' WHERE id = '{}'",
        assembled.version_id, session.session_id
    ))
    .await;
    let version: media::FileVersion = test
        .call(
            &context,
            subjects::UPLOADS_COMPLETE,
            &media::CompleteUploadSessionRequest {
                session_id: session.session_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(version.sha256, sha256);
    assert_eq!(version.s3_version_id, assembled.version_id);
    test.stop().await;
}

#[tokio::test]
async fn a_session_being_completed_cannot_be_aborted_and_an_aborted_one_cannot_complete() {
    let test = spawn_vault().await;
    let context = tenant();
    let content = pseudo_random_bytes(1000, 11);
    let sha256 = sha256_hex(&content);
    let session = create_session(&test, &context, "busy.bin", &content, &sha256, "").await;
    put_parts(&test, &context, &session, &content, &[]).await;
    // another request holds the completion claim
    test.execute(&format!(
        "UPDATE upload_sessions SET completing_since = now() WHERE id = '{}'",
        session.session_id
    ))
    .await;
    let abort = media::AbortUploadSessionRequest {
        session_id: session.session_id.clone(),
    };
    let refused: Result<media::UploadSession, _> =
        test.call(&context, subjects::UPLOADS_ABORT, &abort).await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::Conflict);
    let busy: Result<media::FileVersion, _> = test
        .call(
            &context,
            subjects::UPLOADS_COMPLETE,
            &media::CompleteUploadSessionRequest {
                session_id: session.session_id.clone(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(busy.unwrap_err().code, ErrorCode::Conflict);

    // the claim is released: abort goes through, and completing afterwards is refused
    test.execute(&format!(
        "UPDATE upload_sessions SET completing_since = NULL WHERE id = '{}'",
        session.session_id
    ))
    .await;
    let aborted: media::UploadSession = test
        .call(&context, subjects::UPLOADS_ABORT, &abort)
        .await
        .unwrap();
    assert_eq!(aborted.upload_status, media::UploadStatus::Failed as i32);
    assert_eq!(aborted.failure_reason, "aborted");
    let late: Result<media::FileVersion, _> = test
        .call(
            &context,
            subjects::UPLOADS_COMPLETE,
            &media::CompleteUploadSessionRequest {
                session_id: session.session_id.clone(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(late.unwrap_err().code, ErrorCode::Conflict);
    assert_eq!(test.count("SELECT count(*) FROM file_versions").await, 0);
    test.stop().await;
}
