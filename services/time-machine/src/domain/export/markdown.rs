//! The Markdown export: readable as plain text and as rendered Markdown.
//!
//! Message content is Markdown already (LLM answers usually are), so it is left
//! as written; only the structure around it is guarded: every message starts
//! after a blank line, and a code fence it leaves open is closed, because an
//! open fence would swallow every section that follows.

use std::fmt::Write as _;

use super::common::{
    display_file_name, display_title, format_timestamp, group_history, group_thousands, human_size,
    is_assistant, plural, range_line, relative_link_target, role_label, short_sha256, single_line,
    summary_line, version_details,
};
use super::{ExportDocument, ExportFile, ExportMessage, ExportMessageVersion, ExportSnapshot};

pub fn render_markdown(document: &ExportDocument) -> Vec<u8> {
    let mut output = String::new();
    // writing into a String cannot fail, so the fmt::Results are ignored
    let _ = writeln!(output, "# {}\n", escape_inline(display_title(document)));
    let _ = writeln!(output, "{}  ", escape_inline(&summary_line(document)));
    let _ = writeln!(output, "{}\n", escape_inline(&range_line(document)));

    write_messages(&mut output, &document.messages);
    write_files(&mut output, &document.files);
    write_snapshots(&mut output, &document.snapshots);
    if let Some(history) = &document.history {
        write_history(&mut output, history);
    }
    output.into_bytes()
}

fn write_messages(output: &mut String, messages: &[ExportMessage]) {
    output.push_str("## Messages\n\n");
    if messages.is_empty() {
        output.push_str("*No messages.*\n\n");
        return;
    }
    for message in messages {
        let _ = writeln!(
            output,
            "### {} — {}\n",
            escape_inline(&role_label(&message.role)),
            format_timestamp(&message.created_at)
        );
        let mut details = Vec::new();
        if message.edited {
            details.push(format!("Edited · message version {}", message.version));
        }
        if is_assistant(&message.role) {
            details.push(assistant_details(message));
        }
        if !details.is_empty() {
            let _ = writeln!(output, "*{}*\n", details.join(" · "));
        }
        output.push_str(&guarded_content(&message.content));
    }
}

fn assistant_details(message: &ExportMessage) -> String {
    let tokens = plural(message.total_tokens, "token", "tokens");
    let model = single_line(&message.model_id);
    let model = model.trim();
    if model.is_empty() {
        return tokens;
    }
    format!("Model {} · {tokens}", inline_code(model))
}

fn write_files(output: &mut String, files: &[ExportFile]) {
    output.push_str("## Files\n\n");
    if files.is_empty() {
        output.push_str("*No files.*\n\n");
        return;
    }
    output.push_str("| Name | Version | Type | Size | SHA-256 |\n");
    output.push_str("| --- | ---: | --- | ---: | --- |\n");
    for file in files {
        let escaped_name = escape_inline(&display_file_name(&file.name));
        let name_cell = match relative_link_target(&file.bundle_path) {
            Some(link_target) => format!("[{escaped_name}]({link_target})"),
            None => escaped_name,
        };
        let _ = writeln!(
            output,
            "| {name_cell} | {} | {} | {} | {} |",
            file.version,
            escape_inline(&file.mime_type),
            human_size(file.size_bytes),
            inline_code(&short_sha256(&file.sha256)),
        );
    }
    output.push('\n');
}

fn write_snapshots(output: &mut String, snapshots: &[ExportSnapshot]) {
    output.push_str("## Snapshots\n\n");
    if snapshots.is_empty() {
        output.push_str("*No snapshots.*\n\n");
        return;
    }
    output.push_str("| Version | Time | Trigger | Description |\n");
    output.push_str("| ---: | --- | --- | --- |\n");
    for snapshot in snapshots {
        let _ = writeln!(
            output,
            "| {} | {} | {} | {} |",
            snapshot.version,
            format_timestamp(&snapshot.created_at),
            escape_inline(&snapshot.trigger),
            escape_inline(&snapshot.description),
        );
    }
    output.push('\n');
}

fn write_history(output: &mut String, history: &[ExportMessageVersion]) {
    output.push_str("## Version history\n\n");
    let groups = group_history(history);
    if groups.is_empty() {
        output.push_str("*No message versions in this range.*\n\n");
        return;
    }
    for group in groups {
        let _ = writeln!(
            output,
            "### Message {} · {} · {}\n",
            group_thousands(group.position),
            escape_inline(&role_label(group.role)),
            inline_code(&single_line(group.message_id)),
        );
        for version in group.versions {
            let _ = writeln!(
                output,
                "#### {}\n",
                escape_inline(&version_details(version))
            );
            output.push_str(&guarded_content(&version.content));
        }
    }
}

/// Message content as a self-contained block: ends with a blank line and
/// closes a code fence it left open.
fn guarded_content(content: &str) -> String {
    let normalized_content = content.replace("\r\n", "\n").replace('\r', "\n");
    let trimmed_content = normalized_content.trim_end_matches(['\n', ' ', '\t']);
    if trimmed_content.trim().is_empty() {
        return "*(empty message)*\n\n".to_owned();
    }
    let mut block = String::with_capacity(trimmed_content.len() + 16);
    block.push_str(trimmed_content);
    block.push('\n');
    if let Some(closing_fence) = unclosed_fence(trimmed_content) {
        block.push_str(&closing_fence);
        block.push('\n');
    }
    block.push('\n');
    block
}

/// The fence that closes a top-level fenced code block still open at the end
/// of `content`, following CommonMark's rules for opening and closing fences.
fn unclosed_fence(content: &str) -> Option<String> {
    let mut open_fence: Option<(char, usize)> = None;
    for line in content.lines() {
        let indentation = line.len() - line.trim_start_matches(' ').len();
        if indentation > 3 {
            continue;
        }
        let fence_candidate = &line[indentation..];
        let fence_character = match fence_candidate.chars().next() {
            Some(character @ ('`' | '~')) => character,
            _ => continue,
        };
        let fence_length = fence_candidate
            .chars()
            .take_while(|character| *character == fence_character)
            .count();
        if fence_length < 3 {
            continue;
        }
        // the fence characters are ASCII, so their count is also a byte offset
        let after_fence = &fence_candidate[fence_length..];
        match open_fence {
            None => {
                let is_invalid_backtick_info = fence_character == '`' && after_fence.contains('`');
                if !is_invalid_backtick_info {
                    open_fence = Some((fence_character, fence_length));
                }
            }
            Some((open_character, open_length)) => {
                let closes = fence_character == open_character
                    && fence_length >= open_length
                    && after_fence.trim().is_empty();
                if closes {
                    open_fence = None;
                }
            }
        }
    }
    open_fence
        .map(|(fence_character, fence_length)| fence_character.to_string().repeat(fence_length))
}

/// One line of literal text: characters Markdown would interpret are
/// backslash-escaped, which CommonMark allows for any ASCII punctuation.
fn escape_inline(text: &str) -> String {
    let flattened_text = single_line(text);
    let mut escaped = String::with_capacity(flattened_text.len() + 8);
    for character in flattened_text.chars() {
        if matches!(
            character,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '!'
        ) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// An inline code span that survives backticks in the text: the delimiter is
/// one backtick longer than the longest run inside.
fn inline_code(text: &str) -> String {
    let flattened_text = single_line(text);
    let mut longest_backtick_run = 0;
    let mut current_backtick_run = 0;
    for character in flattened_text.chars() {
        if character == '`' {
            current_backtick_run += 1;
            longest_backtick_run = longest_backtick_run.max(current_backtick_run);
        } else {
            current_backtick_run = 0;
        }
    }
    let delimiter = "`".repeat(longest_backtick_run + 1);
    let needs_padding = flattened_text.starts_with('`') || flattened_text.ends_with('`');
    if needs_padding {
        return format!("{delimiter} {flattened_text} {delimiter}");
    }
    format!("{delimiter}{flattened_text}{delimiter}")
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn rendered(document: &ExportDocument) -> String {
        String::from_utf8(render_markdown(document)).expect("markdown is utf-8")
    }

    #[test]
    fn markdown_contains_title_summary_and_every_message() {
        let document = fixtures::sample_document();
        let markdown = rendered(&document);
        assert!(markdown.starts_with("# Trip to Lisbon\n\n"));
        assert!(markdown.contains("Snapshot v2 · 2024-12-18 14:05 UTC · 2 messages · 1 file"));
        for message in &document.messages {
            assert!(
                markdown.contains(&message.content),
                "missing content {:?}",
                message.content
            );
        }
        assert!(
            markdown
                .contains("### User — 2024-12-18 14:03 UTC\n\n*Edited · message version 2*\n\n")
        );
        assert!(markdown.contains(
            "### Assistant — 2024-12-18 14:04 UTC\n\n*Model `gpt-4o` · 1,234 tokens*\n\n"
        ));
    }

    #[test]
    fn markdown_lists_files_with_links_and_snapshots() {
        let mut document = fixtures::sample_document();
        document.files.push(fixtures::file("notes (old).txt", ""));
        let markdown = rendered(&document);
        assert!(markdown.contains("## Files\n\n| Name | Version | Type | Size | SHA-256 |"));
        assert!(markdown.contains("| [itinerary.xlsx](files/itinerary.xlsx) | 2 |"));
        assert!(markdown.contains("| 15.0 KiB | `9f86d081884c…` |"));
        // no bundle path: the name is shown without a link
        assert!(markdown.contains("| notes (old).txt | 2 |"));
        assert!(markdown.contains("## Snapshots\n\n| Version | Time | Trigger | Description |"));
        assert!(markdown.contains("| 1 | 2024-12-18 14:04 UTC | message | state after change 1 |"));
        assert!(!markdown.contains("## Version history"));
    }

    #[test]
    fn empty_title_renders_untitled_chat() {
        let mut document = fixtures::sample_document();
        document.title.clear();
        assert!(rendered(&document).starts_with("# Untitled chat\n"));
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        let mut document = fixtures::sample_document();
        document.snapshots[0].description = "a | b\nnew line".to_owned();
        let markdown = rendered(&document);
        assert!(markdown.contains("| a \\| b new line |"));
    }

    #[test]
    fn unclosed_code_fence_in_a_message_is_closed() {
        let mut document = fixtures::sample_document();
        document.messages[0].content = "Look:\n````rust\nfn main() {}\n```\nstill code".to_owned();
        let markdown = rendered(&document);
        assert!(markdown.contains("still code\n````\n\n### Assistant"));
        assert_eq!(unclosed_fence("```\ncode\n```"), None);
        assert_eq!(unclosed_fence("~~~\ncode"), Some("~~~".to_owned()));
        assert_eq!(unclosed_fence("``` not `a` fence"), None);
        assert_eq!(unclosed_fence("    ```indented code, not a fence"), None);
    }

    #[test]
    fn version_history_is_grouped_by_message() {
        let mut document = fixtures::sample_document();
        document.history = Some(fixtures::sample_history());
        let markdown = rendered(&document);
        let history_start = markdown
            .find("## Version history")
            .expect("history section present");
        let history = &markdown[history_start..];
        let first_message = history
            .find("### Message 0 · User · `msg-0`")
            .expect("first group");
        let second_message = history
            .find("### Message 1 · Assistant · `msg-1`")
            .expect("second group");
        assert!(first_message < second_message);
        let old_version = history
            .find("Plan a trip to Lisbn, please.")
            .expect("old version content");
        let new_version = history.find("#### Version 2 · 2024-12-18 14:05 UTC · current since chat version 2 · reason: typo fix").expect("new version header");
        assert!(old_version < new_version);
    }

    #[test]
    fn inline_code_survives_backticks() {
        assert_eq!(inline_code("a`b"), "``a`b``");
        assert_eq!(inline_code("`x`"), "`` `x` ``");
        assert_eq!(
            escape_inline("*bold* [link](x)"),
            "\\*bold\\* \\[link\\](x)"
        );
    }

    #[test]
    fn empty_message_is_marked() {
        let mut document = fixtures::sample_document();
        document.messages[0].content = "  \n".to_owned();
        assert!(rendered(&document).contains("*(empty message)*"));
    }
}
