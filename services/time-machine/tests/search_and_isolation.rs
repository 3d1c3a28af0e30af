//! Full-text search over every version, tenant and user isolation (in the database, not only
//! in code), and events on JetStream (published after commit, or later by the relay).

mod support;

use std::time::Duration;

use futures::StreamExt;
use prost::Message as _;
use radiant_bus::RequestContext;
use radiant_bus::subjects::tm as subjects;
use radiant_db::sea_orm::{ConnectionTrait, DbBackend, Statement};
use radiant_proto::{events, tm};
use support::*;

fn search(query: &str) -> tm::SearchRequest {
    tm::SearchRequest {
        query: query.to_string(),
        ..Default::default()
    }
}

#[tokio::test]
async fn search_finds_every_version_ranked_and_points_at_its_snapshot() {
    let machine = spawn().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Paris trip").await;
    let first = machine
        .say(
            &alice,
            &chat.chat_id,
            "user",
            "Which museums in Paris open on Mondays?",
        )
        .await;
    machine
        .say(
            &alice,
            &chat.chat_id,
            "assistant",
            "The Musée d'Orsay closes on Mondays; the Louvre opens.",
        )
        .await;
    machine
        .say(&alice, &chat.chat_id, "user", "Thanks, and restaurants?")
        .await;
    // an edit: the old wording stays searchable, marked as not current
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: first.message.as_ref().unwrap().message_id.clone(),
                content: "Which galleries in Paris open on Tuesdays?".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let found: tm::SearchResponse = machine
        .call(&alice, subjects::HISTORY_SEARCH, &search("museums"))
        .await
        .unwrap();
    assert_eq!(found.messages.len(), 1);
    let hit = &found.messages[0];
    assert!(!hit.is_current, "the museum wording was edited away");
    assert_eq!(hit.snapshot_version, 1);
    assert_eq!(
        hit.snapshot_id,
        first.snapshot.as_ref().unwrap().snapshot_id
    );
    assert!(hit.snippet.contains("[[museums]]"), "{}", hit.snippet);
    assert_eq!(hit.chat_title, "Paris trip");
    // ranking: the message naming Mondays twice... both match "mondays"; the current gallery
    // version does not
    let mondays: tm::SearchResponse = machine
        .call(&alice, subjects::HISTORY_SEARCH, &search("mondays paris"))
        .await
        .unwrap();
    assert_eq!(mondays.messages.len(), 1, "websearch semantics: every word");
    let either: tm::SearchResponse = machine
        .call(
            &alice,
            subjects::HISTORY_SEARCH,
            &search("louvre or galleries"),
        )
        .await
        .unwrap();
    assert_eq!(either.messages.len(), 2);
    assert!(
        either
            .messages
            .iter()
            .any(|hit| hit.is_current && hit.version == 2)
    );
    // a restore brings the museum wording back as a copy (version 3): one hit, the copy,
    // current, at the restore's snapshot
    let third = machine
        .say(&alice, &chat.chat_id, "user", "One more thing")
        .await;
    let restored = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat.chat_id.clone(),
                snapshot_id: first.snapshot.as_ref().unwrap().snapshot_id.clone(),
                scope: "single_message".to_string(),
                message_ids: vec![first.message.as_ref().unwrap().message_id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(restored.messages_restored, 1);
    let found_again: tm::SearchResponse = machine
        .call(&alice, subjects::HISTORY_SEARCH, &search("museums"))
        .await
        .unwrap();
    assert_eq!(
        found_again.messages.len(),
        1,
        "a restored copy is not listed twice"
    );
    let hit = &found_again.messages[0];
    assert!(hit.is_current, "the restored wording is current again");
    assert_eq!(hit.version, 3);
    // a window ending before the restore shows the version written then: the original
    let before_restore: tm::SearchResponse = machine
        .call(
            &alice,
            subjects::HISTORY_SEARCH,
            &tm::SearchRequest {
                query: "museums".to_string(),
                to_time: third.snapshot.as_ref().unwrap().created_at.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(before_restore.messages.len(), 1);
    assert_eq!(before_restore.messages[0].version, 1);
    assert!(!before_restore.messages[0].is_current);
    let restore_snapshot = restored.snapshot.as_ref().unwrap();
    assert_eq!(hit.snapshot_id, restore_snapshot.snapshot_id);
    assert_eq!(
        restore_snapshot.version,
        third.snapshot.as_ref().unwrap().version + 1
    );
    let unknown_chat = machine
        .call::<_, tm::SearchResponse>(
            &alice,
            subjects::HISTORY_SEARCH,
            &tm::SearchRequest {
                query: "paris".to_string(),
                chat_id: uuid::Uuid::now_v7().to_string(),
                ..Default::default()
            },
        )
        .await;
    expect_status(unknown_chat, 404);
    expect_status(
        machine
            .call::<_, tm::SearchResponse>(&alice, subjects::HISTORY_SEARCH, &search("  "))
            .await,
        400,
    );
    expect_status(
        machine
            .call::<_, tm::SearchResponse>(
                &alice,
                subjects::HISTORY_SEARCH,
                &tm::SearchRequest {
                    query: "x".to_string(),
                    r#type: "pictures".to_string(),
                    ..Default::default()
                },
            )
            .await,
        400,
    );
    machine.stop().await;
}

#[tokio::test]
async fn tenants_and_users_never_see_each_other() {
    let machine = spawn().await;
    let alice = machine.alice();
    let bob = machine.user("bob");
    let mallory = RequestContext::for_tenant(uuid::Uuid::now_v7(), "alice");
    let chat = machine.create_chat(&alice, "Secret plans").await;
    let saved = machine
        .say(
            &alice,
            &chat.chat_id,
            "user",
            "the launch code is swordfish",
        )
        .await;
    let snapshot_id = saved.snapshot.unwrap().snapshot_id;

    for outsider in [&bob, &mallory] {
        expect_status(
            machine.try_say(outsider, &chat.chat_id, "user", "hi").await,
            404,
        );
        expect_status(
            machine
                .call::<_, tm::ChatWithMessages>(
                    outsider,
                    subjects::CHATS_GET,
                    &tm::GetChatRequest {
                        chat_id: chat.chat_id.clone(),
                        ..Default::default()
                    },
                )
                .await,
            404,
        );
        expect_status(
            machine
                .call::<_, tm::ChatAtSnapshot>(
                    outsider,
                    subjects::SNAPSHOTS_VIEW,
                    &tm::GetChatAtSnapshotRequest {
                        chat_id: chat.chat_id.clone(),
                        snapshot_id: snapshot_id.clone(),
                        ..Default::default()
                    },
                )
                .await,
            404,
        );
        expect_status(
            machine
                .restore(
                    outsider,
                    tm::RestoreRequest {
                        chat_id: chat.chat_id.clone(),
                        snapshot_id: snapshot_id.clone(),
                        ..Default::default()
                    },
                )
                .await,
            404,
        );
        let found: tm::SearchResponse = machine
            .call(outsider, subjects::HISTORY_SEARCH, &search("swordfish"))
            .await
            .unwrap();
        assert!(found.messages.is_empty());
        let listed: tm::ListChatsResponse = machine
            .call(
                outsider,
                subjects::CHATS_LIST,
                &tm::ListChatsRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(listed.total, 0);
        // find-or-create with a taken id does not hand the chat over
        expect_status(
            machine
                .call::<_, tm::Chat>(
                    outsider,
                    subjects::CHATS_CREATE,
                    &tm::CreateChatRequest {
                        chat_id: chat.chat_id.clone(),
                        ..Default::default()
                    },
                )
                .await,
            404,
        );
    }
    // an admin of the tenant reaches the chat; of another tenant, not
    let admin = machine.user("root").with_roles(&["admin"]);
    assert_eq!(machine.contents(&admin, &chat.chat_id, "").await.len(), 1);

    // the database itself: the service role sees only the tenant it set, none without one
    let service = radiant_db::sea_orm::Database::connect(
        radiant_config::ExposeSecret::expose_secret(&machine.config.database.url).to_string(),
    )
    .await
    .unwrap();
    let count = |sql: &'static str| {
        let service = service.clone();
        async move {
            service
                .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "count")
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT count(*) AS count FROM message_versions").await,
        0
    );
    assert_eq!(count("SELECT count(*) AS count FROM chats").await, 0);
    let in_other_tenant = radiant_db::begin_tenant(&service, uuid::Uuid::now_v7())
        .await
        .unwrap();
    let visible = in_other_tenant
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS count FROM snapshots",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "count")
        .unwrap();
    assert_eq!(visible, 0);
    // writing a row for another tenant is refused by the policy's WITH CHECK
    let forged = in_other_tenant
        .execute_unprepared(&format!(
            "INSERT INTO chats (id, tenant_id, user_id, head_checksum) VALUES (gen_random_uuid(), '{}', 'x', '')",
            machine.tenant_id
        ))
        .await;
    assert!(forged.is_err());
    drop(in_other_tenant);
    // and nothing can be deleted
    let in_tenant = radiant_db::begin_tenant(&service, machine.tenant_id)
        .await
        .unwrap();
    assert!(
        in_tenant
            .execute_unprepared("DELETE FROM message_versions")
            .await
            .is_err()
    );
    drop(in_tenant);
    let _ = service.close().await;
    machine.stop().await;
}

async fn next_event(
    messages: &mut async_nats::jetstream::consumer::pull::Stream,
) -> (String, events::ChatSnapshotCreated) {
    let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("an event in time")
        .expect("a message")
        .expect("no error");
    let event = events::ChatSnapshotCreated::decode(message.payload.clone()).unwrap();
    let _ = message.ack().await;
    (message.subject.to_string(), event)
}

#[tokio::test]
async fn every_snapshot_is_an_event_and_owed_events_are_relayed() {
    let machine = spawn().await;
    let alice = machine.alice();
    let stream = machine
        .namespace
        .jetstream
        .get_stream(
            machine
                .namespace
                .namespace
                .stream_name(subjects::EVENTS_STREAM),
        )
        .await
        .unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("test-reader".to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let chat = machine.create_chat(&alice, "Events").await;
    let saved = machine
        .call::<_, tm::SavedMessage>(
            &alice,
            subjects::MESSAGES_SAVE,
            &tm::SaveMessageRequest {
                chat_id: chat.chat_id.clone(),
                role: "assistant".to_string(),
                content: "hello".to_string(),
                metadata: Some(tm::MessageMetadata {
                    model_id: "smollm2".to_string(),
                    output_id: "out-7".to_string(),
                    total_tokens: 9,
                    partial: true,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let message_id = saved.message.unwrap().message_id;
    let (subject, event) = next_event(&mut messages).await;
    assert!(subject.ends_with(".events.chat.message_saved"), "{subject}");
    assert_eq!(event.tenant_id, machine.tenant_id.to_string());
    assert_eq!(event.chat_owner, "alice");
    assert_eq!((event.version, event.message_version), (1, 1));
    assert_eq!(event.output_id, "out-7");
    assert!(event.partial);
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: message_id.clone(),
                content: "hello there".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (subject, event) = next_event(&mut messages).await;
    assert!(subject.ends_with(".message_edited"), "{subject}");
    assert_eq!(event.message_version, 2);
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_DELETE,
            &tm::DeleteMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: message_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (subject, _) = next_event(&mut messages).await;
    assert!(subject.ends_with(".message_deleted"), "{subject}");
    let restored = machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat.chat_id.clone(),
                snapshot_id: saved.snapshot.unwrap().snapshot_id,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (subject, event) = next_event(&mut messages).await;
    assert!(subject.ends_with(".restore_performed"), "{subject}");
    assert_eq!(event.restore_scope, "full_chat");
    assert_eq!(event.messages_restored, 1);
    assert_eq!(event.snapshot_id, restored.snapshot.unwrap().snapshot_id);
    assert!(
        radiant_testkit::eventually(Duration::from_secs(5), || async {
            machine
                .count("SELECT count(*) AS count FROM event_outbox WHERE published_at IS NULL")
                .await
                == 0
        })
        .await,
        "published events are marked"
    );

    // an event owed but never published (a crash after commit) goes out with the relay
    let admin = machine.admin_database().await;
    admin
        .execute_unprepared(
            "UPDATE event_outbox SET published_at = NULL, created_at = now() - interval '1 hour' \
             WHERE snapshot_id = (SELECT id FROM snapshots WHERE version = 2)",
        )
        .await
        .unwrap();
    let _ = admin.close().await;
    let relay_machine = machine.app.as_ref().unwrap().machine().clone();
    let relayed = radiant_time_machine::events::relay_overdue(
        &relay_machine.database,
        &relay_machine.jetstream,
        &relay_machine.namespace,
        Duration::from_secs(10),
        100,
    )
    .await
    .unwrap();
    assert_eq!(relayed, 1);
    // the stream had it already (same Nats-Msg-Id): nothing new arrives
    let nothing = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
    assert!(
        nothing.is_err(),
        "a relayed duplicate is dropped by the stream"
    );
    assert_eq!(
        machine
            .count("SELECT count(*) AS count FROM event_outbox WHERE published_at IS NULL")
            .await,
        0
    );
    machine.stop().await;
}
