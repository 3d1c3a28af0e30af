//! AWS event-stream framing for `InvokeEndpointWithResponseStream`: each frame is a prelude
//! (total and header lengths, CRC32), headers, payload and a message CRC32, encoded with the
//! smithy crate the SDK itself decodes with.

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;

/// A `PayloadPart` event carrying `payload` (the SDK hands it to the caller as `Bytes`).
pub fn payload_part(payload: impl Into<Bytes>) -> Bytes {
    let message = Message::new(payload.into())
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ))
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String("PayloadPart".into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/octet-stream".into()),
        ));
    encode(&message)
}

/// A `ModelStreamError` exception ending the stream (the SDK surfaces it as a typed error).
pub fn model_stream_error(message: &str, error_code: &str) -> Bytes {
    let payload = serde_json::json!({ "Message": message, "ErrorCode": error_code }).to_string();
    let message = Message::new(Bytes::from(payload))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("exception".into()),
        ))
        .add_header(Header::new(
            ":exception-type",
            HeaderValue::String("ModelStreamError".into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    encode(&message)
}

fn encode(message: &Message) -> Bytes {
    let mut buffer = Vec::with_capacity(message.payload().len() + 128);
    // writing to a Vec fails only for headers or payloads beyond the format's limits, which
    // the fixed headers and a token's text never reach
    if let Err(error) = aws_smithy_eventstream::frame::write_message_to(message, &mut buffer) {
        tracing::error!(%error, "event stream frame could not be encoded");
        return Bytes::new();
    }
    Bytes::from(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_part_frame_decodes_back_with_its_headers_and_crcs() {
        let frame = payload_part(Bytes::from_static(b"hello"));
        let decoded = aws_smithy_eventstream::frame::read_message_from(frame).expect("valid frame");
        assert_eq!(decoded.payload().as_ref(), b"hello");
        let event_type = decoded
            .headers()
            .iter()
            .find(|header| header.name().as_str() == ":event-type")
            .map(|header| header.value().clone());
        assert_eq!(event_type, Some(HeaderValue::String("PayloadPart".into())));
    }
}
