//! `files.upload`, `files.attach`, `files.delete`, `files.list`, `files.versions`,
//! `files.download`. Bytes go to the media vault; the chat records which vault version each
//! of its file versions is, and snapshots every change.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::{media as media_proto, tm};
use uuid::Uuid;

use super::access::{readable_chat, writable_chat};
use crate::domain::chain::ChangeEntry;
use crate::domain::validation::{self, check_text};
use crate::domain::vocabulary::{Trigger, parse_file_source};
use crate::error::{TmResult, file_not_found, message_not_found};
use crate::events::EventFacts;
use crate::machine::{Caller, TimeMachine};
use crate::media;
use crate::store::files::FileVersionRow;
use crate::store::{self, writes};

const MAX_NAME_CHARS: usize = 255;

fn check_name(name: &str) -> Result<(), ServiceError> {
    if name.trim().is_empty() {
        return Err(ServiceError::invalid_field("name", "must not be empty"));
    }
    check_text("name", name, MAX_NAME_CHARS, true)
}

/// MIME types whose bytes are text worth indexing.
fn is_text_like(mime_type: &str) -> bool {
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/json"
                | "application/xml"
                | "application/x-yaml"
                | "application/yaml"
                | "application/javascript"
                | "application/x-sh"
                | "application/sql"
        )
}

/// The text of a text file for search, cut at a character boundary; none for binary data.
pub fn extracted_text(mime_type: &str, content: &[u8], max_bytes: usize) -> String {
    if !is_text_like(mime_type) {
        return String::new();
    }
    let head = &content[..content.len().min(max_bytes)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // a multi-byte character cut by the limit: keep what is whole
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return String::new(),
    };
    text.replace('\0', " ")
}

struct FileToRecord {
    chat_id: Uuid,
    vault: media_proto::FileVersion,
    source: &'static str,
    message_id: Option<Uuid>,
    description: String,
    extracted_text: String,
}

/// Records a vault file version as the chat's current version of that file (no-op when it
/// already is) and snapshots it.
async fn record(
    machine: &TimeMachine,
    context: &RequestContext,
    caller: &Caller,
    file: FileToRecord,
) -> TmResult<tm::ChatFile> {
    let media_file_id = validation::parse_uuid("media_file_id", &file.vault.file_id)?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, caller, file.chat_id).await?;
    if let Some(message_id) = file.message_id {
        store::messages::positions(&transaction, file.chat_id, &[message_id])
            .await?
            .first()
            .ok_or_else(message_not_found)?;
    }
    if let Some(current) = store::files::current(&transaction, file.chat_id, media_file_id).await?
        && current.media_version == file.vault.version as i32
    {
        // the same bytes recorded again (a retried upload): nothing changes
        transaction.commit().await?;
        return Ok(current.to_proto());
    }
    let now = store::now_micros();
    let version = writes::next_version(&head);
    let new = writes::NewFileVersion {
        version_id: Uuid::now_v7(),
        file_id: media_file_id,
        name: file.vault.name.clone(),
        mime_type: file.vault.mime_type.clone(),
        size_bytes: file.vault.size_bytes.min(i64::MAX as u64) as i64,
        sha256: file.vault.sha256.clone(),
        source: file.source.to_string(),
        message_id: file.message_id,
        description: file.description.clone(),
        extracted_text: file.extracted_text,
        media_file_id,
        media_version: file.vault.version as i32,
        created_by: caller.user_id.clone(),
        restored_from: None,
        valid_from: version,
        created_at: now,
    };
    let recorded = writes::record_file_version(
        &transaction,
        caller.tenant_id,
        file.chat_id,
        head.next_file_position,
        &new,
    )
    .await?;
    let trigger = if file.source == "ai_generated" {
        Trigger::FileGenerated
    } else {
        Trigger::FileUploaded
    };
    let mut draft = writes::SnapshotDraft::new(trigger, &head, &caller.user_id, now);
    draft.trigger_file_id = Some(media_file_id);
    draft.trigger_message_id = file.message_id;
    draft.description = file.vault.name.clone();
    if let Some(ended) = recorded.ended_version_id {
        draft
            .entries
            .push(ChangeEntry::FileEnded { version_id: ended });
    }
    draft.entries.push(ChangeEntry::FileStarted {
        version_id: new.version_id,
        file_id: media_file_id,
        version: recorded.version.max(0) as u32,
        name: new.name.clone(),
        mime_type: new.mime_type.clone(),
        sha256: new.sha256.clone(),
        media_file_id: new.media_file_id,
        media_version: new.media_version,
    });
    draft.file_delta = i64::from(recorded.newly_present);
    draft.media_bytes_delta = new.size_bytes;
    draft.file_positions_used = i64::from(recorded.new_position);
    let snapshot = writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?;
    let row = store::files::current(&transaction, file.chat_id, media_file_id)
        .await?
        .ok_or_else(file_not_found)?;
    transaction.commit().await?;
    machine.events.send(
        context,
        caller.tenant_id,
        &head.user_id,
        &snapshot,
        &EventFacts {
            file_id: Some(media_file_id),
            message_id: file.message_id,
            ..Default::default()
        },
    );
    Ok(row.to_proto())
}

/// Refuses early (before bytes travel to the vault) when the chat cannot take the file.
async fn check_chat_takes_files(
    machine: &TimeMachine,
    caller: &Caller,
    chat_id: Uuid,
) -> TmResult<()> {
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, caller, chat_id).await?;
    transaction.commit().await?;
    if chat.is_deleted {
        return Err(ServiceError::conflict("the chat is deleted; restore it first").into());
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, size = request.content.len()))]
pub async fn upload(
    machine: &TimeMachine,
    context: RequestContext,
    mut request: tm::UploadFileRequest,
) -> TmResult<tm::ChatFile> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    check_name(&request.name)?;
    let source = parse_file_source(&request.source)?;
    let message_id = validation::parse_optional_uuid("message_id", &request.message_id)?;
    let description = request.description.trim().to_string();
    check_text(
        "description",
        &description,
        machine.config.limits.max_description_chars,
        false,
    )?;
    validation::check_idempotency_key(&request.idempotency_key)?;
    let limit = machine.config.files.max_upload_bytes;
    if request.content.len() > limit {
        return Err(ServiceError::payload_too_large(format!(
            "{} bytes is over the {limit} bytes of one request; upload through a media upload session \
             (scope chat:{chat_id}) and attach the file",
            request.content.len()
        ))
        .into());
    }
    check_chat_takes_files(machine, &caller, chat_id).await?;
    let content = std::mem::take(&mut request.content);
    let extracted = extracted_text(
        &request.mime_type,
        &content,
        machine.config.files.max_extracted_text_bytes,
    );
    let vault = media::store(
        machine,
        &context,
        media::StoredBytes {
            scope: media::chat_scope(chat_id),
            name: request.name.trim(),
            mime_type: &request.mime_type,
            content,
            source: media::file_source(source),
            idempotency_key: request.idempotency_key.clone(),
        },
    )
    .await?;
    record(
        machine,
        &context,
        &caller,
        FileToRecord {
            chat_id,
            vault,
            source,
            message_id,
            description,
            extracted_text: extracted,
        },
    )
    .await
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, media_file_id = %request.media_file_id))]
pub async fn attach(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::AttachFileRequest,
) -> TmResult<tm::ChatFile> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let media_file_id = validation::parse_uuid("media_file_id", &request.media_file_id)?;
    let source = parse_file_source(&request.source)?;
    let message_id = validation::parse_optional_uuid("message_id", &request.message_id)?;
    let description = request.description.trim().to_string();
    check_text(
        "description",
        &description,
        machine.config.limits.max_description_chars,
        false,
    )?;
    check_chat_takes_files(machine, &caller, chat_id).await?;
    let vault = media::get(
        machine,
        &context,
        &media_file_id.to_string(),
        request.media_version,
    )
    .await?;
    if vault.scope != media::chat_scope(chat_id) {
        return Err(ServiceError::invalid_field(
            "media_file_id",
            format!("the file's media scope must be chat:{chat_id}"),
        )
        .into());
    }
    if vault.upload_status() != media_proto::UploadStatus::Completed {
        return Err(ServiceError::conflict("the media file's upload is not complete").into());
    }
    let max_bytes = machine.config.files.max_extracted_text_bytes;
    let extracted = if is_text_like(&vault.mime_type) {
        // text is indexed from the first bytes; a read failure only costs searchability
        match media::fetch(
            machine,
            &context,
            &vault.file_id,
            vault.version,
            64 * 1024 * 1024,
        )
        .await
        {
            Ok(bytes) => extracted_text(&vault.mime_type, &bytes, max_bytes),
            Err(error) => {
                tracing::warn!(error = %ServiceError::from(error), "attached file's text not indexed");
                String::new()
            }
        }
    } else {
        String::new()
    };
    record(
        machine,
        &context,
        &caller,
        FileToRecord {
            chat_id,
            vault,
            source,
            message_id,
            description,
            extracted_text: extracted,
        },
    )
    .await
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, file_id = %request.file_id))]
pub async fn delete(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::DeleteFileRequest,
) -> TmResult<tm::ChatFile> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let file_id = validation::parse_uuid("file_id", &request.file_id)?;
    let reason = request.reason.trim();
    check_text(
        "reason",
        reason,
        machine.config.limits.max_reason_chars,
        false,
    )?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let head = writable_chat(&transaction, &caller, chat_id).await?;
    let Some(current) = store::files::current(&transaction, chat_id, file_id).await? else {
        // deleted already (answer its last version) or never in this chat
        let versions = store::files::versions(&transaction, chat_id, file_id).await?;
        transaction.commit().await?;
        return versions
            .first()
            .map(FileVersionRow::to_proto)
            .ok_or_else(file_not_found);
    };
    let version = writes::next_version(&head);
    writes::end_file_version(&transaction, current.version_id, version).await?;
    let mut draft = writes::SnapshotDraft::new(
        Trigger::FileDeleted,
        &head,
        &caller.user_id,
        store::now_micros(),
    );
    draft.trigger_file_id = Some(file_id);
    draft.description = if reason.is_empty() {
        current.name.clone()
    } else {
        format!("{}: {reason}", current.name)
    };
    draft.entries.push(ChangeEntry::FileEnded {
        version_id: current.version_id,
    });
    draft.file_delta = -1;
    let snapshot = writes::commit_snapshot(&transaction, caller.tenant_id, &head, &draft).await?;
    transaction.commit().await?;
    machine.events.send(
        &context,
        caller.tenant_id,
        &head.user_id,
        &snapshot,
        &EventFacts {
            file_id: Some(file_id),
            ..Default::default()
        },
    );
    let mut file = current.to_proto();
    file.valid_to = version.max(0) as u32;
    Ok(file)
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn list(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ListFilesRequest,
) -> TmResult<tm::ChatFileList> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, &caller, chat_id).await?;
    let mut files = store::files::as_of(&transaction, chat_id, chat.head_version).await?;
    if request.include_deleted {
        files.extend(store::files::deleted(&transaction, chat_id).await?);
    }
    transaction.commit().await?;
    Ok(tm::ChatFileList {
        files: files.iter().map(FileVersionRow::to_proto).collect(),
    })
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id))]
pub async fn versions(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::ListFileVersionsRequest,
) -> TmResult<tm::ChatFileList> {
    let caller = Caller::of(&context)?;
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let file_id = validation::parse_optional_uuid("file_id", &request.file_id)?;
    if file_id.is_none() && request.name.trim().is_empty() {
        return Err(
            ServiceError::invalid_field("file_id", "give the file's id or its name").into(),
        );
    }
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    readable_chat(&transaction, &caller, chat_id).await?;
    let file_id = store::files::find_file_id(&transaction, chat_id, file_id, request.name.trim())
        .await?
        .ok_or_else(file_not_found)?;
    let versions = store::files::versions(&transaction, chat_id, file_id).await?;
    transaction.commit().await?;
    Ok(tm::ChatFileList {
        files: versions.iter().map(FileVersionRow::to_proto).collect(),
    })
}

#[tracing::instrument(skip_all, fields(file_version_id = %request.file_version_id))]
pub async fn download(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::GetFileDownloadRequest,
) -> TmResult<tm::FileDownload> {
    let caller = Caller::of(&context)?;
    let version_id = validation::parse_uuid("file_version_id", &request.file_version_id)?;
    let files = &machine.config.files;
    let expires_in = validation::page_size(
        "expires_in_seconds",
        request.expires_in_seconds,
        files.default_download_expiry_seconds,
        files.max_download_expiry_seconds,
    )?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let file = store::files::by_version_id(&transaction, version_id)
        .await?
        .ok_or_else(file_not_found)?;
    readable_chat(&transaction, &caller, file.chat_id)
        .await
        .map_err(|_| file_not_found())?;
    transaction.commit().await?;
    let location = media::download_url(
        machine,
        &context,
        &file.media_file_id.to_string(),
        file.media_version.max(0) as u32,
        expires_in,
    )
    .await?;
    Ok(tm::FileDownload {
        url: location.url,
        expires_at: location
            .expires_at
            .and_then(|time| {
                chrono::DateTime::from_timestamp(time.seconds, time.nanos.max(0) as u32)
            })
            .map(store::rfc3339)
            .unwrap_or_default(),
        name: file.name,
        mime_type: location.mime_type,
        size_bytes: location.size_bytes,
        sha256: location.sha256,
    })
}
