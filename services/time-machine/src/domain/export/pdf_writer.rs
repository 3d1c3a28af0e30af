//! The PDF file structure: numbered objects, the cross-reference table with
//! exact byte offsets, and the trailer. Knows nothing about chats.

use std::fmt::Write as _;

/// Collects a PDF's objects under ids handed out in advance, so objects can
/// refer to each other before their bodies exist, then lays them out with a
/// correct cross-reference table.
pub(super) struct PdfObjectWriter {
    /// body of object `index + 1`; `None` until set
    object_bodies: Vec<Option<Vec<u8>>>,
}

impl PdfObjectWriter {
    pub(super) fn new() -> Self {
        Self {
            object_bodies: Vec::new(),
        }
    }

    /// A fresh object id (ids start at 1; 0 is the xref table's free entry).
    pub(super) fn reserve_object_id(&mut self) -> usize {
        self.object_bodies.push(None);
        self.object_bodies.len()
    }

    /// Sets the body (the part between "N 0 obj" and "endobj") of a reserved id.
    /// An id that was never reserved is ignored rather than trusted.
    pub(super) fn set_object(&mut self, object_id: usize, body: Vec<u8>) {
        let Some(slot) = object_id
            .checked_sub(1)
            .and_then(|index| self.object_bodies.get_mut(index))
        else {
            return;
        };
        *slot = Some(body);
    }

    /// Sets a stream object; the /Length is the exact byte count of `data`.
    pub(super) fn set_stream_object(&mut self, object_id: usize, data: &[u8]) {
        let mut body = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.set_object(object_id, body);
    }

    /// The complete file: header, objects in id order, xref, trailer.
    pub(super) fn finish(self, root_object_id: usize, info_object_id: usize) -> Vec<u8> {
        let mut output = Vec::new();
        // the comment of high bytes tells transfer tools the file is binary
        output.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
        let mut object_offsets = Vec::with_capacity(self.object_bodies.len());
        for (index, body) in self.object_bodies.iter().enumerate() {
            object_offsets.push(output.len());
            output.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
            match body {
                Some(body) => output.extend_from_slice(body),
                // a reserved id that never got a body still needs an object
                // for the xref table to stay consistent
                None => output.extend_from_slice(b"null"),
            }
            output.extend_from_slice(b"\nendobj\n");
        }

        let xref_offset = output.len();
        let object_count_with_free_entry = self.object_bodies.len() + 1;
        let mut xref = format!("xref\n0 {object_count_with_free_entry}\n0000000000 65535 f \n");
        for offset in &object_offsets {
            // each entry is exactly 20 bytes: 10 digits, space, 5 digits, space, 'n', space, newline
            let _ = writeln!(xref, "{offset:010} 00000 n ");
        }
        let _ = write!(
            xref,
            "trailer\n<< /Size {object_count_with_free_entry} /Root {root_object_id} 0 R /Info {info_object_id} 0 R >>\nstartxref\n{xref_offset}\n%%EOF\n"
        );
        output.extend_from_slice(xref.as_bytes());
        output
    }
}

/// Appends `bytes` as a PDF literal string, "(...)". Parentheses and
/// backslashes are escaped; control bytes too, since a raw CR inside a string
/// would be read back as LF. Bytes from 0x80 up are kept raw when
/// `keep_high_bytes` (content streams, where they are WinAnsi glyphs) and
/// written as octal escapes otherwise (so metadata stays plain ASCII).
pub(super) fn push_literal_string(output: &mut Vec<u8>, bytes: &[u8], keep_high_bytes: bool) {
    output.push(b'(');
    for &byte in bytes {
        match byte {
            b'(' | b')' | b'\\' => {
                output.push(b'\\');
                output.push(byte);
            }
            0x20..=0x7E => output.push(byte),
            0x80..=0xFF if keep_high_bytes => output.push(byte),
            _ => output.extend_from_slice(format!("\\{byte:03o}").as_bytes()),
        }
    }
    output.push(b')');
}

/// A text string for the document information dictionary: plain ASCII when
/// possible, otherwise UTF-16BE with a byte order mark, which PDF readers
/// show correctly for any language.
pub(super) fn text_string(text: &str) -> Vec<u8> {
    let mut output = Vec::new();
    let is_printable_ascii = text
        .chars()
        .all(|character| (' '..='~').contains(&character));
    if is_printable_ascii {
        push_literal_string(&mut output, text.as_bytes(), false);
        return output;
    }
    let mut utf16_bytes = vec![0xFE, 0xFF];
    for code_unit in text.encode_utf16() {
        utf16_bytes.extend_from_slice(&code_unit.to_be_bytes());
    }
    push_literal_string(&mut output, &utf16_bytes, false);
    output
}

/// A coordinate or size with at most two decimals and no trailing zeros,
/// which keeps content streams short and locale-independent.
pub(super) fn format_number(value: f32) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    let formatted = format!("{value:.2}");
    let trimmed = formatted.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() || trimmed == "-0" {
        return "0".to_owned();
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_strings_escape_delimiters_and_controls() {
        let mut output = Vec::new();
        push_literal_string(&mut output, b"a(b)c\\d\re", true);
        assert_eq!(output, b"(a\\(b\\)c\\\\d\\015e)".to_vec());

        let mut high_bytes = Vec::new();
        push_literal_string(&mut high_bytes, &[0xE9, b'x'], true);
        assert_eq!(high_bytes, vec![b'(', 0xE9, b'x', b')']);
        let mut escaped_high_bytes = Vec::new();
        push_literal_string(&mut escaped_high_bytes, &[0xE9], false);
        assert_eq!(escaped_high_bytes, b"(\\351)".to_vec());
    }

    #[test]
    fn text_strings_use_utf16_beyond_ascii() {
        assert_eq!(text_string("Plan (v2)"), b"(Plan \\(v2\\))".to_vec());
        // BOM FE FF, then 'é' = 00 E9
        assert_eq!(text_string("é"), b"(\\376\\377\\000\\351)".to_vec());
    }

    #[test]
    fn numbers_are_short_and_plain() {
        assert_eq!(format_number(56.0), "56");
        assert_eq!(format_number(10.5), "10.5");
        assert_eq!(format_number(700.126), "700.13");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(f32::NAN), "0");
    }

    #[test]
    fn xref_offsets_point_at_their_objects() {
        let mut writer = PdfObjectWriter::new();
        let first_id = writer.reserve_object_id();
        let second_id = writer.reserve_object_id();
        let unset_id = writer.reserve_object_id();
        writer.set_object(first_id, b"<< /Type /Catalog >>".to_vec());
        writer.set_stream_object(second_id, b"BT ET");
        writer.set_object(99, b"ignored".to_vec());
        let pdf = writer.finish(first_id, second_id);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("<< /Length 5 >>\nstream\nBT ET\nendstream"));
        assert!(text.contains(&format!("{unset_id} 0 obj\nnull\nendobj")));
        assert!(!text.contains("ignored"));
        assert!(text.contains("trailer\n<< /Size 4 /Root 1 0 R /Info 2 0 R >>"));
        assert!(pdf.ends_with(b"%%EOF\n"));
    }
}
