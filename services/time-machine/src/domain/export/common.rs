//! Wording and formatting shared by the Markdown, HTML and PDF renderers, so
//! the three formats say the same thing in the same words.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{ExportDocument, ExportMessageVersion};

const UNTITLED_CHAT: &str = "Untitled chat";

pub(super) fn display_title(document: &ExportDocument) -> &str {
    let trimmed_title = document.title.trim();
    if trimmed_title.is_empty() {
        return UNTITLED_CHAT;
    }
    trimmed_title
}

/// Minute precision is what a reader needs; the JSON keeps the exact instant.
pub(super) fn format_timestamp(timestamp: &DateTime<Utc>) -> String {
    timestamp.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Known roles get their usual capitalised label; anything else is shown
/// (capitalised) rather than hidden, since it is still part of the record.
pub(super) fn role_label(role: &str) -> String {
    let trimmed_role = single_line(role);
    let trimmed_role = trimmed_role.trim();
    match trimmed_role.to_ascii_lowercase().as_str() {
        "user" => return "User".to_owned(),
        "assistant" => return "Assistant".to_owned(),
        "system" => return "System".to_owned(),
        "" => return "Unknown".to_owned(),
        _ => {}
    }
    let mut characters = trimmed_role.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => "Unknown".to_owned(),
    }
}

pub(super) fn is_assistant(role: &str) -> bool {
    role.trim().eq_ignore_ascii_case("assistant")
}

/// Titles, names and descriptions go into headings, table cells and PDF lines,
/// where a newline or control character would break the layout.
pub(super) fn single_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for character in text.chars() {
        if character == '\n' || character == '\r' || character == '\t' {
            line.push(' ');
            continue;
        }
        if character.is_control() {
            continue;
        }
        line.push(character);
    }
    line
}

/// A file's name on one line, or "(unnamed file)" when nothing printable is left.
pub(super) fn display_file_name(name: &str) -> String {
    let flattened_name = single_line(name);
    if flattened_name.trim().is_empty() {
        return "(unnamed file)".to_owned();
    }
    flattened_name
}

pub(super) fn human_size(size_bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if size_bytes < 1024 {
        return format!("{size_bytes} B");
    }
    // f64 is exact enough for one decimal of a human-readable size
    let mut scaled_size = size_bytes as f64 / 1024.0;
    let mut unit_index = 0;
    while scaled_size >= 1024.0 && unit_index + 1 < UNITS.len() {
        scaled_size /= 1024.0;
        unit_index += 1;
    }
    // in bounds: the loop stops at the last unit
    format!("{scaled_size:.1} {}", UNITS[unit_index])
}

pub(super) fn short_sha256(sha256: &str) -> String {
    const SHORT_LENGTH: usize = 12;
    let trimmed_hash = single_line(sha256);
    let trimmed_hash = trimmed_hash.trim();
    if trimmed_hash.is_empty() {
        return "—".to_owned();
    }
    if trimmed_hash.chars().count() <= SHORT_LENGTH {
        return trimmed_hash.to_owned();
    }
    let mut short_hash: String = trimmed_hash.chars().take(SHORT_LENGTH).collect();
    short_hash.push('…');
    short_hash
}

/// "1234567" → "1,234,567": token counts are easier to read grouped.
pub(super) fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

pub(super) fn plural(count: u64, singular: &str, plural_form: &str) -> String {
    if count == 1 {
        return format!("1 {singular}");
    }
    format!("{} {plural_form}", group_thousands(count))
}

/// The headline facts of the export, as one line.
pub(super) fn summary_line(document: &ExportDocument) -> String {
    // the lists are what the export shows, so count them rather than trusting
    // the snapshot's stored counters
    format!(
        "Snapshot v{} · {} · {} · {}",
        document.snapshot.version,
        format_timestamp(&document.snapshot.created_at),
        plural(document.messages.len() as u64, "message", "messages"),
        plural(document.files.len() as u64, "file", "files"),
    )
}

pub(super) fn range_line(document: &ExportDocument) -> String {
    let range = if document.from_version == document.to_version {
        format!("chat version {}", document.to_version)
    } else {
        format!(
            "chat versions {}–{}",
            document.from_version, document.to_version
        )
    };
    format!(
        "Covers {range} · exported {}",
        format_timestamp(&document.exported_at)
    )
}

pub(super) fn assistant_details(model_id: &str, total_tokens: u64) -> String {
    let model = single_line(model_id);
    let model = model.trim();
    let tokens = plural(total_tokens, "token", "tokens");
    if model.is_empty() {
        return tokens;
    }
    format!("Model {model} · {tokens}")
}

/// In which chat versions a message version was the current one.
pub(super) fn validity_label(version: &ExportMessageVersion) -> String {
    if version.valid_to == 0 {
        return format!("current since chat version {}", version.valid_from);
    }
    if version.valid_to == version.valid_from {
        return format!("current in chat version {}", version.valid_from);
    }
    format!(
        "current in chat versions {}–{}",
        version.valid_from, version.valid_to
    )
}

/// Header details of one message version, without its content.
pub(super) fn version_details(version: &ExportMessageVersion) -> String {
    let mut details = vec![
        format!("Version {}", version.version),
        format_timestamp(&version.created_at),
        validity_label(version),
    ];
    let edit_reason = single_line(&version.edit_reason);
    let edit_reason = edit_reason.trim();
    if !edit_reason.is_empty() {
        details.push(format!("reason: {edit_reason}"));
    }
    if version.restored {
        details.push("restored".to_owned());
    }
    details.join(" · ")
}

pub(super) struct MessageHistory<'a> {
    pub message_id: &'a str,
    pub position: u64,
    pub role: &'a str,
    pub versions: Vec<&'a ExportMessageVersion>,
}

/// Groups message versions by message, messages in position order and each
/// message's versions ascending, whatever order the store returned them in.
pub(super) fn group_history(versions: &[ExportMessageVersion]) -> Vec<MessageHistory<'_>> {
    let mut group_index_by_message: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<MessageHistory<'_>> = Vec::new();
    for version in versions {
        let message_id = version.message_id.as_str();
        let group_index = *group_index_by_message.entry(message_id).or_insert_with(|| {
            groups.push(MessageHistory {
                message_id,
                position: version.position,
                role: &version.role,
                versions: Vec::new(),
            });
            groups.len() - 1
        });
        // in bounds: every index in the map was handed out by a push above
        groups[group_index].versions.push(version);
    }
    for group in &mut groups {
        group.versions.sort_by_key(|version| version.version);
        // the newest version says where the message stands now
        if let Some(latest_version) = group.versions.last() {
            group.position = latest_version.position;
            group.role = &latest_version.role;
        }
    }
    groups.sort_by_key(|group| group.position);
    groups
}

/// A relative, percent-encoded link target for a bundle path, or `None` when
/// nothing safe is left. Empty, "." and ".." segments are dropped so a link can
/// neither climb out of the bundle nor become protocol-relative ("//host");
/// ':' is encoded so it can never read as a URL scheme.
pub(super) fn relative_link_target(bundle_path: &str) -> Option<String> {
    let encoded_segments: Vec<String> = bundle_path
        .split(['/', '\\'])
        .filter(|segment| !segment.is_empty() && *segment != "." && *segment != "..")
        .map(percent_encode_segment)
        .collect();
    if encoded_segments.is_empty() {
        return None;
    }
    Some(encoded_segments.join("/"))
}

fn percent_encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        let is_unreserved =
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
        if is_unreserved {
            encoded.push(char::from(byte));
            continue;
        }
        encoded.push_str(&format!("%{byte:02X}"));
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn empty_or_blank_title_reads_untitled_chat() {
        let mut document = fixtures::sample_document();
        document.title = "   ".to_owned();
        assert_eq!(display_title(&document), "Untitled chat");
        document.title = " Trip plan ".to_owned();
        assert_eq!(display_title(&document), "Trip plan");
    }

    #[test]
    fn sizes_are_human_readable() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn hashes_are_shortened_on_character_boundaries() {
        assert_eq!(
            short_sha256(&"a".repeat(64)),
            format!("{}…", "a".repeat(12))
        );
        assert_eq!(short_sha256("abc"), "abc");
        assert_eq!(short_sha256(""), "—");
        assert_eq!(
            short_sha256(&"é".repeat(20)),
            format!("{}…", "é".repeat(12))
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(1234567), "1,234,567");
    }

    #[test]
    fn roles_get_readable_labels() {
        assert_eq!(role_label("user"), "User");
        assert_eq!(role_label("ASSISTANT"), "Assistant");
        assert_eq!(role_label("tool"), "Tool");
        assert_eq!(role_label(""), "Unknown");
        assert_eq!(role_label("a\nb"), "A b");
    }

    #[test]
    fn link_targets_stay_relative_and_encoded() {
        assert_eq!(
            relative_link_target("files/report (2).xlsx").as_deref(),
            Some("files/report%20%282%29.xlsx")
        );
        assert_eq!(
            relative_link_target("//evil.example/x").as_deref(),
            Some("evil.example/x")
        );
        assert_eq!(
            relative_link_target("../../etc/passwd").as_deref(),
            Some("etc/passwd")
        );
        assert_eq!(
            relative_link_target("javascript:alert(1)").as_deref(),
            Some("javascript%3Aalert%281%29")
        );
        assert_eq!(relative_link_target(""), None);
        assert_eq!(relative_link_target("/../"), None);
    }

    #[test]
    fn history_is_grouped_by_message_in_position_order() {
        let versions = fixtures::sample_history();
        let groups = group_history(&versions);
        let positions: Vec<u64> = groups.iter().map(|group| group.position).collect();
        assert_eq!(positions, [0, 1]);
        let first_group_versions: Vec<u32> = groups[0]
            .versions
            .iter()
            .map(|version| version.version)
            .collect();
        assert_eq!(first_group_versions, [1, 2]);
    }

    #[test]
    fn validity_reads_naturally() {
        let mut version = fixtures::sample_history()[0].clone();
        version.valid_from = 3;
        version.valid_to = 0;
        assert_eq!(validity_label(&version), "current since chat version 3");
        version.valid_to = 3;
        assert_eq!(validity_label(&version), "current in chat version 3");
        version.valid_to = 5;
        assert_eq!(validity_label(&version), "current in chat versions 3–5");
    }
}
