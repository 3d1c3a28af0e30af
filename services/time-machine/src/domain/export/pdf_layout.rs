//! Line wrapping and pagination for the PDF: turns styled paragraphs into
//! positioned lines on A4 pages, measuring with the real Helvetica widths.

use super::pdf_font::{FontFace, encode_win_ansi};

pub(super) const PAGE_WIDTH: f32 = 595.0;
pub(super) const PAGE_HEIGHT: f32 = 842.0;
pub(super) const MARGIN_LEFT: f32 = 56.0;
pub(super) const MARGIN_RIGHT: f32 = 56.0;
const MARGIN_TOP: f32 = 56.0;
/// Taller than the top margin to leave the footer its own band.
const MARGIN_BOTTOM: f32 = 64.0;
pub(super) const TEXT_WIDTH: f32 = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
const TAB_AS_SPACES: &str = "    ";

#[derive(Debug, Clone, Copy)]
pub(super) struct TextStyle {
    pub face: FontFace,
    pub size: f32,
    /// distance from one baseline to the next
    pub leading: f32,
    /// fill gray level: 0 black, 1 white
    pub gray: f32,
}

#[derive(Debug, Clone)]
pub(super) enum PageItem {
    Text {
        style: TextStyle,
        x: f32,
        baseline: f32,
        encoded_text: Vec<u8>,
    },
    /// a thin horizontal line across the text width
    Rule { y: f32 },
}

#[derive(Debug, Clone, Default)]
pub(super) struct PageLayout {
    pub items: Vec<PageItem>,
}

/// Places content top to bottom, starting a new page whenever the next line
/// would run into the bottom margin.
pub(super) struct LayoutCursor {
    finished_pages: Vec<PageLayout>,
    current_page: PageLayout,
    cursor_y: f32,
}

impl LayoutCursor {
    pub(super) fn new() -> Self {
        Self {
            finished_pages: Vec::new(),
            current_page: PageLayout::default(),
            cursor_y: PAGE_HEIGHT - MARGIN_TOP,
        }
    }

    fn start_new_page(&mut self) {
        let full_page = std::mem::take(&mut self.current_page);
        self.finished_pages.push(full_page);
        self.cursor_y = PAGE_HEIGHT - MARGIN_TOP;
    }

    /// Breaks the page unless `height` still fits. An empty page never breaks,
    /// which guarantees progress even for content taller than a page.
    fn ensure_room(&mut self, height: f32) {
        let remaining_height = self.cursor_y - MARGIN_BOTTOM;
        if height > remaining_height && !self.current_page.items.is_empty() {
            self.start_new_page();
        }
    }

    /// Vertical space between blocks; swallowed at the top of a page, where it
    /// would only look like a layout mistake.
    pub(super) fn add_gap(&mut self, height: f32) {
        if self.current_page.items.is_empty() {
            return;
        }
        self.cursor_y -= height;
    }

    fn add_line(&mut self, style: TextStyle, indent: f32, encoded_text: Vec<u8>) {
        self.ensure_room(style.leading);
        // the baseline sits one font size below the line's top; the rest of
        // the leading leaves room for descenders
        let baseline = self.cursor_y - style.size;
        self.current_page.items.push(PageItem::Text {
            style,
            x: MARGIN_LEFT + indent,
            baseline,
            encoded_text,
        });
        self.cursor_y -= style.leading;
    }

    pub(super) fn add_paragraph(&mut self, text: &str, style: TextStyle, indent: f32) {
        for line in wrap_text(text, style.face, style.size, TEXT_WIDTH - indent) {
            self.add_line(style, indent, line);
        }
    }

    /// A heading stays on the same page as at least `keep_with_next` points of
    /// what follows it, so no page ends on a dangling heading.
    pub(super) fn add_heading(&mut self, text: &str, style: TextStyle, keep_with_next: f32) {
        let lines = wrap_text(text, style.face, style.size, TEXT_WIDTH);
        self.ensure_room(lines.len() as f32 * style.leading + keep_with_next);
        for line in lines {
            self.add_line(style, 0.0, line);
        }
    }

    pub(super) fn add_rule(&mut self) {
        const RULE_SPACE: f32 = 6.0;
        self.ensure_room(RULE_SPACE);
        self.current_page.items.push(PageItem::Rule {
            y: self.cursor_y - RULE_SPACE / 2.0,
        });
        self.cursor_y -= RULE_SPACE;
    }

    /// All pages laid out; never empty, so a PDF always has a first page.
    pub(super) fn finish(mut self) -> Vec<PageLayout> {
        if !self.current_page.items.is_empty() || self.finished_pages.is_empty() {
            self.finished_pages.push(self.current_page);
        }
        self.finished_pages
    }
}

/// Wraps text into WinAnsi-encoded lines no wider than `max_width` points.
/// Newlines are hard breaks (an empty line stays an empty line); lines break
/// at spaces, and a word wider than the whole line is split between glyphs.
pub(super) fn wrap_text(
    text: &str,
    face: FontFace,
    font_size: f32,
    max_width: f32,
) -> Vec<Vec<u8>> {
    let normalized_text = text.replace("\r\n", "\n").replace('\r', "\n");
    let max_width_units = (max_width.max(0.0) * 1000.0 / font_size.max(0.1)) as u64;
    let mut lines = Vec::new();
    for paragraph in normalized_text.split('\n') {
        let encoded_paragraph = encode_win_ansi(&paragraph.replace('\t', TAB_AS_SPACES));
        wrap_encoded_paragraph(&encoded_paragraph, face, max_width_units, &mut lines);
    }
    lines
}

fn wrap_encoded_paragraph(
    encoded_paragraph: &[u8],
    face: FontFace,
    max_width_units: u64,
    lines: &mut Vec<Vec<u8>>,
) {
    let measure = |codes: &[u8]| -> u64 {
        codes
            .iter()
            .map(|code| u64::from(face.glyph_width(*code)))
            .sum()
    };
    let space_units = u64::from(face.glyph_width(b' '));
    let mut current_line: Vec<u8> = Vec::new();
    let mut current_units: u64 = 0;
    let mut line_started = false;
    let mut on_first_line = true;
    let lines_before_paragraph = lines.len();

    for word in encoded_paragraph.split(|code| *code == b' ') {
        let word_units = measure(word);
        if line_started {
            let extended_units = current_units + space_units + word_units;
            if extended_units <= max_width_units {
                current_line.push(b' ');
                current_line.extend_from_slice(word);
                current_units = extended_units;
                continue;
            }
            lines.push(std::mem::take(&mut current_line));
            current_units = 0;
            line_started = false;
            on_first_line = false;
        }
        // runs of spaces are kept inside a line (indentation, alignment) but
        // would only indent a continuation line by accident
        if word.is_empty() && !on_first_line {
            continue;
        }
        if word_units <= max_width_units {
            current_line.extend_from_slice(word);
            current_units = word_units;
            line_started = true;
            continue;
        }
        for &code in word {
            let glyph_units = u64::from(face.glyph_width(code));
            // at least one glyph per line, however narrow the column
            if !current_line.is_empty() && current_units + glyph_units > max_width_units {
                lines.push(std::mem::take(&mut current_line));
                current_units = 0;
                on_first_line = false;
            }
            current_line.push(code);
            current_units += glyph_units;
        }
        line_started = true;
    }
    // a trailing space that forced a break leaves nothing worth a line, but an
    // empty paragraph is an intentional blank line
    if line_started || lines.len() == lines_before_paragraph {
        lines.push(current_line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: TextStyle = TextStyle {
        face: FontFace::Regular,
        size: 10.0,
        leading: 13.0,
        gray: 0.0,
    };

    fn line_width(line: &[u8]) -> f32 {
        FontFace::Regular.text_width(line, 10.0)
    }

    #[test]
    fn short_text_stays_on_one_line() {
        assert_eq!(
            wrap_text("hello world", FontFace::Regular, 10.0, TEXT_WIDTH),
            vec![b"hello world".to_vec()]
        );
    }

    #[test]
    fn newlines_are_hard_breaks_and_empty_lines_survive() {
        let lines = wrap_text("a\r\n\nb\rc", FontFace::Regular, 10.0, TEXT_WIDTH);
        assert_eq!(
            lines,
            vec![b"a".to_vec(), Vec::new(), b"b".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn long_paragraphs_wrap_at_spaces_within_the_width() {
        let text = "lorem ipsum dolor sit amet ".repeat(40);
        let lines = wrap_text(&text, FontFace::Regular, 10.0, TEXT_WIDTH);
        assert!(lines.len() > 3);
        for line in &lines {
            assert!(
                line_width(line) <= TEXT_WIDTH,
                "line too wide: {}",
                line_width(line)
            );
            assert!(
                !line.starts_with(b" "),
                "continuation line starts with a space"
            );
        }
        let rejoined: Vec<u8> = lines.join(&b' ');
        assert_eq!(
            String::from_utf8_lossy(&rejoined).trim_end(),
            text.trim_end()
        );
    }

    #[test]
    fn an_unbroken_word_is_split_to_fit() {
        let long_word = "W".repeat(300);
        let lines = wrap_text(
            &format!("start {long_word} end"),
            FontFace::Regular,
            10.0,
            TEXT_WIDTH,
        );
        assert!(
            lines.len() >= 5,
            "300 W's at 9.44 pt need at least 5 lines of {TEXT_WIDTH} pt"
        );
        for line in &lines {
            assert!(
                line_width(line) <= TEXT_WIDTH,
                "line too wide: {}",
                line_width(line)
            );
        }
        let total_ws: usize = lines
            .iter()
            .map(|line| line.iter().filter(|code| **code == b'W').count())
            .sum();
        assert_eq!(total_ws, 300);
        assert_eq!(lines.first().map(Vec::as_slice), Some(b"start".as_slice()));
        assert!(lines.last().is_some_and(|line| line.ends_with(b" end")));
    }

    #[test]
    fn a_column_narrower_than_a_glyph_still_makes_progress() {
        let lines = wrap_text("abc", FontFace::Regular, 10.0, 1.0);
        assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn leading_indentation_and_tabs_are_kept() {
        let lines = wrap_text("\tcode()\n  two", FontFace::Regular, 10.0, TEXT_WIDTH);
        assert_eq!(lines, vec![b"    code()".to_vec(), b"  two".to_vec()]);
    }

    #[test]
    fn cursor_paginates_and_stays_inside_the_margins() {
        let mut cursor = LayoutCursor::new();
        for index in 0..200 {
            cursor.add_paragraph(&format!("line {index}"), BODY, 0.0);
        }
        let pages = cursor.finish();
        assert!(
            pages.len() >= 3,
            "200 lines of 13 pt need several pages, got {}",
            pages.len()
        );
        let line_count: usize = pages.iter().map(|page| page.items.len()).sum();
        assert_eq!(line_count, 200);
        for page in &pages {
            for item in &page.items {
                if let PageItem::Text { baseline, .. } = item {
                    assert!(
                        *baseline >= MARGIN_BOTTOM - BODY.leading
                            && *baseline <= PAGE_HEIGHT - MARGIN_TOP
                    );
                }
            }
        }
    }

    #[test]
    fn empty_layout_still_has_one_page_and_top_gaps_are_dropped() {
        let mut cursor = LayoutCursor::new();
        cursor.add_gap(100.0);
        cursor.add_paragraph("first", BODY, 0.0);
        let pages = cursor.finish();
        assert_eq!(pages.len(), 1);
        let Some(PageItem::Text { baseline, .. }) = pages[0].items.first() else {
            panic!("expected a text line");
        };
        assert_eq!(*baseline, PAGE_HEIGHT - MARGIN_TOP - BODY.size);
        assert_eq!(LayoutCursor::new().finish().len(), 1);
    }
}
