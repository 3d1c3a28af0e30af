//! Dead letters: messages a consumer gave up on, moved to the namespace's DLQ stream.
//!
//! The server announces them with advisories (max deliveries reached, message terminated).
//! One stream captures those advisories so none is lost while no mover runs; a mover per
//! source stream reads them, fetches the original message by sequence and republishes it on
//! `<prefix>.dlq.<stream>.<consumer>` with headers that say where it came from and why.
//! Republishing is deduplicated by `Nats-Msg-Id`, so a redelivered advisory is harmless.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use serde::Deserialize;

use super::JetStreamError;
use super::consumer::{ConsumerRunner, ConsumerSpec, JobError, JobMessage, RunningConsumer};
use super::streams::{StreamSpec, ensure_stream};
use crate::subjects::{
    ADVISORY_STREAM, MAX_DELIVERIES_ADVISORY_PREFIX, Namespace, TERMINATED_ADVISORY_PREFIX,
};

pub mod headers {
    pub const STREAM: &str = "Radiant-Dlq-Stream";
    pub const CONSUMER: &str = "Radiant-Dlq-Consumer";
    pub const SEQUENCE: &str = "Radiant-Dlq-Sequence";
    pub const SUBJECT: &str = "Radiant-Dlq-Subject";
    pub const REASON: &str = "Radiant-Dlq-Reason";
    pub const DETAIL: &str = "Radiant-Dlq-Detail";
    pub const DELIVERIES: &str = "Radiant-Dlq-Deliveries";
    pub const PAYLOAD_MISSING: &str = "Radiant-Dlq-Payload-Missing";
}

const ADVISORY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const DEAD_LETTER_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// Creates the advisory stream (one per account) and the namespace's DLQ stream.
pub async fn ensure_dead_letter_streams(
    jetstream: &jetstream::Context,
    namespace: &Namespace,
) -> Result<(), JetStreamError> {
    let mut advisories = StreamSpec::events(
        ADVISORY_STREAM.to_string(),
        vec![
            format!("{MAX_DELIVERIES_ADVISORY_PREFIX}.>"),
            format!("{TERMINATED_ADVISORY_PREFIX}.>"),
        ],
        ADVISORY_RETENTION,
    );
    advisories.description = "jetstream consumer advisories for the dead-letter movers".to_string();
    ensure_stream(jetstream, &advisories).await?;

    let mut dead_letters = StreamSpec::events(
        namespace.dead_letter_stream(),
        vec![namespace.dead_letter_wildcard()],
        DEAD_LETTER_RETENTION,
    );
    dead_letters.description = "messages consumers gave up on".to_string();
    ensure_stream(jetstream, &dead_letters).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ConsumerAdvisory {
    stream: String,
    consumer: String,
    stream_seq: u64,
    #[serde(default)]
    deliveries: u64,
    #[serde(default)]
    reason: Option<String>,
}

/// Runs the mover for `source_stream` (its durable is shared by every replica).
pub async fn start_dead_letter_mover(
    jetstream: jetstream::Context,
    namespace: Namespace,
    source_stream: &str,
) -> Result<RunningConsumer, JetStreamError> {
    let mut spec = ConsumerSpec::new(ADVISORY_STREAM, &format!("dlq-mover-{source_stream}"));
    spec.filter_subjects = vec![
        format!("{MAX_DELIVERIES_ADVISORY_PREFIX}.{source_stream}.*"),
        format!("{TERMINATED_ADVISORY_PREFIX}.{source_stream}.*"),
    ];
    // a dead letter that cannot be stored after this many tries stays visible as the mover's
    // own max-deliveries advisory in the advisory stream
    spec.max_deliver = 50;
    spec.concurrency = 4;
    spec.retry.max_delay = Duration::from_secs(30);
    spec.inactive_threshold = Some(ADVISORY_RETENTION);

    let handler_jetstream = jetstream.clone();
    ConsumerRunner::start_without_dead_letters(jetstream, spec, move |job| {
        let jetstream = handler_jetstream.clone();
        let namespace = namespace.clone();
        async move { move_dead_letter(&jetstream, &namespace, job).await }
    })
    .await
}

async fn move_dead_letter(
    jetstream: &jetstream::Context,
    namespace: &Namespace,
    job: JobMessage,
) -> Result<(), JobError> {
    let advisory: ConsumerAdvisory = serde_json::from_slice(&job.payload)
        .map_err(|error| JobError::Reject(format!("advisory is not valid json: {error}")))?;
    let reason = if job.subject.starts_with(MAX_DELIVERIES_ADVISORY_PREFIX) {
        "max_deliveries"
    } else {
        "terminated"
    };

    let stream = jetstream
        .get_stream_no_info(&advisory.stream)
        .await
        .map_err(|error| JobError::Retry(format!("source stream lookup failed: {error}")))?;
    let original = match stream.get_raw_message(advisory.stream_seq).await {
        Ok(original) => Some(original),
        // aged out, purged, or the whole stream deleted: record the dead letter without it
        Err(error) if original_is_gone(&error) => None,
        Err(error) => {
            return Err(JobError::Retry(format!(
                "original message lookup failed: {error}"
            )));
        }
    };

    // the original's own headers, except the server's `Nats-*` ones: expectations, TTLs and
    // rollups meant for the source stream would make the dead-letter publish fail for good
    let mut dead_letter_headers = HeaderMap::new();
    if let Some(original) = &original {
        for (name, values) in original.headers.iter() {
            let name: &str = name.as_ref();
            if name.to_ascii_lowercase().starts_with("nats-") {
                continue;
            }
            for value in values {
                dead_letter_headers.append(name, value.as_str());
            }
        }
    }
    dead_letter_headers.insert(headers::STREAM, advisory.stream.as_str());
    dead_letter_headers.insert(headers::CONSUMER, advisory.consumer.as_str());
    dead_letter_headers.insert(headers::SEQUENCE, advisory.stream_seq.to_string().as_str());
    dead_letter_headers.insert(headers::REASON, reason);
    dead_letter_headers.insert(
        headers::DELIVERIES,
        advisory.deliveries.to_string().as_str(),
    );
    if let Some(detail) = advisory
        .reason
        .as_deref()
        .filter(|detail| !detail.is_empty())
    {
        dead_letter_headers.insert(headers::DETAIL, detail);
    }
    // one id per dead letter, so a redelivered advisory does not store it twice
    dead_letter_headers.insert(
        async_nats::header::NATS_MESSAGE_ID,
        format!(
            "dlq:{}:{}:{}",
            advisory.stream, advisory.stream_seq, advisory.consumer
        )
        .as_str(),
    );
    let payload = match original {
        Some(original) => {
            dead_letter_headers.insert(headers::SUBJECT, original.subject.as_str());
            original.payload
        }
        None => {
            dead_letter_headers.insert(headers::PAYLOAD_MISSING, "true");
            bytes::Bytes::new()
        }
    };

    let subject = namespace.dead_letter_subject(&advisory.stream, &advisory.consumer);
    jetstream
        .publish_with_headers(subject, dead_letter_headers, payload)
        .await
        .map_err(|error| JobError::Retry(format!("dead letter publish failed: {error}")))?
        .await
        .map_err(|error| JobError::Retry(format!("dead letter not stored: {error}")))?;
    tracing::warn!(
        stream = %advisory.stream,
        consumer = %advisory.consumer,
        stream_sequence = advisory.stream_seq,
        reason,
        "message dead-lettered"
    );
    Ok(())
}

fn original_is_gone(error: &jetstream::stream::RawMessageError) -> bool {
    use jetstream::stream::LastRawMessageErrorKind;
    match error.kind() {
        LastRawMessageErrorKind::NoMessageFound => true,
        LastRawMessageErrorKind::JetStream(error) => {
            error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
                || error.error_code() == jetstream::ErrorCode::NO_MESSAGE_FOUND
        }
        _ => false,
    }
}

/// A dead letter read back from the DLQ stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub stream: String,
    pub consumer: String,
    pub stream_sequence: u64,
    pub original_subject: Option<String>,
    pub reason: String,
    pub detail: Option<String>,
    pub deliveries: u64,
}

/// Reads the provenance headers of a dead letter.
pub fn dead_letter_headers(message_headers: &HeaderMap) -> Option<DeadLetter> {
    let text = |name: &str| {
        message_headers
            .get(name)
            .map(|value| value.as_str().to_string())
    };
    Some(DeadLetter {
        stream: text(headers::STREAM)?,
        consumer: text(headers::CONSUMER)?,
        stream_sequence: text(headers::SEQUENCE)?.parse().ok()?,
        original_subject: text(headers::SUBJECT),
        reason: text(headers::REASON)?,
        detail: text(headers::DETAIL),
        deliveries: text(headers::DELIVERIES)
            .and_then(|value| value.parse().ok())
            .unwrap_or(0),
    })
}
