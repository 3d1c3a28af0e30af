//! Publishing to a stream with `Nats-Msg-Id` deduplication and the request's context and
//! trace headers.

use async_nats::HeaderMap;
use async_nats::jetstream;
use bytes::Bytes;
use tracing::Instrument;

use super::JetStreamError;
use crate::context::RequestContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishOutcome {
    pub stream_sequence: u64,
    /// True when the stream already had a message with this id (nothing new was stored).
    pub duplicate: bool,
}

/// Publishes `message` and waits for the stream's acknowledgement. Publishing again with the
/// same `message_id` within the stream's duplicate window stores nothing new.
pub async fn publish_message<M: prost::Message>(
    jetstream: &jetstream::Context,
    subject: &str,
    message_id: &str,
    context: &RequestContext,
    message: &M,
) -> Result<PublishOutcome, JetStreamError> {
    let span = if radiant_telemetry::spans_are_recorded() {
        tracing::info_span!(
            "jetstream.publish",
            otel.name = %subject,
            otel.kind = "producer",
            messaging.message.id = %message_id,
        )
    } else {
        tracing::Span::none()
    };
    let mut headers = HeaderMap::new();
    context.write_headers(&mut headers);
    headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
    radiant_telemetry::inject_into_nats_headers(&span, &mut headers);
    let payload = Bytes::from(message.encode_to_vec());
    async {
        let acknowledgement = jetstream
            .publish_with_headers(subject.to_string(), headers, payload)
            .await
            .map_err(|error| JetStreamError::new(format!("publish to {subject}"), error))?
            .await
            .map_err(|error| JetStreamError::new(format!("acknowledgement of {subject}"), error))?;
        Ok(PublishOutcome {
            stream_sequence: acknowledgement.sequence,
            duplicate: acknowledgement.duplicate,
        })
    }
    .instrument(span)
    .await
}
