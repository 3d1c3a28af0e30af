//! What the PDF needs to know about its two fonts: how Unicode text maps to
//! WinAnsiEncoding bytes and how wide each byte's glyph is.
//!
//! The fonts are the standard Type1 Helvetica and Helvetica-Bold, which every
//! PDF reader must provide, so nothing is embedded; the widths are those of
//! Adobe's AFM files, indexed by WinAnsi code.

/// Which of the two standard fonts a line is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FontFace {
    Regular,
    Bold,
}

impl FontFace {
    /// The resource name the page dictionaries give this font.
    pub(super) fn resource_name(self) -> &'static str {
        match self {
            FontFace::Regular => "F1",
            FontFace::Bold => "F2",
        }
    }

    pub(super) fn base_font(self) -> &'static str {
        match self {
            FontFace::Regular => "Helvetica",
            FontFace::Bold => "Helvetica-Bold",
        }
    }

    /// Advance width of one WinAnsi byte, in thousandths of the font size.
    pub(super) fn glyph_width(self, code: u8) -> u32 {
        // codes below 0x20 are never produced by encode_win_ansi; the width of
        // a space keeps measurement total anyway
        let Some(table_index) = usize::from(code).checked_sub(32) else {
            return 278;
        };
        let widths = match self {
            FontFace::Regular => &HELVETICA_WIDTHS,
            FontFace::Bold => &HELVETICA_BOLD_WIDTHS,
        };
        widths
            .get(table_index)
            .map_or(278, |width| u32::from(*width))
    }

    /// Width of encoded text at a font size, in points.
    pub(super) fn text_width(self, encoded_text: &[u8], font_size: f32) -> f32 {
        let width_units: u32 = encoded_text
            .iter()
            .map(|code| self.glyph_width(*code))
            .sum();
        width_units as f32 * font_size / 1000.0
    }
}

/// The byte shown for anything WinAnsi cannot show.
pub(super) const REPLACEMENT_BYTE: u8 = b'?';

/// Encodes one line of text (no newlines expected) as WinAnsi bytes. Invisible
/// formatting characters are dropped rather than shown as '?', since they
/// carry no glyph of their own (zero-width joiners, variation selectors,
/// combining accents that follow their base letter).
pub(super) fn encode_win_ansi(text: &str) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(text.len());
    for character in text.chars() {
        if is_invisible_formatting(character) {
            continue;
        }
        encoded.push(win_ansi_code(character).unwrap_or(REPLACEMENT_BYTE));
    }
    encoded
}

fn is_invisible_formatting(character: char) -> bool {
    matches!(
        character,
        '\u{0300}'..='\u{036F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// The WinAnsi (cp1252) code of a character, if the encoding has one.
pub(super) fn win_ansi_code(character: char) -> Option<u8> {
    let code_point = u32::from(character);
    // printable ASCII and the Latin-1 supplement map to themselves
    if (0x20..=0x7E).contains(&code_point) || (0xA0..=0xFF).contains(&code_point) {
        return u8::try_from(code_point).ok();
    }
    let code = match character {
        '\u{20AC}' => 0x80, // €
        '\u{201A}' => 0x82, // ‚
        '\u{0192}' => 0x83, // ƒ
        '\u{201E}' => 0x84, // „
        '\u{2026}' => 0x85, // …
        '\u{2020}' => 0x86, // †
        '\u{2021}' => 0x87, // ‡
        '\u{02C6}' => 0x88, // ˆ
        '\u{2030}' => 0x89, // ‰
        '\u{0160}' => 0x8A, // Š
        '\u{2039}' => 0x8B, // ‹
        '\u{0152}' => 0x8C, // Œ
        '\u{017D}' => 0x8E, // Ž
        '\u{2018}' => 0x91, // ‘
        '\u{2019}' => 0x92, // ’
        '\u{201C}' => 0x93, // “
        '\u{201D}' => 0x94, // ”
        '\u{2022}' => 0x95, // •
        '\u{2013}' => 0x96, // –
        '\u{2014}' => 0x97, // —
        '\u{02DC}' => 0x98, // ˜
        '\u{2122}' => 0x99, // ™
        '\u{0161}' => 0x9A, // š
        '\u{203A}' => 0x9B, // ›
        '\u{0153}' => 0x9C, // œ
        '\u{017E}' => 0x9E, // ž
        '\u{0178}' => 0x9F, // Ÿ
        // look-alikes with an exact WinAnsi twin, common in typeset text
        '\u{2010}' | '\u{2011}' | '\u{2212}' => b'-',
        '\u{2007}' | '\u{2009}' | '\u{200A}' | '\u{202F}' => b' ',
        _ => return None,
    };
    Some(code)
}

// Advance widths for WinAnsi codes 0x20..=0xFF, from Adobe's Helvetica and
// Helvetica-Bold AFM files. The codes cp1252 leaves undefined (0x7F, 0x81,
// 0x8D, 0x8F, 0x90, 0x9D) carry the bullet width as a filler; they are never
// produced by encode_win_ansi.
#[rustfmt::skip]
const HELVETICA_WIDTHS: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20..=0x2F
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0x30..=0x3F
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // 0x40..=0x4F
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 0x50..=0x5F
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // 0x60..=0x6F
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350, // 0x70..=0x7F
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, // 0x80..=0x8F
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667, // 0x90..=0x9F
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xA0..=0xAF
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xB0..=0xBF
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xC0..=0xCF
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xD0..=0xDF
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, // 0xE0..=0xEF
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, // 0xF0..=0xFF
];

#[rustfmt::skip]
const HELVETICA_BOLD_WIDTHS: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20..=0x2F
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0x30..=0x3F
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // 0x40..=0x4F
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // 0x50..=0x5F
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // 0x60..=0x6F
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350, // 0x70..=0x7F
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, // 0x80..=0x8F
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667, // 0x90..=0x9F
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xA0..=0xAF
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xB0..=0xBF
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xC0..=0xCF
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xD0..=0xDF
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, // 0xE0..=0xEF
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, // 0xF0..=0xFF
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_latin1_map_to_themselves() {
        assert_eq!(encode_win_ansi("Hello ~"), b"Hello ~".to_vec());
        assert_eq!(
            encode_win_ansi("café ÿ"),
            vec![b'c', b'a', b'f', 0xE9, b' ', 0xFF]
        );
    }

    #[test]
    fn cp1252_extras_use_their_windows_codes() {
        assert_eq!(
            encode_win_ansi("€5 — “quoted” ‘x’ – … ™ •"),
            vec![
                0x80, b'5', b' ', 0x97, b' ', 0x93, b'q', b'u', b'o', b't', b'e', b'd', 0x94, b' ',
                0x91, b'x', 0x92, b' ', 0x96, b' ', 0x85, b' ', 0x99, b' ', 0x95,
            ]
        );
    }

    #[test]
    fn characters_outside_win_ansi_become_question_marks() {
        assert_eq!(encode_win_ansi("日本"), b"??".to_vec());
        assert_eq!(encode_win_ansi("a\u{0007}b"), b"a?b".to_vec());
        // an emoji with a variation selector is one unknown glyph, not two
        assert_eq!(encode_win_ansi("ok \u{2764}\u{FE0F}"), b"ok ?".to_vec());
        // a decomposed accent keeps its base letter
        assert_eq!(encode_win_ansi("e\u{0301}"), b"e".to_vec());
    }

    #[test]
    fn widths_follow_the_afm_metrics() {
        assert_eq!(FontFace::Regular.glyph_width(b' '), 278);
        assert_eq!(FontFace::Regular.glyph_width(b'W'), 944);
        assert_eq!(FontFace::Regular.glyph_width(b'i'), 222);
        assert_eq!(FontFace::Regular.glyph_width(0x97), 1000);
        assert_eq!(FontFace::Bold.glyph_width(b'i'), 278);
        assert_eq!(FontFace::Bold.glyph_width(0xFF), 556);
        assert_eq!(FontFace::Regular.glyph_width(0x05), 278);
        let width = FontFace::Regular.text_width(b"Hi", 10.0);
        assert!((width - 9.44).abs() < 0.001, "width was {width}");
    }
}
