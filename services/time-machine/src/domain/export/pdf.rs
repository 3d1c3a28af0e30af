//! The PDF export, written by hand: PDF 1.4, A4 pages, the standard Helvetica
//! fonts (nothing embedded) and uncompressed content streams, so the text
//! stays extractable and searchable without any PDF library.

use super::common::{
    assistant_details, display_file_name, display_title, format_timestamp, group_history,
    group_thousands, human_size, is_assistant, range_line, role_label, short_sha256, single_line,
    summary_line, version_details,
};
use super::pdf_font::FontFace;
use super::pdf_layout::{
    LayoutCursor, MARGIN_LEFT, MARGIN_RIGHT, PAGE_HEIGHT, PAGE_WIDTH, PageItem, PageLayout,
    TextStyle,
};
use super::pdf_writer::{PdfObjectWriter, format_number, push_literal_string, text_string};
use super::{ExportDocument, ExportFile, ExportMessage, ExportMessageVersion, ExportSnapshot};

const TITLE_STYLE: TextStyle = TextStyle {
    face: FontFace::Bold,
    size: 18.0,
    leading: 23.0,
    gray: 0.0,
};
const SECTION_STYLE: TextStyle = TextStyle {
    face: FontFace::Bold,
    size: 14.0,
    leading: 19.0,
    gray: 0.0,
};
const ENTRY_HEADER_STYLE: TextStyle = TextStyle {
    face: FontFace::Bold,
    size: 10.5,
    leading: 15.0,
    gray: 0.0,
};
const BODY_STYLE: TextStyle = TextStyle {
    face: FontFace::Regular,
    size: 10.0,
    leading: 13.5,
    gray: 0.0,
};
const META_STYLE: TextStyle = TextStyle {
    face: FontFace::Regular,
    size: 9.0,
    leading: 12.0,
    gray: 0.35,
};
const FOOTER_STYLE: TextStyle = TextStyle {
    face: FontFace::Regular,
    size: 8.5,
    leading: 10.0,
    gray: 0.35,
};
const FOOTER_BASELINE: f32 = 32.0;
const PRODUCER: &str = "RADIANT time machine";

pub fn render_pdf(document: &ExportDocument) -> Vec<u8> {
    let pages = lay_out_document(document);
    let page_count = pages.len();

    let mut writer = PdfObjectWriter::new();
    let catalog_id = writer.reserve_object_id();
    let pages_id = writer.reserve_object_id();
    let regular_font_id = writer.reserve_object_id();
    let bold_font_id = writer.reserve_object_id();
    let info_id = writer.reserve_object_id();

    let mut page_ids = Vec::with_capacity(page_count);
    for (page_index, page) in pages.iter().enumerate() {
        let page_id = writer.reserve_object_id();
        let content_id = writer.reserve_object_id();
        writer.set_stream_object(
            content_id,
            &page_content_stream(page, page_index + 1, page_count),
        );
        let page_dictionary = format!(
            "<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /{} {regular_font_id} 0 R /{} {bold_font_id} 0 R >> >> /Contents {content_id} 0 R >>",
            format_number(PAGE_WIDTH),
            format_number(PAGE_HEIGHT),
            FontFace::Regular.resource_name(),
            FontFace::Bold.resource_name(),
        );
        writer.set_object(page_id, page_dictionary.into_bytes());
        page_ids.push(page_id);
    }

    let kids: Vec<String> = page_ids
        .iter()
        .map(|page_id| format!("{page_id} 0 R"))
        .collect();
    writer.set_object(
        pages_id,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    writer.set_object(
        catalog_id,
        format!("<< /Type /Catalog /Pages {pages_id} 0 R >>").into_bytes(),
    );
    writer.set_object(regular_font_id, font_dictionary(FontFace::Regular));
    writer.set_object(bold_font_id, font_dictionary(FontFace::Bold));
    writer.set_object(info_id, info_dictionary(document));
    writer.finish(catalog_id, info_id)
}

fn font_dictionary(face: FontFace) -> Vec<u8> {
    format!(
        "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding >>",
        face.base_font()
    )
    .into_bytes()
}

fn info_dictionary(document: &ExportDocument) -> Vec<u8> {
    let mut dictionary = b"<< /Title ".to_vec();
    dictionary.extend_from_slice(&text_string(&single_line(display_title(document))));
    dictionary.extend_from_slice(b" /Producer ");
    dictionary.extend_from_slice(&text_string(PRODUCER));
    dictionary.extend_from_slice(b" /CreationDate ");
    let creation_date = document.exported_at.format("D:%Y%m%d%H%M%SZ").to_string();
    dictionary.extend_from_slice(&text_string(&creation_date));
    dictionary.extend_from_slice(b" >>");
    dictionary
}

fn lay_out_document(document: &ExportDocument) -> Vec<PageLayout> {
    let mut cursor = LayoutCursor::new();
    cursor.add_heading(
        &single_line(display_title(document)),
        TITLE_STYLE,
        META_STYLE.leading * 2.0,
    );
    cursor.add_gap(2.0);
    cursor.add_paragraph(&summary_line(document), META_STYLE, 0.0);
    cursor.add_paragraph(&range_line(document), META_STYLE, 0.0);
    cursor.add_gap(4.0);
    cursor.add_rule();

    lay_out_messages(&mut cursor, &document.messages);
    lay_out_files(&mut cursor, &document.files);
    lay_out_snapshots(&mut cursor, &document.snapshots);
    if let Some(history) = &document.history {
        lay_out_history(&mut cursor, history);
    }
    cursor.finish()
}

fn add_section_heading(cursor: &mut LayoutCursor, title: &str) {
    cursor.add_gap(14.0);
    // a section heading wants its first entry's header and a line with it
    cursor.add_heading(
        title,
        SECTION_STYLE,
        ENTRY_HEADER_STYLE.leading + BODY_STYLE.leading + 6.0,
    );
    cursor.add_rule();
    cursor.add_gap(2.0);
}

fn add_content(cursor: &mut LayoutCursor, content: &str) {
    if content.trim().is_empty() {
        cursor.add_paragraph("(empty message)", META_STYLE, 0.0);
        return;
    }
    cursor.add_paragraph(
        content.trim_end_matches(['\n', '\r', ' ', '\t']),
        BODY_STYLE,
        0.0,
    );
}

fn lay_out_messages(cursor: &mut LayoutCursor, messages: &[ExportMessage]) {
    add_section_heading(cursor, "Messages");
    if messages.is_empty() {
        cursor.add_paragraph("No messages.", META_STYLE, 0.0);
    }
    for message in messages {
        let mut header = format!(
            "{} — {}",
            role_label(&message.role),
            format_timestamp(&message.created_at)
        );
        if message.edited {
            header.push_str(&format!(" · edited (v{})", message.version));
        }
        cursor.add_heading(&header, ENTRY_HEADER_STYLE, BODY_STYLE.leading * 2.0);
        if is_assistant(&message.role) {
            cursor.add_paragraph(
                &assistant_details(&message.model_id, message.total_tokens),
                META_STYLE,
                0.0,
            );
        }
        add_content(cursor, &message.content);
        cursor.add_gap(10.0);
    }
}

fn lay_out_files(cursor: &mut LayoutCursor, files: &[ExportFile]) {
    add_section_heading(cursor, "Files");
    if files.is_empty() {
        cursor.add_paragraph("No files.", META_STYLE, 0.0);
    }
    for file in files {
        let name = display_file_name(&file.name);
        cursor.add_heading(&name, ENTRY_HEADER_STYLE, META_STYLE.leading);
        let mut details = format!(
            "v{} · {} · {} · sha256 {}",
            file.version,
            single_line(&file.mime_type),
            human_size(file.size_bytes),
            short_sha256(&file.sha256),
        );
        let bundle_path = single_line(&file.bundle_path);
        if !bundle_path.trim().is_empty() {
            details.push_str(&format!(" · in bundle: {bundle_path}"));
        }
        cursor.add_paragraph(&details, META_STYLE, 0.0);
        cursor.add_gap(6.0);
    }
}

fn lay_out_snapshots(cursor: &mut LayoutCursor, snapshots: &[ExportSnapshot]) {
    add_section_heading(cursor, "Snapshots");
    if snapshots.is_empty() {
        cursor.add_paragraph("No snapshots.", META_STYLE, 0.0);
    }
    for snapshot in snapshots {
        let mut line = format!(
            "v{} · {} · {}",
            snapshot.version,
            format_timestamp(&snapshot.created_at),
            single_line(&snapshot.trigger),
        );
        let description = single_line(&snapshot.description);
        if !description.trim().is_empty() {
            line.push_str(&format!(" · {description}"));
        }
        cursor.add_paragraph(&line, BODY_STYLE, 0.0);
    }
}

fn lay_out_history(cursor: &mut LayoutCursor, history: &[ExportMessageVersion]) {
    add_section_heading(cursor, "Version history");
    let groups = group_history(history);
    if groups.is_empty() {
        cursor.add_paragraph("No message versions in this range.", META_STYLE, 0.0);
    }
    for group in groups {
        let header = format!(
            "Message {} · {} · {}",
            group_thousands(group.position),
            role_label(group.role),
            single_line(group.message_id),
        );
        cursor.add_heading(
            &header,
            ENTRY_HEADER_STYLE,
            META_STYLE.leading + BODY_STYLE.leading * 2.0,
        );
        for version in group.versions {
            cursor.add_heading(
                &version_details(version),
                META_STYLE,
                BODY_STYLE.leading * 2.0,
            );
            add_content(cursor, &version.content);
            cursor.add_gap(6.0);
        }
        cursor.add_gap(6.0);
    }
}

fn page_content_stream(page: &PageLayout, page_number: usize, page_count: usize) -> Vec<u8> {
    let mut stream = Vec::new();
    for item in &page.items {
        match item {
            PageItem::Text {
                style,
                x,
                baseline,
                encoded_text,
            } => {
                push_text_line(&mut stream, *style, *x, *baseline, encoded_text);
            }
            PageItem::Rule { y } => {
                let rule = format!(
                    "0.8 G 0.5 w {left} {y} m {right} {y} l S\n",
                    left = format_number(MARGIN_LEFT),
                    right = format_number(PAGE_WIDTH - MARGIN_RIGHT),
                    y = format_number(*y),
                );
                stream.extend_from_slice(rule.as_bytes());
            }
        }
    }
    let footer_text = format!("Page {page_number} of {page_count}").into_bytes();
    let footer_width = FOOTER_STYLE
        .face
        .text_width(&footer_text, FOOTER_STYLE.size);
    let footer_x = (PAGE_WIDTH - footer_width) / 2.0;
    push_text_line(
        &mut stream,
        FOOTER_STYLE,
        footer_x,
        FOOTER_BASELINE,
        &footer_text,
    );
    stream
}

fn push_text_line(
    stream: &mut Vec<u8>,
    style: TextStyle,
    x: f32,
    baseline: f32,
    encoded_text: &[u8],
) {
    if encoded_text.is_empty() {
        return;
    }
    let text_setup = format!(
        "BT /{} {} Tf {} g {} {} Td ",
        style.face.resource_name(),
        format_number(style.size),
        format_number(style.gray),
        format_number(x),
        format_number(baseline),
    );
    stream.extend_from_slice(text_setup.as_bytes());
    push_literal_string(stream, encoded_text, true);
    stream.extend_from_slice(b" Tj ET\n");
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|window| *window == needle)
            .count()
    }

    fn ascii_after<'a>(pdf: &'a [u8], marker: &str) -> &'a str {
        let start = find(pdf, marker.as_bytes())
            .map(|index| index + marker.len())
            .expect("marker present");
        let end = pdf[start..]
            .iter()
            .position(|byte| !byte.is_ascii_digit())
            .map_or(pdf.len(), |length| start + length);
        std::str::from_utf8(&pdf[start..end]).expect("digits are ascii")
    }

    /// Checks the file structure a reader relies on and returns the page count.
    fn assert_well_formed(pdf: &[u8]) -> usize {
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));

        let xref_offset: usize = ascii_after(pdf, "startxref\n")
            .parse()
            .expect("startxref is a number");
        assert!(
            pdf[xref_offset..].starts_with(b"xref\n0 "),
            "startxref does not point at the xref table"
        );
        let xref_text =
            std::str::from_utf8(&pdf[xref_offset..]).expect("xref and trailer are ascii");
        let mut xref_lines = xref_text.lines();
        assert_eq!(xref_lines.next(), Some("xref"));
        let subsection = xref_lines.next().expect("subsection header");
        let entry_count: usize = subsection
            .strip_prefix("0 ")
            .expect("subsection starts at 0")
            .parse()
            .expect("count");
        assert_eq!(xref_lines.next(), Some("0000000000 65535 f "));
        for object_number in 1..entry_count {
            let entry = xref_lines.next().expect("xref entry");
            assert_eq!(
                entry.len(),
                19,
                "entry {object_number} is not 20 bytes with its newline"
            );
            assert!(entry.ends_with(" 00000 n "));
            let offset: usize = entry[..10].parse().expect("offset digits");
            let expected_header = format!("{object_number} 0 obj\n");
            assert!(
                pdf[offset..].starts_with(expected_header.as_bytes()),
                "xref offset of object {object_number} does not point at its header"
            );
        }
        assert_eq!(xref_lines.next(), Some("trailer"));
        let size: usize = ascii_after(pdf, "/Size ").parse().expect("size");
        assert_eq!(size, entry_count);
        assert_eq!(count(pdf, b" 0 obj\n"), entry_count - 1);
        assert!(find(pdf, b"/Root 1 0 R").is_some());

        let page_objects = count(pdf, b"/Type /Page /Parent");
        let declared_count: usize = ascii_after(pdf, "/Count ").parse().expect("count");
        assert_eq!(declared_count, page_objects);
        assert_eq!(count(pdf, b"/Type /Pages"), 1);
        page_objects
    }

    /// The bytes of every string shown with Tj, in order.
    fn shown_strings(pdf: &[u8]) -> Vec<Vec<u8>> {
        let mut strings = Vec::new();
        let mut rest = pdf;
        while let Some(start) = find(rest, b" Td (") {
            let body = &rest[start + 5..];
            let mut string = Vec::new();
            let mut index = 0;
            while index < body.len() {
                match body[index] {
                    b'\\' if index + 1 < body.len() => {
                        string.push(body[index + 1]);
                        index += 2;
                    }
                    b')' => break,
                    byte => {
                        string.push(byte);
                        index += 1;
                    }
                }
            }
            strings.push(string);
            rest = &body[index..];
        }
        strings
    }

    #[test]
    fn small_chat_is_a_well_formed_single_page() {
        let document = fixtures::sample_document();
        let pdf = render_pdf(&document);
        assert_eq!(assert_well_formed(&pdf), 1);
        assert!(find(&pdf, b"/BaseFont /Helvetica /Encoding /WinAnsiEncoding").is_some());
        assert!(
            find(
                &pdf,
                b"/BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding"
            )
            .is_some()
        );
        assert!(find(&pdf, b"/MediaBox [0 0 595 842]").is_some());
        assert!(
            find(
                &pdf,
                b"/Title (Trip to Lisbon) /Producer (RADIANT time machine)"
            )
            .is_some()
        );
        assert!(find(&pdf, b"/CreationDate (D:20241218150300Z)").is_some());
        let strings = shown_strings(&pdf);
        assert!(strings.contains(&b"Trip to Lisbon".to_vec()));
        assert!(strings.contains(&b"Lisbon is lovely in spring.".to_vec()));
        assert!(strings.contains(&b"Page 1 of 1".to_vec()));
        assert!(strings.contains(&b"itinerary.xlsx".to_vec()));
        assert!(
            strings
                .iter()
                .any(|string| string.starts_with(b"v1 \xB7 2024-12-18 14:04 UTC \xB7 message"))
        );
        // headers are bold, content regular
        assert!(find(&pdf, b"/F2 10.5 Tf 0 g 56 ").is_some());
        assert!(find(&pdf, b"/F1 10 Tf 0 g 56 ").is_some());
    }

    #[test]
    fn long_chat_spans_several_numbered_pages() {
        let mut document = fixtures::sample_document();
        document.messages = (0..300)
            .map(|position| {
                let role = if position % 2 == 0 { "user" } else { "assistant" };
                fixtures::message(position, role, &format!("Message number {position}.\nSecond line of it.\nThird line, marker{position}."))
            })
            .collect();
        let pdf = render_pdf(&document);
        let page_count = assert_well_formed(&pdf);
        assert!(
            page_count >= 10,
            "300 messages of three lines fit on {page_count} pages only"
        );
        let strings = shown_strings(&pdf);
        assert!(strings.contains(&format!("Page 1 of {page_count}").into_bytes()));
        assert!(strings.contains(&format!("Page {page_count} of {page_count}").into_bytes()));
        assert!(strings.contains(&b"Third line, marker299.".to_vec()));
        assert!(find(&pdf, b"(Message number 150.) Tj").is_some());
    }

    #[test]
    fn a_300_character_word_is_broken_to_fit() {
        let mut document = fixtures::sample_document();
        let long_word = "x".repeat(300);
        document.messages[0].content = format!("before {long_word} after");
        let pdf = render_pdf(&document);
        assert_well_formed(&pdf);
        assert!(find(&pdf, long_word.as_bytes()).is_none());
        let pieces: Vec<Vec<u8>> = shown_strings(&pdf)
            .into_iter()
            .filter(|string| find(string, b"xxxxx").is_some())
            .collect();
        assert!(
            pieces.len() >= 3,
            "300 x's of 5 pt need at least 3 lines of 483 pt"
        );
        // the overlong word starts its own line, after the words before it
        assert!(shown_strings(&pdf).contains(&b"before".to_vec()));
        assert!(pieces[0].iter().all(|byte| *byte == b'x'));
        assert!(
            pieces
                .last()
                .is_some_and(|piece| piece.ends_with(b"x after"))
        );
        let total_xs: usize = pieces
            .iter()
            .map(|piece| piece.iter().filter(|byte| **byte == b'x').count())
            .sum();
        assert_eq!(total_xs, 300);
        for piece in &pieces {
            let width = BODY_STYLE.face.text_width(piece, BODY_STYLE.size);
            assert!(
                width <= PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT,
                "piece is {width} pt wide"
            );
        }
    }

    #[test]
    fn text_is_mapped_to_win_ansi() {
        let mut document = fixtures::sample_document();
        document.messages[0].content = "café €5 — “quoted” in 日本".to_owned();
        let pdf = render_pdf(&document);
        assert_well_formed(&pdf);
        let expected: &[u8] = b"(caf\xE9 \x805 \x97 \x93quoted\x94 in ??) Tj";
        assert!(find(&pdf, expected).is_some(), "win ansi bytes missing");
        assert!(find(&pdf, "日本".as_bytes()).is_none());
    }

    #[test]
    fn parentheses_and_backslashes_are_escaped() {
        let mut document = fixtures::sample_document();
        document.messages[0].content = r"f(x) = \alpha (unbalanced".to_owned();
        document.title = "Plan (draft) \\ v2".to_owned();
        let pdf = render_pdf(&document);
        assert_well_formed(&pdf);
        assert!(find(&pdf, br"(f\(x\) = \\alpha \(unbalanced) Tj").is_some());
        assert!(find(&pdf, br"/Title (Plan \(draft\) \\ v2)").is_some());
    }

    #[test]
    fn non_ascii_titles_go_to_info_as_utf16() {
        let mut document = fixtures::sample_document();
        document.title = "日本".to_owned();
        let pdf = render_pdf(&document);
        assert_well_formed(&pdf);
        // BOM, then U+65E5 U+672C: printable bytes stay, the others are octal
        assert!(find(&pdf, br"/Title (\376\377e\345g,)").is_some());
        assert!(shown_strings(&pdf).contains(&b"??".to_vec()));
    }

    #[test]
    fn empty_chat_and_history_render_without_panicking() {
        let mut document = fixtures::sample_document();
        document.title = String::new();
        document.messages.clear();
        document.files.clear();
        document.snapshots.clear();
        document.history = Some(Vec::new());
        let pdf = render_pdf(&document);
        assert_eq!(assert_well_formed(&pdf), 1);
        let strings = shown_strings(&pdf);
        assert!(strings.contains(&b"Untitled chat".to_vec()));
        assert!(strings.contains(&b"No messages.".to_vec()));
        assert!(strings.contains(&b"No message versions in this range.".to_vec()));
    }

    #[test]
    fn history_is_included_when_present() {
        let mut document = fixtures::sample_document();
        document.history = Some(fixtures::sample_history());
        let pdf = render_pdf(&document);
        assert_well_formed(&pdf);
        let strings = shown_strings(&pdf);
        assert!(strings.contains(&b"Version history".to_vec()));
        assert!(strings.contains(&b"Plan a trip to Lisbn, please.".to_vec()));
    }
}
