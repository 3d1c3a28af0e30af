//! What a message version is, for hashing and storing: role, content, parts and metadata.
//!
//! The hash is SHA-256 over the protobuf encoding of those four fields. Protobuf encodes
//! fields in tag order and the metadata's `extra` map is a BTreeMap, so the same content
//! always hashes the same, whether it comes from a request or is read back from the JSON the
//! database stores.

use radiant_proto::tm;
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, prost::Message)]
struct HashedContent {
    #[prost(string, tag = "1")]
    role: String,
    #[prost(string, tag = "2")]
    content: String,
    #[prost(message, repeated, tag = "3")]
    parts: Vec<tm::Part>,
    #[prost(message, optional, tag = "4")]
    metadata: Option<tm::MessageMetadata>,
}

pub fn content_sha256(
    role: &str,
    content: &str,
    parts: &[tm::Part],
    metadata: &tm::MessageMetadata,
) -> String {
    let hashed = HashedContent {
        role: role.to_string(),
        content: content.to_string(),
        parts: parts.to_vec(),
        metadata: Some(metadata.clone()),
    };
    hex::encode(Sha256::digest(prost::Message::encode_to_vec(&hashed)))
}

/// Tokens a version counts toward the chat's total: the total when given, else input + output.
pub fn tokens_of(metadata: &tm::MessageMetadata) -> u64 {
    if metadata.total_tokens > 0 {
        return metadata.total_tokens;
    }
    metadata.input_tokens.saturating_add(metadata.output_tokens)
}

pub fn parts_json(parts: &[tm::Part]) -> String {
    // serializing plain structs of strings cannot fail
    serde_json::to_string(parts).unwrap_or_else(|_| "[]".to_string())
}

pub fn metadata_json(metadata: &tm::MessageMetadata) -> String {
    serde_json::to_string(metadata).unwrap_or_else(|_| "{}".to_string())
}

/// Parts as stored (JSON text); most messages have none, which needs no parsing.
pub fn parts_from_text(text: &str) -> Vec<tm::Part> {
    if text == "[]" {
        return Vec::new();
    }
    serde_json::from_str(text).unwrap_or_default()
}

pub fn metadata_from_text(text: &str) -> tm::MessageMetadata {
    serde_json::from_str(text).unwrap_or_default()
}

/// The first `max_chars` characters, with an ellipsis when cut.
pub fn preview(text: &str, max_chars: usize) -> String {
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max_chars {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(max_chars).collect();
    if let Some(space) = cut.rfind(' ')
        && space > max_chars / 2
    {
        cut.truncate(space);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_survives_a_round_trip_through_the_stored_json() {
        let parts = vec![tm::Part {
            r#type: "tool-call".to_string(),
            tool_name: "search".to_string(),
            data_json: r#"{"q":"paris"}"#.to_string(),
            ..Default::default()
        }];
        let mut metadata = tm::MessageMetadata {
            model_id: "smollm2".to_string(),
            input_tokens: 12,
            output_tokens: 30,
            cost_micros: 1_250,
            ..Default::default()
        };
        metadata.extra.insert("z".to_string(), "last".to_string());
        metadata.extra.insert("a".to_string(), "first".to_string());
        let direct = content_sha256("assistant", "Paris.", &parts, &metadata);

        // what PostgreSQL hands back: jsonb reorders keys and respaces
        let reordered = |json: String| {
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            serde_json::to_string_pretty(&value).unwrap()
        };
        let reread = content_sha256(
            "assistant",
            "Paris.",
            &parts_from_text(&reordered(parts_json(&parts))),
            &metadata_from_text(&reordered(metadata_json(&metadata))),
        );
        assert!(parts_from_text("[]").is_empty());
        assert_eq!(direct, reread);
        assert_ne!(
            direct,
            content_sha256("assistant", "Paris!", &parts, &metadata)
        );
        assert_eq!(tokens_of(&metadata), 42);
    }

    #[test]
    fn previews_cut_at_a_word() {
        assert_eq!(preview("short  text", 20), "short text");
        assert_eq!(
            preview("the quick brown fox jumps over the lazy dog", 20),
            "the quick brown fox…"
        );
        assert_eq!(preview("ééééééééééé", 5), "ééééé…");
    }
}
