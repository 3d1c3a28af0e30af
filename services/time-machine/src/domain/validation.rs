//! Checks at the edge: every refusal names the field and says what would be accepted.

use radiant_bus::ServiceError;
use radiant_proto::tm;
use uuid::Uuid;

use crate::config::LimitsConfig;

pub fn parse_uuid(field: &str, text: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(text.trim()).map_err(|_| ServiceError::invalid_field(field, "must be a UUID"))
}

/// An optional id: empty means absent.
pub fn parse_optional_uuid(field: &str, text: &str) -> Result<Option<Uuid>, ServiceError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_uuid(field, text).map(Some)
}

/// Free text such as a title or a reason: at most `max_chars` characters, no control
/// characters other than line breaks and tabs (which `single_line` also refuses).
pub fn check_text(
    field: &str,
    text: &str,
    max_chars: usize,
    single_line: bool,
) -> Result<(), ServiceError> {
    if text.chars().count() > max_chars {
        return Err(ServiceError::invalid_field(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    let refused = |character: char| {
        character == '\0'
            || (character.is_control() && (single_line || !matches!(character, '\n' | '\r' | '\t')))
    };
    if text.chars().any(refused) {
        return Err(ServiceError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A message's content: not empty, within the configured size (413 beyond it), and free of
/// NUL characters (PostgreSQL text cannot hold them).
pub fn check_content(content: &str, limits: &LimitsConfig) -> Result<(), ServiceError> {
    if content.trim().is_empty() {
        return Err(ServiceError::invalid_field("content", "must not be empty"));
    }
    if content.len() > limits.max_content_bytes {
        return Err(ServiceError::payload_too_large(format!(
            "content is {} bytes, over the limit of {} bytes",
            content.len(),
            limits.max_content_bytes
        ))
        .with_field_violation("content", "too large"));
    }
    if content.contains('\0') {
        return Err(ServiceError::invalid_field(
            "content",
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

pub fn check_parts(parts: &[tm::Part], limits: &LimitsConfig) -> Result<(), ServiceError> {
    if parts.len() > limits.max_parts {
        return Err(ServiceError::invalid_field(
            "parts",
            format!("at most {} parts", limits.max_parts),
        ));
    }
    let mut total_bytes = 0usize;
    for (index, part) in parts.iter().enumerate() {
        let field = format!("parts[{index}]");
        if part.r#type.trim().is_empty() || part.r#type.len() > 64 {
            return Err(ServiceError::invalid_field(
                &format!("{field}.type"),
                "must be 1 to 64 characters",
            ));
        }
        if !part.data_json.is_empty()
            && serde_json::from_str::<serde_json::Value>(&part.data_json).is_err()
        {
            return Err(ServiceError::invalid_field(
                &format!("{field}.data_json"),
                "must be JSON",
            ));
        }
        for text in [
            &part.r#type,
            &part.text,
            &part.tool_name,
            &part.tool_call_id,
            &part.file_id,
            &part.mime_type,
            &part.url,
            &part.data_json,
        ] {
            if text.contains('\0') {
                return Err(ServiceError::invalid_field(
                    &field,
                    "must not contain NUL characters",
                ));
            }
            total_bytes += text.len();
        }
    }
    if total_bytes > limits.max_parts_bytes {
        return Err(ServiceError::payload_too_large(format!(
            "parts are {total_bytes} bytes, over the limit of {} bytes",
            limits.max_parts_bytes
        ))
        .with_field_violation("parts", "too large"));
    }
    Ok(())
}

/// Token counts and costs beyond any real answer (a trillion tokens, a billion in money) are
/// refused: running sums over a chat must stay far from overflowing.
const MAX_TOKENS: u64 = 1_000_000_000_000;
const MAX_COST_MICROS: u64 = 1_000_000_000_000_000;

pub fn check_metadata(metadata: &tm::MessageMetadata) -> Result<(), ServiceError> {
    for (field, tokens) in [
        ("metadata.input_tokens", metadata.input_tokens),
        ("metadata.output_tokens", metadata.output_tokens),
        ("metadata.total_tokens", metadata.total_tokens),
    ] {
        if tokens > MAX_TOKENS {
            return Err(ServiceError::invalid_field(
                field,
                format!("must be at most {MAX_TOKENS}"),
            ));
        }
    }
    if metadata.cost_micros > MAX_COST_MICROS {
        return Err(ServiceError::invalid_field(
            "metadata.cost_micros",
            format!("must be at most {MAX_COST_MICROS}"),
        ));
    }
    if metadata.extra.len() > 64 {
        return Err(ServiceError::invalid_field(
            "metadata.extra",
            "at most 64 entries",
        ));
    }
    let texts = [
        ("metadata.model_id", &metadata.model_id),
        ("metadata.currency", &metadata.currency),
        ("metadata.output_id", &metadata.output_id),
        ("metadata.finish_reason", &metadata.finish_reason),
        ("metadata.reasoning_effort", &metadata.reasoning_effort),
        ("metadata.payment_id", &metadata.payment_id),
    ];
    for (field, text) in texts {
        check_text(field, text, 256, true)?;
    }
    for (key, value) in &metadata.extra {
        check_text("metadata.extra", key, 128, true)?;
        check_text("metadata.extra", value, 4096, false)?;
    }
    Ok(())
}

/// An idempotency key: printable, at most 200 characters.
pub fn check_idempotency_key(key: &str) -> Result<(), ServiceError> {
    if key.len() > 200 || key.chars().any(|character| character.is_control()) {
        return Err(ServiceError::invalid_field(
            "idempotency_key",
            "must be at most 200 printable characters",
        ));
    }
    Ok(())
}

/// A JSON object given as text (the chat's sandbox context).
pub fn parse_json_object(
    field: &str,
    text: &str,
) -> Result<Option<serde_json::Value>, ServiceError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.len() > 256 * 1024 {
        return Err(ServiceError::payload_too_large(format!(
            "{field} is over 256 KiB"
        )));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => {
            if text.contains("\\u0000") {
                return Err(ServiceError::invalid_field(
                    field,
                    "must not contain NUL characters",
                ));
            }
            Ok(Some(value))
        }
        _ => Err(ServiceError::invalid_field(field, "must be a JSON object")),
    }
}

/// Page size: 0 means the default; above the maximum is refused (not silently cut) so a
/// client learns the bound.
pub fn page_size(field: &str, requested: u32, default: u32, max: u32) -> Result<u32, ServiceError> {
    match requested {
        0 => Ok(default),
        size if size > max => Err(ServiceError::invalid_field(
            field,
            format!("must be at most {max}"),
        )),
        size => Ok(size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitsConfig {
        crate::config::embedded_defaults().unwrap().limits
    }

    #[test]
    fn content_refusals_name_the_field_and_the_status() {
        let limits = limits();
        assert_eq!(check_content("  \n", &limits).unwrap_err().status(), 400);
        let big = "x".repeat(limits.max_content_bytes + 1);
        let error = check_content(&big, &limits).unwrap_err();
        assert_eq!(error.status(), 413);
        assert_eq!(error.field_violations[0].0, "content");
        assert_eq!(check_content("a\0b", &limits).unwrap_err().status(), 400);
        check_content("héllo", &limits).unwrap();
    }

    #[test]
    fn parts_and_text_checks() {
        let limits = limits();
        let bad_json = tm::Part {
            r#type: "data".to_string(),
            data_json: "{nope".to_string(),
            ..Default::default()
        };
        assert_eq!(
            check_parts(&[bad_json], &limits)
                .unwrap_err()
                .field_violations[0]
                .0,
            "parts[0].data_json"
        );
        assert!(check_text("title", "two\nlines", 100, true).is_err());
        assert!(check_text("reason", "two\nlines", 100, false).is_ok());
        assert!(check_text("title", &"é".repeat(101), 100, true).is_err());
        assert_eq!(page_size("page_size", 0, 50, 100).unwrap(), 50);
        assert!(page_size("page_size", 101, 50, 100).is_err());
        assert!(parse_json_object("last_context_json", "[1]").is_err());
        assert!(
            parse_json_object("last_context_json", r#"{"a":1}"#)
                .unwrap()
                .is_some()
        );
    }
}
