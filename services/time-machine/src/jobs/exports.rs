//! The export job consumer (durable `tm-exports` on the work queue `RADIANT_CHAT_JOBS`):
//! claims the bundle, reads the chat in its snapshot range, renders it, stores the bundle
//! through the media vault and marks it ready. Redelivered jobs of a finished bundle do
//! nothing; a bundle that cannot be made is marked failed with the reason.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use radiant_bus::RequestContext;
use radiant_bus::jetstream::{ConsumerRunner, ConsumerSpec, JobError, JobMessage, RunningConsumer};
use radiant_bus::subjects::tm as subjects;
use radiant_proto::events;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::export::{
    self, ExportDocument, ExportFile, ExportMessage, ExportMessageVersion, ExportSnapshot,
    MediaEntry, TextFormat,
};
use crate::domain::vocabulary::ExportFormat;
use crate::error::TmError;
use crate::machine::{SharedMachine, TimeMachine};
use crate::media;
use crate::store::exports::{self, ExportRow};
use crate::store::files::FileVersionRow;
use crate::store::messages::VersionRow;
use crate::store::snapshots::SnapshotRow;
use crate::store::{self, api_valid_to, non_negative};

pub async fn start(machine: SharedMachine) -> anyhow::Result<RunningConsumer> {
    let mut spec = ConsumerSpec::new(
        &machine.namespace.stream_name(subjects::JOBS_STREAM),
        subjects::EXPORT_CONSUMER,
    );
    spec.concurrency = machine.config.exports.concurrency;
    spec.max_deliver = machine.config.exports.max_deliver;
    // rendering a long chat with its media takes a while; the runner sends progress acks
    spec.ack_wait = Duration::from_secs(60);
    let handler_machine = machine.clone();
    let consumer = ConsumerRunner::start(
        machine.jetstream.clone(),
        machine.namespace.clone(),
        spec,
        move |job: JobMessage| {
            let machine = handler_machine.clone();
            async move { handle(machine, job).await }
        },
    )
    .await?;
    Ok(consumer)
}

/// Why a bundle could not be made, and whether trying again may help.
enum ExportFailure {
    Passing(String),
    Permanent(String),
}

impl From<TmError> for ExportFailure {
    fn from(error: TmError) -> Self {
        let error = radiant_bus::ServiceError::from(error);
        if error.status() >= 500 || error.status() == 429 {
            ExportFailure::Passing(error.message)
        } else {
            ExportFailure::Permanent(error.message)
        }
    }
}

impl From<radiant_db::sea_orm::DbErr> for ExportFailure {
    fn from(error: radiant_db::sea_orm::DbErr) -> Self {
        ExportFailure::Passing(format!("database: {error}"))
    }
}

async fn handle(machine: Arc<TimeMachine>, job: JobMessage) -> Result<(), JobError> {
    let request: events::ChatExportJob = job.decode()?;
    let tenant_id = Uuid::parse_str(&request.tenant_id)
        .map_err(|_| JobError::Reject("tenant_id is not a UUID".to_string()))?;
    let export_id = Uuid::parse_str(&request.export_id)
        .map_err(|_| JobError::Reject("export_id is not a UUID".to_string()))?;
    let last_attempt = machine.config.exports.max_deliver > 0
        && job.delivered >= machine.config.exports.max_deliver as u64;
    match produce(&machine, tenant_id, export_id).await {
        Ok(()) => Ok(()),
        Err(ExportFailure::Passing(reason)) if !last_attempt => {
            tracing::warn!(%export_id, %reason, "export failed for now; it will be retried");
            Err(JobError::Retry(reason))
        }
        Err(ExportFailure::Passing(reason) | ExportFailure::Permanent(reason)) => {
            tracing::warn!(%export_id, %reason, "export failed");
            let transaction = radiant_db::begin_tenant(&machine.database, tenant_id)
                .await
                .map_err(|error| JobError::Retry(error.to_string()))?;
            exports::fail(&transaction, export_id, &reason)
                .await
                .map_err(|error| JobError::Retry(error.to_string()))?;
            transaction
                .commit()
                .await
                .map_err(|error| JobError::Retry(error.to_string()))?;
            Ok(())
        }
    }
}

/// What the bundle shows, read in one transaction so it is one consistent picture.
struct ChatPicture {
    title: String,
    snapshot: SnapshotRow,
    snapshots: Vec<SnapshotRow>,
    messages: Vec<VersionRow>,
    files: Vec<FileVersionRow>,
    history: Option<Vec<VersionRow>>,
}

async fn read_picture(
    machine: &TimeMachine,
    tenant_id: Uuid,
    export: &ExportRow,
) -> Result<ChatPicture, ExportFailure> {
    let transaction = machine.tenant_transaction(tenant_id).await?;
    let snapshot =
        store::snapshots::get_by_version(&transaction, export.chat_id, export.to_version)
            .await?
            .ok_or_else(|| ExportFailure::Permanent("the export's snapshot is gone".to_string()))?;
    let snapshots = store::snapshots::in_version_range(
        &transaction,
        export.chat_id,
        export.from_version,
        export.to_version,
    )
    .await?;
    store::messages::prefer_ordered_index(&transaction).await?;
    let mut messages = Vec::new();
    let mut after = 0i64;
    loop {
        let page = store::messages::as_of(
            &transaction,
            export.chat_id,
            export.to_version,
            after,
            5_000,
        )
        .await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        let done = page.len() < 5_000;
        messages.extend(page);
        if done {
            break;
        }
    }
    let files = store::files::as_of(&transaction, export.chat_id, export.to_version).await?;
    let history = if export.include_version_history {
        Some(
            store::messages::overlapping(
                &transaction,
                export.chat_id,
                export.from_version,
                export.to_version,
            )
            .await?,
        )
    } else {
        None
    };
    transaction.commit().await.map_err(ExportFailure::from)?;
    Ok(ChatPicture {
        title: snapshot.title.clone(),
        snapshot,
        snapshots,
        messages,
        files,
        history,
    })
}

fn export_snapshot(snapshot: &SnapshotRow) -> ExportSnapshot {
    ExportSnapshot {
        snapshot_id: snapshot.snapshot_id.to_string(),
        version: snapshot.version_number(),
        created_at: snapshot.created_at,
        trigger: snapshot.trigger.clone(),
        description: snapshot.description.clone(),
        message_count: non_negative(snapshot.message_count),
        file_count: non_negative(snapshot.file_count),
        checksum: snapshot.checksum.clone(),
    }
}

fn document(export: &ExportRow, picture: &ChatPicture, with_media: bool) -> ExportDocument {
    let mut taken = HashSet::new();
    ExportDocument {
        format_version: 1,
        chat_id: export.chat_id.to_string(),
        title: picture.title.clone(),
        exported_at: chrono::Utc::now(),
        from_version: export.from_version.max(0) as u32,
        to_version: export.to_version.max(0) as u32,
        snapshot: export_snapshot(&picture.snapshot),
        messages: picture
            .messages
            .iter()
            .map(|row| {
                let metadata = row.metadata();
                ExportMessage {
                    message_id: row.message_id.to_string(),
                    position: non_negative(row.position),
                    role: row.role.clone(),
                    content: row.content.clone(),
                    created_at: row.message_created_at,
                    version: row.version.max(0) as u32,
                    model_id: metadata.model_id.clone(),
                    total_tokens: crate::domain::content::tokens_of(&metadata),
                    edited: row.version > 1,
                }
            })
            .collect(),
        files: picture
            .files
            .iter()
            .map(|row| ExportFile {
                file_id: row.file_id.to_string(),
                name: row.name.clone(),
                version: row.version.max(0) as u32,
                mime_type: row.mime_type.clone(),
                size_bytes: non_negative(row.size_bytes),
                sha256: row.sha256.clone(),
                created_at: row.created_at,
                bundle_path: if with_media {
                    export::bundle_path_for(&row.name, &mut taken)
                } else {
                    String::new()
                },
            })
            .collect(),
        snapshots: picture.snapshots.iter().map(export_snapshot).collect(),
        history: picture.history.as_ref().map(|rows| {
            rows.iter()
                .map(|row| ExportMessageVersion {
                    message_id: row.message_id.to_string(),
                    position: non_negative(row.position),
                    role: row.role.clone(),
                    version: row.version.max(0) as u32,
                    content: row.content.clone(),
                    created_at: row.version_created_at,
                    valid_from: row.valid_from.max(0) as u32,
                    valid_to: api_valid_to(row.valid_to),
                    edit_reason: row.edit_reason.clone().unwrap_or_default(),
                    restored: row.restored_from.is_some(),
                })
                .collect()
        }),
    }
}

fn text_format(name: &str) -> TextFormat {
    match name {
        "json" => TextFormat::Json,
        "html" => TextFormat::Html,
        _ => TextFormat::Markdown,
    }
}

/// A file name people recognise: the chat's title, then the export id.
fn bundle_name(title: &str, export_id: Uuid, extension: &str) -> String {
    let slug: String = title
        .chars()
        .map(|character| {
            if character.is_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    let slug = if slug.is_empty() {
        "chat".to_string()
    } else {
        slug
    };
    let short_id = export_id.simple().to_string();
    format!("{slug}-{}.{extension}", &short_id[short_id.len() - 8..])
}

async fn produce(
    machine: &TimeMachine,
    tenant_id: Uuid,
    export_id: Uuid,
) -> Result<(), ExportFailure> {
    let transaction = machine.tenant_transaction(tenant_id).await?;
    let Some(export) = exports::claim(&transaction, export_id).await? else {
        // finished already: a redelivered job
        return Ok(());
    };
    transaction.commit().await.map_err(ExportFailure::from)?;
    let format = ExportFormat::parse(&export.format)
        .map_err(|error| ExportFailure::Permanent(error.message))?;
    let picture = read_picture(machine, tenant_id, &export).await?;
    let with_media = format == ExportFormat::Zip && export.include_media;
    let document = document(&export, &picture, with_media);
    let context = RequestContext::for_tenant(tenant_id, &export.user_id)
        .with_deadline_in(Duration::from_secs(600));

    let mut media_entries = Vec::new();
    if with_media {
        let total: u64 = document.files.iter().map(|file| file.size_bytes).sum();
        let limit = machine.config.exports.max_media_bytes;
        if total > limit {
            return Err(ExportFailure::Permanent(format!(
                "the chat's files are {total} bytes, over the {limit} bytes a bundle may carry; export without media"
            )));
        }
        for (row, file) in picture.files.iter().zip(&document.files) {
            let bytes = media::fetch(
                machine,
                &context,
                &row.media_file_id.to_string(),
                row.media_version.max(0) as u32,
                limit,
            )
            .await?;
            media_entries.push(MediaEntry {
                bundle_path: file.bundle_path.clone(),
                bytes,
            });
        }
    }
    let zip_text = text_format(&export.zip_text_format);
    let (extension, mime_type) = match format {
        ExportFormat::Json => ("json", "application/json"),
        ExportFormat::Markdown => ("md", "text/markdown; charset=utf-8"),
        ExportFormat::Html => ("html", "text/html; charset=utf-8"),
        ExportFormat::Pdf => ("pdf", "application/pdf"),
        ExportFormat::Zip => ("zip", "application/zip"),
    };
    // rendering is CPU work: off the async threads
    let bytes = tokio::task::spawn_blocking(move || match format {
        ExportFormat::Json => Ok(export::render_text(TextFormat::Json, &document)),
        ExportFormat::Markdown => Ok(export::render_text(TextFormat::Markdown, &document)),
        ExportFormat::Html => Ok(export::render_text(TextFormat::Html, &document)),
        ExportFormat::Pdf => Ok(export::render_pdf(&document)),
        ExportFormat::Zip => export::build_zip(zip_text, &document, &media_entries)
            .map_err(|error| ExportFailure::Permanent(error.to_string())),
    })
    .await
    .map_err(|error| ExportFailure::Passing(format!("rendering stopped: {error}")))??;

    let name = bundle_name(&picture.title, export_id, extension);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size_bytes = bytes.len() as i64;
    let stored = media::store_any_size(
        machine,
        &context,
        media::StoredBytes {
            scope: media::export_scope(export.chat_id),
            name: &name,
            mime_type,
            content: bytes,
            source: radiant_proto::media::FileSource::System,
            // a retried job stores the same bundle once
            idempotency_key: format!("export:{export_id}:{sha256}"),
        },
    )
    .await?;
    let media_file_id = Uuid::parse_str(&stored.file_id).map_err(|_| {
        ExportFailure::Passing("the media vault answered a bad file id".to_string())
    })?;
    let transaction = machine.tenant_transaction(tenant_id).await?;
    exports::complete(
        &transaction,
        export_id,
        &exports::Completed {
            media_file_id,
            media_version: stored.version as i32,
            file_name: &name,
            size_bytes,
            sha256: &sha256,
            expires_at: chrono::Utc::now()
                + chrono::Duration::seconds(machine.config.exports.ttl_seconds as i64),
        },
    )
    .await?;
    transaction.commit().await.map_err(ExportFailure::from)?;
    tracing::info!(%export_id, size_bytes, "export ready");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names_are_readable_and_safe() {
        let id = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        assert_eq!(
            bundle_name("Trip to Japan: plans & costs", id, "zip"),
            "trip-to-japan-plans-costs-9abcdef0.zip"
        );
        assert_eq!(bundle_name("", id, "pdf"), "chat-9abcdef0.pdf");
        assert_eq!(bundle_name("../../etc", id, "md"), "etc-9abcdef0.md");
    }
}
