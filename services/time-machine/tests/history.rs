//! Snapshots over time: as-of views and their pagination, restores of every scope (and their
//! undo), atomicity, concurrent writers, comparison, verification and tamper detection.

mod support;

use radiant_bus::subjects::tm as subjects;
use radiant_db::sea_orm::ConnectionTrait;
use radiant_proto::tm;
use support::*;

async fn chat_with(machine: &TestMachine, contents: &[&str]) -> (String, Vec<tm::SavedMessage>) {
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "History").await;
    let mut saved = Vec::new();
    for (index, content) in contents.iter().enumerate() {
        let role = if index % 2 == 0 { "user" } else { "assistant" };
        saved.push(machine.say(&alice, &chat.chat_id, role, content).await);
    }
    (chat.chat_id, saved)
}

fn snapshot_id(saved: &tm::SavedMessage) -> String {
    saved.snapshot.as_ref().unwrap().snapshot_id.clone()
}

fn message_id(saved: &tm::SavedMessage) -> String {
    saved.message.as_ref().unwrap().message_id.clone()
}

#[tokio::test]
async fn as_of_views_page_through_any_snapshot() {
    let machine = spawn().await;
    let alice = machine.alice();
    let contents: Vec<String> = (1..=25).map(|index| format!("message {index}")).collect();
    let borrowed: Vec<&str> = contents.iter().map(String::as_str).collect();
    let (chat_id, saved) = chat_with(&machine, &borrowed).await;
    let at_ten = snapshot_id(&saved[9]);
    let mut collected = Vec::new();
    let mut token = String::new();
    loop {
        let page: tm::ChatAtSnapshot = machine
            .call(
                &alice,
                subjects::SNAPSHOTS_VIEW,
                &tm::GetChatAtSnapshotRequest {
                    chat_id: chat_id.clone(),
                    snapshot_id: at_ten.clone(),
                    page_size: 4,
                    page_token: token.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(page.snapshot.as_ref().unwrap().version, 10);
        collected.extend(page.messages.into_iter().map(|message| message.content));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(collected, contents[..10].to_vec());
    assert_eq!(machine.contents(&alice, &chat_id, "").await.len(), 25);
    // a snapshot of another chat is not this chat's
    let (other_chat, other_saved) = chat_with(&machine, &["elsewhere"]).await;
    let foreign = machine
        .call::<_, tm::ChatAtSnapshot>(
            &alice,
            subjects::SNAPSHOTS_VIEW,
            &tm::GetChatAtSnapshotRequest {
                chat_id: chat_id.clone(),
                snapshot_id: snapshot_id(&other_saved[0]),
                ..Default::default()
            },
        )
        .await;
    expect_status(foreign, 404);
    assert_eq!(
        machine.contents(&alice, &other_chat, "").await,
        ["elsewhere"]
    );
    machine.stop().await;
}

#[tokio::test]
async fn a_full_restore_writes_new_versions_and_can_be_undone() {
    let machine = spawn().await;
    let alice = machine.alice();
    let (chat_id, saved) = chat_with(&machine, &["one", "two", "three"]).await;
    // after the third message: edit one, delete two, add four
    let edited: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: chat_id.clone(),
                message_id: message_id(&saved[0]),
                content: "ONE".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_DELETE,
            &tm::DeleteMessageRequest {
                chat_id: chat_id.clone(),
                message_id: message_id(&saved[1]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let four = machine.say(&alice, &chat_id, "assistant", "four").await;
    assert_eq!(
        machine.contents(&alice, &chat_id, "").await,
        ["ONE", "three", "four"]
    );
    let head_before = four.snapshot.clone().unwrap();

    let restored = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: snapshot_id(&saved[2]),
                reason: "back to the plan".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        machine.contents(&alice, &chat_id, "").await,
        ["one", "two", "three"]
    );
    assert_eq!(
        restored.messages_restored, 2,
        "one and two come back as new versions"
    );
    assert_eq!(restored.messages_removed, 1, "four is set aside");
    // the same restore again changes nothing: the chat already is as it was then
    let again = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: snapshot_id(&saved[2]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((again.messages_restored, again.messages_removed), (0, 0));
    assert_eq!(restored.new_version, head_before.version + 1);
    assert_eq!(restored.previous_snapshot_id, head_before.snapshot_id);
    let snapshot = restored.snapshot.clone().unwrap();
    assert_eq!(snapshot.trigger, "restore_performed");
    assert_eq!(snapshot.restored_from_snapshot_id, snapshot_id(&saved[2]));
    assert_eq!(snapshot.message_count, 3);
    // history is untouched: the snapshot before the restore still reads as it did
    assert_eq!(
        machine
            .contents(&alice, &chat_id, &head_before.snapshot_id)
            .await,
        ["ONE", "three", "four"]
    );
    assert_eq!(
        machine
            .contents(&alice, &chat_id, &snapshot_id(&edited))
            .await,
        ["ONE", "two", "three"]
    );
    let current = machine.view(&alice, &chat_id, "").await;
    let one = &current.messages[0];
    assert_eq!(one.version, 3, "edit was v2; the restored copy is v3");
    assert!(!one.restored_from_version_id.is_empty());
    let logged = machine
        .count("SELECT count(*) AS count FROM restores WHERE scope = 'full_chat' AND reason = 'back to the plan' AND messages_restored = 2 AND user_id = 'alice'")
        .await;
    assert_eq!(logged, 1);

    // undo: restore to the snapshot before the restore
    let undone = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: restored.previous_snapshot_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        machine.contents(&alice, &chat_id, "").await,
        ["ONE", "three", "four"]
    );
    assert_eq!(undone.messages_removed, 1);
    let chat: tm::ChatWithMessages = machine
        .call(
            &alice,
            subjects::CHATS_GET,
            &tm::GetChatRequest {
                chat_id: chat_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(chat.chat.unwrap().message_count, 3);
    let verdict = machine.verify(&alice, &chat_id).await;
    assert!(verdict.ok, "{verdict:?}");
    assert_eq!(verdict.snapshots_checked, 9);
    machine.stop().await;
}

#[tokio::test]
async fn single_message_and_range_restores_touch_only_their_messages() {
    let machine = spawn().await;
    let alice = machine.alice();
    let (chat_id, saved) = chat_with(&machine, &["a", "b", "c", "d"]).await;
    let original = snapshot_id(&saved[3]);
    for (index, saved_message) in saved.iter().enumerate() {
        let _: tm::SavedMessage = machine
            .call(
                &alice,
                subjects::MESSAGES_EDIT,
                &tm::EditMessageRequest {
                    chat_id: chat_id.clone(),
                    message_id: message_id(saved_message),
                    content: format!("edited {index}"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let single = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: original.clone(),
                scope: "single_message".to_string(),
                message_ids: vec![message_id(&saved[1])],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(single.messages_restored, 1);
    assert_eq!(
        machine.contents(&alice, &chat_id, "").await,
        ["edited 0", "b", "edited 2", "edited 3"]
    );
    let range = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: original.clone(),
                scope: "message_range".to_string(),
                message_ids: vec![message_id(&saved[3]), message_id(&saved[2])],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(range.messages_restored, 2);
    assert_eq!(
        machine.contents(&alice, &chat_id, "").await,
        ["edited 0", "b", "c", "d"]
    );

    // refusals: missing ids, unknown messages, a snapshot of nowhere, bad scope
    let cases: Vec<(tm::RestoreRequest, u16, &str)> = vec![
        (
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: original.clone(),
                scope: "single_message".to_string(),
                ..Default::default()
            },
            400,
            "message_ids",
        ),
        (
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: original.clone(),
                scope: "message_range".to_string(),
                message_ids: vec![message_id(&saved[0])],
                ..Default::default()
            },
            400,
            "message_ids",
        ),
        (
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: original.clone(),
                scope: "everything".to_string(),
                ..Default::default()
            },
            400,
            "scope",
        ),
        (
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: String::new(),
                ..Default::default()
            },
            400,
            "snapshot_id",
        ),
    ];
    for (request, status, field) in cases {
        let error = expect_status(machine.restore(&alice, request).await, status);
        assert_eq!(error.field_violations[0].0, field, "{error}");
    }
    expect_status(
        machine
            .restore(
                &alice,
                tm::RestoreRequest {
                    chat_id: chat_id.clone(),
                    snapshot_id: original.clone(),
                    scope: "single_message".to_string(),
                    message_ids: vec![uuid::Uuid::now_v7().to_string()],
                    ..Default::default()
                },
            )
            .await,
        404,
    );
    expect_status(
        machine
            .restore(
                &alice,
                tm::RestoreRequest {
                    chat_id: chat_id.clone(),
                    snapshot_id: uuid::Uuid::now_v7().to_string(),
                    ..Default::default()
                },
            )
            .await,
        404,
    );
    assert!(machine.verify(&alice, &chat_id).await.ok);
    machine.stop().await;
}

#[tokio::test]
async fn a_restore_that_fails_half_way_leaves_the_chat_exactly_as_before() {
    let machine = spawn().await;
    let alice = machine.alice();
    let (chat_id, saved) = chat_with(&machine, &["keep", "these", "three"]).await;
    let _ = machine.say(&alice, &chat_id, "user", "and a fourth").await;
    let before_view = machine.view(&alice, &chat_id, "").await;
    let before_snapshots = machine
        .count("SELECT count(*) AS count FROM snapshots")
        .await;
    let before_versions = machine
        .count("SELECT count(*) AS count FROM message_versions")
        .await;
    // the last statement of a restore (its log entry) fails: by then versions were ended,
    // copied and the snapshot written
    let admin = machine.admin_database().await;
    admin
        .execute_unprepared(
            "CREATE FUNCTION refuse_restore() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
             CREATE TRIGGER refuse_restore BEFORE INSERT ON restores FOR EACH ROW EXECUTE FUNCTION refuse_restore();",
        )
        .await
        .unwrap();
    let failed = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: snapshot_id(&saved[0]),
                ..Default::default()
            },
        )
        .await;
    expect_status(failed, 500);
    let after_view = machine.view(&alice, &chat_id, "").await;
    assert_eq!(after_view, before_view);
    assert_eq!(
        machine
            .count("SELECT count(*) AS count FROM snapshots")
            .await,
        before_snapshots
    );
    assert_eq!(
        machine
            .count("SELECT count(*) AS count FROM message_versions")
            .await,
        before_versions
    );
    assert_eq!(
        machine
            .count("SELECT count(*) AS count FROM message_versions WHERE valid_to <> 2147483647")
            .await,
        0
    );
    assert!(machine.verify(&alice, &chat_id).await.ok);
    admin
        .execute_unprepared("DROP TRIGGER refuse_restore ON restores")
        .await
        .unwrap();
    let _ = admin.close().await;
    // and the chat works on
    machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat_id.clone(),
                snapshot_id: snapshot_id(&saved[0]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(machine.contents(&alice, &chat_id, "").await, ["keep"]);
    machine.stop().await;
}

#[tokio::test]
async fn concurrent_writers_of_one_chat_never_share_or_skip_a_version() {
    let machine = std::sync::Arc::new(spawn().await);
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Busy").await;
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let machine = machine.clone();
        let alice = alice.clone();
        let chat_id = chat.chat_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for index in 0..10 {
                let saved = machine
                    .say(
                        &alice,
                        &chat_id,
                        "user",
                        &format!("writer {writer} message {index}"),
                    )
                    .await;
                versions.push(saved.snapshot.unwrap().version);
            }
            versions
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.extend(task.await.unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=80).collect::<Vec<u32>>());
    let view = machine.view(&alice, &chat.chat_id, "").await;
    let positions: Vec<u64> = view
        .messages
        .iter()
        .map(|message| message.position)
        .collect();
    assert_eq!(positions, (1..=80).collect::<Vec<u64>>());
    assert_eq!(view.snapshot.unwrap().message_count, 80);
    assert!(machine.verify(&alice, &chat.chat_id).await.ok);
    std::sync::Arc::into_inner(machine).unwrap().stop().await;
}

#[tokio::test]
async fn comparisons_name_what_changed() {
    let machine = spawn().await;
    let alice = machine.alice();
    let (chat_id, saved) = chat_with(&machine, &["one", "two", "three"]).await;
    let from = snapshot_id(&saved[2]);
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: chat_id.clone(),
                message_id: message_id(&saved[0]),
                content: "uno".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_DELETE,
            &tm::DeleteMessageRequest {
                chat_id: chat_id.clone(),
                message_id: message_id(&saved[1]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    machine.say(&alice, &chat_id, "user", "four").await;
    machine.say(&alice, &chat_id, "assistant", "five").await;
    let comparison: tm::Comparison = machine
        .call(
            &alice,
            subjects::HISTORY_COMPARE,
            &tm::CompareRequest {
                chat_id: chat_id.clone(),
                from_snapshot_id: from.clone(),
                to_snapshot_id: "current".to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(comparison.messages_added.len(), 2);
    assert_eq!(comparison.messages_edited.len(), 1);
    assert_eq!(comparison.messages_edited[0].preview, "uno");
    assert_eq!(comparison.messages_removed.len(), 1);
    assert!(
        comparison
            .summary
            .ends_with("and now: 2 new messages, 1 message edited, 1 message removed."),
        "{}",
        comparison.summary
    );
    // the other way round
    let backwards: tm::Comparison = machine
        .call(
            &alice,
            subjects::HISTORY_COMPARE,
            &tm::CompareRequest {
                chat_id: chat_id.clone(),
                from_snapshot_id: comparison.to_snapshot.unwrap().snapshot_id,
                to_snapshot_id: from.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(backwards.messages_removed.len(), 2);
    assert_eq!(backwards.messages_added.len(), 1);
    expect_status(
        machine
            .call::<_, tm::Comparison>(
                &alice,
                subjects::HISTORY_COMPARE,
                &tm::CompareRequest {
                    chat_id: chat_id.clone(),
                    from_snapshot_id: String::new(),
                    to_snapshot_id: String::new(),
                },
            )
            .await,
        400,
    );
    machine.stop().await;
}

#[tokio::test]
async fn verification_finds_the_first_tampered_snapshot() {
    let machine = spawn().await;
    let alice = machine.alice();
    let (chat_id, saved) = chat_with(&machine, &["alpha", "beta", "gamma", "delta"]).await;
    assert!(machine.verify(&alice, &chat_id).await.ok);
    // someone with database access rewrites history
    let admin = machine.admin_database().await;
    admin
        .execute_unprepared(&format!(
            "UPDATE message_versions SET content = 'BETA' WHERE message_id = '{}'",
            message_id(&saved[1])
        ))
        .await
        .unwrap();
    let verdict = machine.verify(&alice, &chat_id).await;
    assert!(!verdict.ok);
    assert_eq!(verdict.first_mismatch_version, 2);
    assert_eq!(verdict.first_mismatch_snapshot_id, snapshot_id(&saved[1]));
    assert!(
        verdict.detail.contains("no longer hashes"),
        "{}",
        verdict.detail
    );
    admin
        .execute_unprepared(&format!(
            "UPDATE message_versions SET content = 'beta' WHERE message_id = '{}'; \
             UPDATE snapshots SET message_count = 7 WHERE id = '{}'",
            message_id(&saved[1]),
            snapshot_id(&saved[2])
        ))
        .await
        .unwrap();
    let verdict = machine.verify(&alice, &chat_id).await;
    assert!(!verdict.ok);
    assert_eq!(verdict.first_mismatch_version, 3);
    assert_ne!(verdict.expected_checksum, verdict.stored_checksum);
    let _ = admin.close().await;
    machine.stop().await;
}
