//! The AI-friendly API (`ai.summary`, `ai.find`, `ai.restore`, `ai.compare`): answers are
//! sentences an assistant can relay, with the structured items beside them.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::tm;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::access::readable_chat;
use super::history::{self, Point, RestorePlan};
use super::paging;
use super::snapshots::time_zone;
use crate::domain::content::preview;
use crate::domain::find_query::{ItemKind, parse_find_query};
use crate::domain::narration::{self, HistoryFacts};
use crate::domain::validation::{self, check_text};
use crate::domain::vocabulary::{RestoreScope, Trigger};
use crate::domain::when;
use crate::error::{TmResult, file_not_found, message_not_found, snapshot_not_found};
use crate::machine::{Caller, TimeMachine};
use crate::store::{self, search};

/// Years 1 to 9999: what every layer (PostgreSQL, RFC 3339) represents without surprises.
fn on_the_calendar(instant: chrono::DateTime<chrono::Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&instant.year())
}

fn iso_day(instant: chrono::DateTime<chrono::Utc>) -> String {
    instant.format("%Y-%m-%d").to_string()
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn summary(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ChatRequest,
) -> TmResult<tm::HistorySummary> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let zone = chrono_tz::UTC;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, &caller, chat_id).await?;
    let span = store::snapshots::span(&transaction, chat_id).await?;
    let days = store::snapshots::days(&transaction, chat_id, zone.name(), None, None).await?;
    let file_activity = store::snapshots::latest_with_triggers(
        &transaction,
        chat_id,
        &[
            Trigger::FileUploaded.as_str(),
            Trigger::FileGenerated.as_str(),
            Trigger::FileDeleted.as_str(),
        ],
        2,
    )
    .await?;
    let restores = store::snapshots::latest_with_triggers(
        &transaction,
        chat_id,
        &[Trigger::RestorePerformed.as_str()],
        1,
    )
    .await?;
    let first = store::snapshots::get_by_version(&transaction, chat_id, 1).await?;
    transaction.commit().await?;

    let mut highlights = Vec::new();
    for snapshot in &file_activity {
        let trigger = Trigger::parse(&snapshot.trigger).map_or("file activity", Trigger::describe);
        highlights.push(narration::highlight(
            snapshot.created_at,
            zone,
            &format!("{trigger} ({})", snapshot.description),
        ));
    }
    if let Some(restore) = restores.first() {
        highlights.push(narration::highlight(
            restore.created_at,
            zone,
            &format!(
                "restored to version {}",
                restore_target_version(&restore.description)
            ),
        ));
    }
    if let Some(busiest) = days.iter().max_by_key(|day| day.snapshot_count)
        && days.len() > 1
    {
        highlights.push(format!(
            "{}: the busiest day ({} changes)",
            busiest.date, busiest.snapshot_count
        ));
    }
    if let Some(first) = &first {
        highlights.push(narration::highlight(
            first.created_at,
            zone,
            "conversation started",
        ));
    }
    let facts = HistoryFacts {
        total_snapshots: span.total,
        days_with_activity: days.len() as u64,
        message_count: store::non_negative(chat.message_count),
        file_count: store::non_negative(chat.file_count),
        oldest: span.oldest,
        restores: span.restores,
    };
    Ok(tm::HistorySummary {
        summary: narration::history_summary(&facts, zone),
        highlights,
        can_restore: span.total > 1,
        oldest_date: span.oldest.map(iso_day).unwrap_or_default(),
        newest_date: span.newest.map(iso_day).unwrap_or_default(),
        total_snapshots: span.total,
        message_count: facts.message_count,
        file_count: facts.file_count,
        total_media_bytes: store::non_negative(chat.media_bytes),
        restores: span.restores,
    })
}

/// "restored full_chat to version 3: reason" → "3".
fn restore_target_version(description: &str) -> &str {
    description
        .split("to version ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("an earlier version")
}

const FOUND_PER_KIND: u32 = 5;

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn find(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::FindInHistoryRequest,
) -> TmResult<tm::FindInHistoryResponse> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let query = request.query.trim();
    if query.is_empty() {
        return Err(ServiceError::invalid_field("query", "must not be empty").into());
    }
    check_text("query", query, machine.config.limits.max_query_chars, true)?;
    let zone = time_zone(&request.time_zone)?;
    let understood = parse_find_query(query, chrono::Utc::now(), zone);
    if let Some(range) = &understood.range
        && [range.from, range.to]
            .into_iter()
            .flatten()
            .any(|instant| !on_the_calendar(instant))
    {
        return Err(ServiceError::invalid_field(
            "query",
            format!("\"{}\" is too far in the past or future", range.label),
        )
        .into());
    }
    let range = understood.range.clone();
    let kind_label = understood.kind_label.clone();
    let mut response = tm::FindInHistoryResponse {
        search_terms: understood.terms.clone(),
        from_time: range
            .as_ref()
            .and_then(|range| range.from)
            .map(store::rfc3339)
            .unwrap_or_default(),
        to_time: range
            .as_ref()
            .and_then(|range| range.to)
            .map(store::rfc3339)
            .unwrap_or_default(),
        kind: match understood.kind {
            ItemKind::Any => "any",
            ItemKind::File => "file",
            ItemKind::Message => "message",
        }
        .to_string(),
        ..Default::default()
    };
    let has_condition = !understood.terms.is_empty()
        || range.is_some()
        || !understood.mime_hints.is_empty()
        || understood.kind == ItemKind::File;
    if !has_condition {
        response.description = format!(
            "\"{query}\" does not say what to look for. Ask with a word from the message or file, or a time such as \"last week\"."
        );
        return Ok(response);
    }
    let filter = search::SearchFilter {
        tenant_id: caller.tenant_id,
        user_id: (!caller.sees_every_chat).then(|| caller.user_id.clone()),
        chat_id: Some(chat_id),
        text: Some(understood.terms.join(" ")).filter(|text| !text.is_empty()),
        words: search::Words::AnyOf,
        from: range.as_ref().and_then(|range| range.from),
        to: range.as_ref().and_then(|range| range.to),
        role: understood.role.clone(),
        mime_prefixes: understood.mime_hints.clone(),
        limit: FOUND_PER_KIND,
    };
    let want_messages = understood.kind != ItemKind::File && understood.mime_hints.is_empty();
    let want_files = understood.kind != ItemKind::Message;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    readable_chat(&transaction, &caller, chat_id).await?;
    search::prefer_custom_plans(&transaction).await?;
    let files = if want_files {
        let name_pattern =
            (understood.terms.len() == 1).then(|| store::chats::like_pattern(&understood.terms[0]));
        search::files(&transaction, &filter, name_pattern).await?
    } else {
        Vec::new()
    };
    let messages = if want_messages && (filter.text.is_some() || range.is_some()) {
        search::messages(&transaction, &filter).await?
    } else {
        Vec::new()
    };
    transaction.commit().await?;

    let newest_file = files
        .iter()
        .max_by_key(|file| file.created_at)
        .map(|file| (file.name.as_str(), file.created_at));
    let range_label = range.as_ref().map(|range| range.label.clone());
    let subject = if kind_label.is_empty() {
        query.to_string()
    } else {
        kind_label
    };
    response.description = narration::found_description(
        &subject,
        messages.len(),
        files.len(),
        newest_file,
        range_label.as_deref(),
        zone,
    );
    for file in &files {
        response.items.push(tm::FoundItem {
            r#type: "file".to_string(),
            id: file.file_id.to_string(),
            name: file.name.clone(),
            preview: preview(&file.snippet, 100),
            date: when::local_date(file.created_at, zone).to_string(),
            snapshot_id: file
                .snapshot_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            snapshot_version: file.valid_from.max(0) as u32,
            version_id: file.version_id.to_string(),
        });
    }
    for message in &messages {
        response.items.push(tm::FoundItem {
            r#type: "message".to_string(),
            id: message.message_id.to_string(),
            name: message.role.clone(),
            preview: preview(&message.snippet, 100),
            date: when::local_date(message.created_at, zone).to_string(),
            snapshot_id: message
                .snapshot_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            snapshot_version: message.valid_from.max(0) as u32,
            version_id: message.version_id.to_string(),
        });
    }
    response.found = !response.items.is_empty();
    if !files.is_empty() {
        response
            .suggested_actions
            .extend(["download".to_string(), "show_versions".to_string()]);
    }
    if !messages.is_empty() {
        response
            .suggested_actions
            .push("jump_to_message".to_string());
    }
    if response.found {
        response.suggested_actions.push("restore".to_string());
    }
    Ok(response)
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block_key.map(|byte| byte ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block_key.map(|byte| byte ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Binds a confirmation to the exact restore, the person asking and the chat's state when it
/// was asked for; signed, so only this service can issue one.
fn confirmation_token(
    key: &str,
    user_id: &str,
    request: &tm::AiRestoreRequest,
    head_version: i32,
) -> String {
    let message = format!(
        "{}|{}|{}|{}|{}|{user_id}|{head_version}",
        request.chat_id.trim(),
        request.action.trim(),
        request.snapshot_id.trim(),
        request.file_id.trim(),
        request.message_id.trim()
    );
    let signature = hmac_sha256(key.as_bytes(), message.as_bytes());
    format!("{head_version}.{}", hex::encode(signature))
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, action = %request.action))]
pub async fn restore(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::AiRestoreRequest,
) -> TmResult<tm::AiRestoreResponse> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let action = request.action.trim();
    let scope = match action {
        "restore_file" => RestoreScope::SingleFile,
        "restore_message" => RestoreScope::SingleMessage,
        "restore_all" => RestoreScope::FullChat,
        _ => {
            return Err(ServiceError::invalid_field(
                "action",
                "must be restore_file, restore_message or restore_all",
            )
            .into());
        }
    };
    if request.snapshot_id.trim().is_empty() {
        return Err(ServiceError::invalid_field("snapshot_id", "is required").into());
    }
    let snapshot_id = validation::parse_uuid("snapshot_id", &request.snapshot_id)?;
    let file_id = match scope {
        RestoreScope::SingleFile => Some(validation::parse_uuid("file_id", &request.file_id)?),
        _ => None,
    };
    let message_id = match scope {
        RestoreScope::SingleMessage => {
            Some(validation::parse_uuid("message_id", &request.message_id)?)
        }
        _ => None,
    };

    // what the restore is about, as the person knows it
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, &caller, chat_id).await?;
    let target = store::snapshots::get_in_chat(&transaction, chat_id, snapshot_id)
        .await?
        .ok_or_else(snapshot_not_found)?;
    let target_name = match (file_id, message_id) {
        (Some(file_id), _) => {
            let versions = store::files::versions(&transaction, chat_id, file_id).await?;
            let file = versions.first().ok_or_else(file_not_found)?;
            format!("'{}'", file.name)
        }
        (_, Some(message_id)) => {
            let versions = store::messages::versions(&transaction, chat_id, message_id).await?;
            versions.first().ok_or_else(message_not_found)?;
            "the message".to_string()
        }
        _ => "the conversation".to_string(),
    };
    transaction.commit().await?;
    let when_text = when::format_moment(target.created_at, chrono_tz::UTC);
    let key = radiant_config::ExposeSecret::expose_secret(&machine.config.ai.confirmation_key);
    let token = confirmation_token(key, &caller.user_id, &request, chat.head_version);

    if !request.confirmed {
        return Ok(tm::AiRestoreResponse {
            needs_confirmation: true,
            message: narration::restore_confirmation(action, &target_name, &when_text),
            action: action.to_string(),
            confirmation_token: token,
            ..Default::default()
        });
    }
    let given = request.confirmation_token.trim();
    if given.is_empty() {
        return Err(ServiceError::invalid_field(
            "confirmation_token",
            "is required to confirm: ask without confirmed first",
        )
        .into());
    }
    let confirmed_version = given
        .split_once('.')
        .and_then(|(version, _)| version.parse::<i32>().ok())
        .ok_or_else(|| {
            paging::invalid(
                "confirmation_token",
                "confirmation_token: is not a token this API gave out".to_string(),
            )
        })?;
    if confirmation_token(key, &caller.user_id, &request, confirmed_version) != given {
        return Err(ServiceError::invalid_field(
            "confirmation_token",
            "does not belong to this restore",
        )
        .into());
    }
    let plan = RestorePlan {
        chat_id,
        target_snapshot_id: snapshot_id,
        scope,
        message_ids: message_id.into_iter().collect(),
        file_ids: file_id.into_iter().collect(),
        reason: "AI-assisted restore".to_string(),
        expected_head_version: Some(confirmed_version),
    };
    let restored = history::perform_restore(machine, &context, &caller, &plan).await?;
    let result = restored.result;
    Ok(tm::AiRestoreResponse {
        needs_confirmation: false,
        success: true,
        message: narration::restore_done(
            action,
            &target_name,
            &when_text,
            result.messages_restored,
            result.messages_removed,
            result.files_restored,
        ),
        action: action.to_string(),
        confirmation_token: String::new(),
        undo_available: !result.previous_snapshot_id.is_empty(),
        undo_snapshot_id: result.previous_snapshot_id.clone(),
        new_version: result.new_version,
        result: Some(result),
    })
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, since = %request.since))]
pub async fn compare_since(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::CompareSinceRequest,
) -> TmResult<tm::CompareSinceResponse> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let zone = time_zone(&request.time_zone)?;
    let since = request.since.trim();
    if since.is_empty() {
        return Err(ServiceError::invalid_field("since", "is required").into());
    }
    let from = match Uuid::parse_str(since) {
        Ok(snapshot_id) => Point::Snapshot(snapshot_id),
        Err(_) => {
            let instant = when::parse_since(since, chrono::Utc::now(), zone)
                .map_err(|message| paging::invalid("since", message))?;
            if !on_the_calendar(instant) {
                return Err(ServiceError::invalid_field(
                    "since",
                    "is too far in the past or future",
                )
                .into());
            }
            Point::AtTime(instant)
        }
    };
    let compared = history::compare_points(machine, &caller, chat_id, from, Point::Current).await?;
    let comparison = history::comparison(compared, zone);
    Ok(tm::CompareSinceResponse {
        summary: comparison.summary.clone(),
        comparison: Some(comparison),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn confirmations_are_bound_to_the_person_and_the_state() {
        let request = tm::AiRestoreRequest {
            chat_id: "c".to_string(),
            action: "restore_all".to_string(),
            snapshot_id: "s".to_string(),
            ..Default::default()
        };
        let token = confirmation_token("k", "alice", &request, 4);
        assert!(token.starts_with("4."));
        assert_ne!(token, confirmation_token("k", "bob", &request, 4));
        assert_ne!(token, confirmation_token("k", "alice", &request, 5));
        assert_ne!(token, confirmation_token("other key", "alice", &request, 4));
    }
}
