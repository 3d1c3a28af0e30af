//! Files in chats (bytes in the real media vault and S3), their versions, restores and
//! downloads, and export bundles in every format produced by the real JetStream consumer.

mod support;

use std::io::Read;
use std::time::Duration;

use radiant_bus::subjects::tm as subjects;
use radiant_proto::tm;
use support::*;

async fn download(
    machine: &TestMachine,
    context: &radiant_bus::RequestContext,
    file_version_id: &str,
) -> Vec<u8> {
    let link: tm::FileDownload = machine
        .call(
            context,
            subjects::FILES_DOWNLOAD,
            &tm::GetFileDownloadRequest {
                file_version_id: file_version_id.to_string(),
                expires_in_seconds: 60,
            },
        )
        .await
        .unwrap();
    reqwest::get(&link.url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn files_are_versioned_snapshotted_restored_and_downloaded() {
    let machine = spawn_with_vault().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Budget").await;
    let question = machine
        .say(&alice, &chat.chat_id, "user", "here is the budget")
        .await;
    let v1 = machine
        .upload(
            &alice,
            &chat.chat_id,
            "budget.csv",
            "text/csv",
            b"item,cost\nrent,1200\n",
        )
        .await
        .unwrap();
    assert_eq!((v1.version, v1.media_version, v1.valid_from), (1, 1, 2));
    let at_v1 = machine
        .view(&alice, &chat.chat_id, "")
        .await
        .snapshot
        .unwrap();
    assert_eq!(at_v1.trigger, "file_uploaded");
    assert_eq!((at_v1.file_count, at_v1.media_bytes), (1, 20));
    let v2 = machine
        .upload(
            &alice,
            &chat.chat_id,
            "budget.csv",
            "text/csv",
            b"item,cost\nrent,1350\nfood,400\n",
        )
        .await
        .unwrap();
    assert_eq!((v2.version, v2.file_id.as_str()), (2, v1.file_id.as_str()));
    let generated = machine
        .call::<_, tm::ChatFile>(
            &alice,
            subjects::FILES_UPLOAD,
            &tm::UploadFileRequest {
                chat_id: chat.chat_id.clone(),
                name: "chart.png".to_string(),
                mime_type: "image/png".to_string(),
                content: vec![0x89, b'P', b'N', b'G', 1, 2, 3],
                source: "ai_generated".to_string(),
                message_id: question.message.as_ref().unwrap().message_id.clone(),
                description: "a chart of the monthly budget".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(generated.source, "ai_generated");
    let listed: tm::ChatFileList = machine
        .call(
            &alice,
            subjects::FILES_LIST,
            &tm::ListFilesRequest {
                chat_id: chat.chat_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = listed.files.iter().map(|file| file.name.as_str()).collect();
    assert_eq!(names, ["budget.csv", "chart.png"]);
    assert_eq!(listed.files[0].version_count, 2);
    let versions: tm::ChatFileList = machine
        .call(
            &alice,
            subjects::FILES_VERSIONS,
            &tm::ListFileVersionsRequest {
                chat_id: chat.chat_id.clone(),
                name: "budget.csv".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(versions.files.len(), 2);
    assert_eq!(
        download(&machine, &alice, &v1.file_version_id).await,
        b"item,cost\nrent,1200\n"
    );
    assert_eq!(
        download(&machine, &alice, &v2.file_version_id).await,
        b"item,cost\nrent,1350\nfood,400\n"
    );
    // the file's text and description are searchable
    let found: tm::SearchResponse = machine
        .call(
            &alice,
            subjects::HISTORY_SEARCH,
            &tm::SearchRequest {
                query: "food".to_string(),
                r#type: "files".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.files.len(), 1);
    assert_eq!(found.files[0].version, 2);
    let by_name: tm::SearchResponse = machine
        .call(
            &alice,
            subjects::HISTORY_SEARCH,
            &tm::SearchRequest {
                query: "chart".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_name.files[0].name, "chart.png");

    // restore the first version of the file alone, then delete the chart and restore files
    let restored = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat.chat_id.clone(),
                snapshot_id: at_v1.snapshot_id.clone(),
                scope: "single_file".to_string(),
                file_ids: vec![v1.file_id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((restored.files_restored, restored.files_removed), (1, 0));
    let current: tm::ChatFileList = machine
        .call(
            &alice,
            subjects::FILES_LIST,
            &tm::ListFilesRequest {
                chat_id: chat.chat_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let budget = current
        .files
        .iter()
        .find(|file| file.name == "budget.csv")
        .unwrap();
    assert_eq!((budget.version, budget.media_version), (3, 1));
    assert_eq!(
        download(&machine, &alice, &budget.file_version_id).await,
        b"item,cost\nrent,1200\n"
    );
    assert_eq!(
        current.files.len(),
        2,
        "the chart was not part of the single-file restore"
    );
    let deleted: tm::ChatFile = machine
        .call(
            &alice,
            subjects::FILES_DELETE,
            &tm::DeleteFileRequest {
                chat_id: chat.chat_id.clone(),
                file_id: generated.file_id.clone(),
                reason: "wrong chart".to_string(),
            },
        )
        .await
        .unwrap();
    assert_ne!(deleted.valid_to, 0);
    let with_deleted: tm::ChatFileList = machine
        .call(
            &alice,
            subjects::FILES_LIST,
            &tm::ListFilesRequest {
                chat_id: chat.chat_id.clone(),
                include_deleted: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(with_deleted.files.len(), 2);
    let head = machine.view(&alice, &chat.chat_id, "").await;
    assert_eq!(head.files.len(), 1);
    let before_delete = head.snapshot.unwrap().version - 1;
    let timeline: tm::Timeline = machine
        .call(
            &alice,
            subjects::SNAPSHOTS_TIMELINE,
            &tm::GetTimelineRequest {
                chat_id: chat.chat_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = timeline
        .snapshots
        .iter()
        .find(|s| s.version == before_delete)
        .unwrap();
    let files_back = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat.chat_id.clone(),
                snapshot_id: before.snapshot_id.clone(),
                scope: "files_only".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(files_back.files_restored, 1);
    assert_eq!(files_back.messages_restored, 0);
    assert_eq!(machine.view(&alice, &chat.chat_id, "").await.files.len(), 2);
    assert_eq!(timeline.total_media_bytes, 20 + 29 + 7);
    assert!(machine.verify(&alice, &chat.chat_id).await.ok);

    // refusals: another user's file, an unknown version, a chat that is not there
    let bob = machine.user("bob");
    expect_status(
        machine
            .call::<_, tm::FileDownload>(
                &bob,
                subjects::FILES_DOWNLOAD,
                &tm::GetFileDownloadRequest {
                    file_version_id: v1.file_version_id.clone(),
                    ..Default::default()
                },
            )
            .await,
        404,
    );
    expect_status(
        machine
            .upload(
                &alice,
                &uuid::Uuid::now_v7().to_string(),
                "x.txt",
                "text/plain",
                b"x",
            )
            .await,
        404,
    );
    let unnamed = expect_status(
        machine
            .upload(&alice, &chat.chat_id, " ", "text/plain", b"x")
            .await,
        400,
    );
    assert_eq!(unnamed.field_violations[0].0, "name");
    expect_status(
        machine
            .upload(
                &alice,
                &chat.chat_id,
                "big.bin",
                "application/octet-stream",
                &vec![0u8; 1024 * 1024 + 1],
            )
            .await,
        413,
    );
    machine.stop().await;
}

async fn export(
    machine: &TestMachine,
    chat_id: &str,
    request: tm::CreateExportRequest,
) -> (tm::ExportBundle, Vec<u8>) {
    let alice = machine.alice();
    let created: tm::ExportBundle = machine
        .call(
            &alice,
            subjects::EXPORTS_CREATE,
            &tm::CreateExportRequest {
                chat_id: chat_id.to_string(),
                ..request
            },
        )
        .await
        .unwrap();
    assert_eq!(created.status, "pending");
    let mut bundle = tm::ExportBundle::default();
    for _ in 0..300 {
        bundle = machine
            .call(
                &alice,
                subjects::EXPORTS_GET,
                &tm::GetExportRequest {
                    export_id: created.export_id.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if bundle.status == "ready" || bundle.status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bundle.status, "ready", "{}", bundle.error_message);
    let bytes = reqwest::get(&bundle.download_url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert_eq!(bytes.len() as u64, bundle.size_bytes);
    (bundle, bytes)
}

#[tokio::test]
async fn exports_in_every_format_through_the_job_consumer() {
    let machine = spawn_with_vault().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Trip to Japan").await;
    let first = machine
        .say(
            &alice,
            &chat.chat_id,
            "user",
            "Plan a week in Kyoto <please>",
        )
        .await;
    machine
        .say(
            &alice,
            &chat.chat_id,
            "assistant",
            "Day 1: Fushimi Inari. Café at noon — “early”.",
        )
        .await;
    machine
        .upload(
            &alice,
            &chat.chat_id,
            "itinerary.md",
            "text/markdown",
            b"# Kyoto\n- temples\n",
        )
        .await
        .unwrap();
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: first.message.unwrap().message_id,
                content: "Plan ten days in Kyoto".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let (json_bundle, json) = export(
        &machine,
        &chat.chat_id,
        tm::CreateExportRequest {
            format: "json".to_string(),
            include_version_history: true,
            ..Default::default()
        },
    )
    .await;
    let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(document["title"], "Trip to Japan");
    assert_eq!(document["messages"][0]["content"], "Plan ten days in Kyoto");
    assert_eq!(document["messages"][0]["version"], 2);
    assert_eq!(document["history"].as_array().unwrap().len(), 3);
    assert_eq!(document["snapshots"].as_array().unwrap().len(), 4);
    assert!(
        json_bundle.file_name.starts_with("trip-to-japan-"),
        "{}",
        json_bundle.file_name
    );
    assert_eq!(json_bundle.download_count, 1);

    let (_, markdown) = export(
        &machine,
        &chat.chat_id,
        tm::CreateExportRequest {
            format: "markdown".to_string(),
            ..Default::default()
        },
    )
    .await;
    let markdown = String::from_utf8(markdown).unwrap();
    assert!(markdown.contains("Plan ten days in Kyoto"));
    assert!(markdown.contains("itinerary.md"));

    let (_, html) = export(
        &machine,
        &chat.chat_id,
        tm::CreateExportRequest {
            format: "html".to_string(),
            ..Default::default()
        },
    )
    .await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("Fushimi Inari"));

    // the range up to the first snapshot: the message as first written
    let timeline: tm::Timeline = machine
        .call(
            &alice,
            subjects::SNAPSHOTS_TIMELINE,
            &tm::GetTimelineRequest {
                chat_id: chat.chat_id.clone(),
                order: "asc".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, early) = export(
        &machine,
        &chat.chat_id,
        tm::CreateExportRequest {
            format: "html".to_string(),
            to_snapshot_id: timeline.snapshots[0].snapshot_id.clone(),
            ..Default::default()
        },
    )
    .await;
    let early = String::from_utf8(early).unwrap();
    assert!(
        early.contains("Plan a week in Kyoto &lt;please&gt;"),
        "escaped and as it was"
    );
    assert!(!early.contains("Fushimi"));

    let (_, pdf) = export(
        &machine,
        &chat.chat_id,
        tm::CreateExportRequest {
            format: "pdf".to_string(),
            ..Default::default()
        },
    )
    .await;
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(pdf.windows(5).any(|window| window == b"Kyoto"));

    let (zip_bundle, zip_bytes) = export(
        &machine,
        &chat.chat_id,
        tm::CreateExportRequest {
            format: "zip".to_string(),
            zip_text_format: "markdown".to_string(),
            include_media: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(zip_bundle.format, "zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["chat.md", "files/itinerary.md", "manifest.json"]);
    let mut media = String::new();
    archive
        .by_name("files/itinerary.md")
        .unwrap()
        .read_to_string(&mut media)
        .unwrap();
    assert_eq!(media, "# Kyoto\n- temples\n");

    // refusals
    for (request, field) in [
        (
            tm::CreateExportRequest {
                format: "docx".to_string(),
                ..Default::default()
            },
            "format",
        ),
        (
            tm::CreateExportRequest {
                format: "pdf".to_string(),
                include_media: true,
                ..Default::default()
            },
            "include_media",
        ),
        (
            tm::CreateExportRequest {
                format: "json".to_string(),
                zip_text_format: "html".to_string(),
                ..Default::default()
            },
            "zip_text_format",
        ),
    ] {
        let refused = machine
            .call::<_, tm::ExportBundle>(
                &alice,
                subjects::EXPORTS_CREATE,
                &tm::CreateExportRequest {
                    chat_id: chat.chat_id.clone(),
                    ..request
                },
            )
            .await;
        assert_eq!(expect_status(refused, 400).field_violations[0].0, field);
    }
    expect_status(
        machine
            .call::<_, tm::ExportBundle>(
                &machine.user("bob"),
                subjects::EXPORTS_GET,
                &tm::GetExportRequest {
                    export_id: zip_bundle.export_id.clone(),
                    ..Default::default()
                },
            )
            .await,
        404,
    );
    // a bundle past its expiry is expired and hands out no link
    let admin = machine.admin_database().await;
    radiant_db::sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        &format!(
            "UPDATE exports SET expires_at = now() - interval '1 minute' WHERE id = '{}'",
            zip_bundle.export_id
        ),
    )
    .await
    .unwrap();
    let _ = admin.close().await;
    let expired: tm::ExportBundle = machine
        .call(
            &alice,
            subjects::EXPORTS_GET,
            &tm::GetExportRequest {
                export_id: zip_bundle.export_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(expired.status, "expired");
    assert!(expired.download_url.is_empty());
    machine.stop().await;
}
