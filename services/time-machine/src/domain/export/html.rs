//! The HTML export: one self-contained page (inline CSS, no scripts, no
//! external resources) that opens from a zip bundle or straight from disk.
//!
//! Every piece of text that came from a user or a model goes through
//! [`escape_html`]; a Content-Security-Policy that forbids scripts backs that
//! up in case a future edit forgets it.

use std::fmt::Write as _;

use super::common::{
    assistant_details, display_file_name, display_title, format_timestamp, group_history,
    group_thousands, human_size, is_assistant, range_line, relative_link_target, role_label,
    short_sha256, summary_line, version_details,
};
use super::{ExportDocument, ExportFile, ExportMessage, ExportMessageVersion, ExportSnapshot};

const STYLE_SHEET: &str = "
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d2330; font: 15px/1.5 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; }
main, body > header, body > footer { max-width: 880px; margin: 0 auto; padding: 0 24px; }
body > header { padding-top: 32px; }
h1 { font-size: 28px; margin: 0 0 8px; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 32px 0 12px; border-bottom: 1px solid #d8dce3; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
.meta { color: #5b6474; font-size: 13px; margin: 2px 0; }
.message { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 12px 16px; margin: 12px 0; }
.message.role-user { border-left: 4px solid #3b82f6; }
.message.role-assistant { border-left: 4px solid #10b981; }
.message.role-system { border-left: 4px solid #9ca3af; }
.message-header { font-weight: 600; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 6px; border-radius: 4px; background: #fef3c7; color: #92400e; margin-left: 6px; }
.content { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: 8px; }
.empty { color: #5b6474; font-style: italic; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
th, td { border: 1px solid #e1e4ea; padding: 6px 8px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eef0f4; }
td.number { text-align: right; white-space: nowrap; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
body > footer { color: #5b6474; font-size: 12px; padding-top: 24px; padding-bottom: 32px; }
";

pub fn render_html(document: &ExportDocument) -> Vec<u8> {
    let title = escape_html(display_title(document));
    let mut output = String::new();
    // writing into a String cannot fail, so the fmt::Results are ignored
    output.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    output.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    output.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    let _ = writeln!(output, "<title>{title}</title>");
    let _ = writeln!(output, "<style>{STYLE_SHEET}</style>\n</head>\n<body>");
    let _ = writeln!(output, "<header>\n<h1>{title}</h1>");
    let _ = writeln!(
        output,
        "<p class=\"meta\">{}</p>",
        escape_html(&summary_line(document))
    );
    let _ = writeln!(
        output,
        "<p class=\"meta\">{}</p>\n</header>\n<main>",
        escape_html(&range_line(document))
    );

    write_messages(&mut output, &document.messages);
    write_files(&mut output, &document.files);
    write_snapshots(&mut output, &document.snapshots);
    if let Some(history) = &document.history {
        write_history(&mut output, history);
    }

    let _ = writeln!(
        output,
        "</main>\n<footer>Exported by RADIANT time machine · chat <code>{}</code></footer>\n</body>\n</html>",
        escape_html(&document.chat_id)
    );
    output.into_bytes()
}

fn write_messages(output: &mut String, messages: &[ExportMessage]) {
    output.push_str("<section id=\"messages\">\n<h2>Messages</h2>\n");
    if messages.is_empty() {
        output.push_str("<p class=\"empty\">No messages.</p>\n");
    }
    for message in messages {
        let _ = write!(
            output,
            "<article class=\"message role-{}\">\n<div class=\"message-header\">{} — {}",
            role_class(&message.role),
            escape_html(&role_label(&message.role)),
            time_element(&message.created_at),
        );
        if message.edited {
            let _ = write!(
                output,
                "<span class=\"badge\">edited · v{}</span>",
                message.version
            );
        }
        output.push_str("</div>\n");
        if is_assistant(&message.role) {
            let _ = writeln!(
                output,
                "<p class=\"meta\">{}</p>",
                escape_html(&assistant_details(&message.model_id, message.total_tokens))
            );
        }
        write_content(output, &message.content);
        output.push_str("</article>\n");
    }
    output.push_str("</section>\n");
}

fn write_content(output: &mut String, content: &str) {
    if content.trim().is_empty() {
        output.push_str("<div class=\"content empty\">(empty message)</div>\n");
        return;
    }
    let _ = writeln!(
        output,
        "<div class=\"content\">{}</div>",
        escape_html(content)
    );
}

fn write_files(output: &mut String, files: &[ExportFile]) {
    output.push_str("<section id=\"files\">\n<h2>Files</h2>\n");
    if files.is_empty() {
        output.push_str("<p class=\"empty\">No files.</p>\n</section>\n");
        return;
    }
    output.push_str("<table>\n<thead><tr><th>Name</th><th>Version</th><th>Type</th><th>Size</th><th>SHA-256</th></tr></thead>\n<tbody>\n");
    for file in files {
        let escaped_name = escape_html(&display_file_name(&file.name));
        let name_cell = match relative_link_target(&file.bundle_path) {
            Some(link_target) => format!(
                "<a href=\"{}\">{escaped_name}</a>",
                escape_html(&link_target)
            ),
            None => escaped_name,
        };
        let _ = writeln!(
            output,
            "<tr><td>{name_cell}</td><td class=\"number\">{}</td><td>{}</td><td class=\"number\">{}</td><td><code title=\"{}\">{}</code></td></tr>",
            file.version,
            escape_html(&file.mime_type),
            human_size(file.size_bytes),
            escape_html(&file.sha256),
            escape_html(&short_sha256(&file.sha256)),
        );
    }
    output.push_str("</tbody>\n</table>\n</section>\n");
}

fn write_snapshots(output: &mut String, snapshots: &[ExportSnapshot]) {
    output.push_str("<section id=\"snapshots\">\n<h2>Snapshots</h2>\n");
    if snapshots.is_empty() {
        output.push_str("<p class=\"empty\">No snapshots.</p>\n</section>\n");
        return;
    }
    output.push_str("<table>\n<thead><tr><th>Version</th><th>Time</th><th>Trigger</th><th>Description</th></tr></thead>\n<tbody>\n");
    for snapshot in snapshots {
        let _ = writeln!(
            output,
            "<tr><td class=\"number\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            snapshot.version,
            time_element(&snapshot.created_at),
            escape_html(&snapshot.trigger),
            escape_html(&snapshot.description),
        );
    }
    output.push_str("</tbody>\n</table>\n</section>\n");
}

fn write_history(output: &mut String, history: &[ExportMessageVersion]) {
    output.push_str("<section id=\"history\">\n<h2>Version history</h2>\n");
    let groups = group_history(history);
    if groups.is_empty() {
        output.push_str("<p class=\"empty\">No message versions in this range.</p>\n");
    }
    for group in groups {
        let _ = writeln!(
            output,
            "<h3>Message {} · {} · <code>{}</code></h3>",
            group_thousands(group.position),
            escape_html(&role_label(group.role)),
            escape_html(group.message_id),
        );
        for version in group.versions {
            let _ = writeln!(
                output,
                "<article class=\"message role-{}\">\n<div class=\"message-header\">{}</div>",
                role_class(&version.role),
                escape_html(&version_details(version)),
            );
            write_content(output, &version.content);
            output.push_str("</article>\n");
        }
    }
    output.push_str("</section>\n");
}

fn time_element(timestamp: &chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        timestamp.to_rfc3339(),
        format_timestamp(timestamp)
    )
}

/// Only the known roles become CSS classes, so a role string can never inject
/// attribute text.
fn role_class(role: &str) -> &'static str {
    match role.trim().to_ascii_lowercase().as_str() {
        "user" => "user",
        "assistant" => "assistant",
        "system" => "system",
        _ => "other",
    }
}

/// Escapes text for element content and quoted attribute values alike. NUL is
/// replaced because HTML parsers would drop or replace it inconsistently.
pub(super) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\0' => escaped.push('\u{FFFD}'),
            _ => escaped.push(character),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    const ATTACK: &str = "<script>alert(\"x\")</script>";
    const ESCAPED_ATTACK: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";

    fn rendered(document: &ExportDocument) -> String {
        String::from_utf8(render_html(document)).expect("html is utf-8")
    }

    #[test]
    fn html_is_a_self_contained_page_with_every_message() {
        let document = fixtures::sample_document();
        let html = rendered(&document);
        assert!(
            html.starts_with(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
            )
        );
        assert!(html.contains("<title>Trip to Lisbon</title>"));
        assert!(html.contains("<style>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        for message in &document.messages {
            assert!(
                html.contains(&escape_html(&message.content)),
                "missing content {:?}",
                message.content
            );
        }
        // line breaks are kept as-is and shown by pre-wrap
        assert!(html.contains("Here is a plan:\n\n1. Alfama"));
        assert!(html.contains("white-space: pre-wrap"));
        assert!(html.contains("<span class=\"badge\">edited · v2</span>"));
        assert!(html.contains("Model gpt-4o · 1,234 tokens"));
        assert!(html.contains("<a href=\"files/itinerary.xlsx\">itinerary.xlsx</a>"));
        assert!(html.contains("<td>message</td><td>state after change 1</td>"));
        assert!(!html.contains("Version history"));
    }

    #[test]
    fn html_escapes_markup_in_message_title_and_file_name() {
        let mut document = fixtures::sample_document();
        document.title = ATTACK.to_owned();
        document.messages[0].content = ATTACK.to_owned();
        document.files[0].name = ATTACK.to_owned();
        document.files[0].bundle_path = "files/a\"b'<c>.txt".to_owned();
        document.snapshots[0].description = "it's <b>".to_owned();
        let html = rendered(&document);
        assert!(!html.contains(ATTACK));
        assert!(!html.contains("<script"));
        // title element, heading, message content and file link text
        assert!(
            html.matches(ESCAPED_ATTACK).count() >= 4,
            "escaped attack appears too rarely"
        );
        assert!(html.contains(&format!("<title>{ESCAPED_ATTACK}</title>")));
        assert!(html.contains(&format!("<h1>{ESCAPED_ATTACK}</h1>")));
        assert!(html.contains(&format!(
            "<a href=\"files/a%22b%27%3Cc%3E.txt\">{ESCAPED_ATTACK}</a>"
        )));
        assert!(html.contains("it&#39;s &lt;b&gt;"));
    }

    #[test]
    fn unknown_roles_cannot_inject_attributes() {
        let mut document = fixtures::sample_document();
        document.messages[0].role = "x\" onclick=\"alert(1)".to_owned();
        let html = rendered(&document);
        assert!(html.contains("class=\"message role-other\""));
        assert!(!html.contains("onclick=\"alert"));
    }

    #[test]
    fn history_section_appears_when_asked_for() {
        let mut document = fixtures::sample_document();
        document.history = Some(fixtures::sample_history());
        let html = rendered(&document);
        assert!(html.contains("<h2>Version history</h2>"));
        assert!(html.contains("<h3>Message 0 · User · <code>msg-0</code></h3>"));
        assert!(html.contains("Plan a trip to Lisbn, please."));
        assert!(html.contains("reason: typo fix"));
    }

    #[test]
    fn empty_title_renders_untitled_chat() {
        let mut document = fixtures::sample_document();
        document.title = String::new();
        assert!(rendered(&document).contains("<h1>Untitled chat</h1>"));
    }
}
