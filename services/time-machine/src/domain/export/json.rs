//! The JSON export: the document exactly as the types serialise, so machine
//! consumers get every field without a second schema to keep in sync.

use super::ExportDocument;

pub fn render_json(document: &ExportDocument) -> Vec<u8> {
    match serde_json::to_vec_pretty(document) {
        Ok(json_bytes) => json_bytes,
        // unreachable in practice: the document holds only strings, numbers,
        // booleans and timestamps, which always serialise; an empty object
        // keeps the function total instead of panicking
        Err(_) => b"{}".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn parse(document: &ExportDocument) -> serde_json::Value {
        serde_json::from_slice(&render_json(document)).expect("render_json must produce valid json")
    }

    #[test]
    fn json_round_trips_the_document_fields() {
        let document = fixtures::sample_document();
        let parsed = parse(&document);
        assert_eq!(parsed["format_version"], 1);
        assert_eq!(parsed["chat_id"], "chat-42");
        assert_eq!(parsed["title"], "Trip to Lisbon");
        assert_eq!(parsed["from_version"], 1);
        assert_eq!(parsed["to_version"], 2);
        assert_eq!(parsed["snapshot"]["version"], 2);
        assert_eq!(parsed["messages"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            parsed["messages"][1]["content"],
            document.messages[1].content.as_str()
        );
        assert_eq!(parsed["messages"][0]["edited"], true);
        assert_eq!(parsed["files"][0]["bundle_path"], "files/itinerary.xlsx");
        assert_eq!(parsed["snapshots"].as_array().map(Vec::len), Some(2));
        assert_eq!(parsed["exported_at"], "2024-12-18T15:03:00Z");
    }

    #[test]
    fn history_is_absent_unless_asked_for() {
        let mut document = fixtures::sample_document();
        let parsed_without_history = parse(&document);
        assert!(parsed_without_history.get("history").is_none());

        document.history = Some(fixtures::sample_history());
        let parsed_with_history = parse(&document);
        assert_eq!(
            parsed_with_history["history"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(parsed_with_history["history"][0]["valid_to"], 1);
    }

    #[test]
    fn json_is_pretty_printed() {
        let rendered =
            String::from_utf8(render_json(&fixtures::sample_document())).expect("json is utf-8");
        assert!(rendered.starts_with("{\n  \"format_version\": 1,"));
    }
}
