//! `exports.create` and `exports.get`: an export is recorded pending and handed to the
//! export job consumer; once ready it is downloadable by a presigned URL until it expires.

use chrono::Utc;
use radiant_bus::jetstream::publish_message;
use radiant_bus::subjects::tm as subjects;
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::{events, tm};
use uuid::Uuid;

use super::access::readable_chat;
use crate::domain::validation::{self, check_idempotency_key};
use crate::domain::vocabulary::ExportFormat;
use crate::error::{TmError, TmResult, snapshot_not_found};
use crate::machine::{Caller, TimeMachine};
use crate::media;
use crate::store::exports::{self, ExportRow};
use crate::store::{self, rfc3339};

fn export_not_found() -> TmError {
    TmError::Service(ServiceError::not_found("no such export"))
}

fn zip_text_format(format: ExportFormat, requested: &str) -> Result<&'static str, ServiceError> {
    if format != ExportFormat::Zip {
        if !requested.trim().is_empty() {
            return Err(ServiceError::invalid_field(
                "zip_text_format",
                "applies to zip exports only",
            ));
        }
        return Ok("");
    }
    match requested.trim() {
        "" | "markdown" | "md" => Ok("markdown"),
        "json" => Ok("json"),
        "html" => Ok("html"),
        _ => Err(ServiceError::invalid_field(
            "zip_text_format",
            "must be json, markdown or html",
        )),
    }
}

/// Hands the export to the job consumer (`Nats-Msg-Id` = its id, so a repeat is dropped).
async fn enqueue(
    machine: &TimeMachine,
    context: &RequestContext,
    tenant_id: Uuid,
    export_id: Uuid,
) -> TmResult<()> {
    let subject = machine
        .namespace
        .job_subject(subjects::EVENT_DOMAIN, subjects::EXPORT_JOB);
    publish_message(
        &machine.jetstream,
        &subject,
        &format!("{export_id}:{}", Uuid::now_v7()),
        context,
        &events::ChatExportJob {
            tenant_id: tenant_id.to_string(),
            export_id: export_id.to_string(),
        },
    )
    .await
    .map_err(|error| {
        tracing::warn!(%error, "export job not queued");
        TmError::Service(ServiceError::unavailable(
            "the export could not be queued; try again",
        ))
    })?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(chat_id = %request.chat_id, format = %request.format))]
pub async fn create(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::CreateExportRequest,
) -> TmResult<tm::ExportBundle> {
    let caller = Caller::of(&context)?;
    if !machine.config.exports.enabled {
        return Err(ServiceError::unavailable("exports are switched off on this platform").into());
    }
    let chat_id = validation::parse_uuid("chat_id", &request.chat_id)?;
    let format = ExportFormat::parse(&request.format)?;
    let zip_text_format = zip_text_format(format, &request.zip_text_format)?;
    if request.include_media && format != ExportFormat::Zip {
        return Err(ServiceError::invalid_field(
            "include_media",
            "media travel in zip exports only",
        )
        .into());
    }
    let from_snapshot_id =
        validation::parse_optional_uuid("from_snapshot_id", &request.from_snapshot_id)?;
    let to_snapshot_id =
        validation::parse_optional_uuid("to_snapshot_id", &request.to_snapshot_id)?;
    check_idempotency_key(&request.idempotency_key)?;
    let key = Some(request.idempotency_key.trim()).filter(|key| !key.is_empty());

    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let chat = readable_chat(&transaction, &caller, chat_id).await?;
    if let Some(key) = key
        && let Some(existing) = exports::find_by_key(&transaction, &caller.user_id, key).await?
    {
        if existing.status == "failed" {
            exports::requeue(&transaction, existing.export_id).await?;
            transaction.commit().await?;
            if let Err(error) =
                enqueue(machine, &context, caller.tenant_id, existing.export_id).await
            {
                // not queued: failed again, so the next request with this key tries again
                let transaction = machine.tenant_transaction(caller.tenant_id).await?;
                exports::fail(
                    &transaction,
                    existing.export_id,
                    "the export could not be queued",
                )
                .await?;
                transaction.commit().await?;
                return Err(error);
            }
            let mut bundle = existing.to_proto(Utc::now());
            bundle.status = "pending".to_string();
            bundle.error_message.clear();
            return Ok(bundle);
        }
        transaction.commit().await?;
        return Ok(existing.to_proto(Utc::now()));
    }
    if chat.head_version == 0 {
        return Err(ServiceError::conflict("the chat has no history to export yet").into());
    }
    let to = match to_snapshot_id {
        Some(id) => store::snapshots::get_in_chat(&transaction, chat_id, id).await?,
        None => store::snapshots::get_by_version(&transaction, chat_id, chat.head_version).await?,
    }
    .ok_or_else(snapshot_not_found)?;
    let from = match from_snapshot_id {
        Some(id) => Some(
            store::snapshots::get_in_chat(&transaction, chat_id, id)
                .await?
                .ok_or_else(snapshot_not_found)?,
        ),
        None => None,
    };
    let from_version = from.as_ref().map_or(1, |from| from.version);
    if from_version > to.version {
        return Err(ServiceError::invalid_field(
            "from_snapshot_id",
            "must not be newer than to_snapshot_id",
        )
        .into());
    }
    let export_id = Uuid::now_v7();
    let inserted = exports::insert(
        &transaction,
        &exports::NewExport {
            export_id,
            tenant_id: caller.tenant_id,
            chat_id,
            user_id: &caller.user_id,
            format: format.as_str(),
            zip_text_format,
            include_media: request.include_media,
            include_version_history: request.include_version_history,
            from_snapshot_id: from.as_ref().map(|from| from.snapshot_id),
            to_snapshot_id: to.snapshot_id,
            from_version,
            to_version: to.version,
            idempotency_key: key,
            expires_at: Utc::now()
                + chrono::Duration::seconds(machine.config.exports.ttl_seconds as i64),
        },
    )
    .await?;
    let export = match inserted {
        Some(export) => export,
        // a concurrent request with the same key won
        None => match key {
            Some(key) => exports::find_by_key(&transaction, &caller.user_id, key)
                .await?
                .ok_or_else(export_not_found)?,
            None => return Err(export_not_found()),
        },
    };
    transaction.commit().await?;
    if export.export_id == export_id
        && let Err(error) = enqueue(machine, &context, caller.tenant_id, export_id).await
    {
        let transaction = machine.tenant_transaction(caller.tenant_id).await?;
        exports::fail(&transaction, export_id, "the export could not be queued").await?;
        transaction.commit().await?;
        return Err(error);
    }
    Ok(export.to_proto(Utc::now()))
}

#[tracing::instrument(skip_all, fields(export_id = %request.export_id))]
pub async fn get(
    machine: &TimeMachine,
    context: RequestContext,
    request: tm::GetExportRequest,
) -> TmResult<tm::ExportBundle> {
    let caller = Caller::of(&context)?;
    let export_id = validation::parse_uuid("export_id", &request.export_id)?;
    let files = &machine.config.files;
    let requested_expiry = validation::page_size(
        "expires_in_seconds",
        request.expires_in_seconds,
        files.default_download_expiry_seconds,
        files.max_download_expiry_seconds,
    )?;
    let transaction = machine.tenant_transaction(caller.tenant_id).await?;
    let export: ExportRow = exports::get(&transaction, export_id)
        .await?
        .filter(|export| caller.may_access(&export.user_id))
        .ok_or_else(export_not_found)?;
    let now = Utc::now();
    let status = export.effective_status(now).to_string();
    if status == "expired" && export.status != "expired" {
        exports::mark_expired(&transaction, export_id).await?;
    }
    let downloadable = status == "ready";
    if downloadable {
        exports::record_download(&transaction, export_id).await?;
    }
    transaction.commit().await?;
    let mut bundle = export.to_proto(now);
    if let (true, Some(media_file_id), Some(media_version)) =
        (downloadable, export.media_file_id, export.media_version)
    {
        // a link never outlives the bundle
        let remaining = (export.expires_at - now).num_seconds().max(1) as u32;
        let location = media::download_url(
            machine,
            &context,
            &media_file_id.to_string(),
            media_version.max(0) as u32,
            requested_expiry.min(remaining),
        )
        .await?;
        bundle.download_url = location.url;
        bundle.download_count += 1;
        if let Some(expires) = location
            .expires_at
            .and_then(|time| chrono::DateTime::from_timestamp(time.seconds, 0))
        {
            tracing::debug!(link_expires_at = %rfc3339(expires), "export link issued");
        }
    }
    Ok(bundle)
}
