//! `snapshots.create` (manual), `snapshots.timeline`, `snapshots.calendar`,
//! `snapshots.by_date`, `snapshots.view` (the chat as of a snapshot), `snapshots.verify`.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::tm;

use super::access::{readable_chat, writable_chat};
use super::paging;
use crate::domain::validation::{self, check_text};
use crate::domain::verification::{self, HeadState};
use crate::domain::vocabulary::Trigger;
use crate::domain::when;
use crate::error::{TmResult, snapshot_not_found};
use crate::events::EventFacts;
use crate::machine::{Caller, TimeMachine};
use crate::store::snapshots::SnapshotRow;
use crate::store::{self, optional_rfc3339, writes};

/// At most this many messages are read for one page of an as-of view; a larger page_size
/// gets fewer messages and a token for the rest.
const MAX_ROWS_PER_PAGE: u32 = 2_000;

pub(crate) fn time_zone(name: &str) -> Result<chrono_tz::Tz, ServiceError> {
    when::parse_time_zone(name).map_err(|message| paging::invalid("time_zone", message))
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn create(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::CreateSnapshotRequest,
) -> TmResult<tm::Snapshot> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let description = request.description.trim();
    check_text(
        "description",
        description,
        machine.config.limits.max_description_chars,
        false,
    )?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, &caller, chat_id).await?;
    let mut draft = writes::SnapshotDraft::new(
        Trigger::ManualSnapshot,
        &head,
        &caller.user_id,
        store::now_micros(),
    );
    draft.description = description.to_string();
    let snapshot = writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?;
    transaction.commit().await?;
    machine.events.send(
        &context,
        caller.tenant_id,
        &head.user_id,
        &snapshot,
        &EventFacts::default(),
    );
    Ok(snapshot.to_proto())
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn timeline(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::GetTimelineRequest,
) -> TmResult<tm::Timeline> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let views = &machine.config.views;
    let page_size = validation::page_size(
        "page_size",
        request.page_size,
        views.default_timeline_page_size,
        views.max_timeline_page_size,
    )?;
    let newest_first = match request.order.trim() {
        "" | "desc" => true,
        "asc" => false,
        _ => return Err(ServiceError::invalid_field("order", "must be asc or desc").into()),
    };
    let after = paging::decode("v", &request.page_token)?
        .map(|version| {
            i32::try_from(version).map_err(|_| {
                ServiceError::invalid_field("page_token", "is not a token this list gave out")
            })
        })
        .transpose()?;
    let zone = time_zone(&request.time_zone)?;

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, &caller, chat_id).await?;
    let page =
        store::snapshots::page(&transaction, chat_id, newest_first, after, page_size + 1).await?;
    let span = store::snapshots::span(&transaction, chat_id).await?;
    let days = store::snapshots::days(&transaction, chat_id, zone.name(), None, None).await?;
    transaction.commit().await?;

    let has_more = page.len() > page_size as usize;
    let snapshots: Vec<&SnapshotRow> = page.iter().take(page_size as usize).collect();
    let next_page_token = match (has_more, snapshots.last()) {
        (true, Some(last)) => paging::encode("v", i64::from(last.version)),
        _ => String::new(),
    };
    Ok(tm::Timeline {
        chat_id: chat_id.to_string(),
        chat_title: chat.title.clone(),
        current_version: chat.head_version.max(0) as u32,
        current_message_count: store::non_negative(chat.message_count),
        current_file_count: store::non_negative(chat.file_count),
        snapshots: snapshots.iter().map(|row| row.to_proto()).collect(),
        next_page_token,
        total_snapshots: span.total,
        total_media_bytes: store::non_negative(chat.media_bytes),
        oldest_snapshot_at: optional_rfc3339(span.oldest),
        newest_snapshot_at: optional_rfc3339(span.newest),
        time_zone: zone.name().to_string(),
        snapshots_by_date: days,
    })
}

fn optional_date(field: &str, text: &str) -> Result<Option<chrono::NaiveDate>, ServiceError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    when::parse_date(text.trim())
        .map(Some)
        .map_err(|message| paging::invalid(field, format!("{field}: {message}")))
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn calendar(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::GetCalendarRequest,
) -> TmResult<tm::Calendar> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let zone = time_zone(&request.time_zone)?;
    let from_date = optional_date("from_date", &request.from_date)?;
    let to_date = optional_date("to_date", &request.to_date)?;
    if let (Some(from), Some(to)) = (from_date, to_date)
        && from > to
    {
        return Err(ServiceError::invalid_field("from_date", "must not be after to_date").into());
    }
    let from = from_date.map(|date| when::day_bounds(date, zone).0);
    let to = to_date.map(|date| when::day_bounds(date, zone).1);
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    readable_chat(&transaction, &caller, chat_id).await?;
    let days = store::snapshots::days(&transaction, chat_id, zone.name(), from, to).await?;
    transaction.commit().await?;
    Ok(tm::Calendar {
        chat_id: chat_id.to_string(),
        time_zone: zone.name().to_string(),
        days,
    })
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, date = %request.date))]
pub async fn by_date(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ListSnapshotsByDateRequest,
) -> TmResult<tm::SnapshotList> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let zone = time_zone(&request.time_zone)?;
    let date = optional_date("date", &request.date)?
        .ok_or_else(|| ServiceError::invalid_field("date", "is required (YYYY-MM-DD)"))?;
    let (from, to) = when::day_bounds(date, zone);
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    readable_chat(&transaction, &caller, chat_id).await?;
    let snapshots = store::snapshots::in_time_range(&transaction, chat_id, from, to).await?;
    transaction.commit().await?;
    Ok(tm::SnapshotList {
        snapshots: snapshots.iter().map(SnapshotRow::to_proto).collect(),
    })
}

/// The chat as of a snapshot: messages and files whose range contains its version.
#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, snapshot_id = %request.snapshot_id))]
pub async fn view(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::GetChatAtSnapshotRequest,
) -> TmResult<tm::ChatAtSnapshot> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let snapshot_id = match request.snapshot_id.trim() {
        "" | "current" => None,
        text => Some(validation::parse_uuid("snapshot_id", text)?),
    };
    let views = &machine.config.views;
    let page_size = validation::page_size(
        "page_size",
        request.page_size,
        views.default_page_size,
        views.max_page_size,
    )?;
    let after_position = paging::decode("p", &request.page_token)?;

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, &caller, chat_id).await?;
    let snapshot = match snapshot_id {
        Some(snapshot_id) => Some(
            store::snapshots::get_in_chat(&transaction, chat_id, snapshot_id)
                .await?
                .ok_or_else(snapshot_not_found)?,
        ),
        None if chat.head_version == 0 => None,
        None => store::snapshots::get_by_version(&transaction, chat_id, chat.head_version).await?,
    };
    let Some(snapshot) = snapshot else {
        transaction.commit().await?;
        return Ok(tm::ChatAtSnapshot {
            title: chat.title,
            ..Default::default()
        });
    };
    // rows fetched per page: the byte budget ends most pages long before 10,000 messages, and
    // rows fetched past it would be read for nothing
    let fetched = page_size.min(MAX_ROWS_PER_PAGE);
    store::messages::prefer_ordered_index(&transaction).await?;
    let messages = store::messages::as_of(
        &transaction,
        chat_id,
        snapshot.version,
        after_position.unwrap_or(0),
        fetched + 1,
    )
    .await?;
    let files = if after_position.is_none() {
        store::files::as_of(&transaction, chat_id, snapshot.version).await?
    } else {
        Vec::new()
    };
    transaction.commit().await?;
    let files: Vec<tm::ChatFile> = files.iter().map(|row| row.to_proto()).collect();
    // a page also ends where the reply would outgrow one NATS message
    let budget = views
        .max_page_bytes
        .saturating_sub(files.iter().map(prost::Message::encoded_len).sum());
    let has_more = messages.len() > fetched as usize;
    let (page, cut) = paging::within_budget(
        messages
            .iter()
            .take(fetched as usize)
            .map(|row| row.to_proto())
            .collect(),
        budget,
    );
    let has_more = has_more || cut;
    let next_page_token = match (has_more, page.last()) {
        (true, Some(last)) => paging::encode("p", last.position as i64),
        _ => String::new(),
    };
    Ok(tm::ChatAtSnapshot {
        title: snapshot.title.clone(),
        snapshot: Some(snapshot.to_proto()),
        messages: page,
        files,
        next_page_token,
    })
}

/// Recomputes the chat's hash chain, content hashes and running counts from the stored rows.
#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn verify(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ChatRequest,
) -> TmResult<tm::VerifyChatResponse> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    // the four reads below must see one state of the chat: writers wait meanwhile
    let chat = store::chats::lock_shared(&transaction, chat_id)
        .await?
        .filter(|chat| caller.may_access(&chat.user_id))
        .ok_or_else(crate::error::chat_not_found)?;
    let snapshots = store::snapshots::all(&transaction, chat_id).await?;
    let messages = store::messages::all(&transaction, chat_id).await?;
    let files = store::files::all(&transaction, chat_id).await?;
    transaction.commit().await?;
    let head = HeadState {
        chat_id,
        head_version: chat.head_version,
        head_checksum: chat.head_checksum.clone(),
        message_count: chat.message_count,
        file_count: chat.file_count,
        total_tokens: chat.total_tokens,
        media_bytes: chat.media_bytes,
    };
    // hashing every version of a long chat is CPU work: off the async threads
    let verdict = tokio::task::spawn_blocking(move || {
        verification::verify(&head, &snapshots, &messages, &files)
    })
    .await
    .map_err(|error| ServiceError::internal(format!("verification failed: {error}")))?;
    let mismatch = verdict.mismatch.clone();
    Ok(tm::VerifyChatResponse {
        ok: mismatch.is_none(),
        snapshots_checked: verdict.snapshots_checked,
        versions_checked: verdict.versions_checked,
        first_mismatch_version: mismatch.as_ref().map_or(0, |mismatch| mismatch.version),
        first_mismatch_snapshot_id: mismatch
            .as_ref()
            .and_then(|mismatch| mismatch.snapshot_id)
            .map(|id| id.to_string())
            .unwrap_or_default(),
        expected_checksum: mismatch
            .as_ref()
            .map(|mismatch| mismatch.expected_checksum.clone())
            .unwrap_or_default(),
        stored_checksum: mismatch
            .as_ref()
            .map(|mismatch| mismatch.stored_checksum.clone())
            .unwrap_or_default(),
        detail: mismatch
            .map(|mismatch| mismatch.detail)
            .unwrap_or_else(|| "every snapshot, content hash and running count agrees".to_string()),
    })
}
