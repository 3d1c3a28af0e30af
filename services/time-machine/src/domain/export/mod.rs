//! Export bundles of a chat: the state at one snapshot (messages, files, the
//! snapshot list and optionally every message version) rendered as JSON,
//! Markdown, HTML or PDF, and packed into a zip together with the chat's media.
//!
//! Every renderer is a pure function of an [`ExportDocument`]: loading the data
//! and streaming the bytes belong to the callers, so the formats stay easy to
//! test and identical whichever handler or job asks for them.

mod common;
mod html;
mod json;
mod markdown;
mod pdf;
mod pdf_font;
mod pdf_layout;
mod pdf_writer;
mod zip_bundle;

#[cfg(test)]
mod fixtures;

pub use html::render_html;
pub use json::render_json;
pub use markdown::render_markdown;
pub use pdf::render_pdf;
pub use zip_bundle::{BundleError, MediaEntry, build_zip, bundle_path_for};

use chrono::{DateTime, Utc};

/// One chat as it stood at `to_version`, plus the history of the range.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportDocument {
    /// always 1; bumped only when the JSON shape changes incompatibly
    pub format_version: u32,
    pub chat_id: String,
    /// may be empty; renderers then show "Untitled chat"
    pub title: String,
    pub exported_at: DateTime<Utc>,
    /// snapshot range covered (inclusive)
    pub from_version: u32,
    pub to_version: u32,
    /// the snapshot at `to_version`, whose state is the one shown
    pub snapshot: ExportSnapshot,
    /// the chat's messages at `to_version`, in position order
    pub messages: Vec<ExportMessage>,
    /// the chat's files current at `to_version`
    pub files: Vec<ExportFile>,
    /// every snapshot in `[from_version, to_version]`, ascending
    pub snapshots: Vec<ExportSnapshot>,
    /// every message version in the range, when the caller asked for history
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<ExportMessageVersion>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSnapshot {
    pub snapshot_id: String,
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub trigger: String,
    pub description: String,
    pub message_count: u64,
    pub file_count: u64,
    pub checksum: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportMessage {
    pub message_id: String,
    pub position: u64,
    /// "user" | "assistant" | "system"
    pub role: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub version: u32,
    pub model_id: String,
    pub total_tokens: u64,
    pub edited: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportMessageVersion {
    pub message_id: String,
    pub position: u64,
    pub role: String,
    pub version: u32,
    pub content: String,
    pub created_at: DateTime<Utc>,
    /// first chat version in which this message version was current
    pub valid_from: u32,
    /// last chat version in which it was current; 0 = still current
    pub valid_to: u32,
    pub edit_reason: String,
    pub restored: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportFile {
    pub file_id: String,
    pub name: String,
    pub version: u32,
    pub mime_type: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// path of the file inside a zip bundle when media are included (e.g. "files/report.xlsx"), else empty
    pub bundle_path: String,
}

/// The text formats a chat document can be rendered in, on its own or as the
/// document inside a zip bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    Json,
    Markdown,
    Html,
}

impl TextFormat {
    pub fn extension(self) -> &'static str {
        match self {
            TextFormat::Json => "json",
            TextFormat::Markdown => "md",
            TextFormat::Html => "html",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            TextFormat::Json => "application/json",
            TextFormat::Markdown => "text/markdown; charset=utf-8",
            TextFormat::Html => "text/html; charset=utf-8",
        }
    }
}

pub fn render_text(format: TextFormat, document: &ExportDocument) -> Vec<u8> {
    match format {
        TextFormat::Json => render_json(document),
        TextFormat::Markdown => render_markdown(document),
        TextFormat::Html => render_html(document),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_formats_have_distinct_extensions_and_mime_types() {
        let formats = [TextFormat::Json, TextFormat::Markdown, TextFormat::Html];
        let extensions: Vec<&str> = formats.iter().map(|format| format.extension()).collect();
        assert_eq!(extensions, ["json", "md", "html"]);
        assert_eq!(TextFormat::Json.mime_type(), "application/json");
        assert_eq!(
            TextFormat::Markdown.mime_type(),
            "text/markdown; charset=utf-8"
        );
        assert_eq!(TextFormat::Html.mime_type(), "text/html; charset=utf-8");
    }

    #[test]
    fn render_text_dispatches_to_the_matching_renderer() {
        let document = fixtures::sample_document();
        assert_eq!(
            render_text(TextFormat::Json, &document),
            render_json(&document)
        );
        assert_eq!(
            render_text(TextFormat::Markdown, &document),
            render_markdown(&document)
        );
        assert_eq!(
            render_text(TextFormat::Html, &document),
            render_html(&document)
        );
    }
}
