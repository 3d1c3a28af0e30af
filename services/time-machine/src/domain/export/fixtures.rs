//! Sample documents shared by the renderers' tests.

use chrono::{DateTime, TimeZone, Utc};

use super::{ExportDocument, ExportFile, ExportMessage, ExportMessageVersion, ExportSnapshot};

pub(super) fn timestamp(minute_offset: i64) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(2024, 12, 18, 14, 3, 0)
        .single()
        .unwrap_or_default();
    base + chrono::Duration::minutes(minute_offset)
}

pub(super) fn snapshot(version: u32) -> ExportSnapshot {
    ExportSnapshot {
        snapshot_id: format!("snap-{version}"),
        version,
        created_at: timestamp(i64::from(version)),
        trigger: if version == 1 {
            "message".to_owned()
        } else {
            "edit".to_owned()
        },
        description: format!("state after change {version}"),
        message_count: 2,
        file_count: 1,
        checksum: format!("{version:064x}"),
    }
}

pub(super) fn message(position: u64, role: &str, content: &str) -> ExportMessage {
    ExportMessage {
        message_id: format!("msg-{position}"),
        position,
        role: role.to_owned(),
        content: content.to_owned(),
        created_at: timestamp(position as i64),
        version: 1,
        model_id: if role == "assistant" {
            "gpt-4o".to_owned()
        } else {
            String::new()
        },
        total_tokens: if role == "assistant" { 1234 } else { 0 },
        edited: false,
    }
}

pub(super) fn file(name: &str, bundle_path: &str) -> ExportFile {
    ExportFile {
        file_id: format!("file-{name}"),
        name: name.to_owned(),
        version: 2,
        mime_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
        size_bytes: 15_360,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        created_at: timestamp(5),
        bundle_path: bundle_path.to_owned(),
    }
}

pub(super) fn sample_history() -> Vec<ExportMessageVersion> {
    let version =
        |message_id: &str, position: u64, version: u32, content: &str| ExportMessageVersion {
            message_id: message_id.to_owned(),
            position,
            role: if position == 0 {
                "user".to_owned()
            } else {
                "assistant".to_owned()
            },
            version,
            content: content.to_owned(),
            created_at: timestamp(i64::from(version)),
            valid_from: version,
            valid_to: if version == 1 { 1 } else { 0 },
            edit_reason: if version == 2 {
                "typo fix".to_owned()
            } else {
                String::new()
            },
            restored: false,
        };
    // deliberately out of order: grouping must not rely on the store's order
    vec![
        version("msg-1", 1, 1, "Lisbon is lovely in spring."),
        version("msg-0", 0, 2, "Plan a trip to Lisbon, please."),
        version("msg-0", 0, 1, "Plan a trip to Lisbn, please."),
    ]
}

pub(super) fn sample_document() -> ExportDocument {
    let mut edited_message = message(0, "user", "Plan a trip to Lisbon, please.");
    edited_message.edited = true;
    edited_message.version = 2;
    ExportDocument {
        format_version: 1,
        chat_id: "chat-42".to_owned(),
        title: "Trip to Lisbon".to_owned(),
        exported_at: timestamp(60),
        from_version: 1,
        to_version: 2,
        snapshot: snapshot(2),
        messages: vec![
            edited_message,
            message(
                1,
                "assistant",
                "Lisbon is lovely in spring.\nHere is a plan:\n\n1. Alfama\n2. Belém",
            ),
        ],
        files: vec![file("itinerary.xlsx", "files/itinerary.xlsx")],
        snapshots: vec![snapshot(1), snapshot(2)],
        history: None,
    }
}
