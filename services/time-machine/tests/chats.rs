//! Chats and messages against the real service: find-or-create, the seeds' list, stats and
//! soft delete, auto titles, versions and snapshots of every change, and the 4xx paths.

mod support;

use radiant_bus::subjects::tm as subjects;
use radiant_proto::tm;
use support::*;

#[tokio::test]
async fn chats_are_found_or_created_listed_and_soft_deleted() {
    let machine = spawn().await;
    let alice = machine.alice();

    let chosen_id = uuid::Uuid::now_v7().to_string();
    let created: tm::Chat = machine
        .call(
            &alice,
            subjects::CHATS_CREATE,
            &tm::CreateChatRequest {
                chat_id: chosen_id.clone(),
                model_id: "smollm2".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(created.chat_id, chosen_id);
    assert_eq!(created.title_source, "none");
    assert_eq!(created.current_version, 0);
    // the same id again: the same chat, not a second one
    let again: tm::Chat = machine
        .call(
            &alice,
            subjects::CHATS_CREATE,
            &tm::CreateChatRequest {
                chat_id: chosen_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(again.chat_id, chosen_id);
    assert_eq!(again.model_id, "smollm2");
    // an idempotency key replays too
    let keyed = |title: &str| tm::CreateChatRequest {
        title: title.to_string(),
        idempotency_key: "create-1".to_string(),
        ..Default::default()
    };
    let first: tm::Chat = machine
        .call(&alice, subjects::CHATS_CREATE, &keyed("Trip"))
        .await
        .unwrap();
    let replay: tm::Chat = machine
        .call(&alice, subjects::CHATS_CREATE, &keyed("Trip"))
        .await
        .unwrap();
    assert_eq!(first.chat_id, replay.chat_id);
    assert_eq!(first.title_source, "user");

    // the first user message titles an untitled chat and starts its history
    let saved = machine
        .say(
            &alice,
            &chosen_id,
            "user",
            "## What is the **capital** of France?\nthanks",
        )
        .await;
    let snapshot = saved.snapshot.unwrap();
    assert_eq!(snapshot.version, 1);
    assert_eq!(snapshot.trigger, "message_sent");
    assert_eq!(snapshot.title, "What is the capital of France?");
    assert_eq!(snapshot.message_count, 1);
    let answer = machine
        .call::<_, tm::SavedMessage>(
            &alice,
            subjects::MESSAGES_SAVE,
            &tm::SaveMessageRequest {
                chat_id: chosen_id.clone(),
                role: "assistant".to_string(),
                content: "Paris.".to_string(),
                metadata: Some(tm::MessageMetadata {
                    model_id: "smollm2-135m-instruct".to_string(),
                    input_tokens: 12,
                    output_tokens: 3,
                    cost_micros: 40,
                    output_id: "out-1".to_string(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        answer.snapshot.as_ref().unwrap().trigger,
        "message_received"
    );
    assert_eq!(answer.snapshot.as_ref().unwrap().total_tokens, 15);
    assert_eq!(answer.message.as_ref().unwrap().position, 2);

    let chat: tm::ChatWithMessages = machine
        .call(
            &alice,
            subjects::CHATS_GET,
            &tm::GetChatRequest {
                chat_id: chosen_id.clone(),
                order: "desc".to_string(),
                message_limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(chat.total, 2);
    assert_eq!(chat.messages.len(), 1);
    assert_eq!(chat.messages[0].content, "Paris.");
    assert_eq!(
        chat.messages[0].metadata.as_ref().unwrap().output_id,
        "out-1"
    );
    let chat = chat.chat.unwrap();
    assert_eq!(chat.title, "What is the capital of France?");
    assert_eq!(chat.title_source, "auto");
    assert_eq!(
        (chat.current_version, chat.message_count, chat.total_tokens),
        (2, 2, 15)
    );

    let listed: tm::ListChatsResponse = machine
        .call(
            &alice,
            subjects::CHATS_LIST,
            &tm::ListChatsRequest {
                include_stats: true,
                search: "capital".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.chats[0].chat_id, chosen_id);
    let stats = listed.stats.unwrap();
    assert_eq!(
        (stats.total_chats, stats.active_chats, stats.total_messages),
        (2, 2, 2)
    );
    // LIKE wildcards typed by a user match literally
    let wildcard: tm::ListChatsResponse = machine
        .call(
            &alice,
            subjects::CHATS_LIST,
            &tm::ListChatsRequest {
                search: "%".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(wildcard.total, 0);

    // soft delete: listed among the deleted, no more changes, restorable
    let deleted: tm::Chat = machine
        .call(
            &alice,
            subjects::CHATS_DELETE,
            &tm::ChatRequest {
                chat_id: chosen_id.clone(),
            },
        )
        .await
        .unwrap();
    assert!(deleted.is_deleted);
    let trash: tm::ListChatsResponse = machine
        .call(
            &alice,
            subjects::CHATS_LIST,
            &tm::ListChatsRequest {
                deleted: true,
                include_stats: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(trash.total, 1);
    assert_eq!(trash.stats.unwrap().deleted_chats, 1);
    expect_status(
        machine
            .try_say(&alice, &chosen_id, "user", "still there?")
            .await,
        409,
    );
    let restored: tm::Chat = machine
        .call(
            &alice,
            subjects::CHATS_RESTORE,
            &tm::ChatRequest {
                chat_id: chosen_id.clone(),
            },
        )
        .await
        .unwrap();
    assert!(!restored.is_deleted);
    assert_eq!(restored.message_count, 2, "nothing was lost");
    let recent: tm::ListChatsResponse = machine
        .call(
            &alice,
            subjects::CHATS_LIST,
            &tm::ListChatsRequest {
                recent: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(recent.total, 2);
    machine.stop().await;
}

#[tokio::test]
async fn renames_edits_and_deletes_are_versions_and_snapshots() {
    let machine = spawn().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Draft").await;
    let first = machine
        .say(&alice, &chat.chat_id, "user", "teh first line")
        .await;
    let message_id = first.message.as_ref().unwrap().message_id.clone();

    let renamed: tm::Chat = machine
        .call(
            &alice,
            subjects::CHATS_UPDATE,
            &tm::UpdateChatRequest {
                chat_id: chat.chat_id.clone(),
                title: Some("Final".to_string()),
                sandbox_id: Some("sandbox-9".to_string()),
                last_context_json: Some(r#"{"cwd":"/work"}"#.to_string()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.title.as_str(), renamed.current_version),
        ("Final", 2)
    );
    assert_eq!(renamed.sandbox_id, "sandbox-9");
    assert!(renamed.last_context_json.contains("/work"));
    // settings alone make no snapshot
    let settings: tm::Chat = machine
        .call(
            &alice,
            subjects::CHATS_UPDATE,
            &tm::UpdateChatRequest {
                chat_id: chat.chat_id.clone(),
                model_id: Some("gpt-4o".to_string()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(settings.current_version, 2);

    let edited: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: message_id.clone(),
                content: "the first line".to_string(),
                reason: "typo".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let edited_message = edited.message.unwrap();
    assert_eq!(edited_message.version, 2);
    assert_eq!(edited_message.edit_reason, "typo");
    assert_eq!(edited_message.edited_by, "alice");
    assert_eq!(edited.snapshot.as_ref().unwrap().trigger, "message_edited");
    assert_eq!(edited.snapshot.as_ref().unwrap().version, 3);
    assert_eq!(edited.snapshot.as_ref().unwrap().message_count, 1);

    let deleted: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_DELETE,
            &tm::DeleteMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: message_id.clone(),
                reason: "oops".to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.snapshot.as_ref().unwrap().message_count, 0);
    assert_eq!(deleted.message.as_ref().unwrap().valid_to, 4);
    // deleting again answers the deletion that happened
    let again: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_DELETE,
            &tm::DeleteMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: message_id.clone(),
                reason: String::new(),
            },
        )
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.snapshot.unwrap().version, 4);
    // a deleted message cannot be edited (restore it first)
    expect_status(
        machine
            .call::<_, tm::SavedMessage>(
                &alice,
                subjects::MESSAGES_EDIT,
                &tm::EditMessageRequest {
                    chat_id: chat.chat_id.clone(),
                    message_id: message_id.clone(),
                    content: "x".to_string(),
                    ..Default::default()
                },
            )
            .await,
        409,
    );

    let versions: tm::ListMessageVersionsResponse = machine
        .call(
            &alice,
            subjects::MESSAGES_VERSIONS,
            &tm::ListMessageVersionsRequest {
                chat_id: chat.chat_id.clone(),
                message_id: message_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(versions.versions.len(), 2);
    assert_eq!(versions.versions[0].content, "teh first line");
    assert_eq!(
        (
            versions.versions[0].valid_from,
            versions.versions[0].valid_to
        ),
        (1, 3)
    );
    assert_eq!(
        (
            versions.versions[1].valid_from,
            versions.versions[1].valid_to
        ),
        (3, 4)
    );
    assert_eq!(versions.deleted_in_version, 4);

    // the chat as it was at each snapshot
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
    let triggers: Vec<&str> = timeline
        .snapshots
        .iter()
        .map(|s| s.trigger.as_str())
        .collect();
    assert_eq!(
        triggers,
        [
            "message_sent",
            "chat_renamed",
            "message_edited",
            "message_deleted"
        ]
    );
    let at = |index: usize| timeline.snapshots[index].snapshot_id.clone();
    assert_eq!(
        machine.contents(&alice, &chat.chat_id, &at(0)).await,
        ["teh first line"]
    );
    assert_eq!(
        machine.contents(&alice, &chat.chat_id, &at(2)).await,
        ["the first line"]
    );
    assert!(
        machine
            .contents(&alice, &chat.chat_id, &at(3))
            .await
            .is_empty()
    );
    assert_eq!(
        machine.view(&alice, &chat.chat_id, &at(0)).await.title,
        "Draft"
    );
    assert_eq!(
        machine.view(&alice, &chat.chat_id, &at(1)).await.title,
        "Final"
    );
    assert!(machine.verify(&alice, &chat.chat_id).await.ok);
    machine.stop().await;
}

#[tokio::test]
async fn saves_replay_by_message_id_and_key_and_refuse_reuse() {
    let machine = spawn().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Replays").await;
    let message_id = uuid::Uuid::now_v7().to_string();
    let save = |content: &str, key: &str| tm::SaveMessageRequest {
        chat_id: chat.chat_id.clone(),
        message_id: if key.is_empty() {
            message_id.clone()
        } else {
            String::new()
        },
        role: "user".to_string(),
        content: content.to_string(),
        idempotency_key: key.to_string(),
        ..Default::default()
    };
    let first: tm::SavedMessage = machine
        .call(&alice, subjects::MESSAGES_SAVE, &save("hello", ""))
        .await
        .unwrap();
    let replay: tm::SavedMessage = machine
        .call(&alice, subjects::MESSAGES_SAVE, &save("hello", ""))
        .await
        .unwrap();
    assert!(!first.replayed);
    assert!(replay.replayed);
    assert_eq!(replay.snapshot.unwrap().version, 1);
    expect_status(
        machine
            .call::<_, tm::SavedMessage>(&alice, subjects::MESSAGES_SAVE, &save("different", ""))
            .await,
        409,
    );
    let keyed: tm::SavedMessage = machine
        .call(&alice, subjects::MESSAGES_SAVE, &save("again", "k1"))
        .await
        .unwrap();
    let keyed_replay: tm::SavedMessage = machine
        .call(&alice, subjects::MESSAGES_SAVE, &save("again", "k1"))
        .await
        .unwrap();
    assert_eq!(
        keyed.message.unwrap().message_id,
        keyed_replay.message.unwrap().message_id
    );
    let view = machine.view(&alice, &chat.chat_id, "").await;
    assert_eq!(view.messages.len(), 2, "replays wrote nothing");
    assert_eq!(view.snapshot.unwrap().version, 2);
    machine.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_and_nothing_is_written() {
    let machine = spawn_with(false, |config| config.limits.max_content_bytes = 1000).await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Edges").await;
    let empty = expect_status(
        machine.try_say(&alice, &chat.chat_id, "user", "   ").await,
        400,
    );
    assert_eq!(empty.field_violations[0].0, "content");
    let too_big = expect_status(
        machine
            .try_say(&alice, &chat.chat_id, "user", &"x".repeat(1001))
            .await,
        413,
    );
    assert!(too_big.message.contains("1000"), "{too_big}");
    let role = expect_status(
        machine.try_say(&alice, &chat.chat_id, "robot", "hi").await,
        400,
    );
    assert_eq!(role.field_violations[0].0, "role");
    expect_status(
        machine.try_say(&alice, "not-a-uuid", "user", "hi").await,
        400,
    );
    expect_status(
        machine
            .try_say(&alice, &uuid::Uuid::now_v7().to_string(), "user", "hi")
            .await,
        404,
    );
    let bad_part = machine
        .call::<_, tm::SavedMessage>(
            &alice,
            subjects::MESSAGES_SAVE,
            &tm::SaveMessageRequest {
                chat_id: chat.chat_id.clone(),
                role: "user".to_string(),
                content: "hi".to_string(),
                parts: vec![tm::Part {
                    r#type: "data".to_string(),
                    data_json: "{not json".to_string(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        expect_status(bad_part, 400).field_violations[0].0,
        "parts[0].data_json"
    );
    let absurd_tokens = machine
        .call::<_, tm::SavedMessage>(
            &alice,
            subjects::MESSAGES_SAVE,
            &tm::SaveMessageRequest {
                chat_id: chat.chat_id.clone(),
                role: "assistant".to_string(),
                content: "hi".to_string(),
                metadata: Some(tm::MessageMetadata {
                    total_tokens: u64::MAX,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        expect_status(absurd_tokens, 400).field_violations[0].0,
        "metadata.total_tokens"
    );
    let page = machine
        .call::<_, tm::ChatAtSnapshot>(
            &alice,
            subjects::SNAPSHOTS_VIEW,
            &tm::GetChatAtSnapshotRequest {
                chat_id: chat.chat_id.clone(),
                page_token: "bogus".to_string(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(expect_status(page, 400).field_violations[0].0, "page_token");
    let timeline = machine
        .call::<_, tm::Timeline>(
            &alice,
            subjects::SNAPSHOTS_TIMELINE,
            &tm::GetTimelineRequest {
                chat_id: chat.chat_id.clone(),
                time_zone: "Mars/Olympus".to_string(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        expect_status(timeline, 400).field_violations[0].0,
        "time_zone"
    );
    let date = machine
        .call::<_, tm::SnapshotList>(
            &alice,
            subjects::SNAPSHOTS_BY_DATE,
            &tm::ListSnapshotsByDateRequest {
                chat_id: chat.chat_id.clone(),
                date: "2024-02-30".to_string(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(expect_status(date, 400).field_violations[0].0, "date");
    let untitled = machine
        .call::<_, tm::Chat>(
            &alice,
            subjects::CHATS_UPDATE,
            &tm::UpdateChatRequest {
                chat_id: chat.chat_id.clone(),
                title: Some(String::new()),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(expect_status(untitled, 400).field_violations[0].0, "title");
    // no context: no user
    let anonymous = machine
        .call::<_, tm::Chat>(
            &radiant_bus::RequestContext::internal(),
            subjects::CHATS_CREATE,
            &tm::CreateChatRequest::default(),
        )
        .await;
    assert!(matches!(anonymous.unwrap_err().status(), 400 | 401));
    assert_eq!(
        machine
            .count("SELECT count(*) AS count FROM snapshots")
            .await,
        0,
        "no refused request wrote a snapshot"
    );
    machine.stop().await;
}
