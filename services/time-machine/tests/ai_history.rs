//! The AI-friendly API: summaries, natural-language finds with relative dates, restores that
//! ask for confirmation first, and "what changed since".

mod support;

use radiant_bus::subjects::tm as subjects;
use radiant_db::sea_orm::ConnectionTrait;
use radiant_proto::tm;
use support::*;

/// Moves every snapshot and version of the test's database back in time, so relative dates
/// ("yesterday", "last week") have something to find.
async fn age_everything(machine: &TestMachine, interval: &str) {
    let admin = machine.admin_database().await;
    admin
        .execute_unprepared(&format!(
            "UPDATE snapshots SET created_at = created_at - interval '{interval}'; \
             UPDATE message_versions SET created_at = created_at - interval '{interval}'; \
             UPDATE file_versions SET created_at = created_at - interval '{interval}';"
        ))
        .await
        .unwrap();
    let _ = admin.close().await;
}

#[tokio::test]
async fn summaries_and_finds_speak_in_sentences_with_items() {
    let machine = spawn_with_vault().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Budget 2025").await;
    machine
        .say(
            &alice,
            &chat.chat_id,
            "user",
            "Can you check the quarterly budget numbers?",
        )
        .await;
    machine
        .upload(
            &alice,
            &chat.chat_id,
            "budget_q3.csv",
            "text/csv",
            b"quarter,total\nq3,1000\n",
        )
        .await
        .unwrap();
    age_everything(&machine, "7 days").await;
    machine
        .say(
            &alice,
            &chat.chat_id,
            "assistant",
            "The travel costs look high this month.",
        )
        .await;

    let summary: tm::HistorySummary = machine
        .call(
            &alice,
            subjects::AI_SUMMARY,
            &tm::ChatRequest {
                chat_id: chat.chat_id.clone(),
            },
        )
        .await
        .unwrap();
    assert!(
        summary.summary.starts_with(
            "This conversation has 3 snapshots over 2 days. It holds 2 messages and 1 file."
        ),
        "{}",
        summary.summary
    );
    assert!(summary.can_restore);
    assert!(
        summary
            .highlights
            .iter()
            .any(|line| line.contains("file uploaded (budget_q3.csv)")),
        "{:?}",
        summary.highlights
    );
    assert!(
        summary
            .highlights
            .last()
            .unwrap()
            .ends_with("conversation started")
    );

    let find = |query: &str| tm::FindInHistoryRequest {
        chat_id: chat.chat_id.clone(),
        query: query.to_string(),
        ..Default::default()
    };
    let spreadsheet: tm::FindInHistoryResponse = machine
        .call(
            &alice,
            subjects::AI_FIND,
            &find("that spreadsheet from last week"),
        )
        .await
        .unwrap();
    assert_eq!(spreadsheet.kind, "file");
    assert!(spreadsheet.found, "{}", spreadsheet.description);
    assert_eq!(spreadsheet.items.len(), 1);
    assert_eq!(spreadsheet.items[0].name, "budget_q3.csv");
    assert!(
        spreadsheet.description.contains("'budget_q3.csv'"),
        "{}",
        spreadsheet.description
    );
    assert!(
        spreadsheet
            .suggested_actions
            .contains(&"download".to_string())
    );

    let this_week: tm::FindInHistoryResponse = machine
        .call(
            &alice,
            subjects::AI_FIND,
            &find("the spreadsheet from today"),
        )
        .await
        .unwrap();
    assert!(!this_week.found, "{}", this_week.description);
    assert!(
        this_week.description.starts_with("I couldn't find"),
        "{}",
        this_week.description
    );

    let said: tm::FindInHistoryResponse = machine
        .call(
            &alice,
            subjects::AI_FIND,
            &find("what did you say about travel costs"),
        )
        .await
        .unwrap();
    assert_eq!(said.kind, "message");
    assert_eq!(said.items.len(), 1);
    assert_eq!(said.items[0].name, "assistant");
    assert!(
        said.items[0].preview.contains("travel"),
        "{:?}",
        said.items[0]
    );
    assert!(
        said.suggested_actions
            .contains(&"jump_to_message".to_string())
    );

    let vague: tm::FindInHistoryResponse = machine
        .call(&alice, subjects::AI_FIND, &find("that thing"))
        .await
        .unwrap();
    assert!(!vague.found);
    let bad_zone = machine
        .call::<_, tm::FindInHistoryResponse>(
            &alice,
            subjects::AI_FIND,
            &tm::FindInHistoryRequest {
                time_zone: "Nowhere/Land".to_string(),
                ..find("budget")
            },
        )
        .await;
    assert_eq!(
        expect_status(bad_zone, 400).field_violations[0].0,
        "time_zone"
    );
    machine.stop().await;
}

#[tokio::test]
async fn ai_restores_ask_first_and_refuse_a_stale_confirmation() {
    let machine = spawn().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Essay").await;
    let first = machine
        .say(&alice, &chat.chat_id, "user", "first draft")
        .await;
    let message_id = first.message.as_ref().unwrap().message_id.clone();
    let _: tm::SavedMessage = machine
        .call(
            &alice,
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: chat.chat_id.clone(),
                message_id: message_id.clone(),
                content: "second draft".to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ask = tm::AiRestoreRequest {
        chat_id: chat.chat_id.clone(),
        action: "restore_message".to_string(),
        snapshot_id: first.snapshot.as_ref().unwrap().snapshot_id.clone(),
        message_id: message_id.clone(),
        ..Default::default()
    };
    let question: tm::AiRestoreResponse = machine
        .call(&alice, subjects::AI_RESTORE, &ask)
        .await
        .unwrap();
    assert!(question.needs_confirmation);
    assert!(
        question.message.contains("Shall I go ahead?"),
        "{}",
        question.message
    );
    assert_eq!(
        machine.contents(&alice, &chat.chat_id, "").await,
        ["second draft"],
        "nothing happened yet"
    );
    // confirming without the token, or with a forged one, is refused
    let no_token = machine
        .call::<_, tm::AiRestoreResponse>(
            &alice,
            subjects::AI_RESTORE,
            &tm::AiRestoreRequest {
                confirmed: true,
                ..ask.clone()
            },
        )
        .await;
    assert_eq!(
        expect_status(no_token, 400).field_violations[0].0,
        "confirmation_token"
    );
    let forged = machine
        .call::<_, tm::AiRestoreResponse>(
            &alice,
            subjects::AI_RESTORE,
            &tm::AiRestoreRequest {
                confirmed: true,
                confirmation_token: "2.00000000000000000000000000000000".to_string(),
                ..ask.clone()
            },
        )
        .await;
    expect_status(forged, 400);
    // the chat changes between question and answer: ask again
    machine
        .say(&alice, &chat.chat_id, "assistant", "meanwhile")
        .await;
    let stale = machine
        .call::<_, tm::AiRestoreResponse>(
            &alice,
            subjects::AI_RESTORE,
            &tm::AiRestoreRequest {
                confirmed: true,
                confirmation_token: question.confirmation_token.clone(),
                ..ask.clone()
            },
        )
        .await;
    expect_status(stale, 409);
    let question: tm::AiRestoreResponse = machine
        .call(&alice, subjects::AI_RESTORE, &ask)
        .await
        .unwrap();
    let done: tm::AiRestoreResponse = machine
        .call(
            &alice,
            subjects::AI_RESTORE,
            &tm::AiRestoreRequest {
                confirmed: true,
                confirmation_token: question.confirmation_token,
                ..ask.clone()
            },
        )
        .await
        .unwrap();
    assert!(done.success);
    assert!(done.undo_available);
    assert!(
        done.message.starts_with("I've restored the message"),
        "{}",
        done.message
    );
    assert_eq!(
        machine.contents(&alice, &chat.chat_id, "").await,
        ["first draft", "meanwhile"]
    );
    // undo with an ordinary restore to the snapshot before
    machine
        .restore(
            &alice,
            tm::RestoreRequest {
                chat_id: chat.chat_id.clone(),
                snapshot_id: done.undo_snapshot_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        machine.contents(&alice, &chat.chat_id, "").await,
        ["second draft", "meanwhile"]
    );
    let unknown = machine
        .call::<_, tm::AiRestoreResponse>(
            &alice,
            subjects::AI_RESTORE,
            &tm::AiRestoreRequest {
                action: "restore_everything".to_string(),
                ..ask.clone()
            },
        )
        .await;
    assert_eq!(expect_status(unknown, 400).field_violations[0].0, "action");
    machine.stop().await;
}

#[tokio::test]
async fn compare_since_understands_dates_words_and_snapshots() {
    let machine = spawn().await;
    let alice = machine.alice();
    let chat = machine.create_chat(&alice, "Notes").await;
    let early = machine
        .say(&alice, &chat.chat_id, "user", "an old note")
        .await;
    age_everything(&machine, "3 days").await;
    machine
        .say(&alice, &chat.chat_id, "user", "a new note")
        .await;
    machine
        .say(&alice, &chat.chat_id, "assistant", "noted")
        .await;
    let since = |since: &str| tm::CompareSinceRequest {
        chat_id: chat.chat_id.clone(),
        since: since.to_string(),
        ..Default::default()
    };
    let yesterday: tm::CompareSinceResponse = machine
        .call(&alice, subjects::AI_COMPARE, &since("yesterday"))
        .await
        .unwrap();
    assert!(
        yesterday.summary.ends_with("and now: 2 new messages."),
        "{}",
        yesterday.summary
    );
    let comparison = yesterday.comparison.unwrap();
    assert_eq!(comparison.from_snapshot.unwrap().version, 1);
    let by_snapshot: tm::CompareSinceResponse = machine
        .call(
            &alice,
            subjects::AI_COMPARE,
            &since(&early.snapshot.unwrap().snapshot_id),
        )
        .await
        .unwrap();
    assert_eq!(by_snapshot.comparison.unwrap().messages_added.len(), 2);
    let long_ago: tm::CompareSinceResponse = machine
        .call(&alice, subjects::AI_COMPARE, &since("2020-01-01"))
        .await
        .unwrap();
    assert_eq!(
        long_ago.summary,
        "Since the conversation started: 3 new messages."
    );
    let ancient = machine
        .call::<_, tm::CompareSinceResponse>(
            &alice,
            subjects::AI_COMPARE,
            &since("10000 years ago"),
        )
        .await;
    assert_eq!(expect_status(ancient, 400).field_violations[0].0, "since");
    let nonsense = machine
        .call::<_, tm::CompareSinceResponse>(&alice, subjects::AI_COMPARE, &since("the blue moon"))
        .await;
    assert_eq!(expect_status(nonsense, 400).field_violations[0].0, "since");
    machine.stop().await;
}
