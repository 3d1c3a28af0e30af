//! The zip export bundle: the chat document at the root, a manifest of every
//! entry, and the chat's media under their bundle paths.

use std::collections::HashSet;
use std::io::{Cursor, Write as _};

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::{ExportDocument, ExportFile, TextFormat, render_text};

const MANIFEST_PATH: &str = "manifest.json";
const MEDIA_FOLDER: &str = "files";
const FALLBACK_FILE_NAME: &str = "file";
/// Keeps extracted paths well inside every file system's name limit (255
/// bytes), with room left for a " (n)" suffix.
const MAX_FILE_NAME_BYTES: usize = 150;
/// Entries this large need zip64 headers, which the zip crate only writes when asked.
const ZIP64_THRESHOLD_BYTES: u64 = 0xFFFF_FFFF;

/// One media file to pack, under the bundle path its `ExportFile` names.
#[derive(Debug, Clone)]
pub struct MediaEntry {
    pub bundle_path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle path {0:?} is used more than once")]
    DuplicatePath(String),
    #[error("bundle path {0:?} is not a safe relative path")]
    UnsafePath(String),
    #[error("manifest serialization failed: {0}")]
    Manifest(#[from] serde_json::Error),
    #[error("zip write failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("zip entry write failed: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(serde::Serialize)]
struct BundleManifest<'a> {
    format_version: u32,
    chat_id: &'a str,
    title: &'a str,
    exported_at: DateTime<Utc>,
    from_version: u32,
    to_version: u32,
    entries: Vec<ManifestEntry<'a>>,
}

/// One entry of the bundle. The sha256 is the one the chat's file record
/// carries (the bundle is not re-hashed), so a reader can check the media
/// against the record; the document has a size only.
#[derive(serde::Serialize)]
struct ManifestEntry<'a> {
    path: &'a str,
    kind: &'static str,
    size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    mime_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
}

pub fn build_zip(
    text_format: TextFormat,
    document: &ExportDocument,
    media: &[MediaEntry],
) -> Result<Vec<u8>, BundleError> {
    let document_path = format!("chat.{}", text_format.extension());
    validate_media_paths(&document_path, media)?;

    let document_bytes = render_text(text_format, document);
    let manifest_bytes = serde_json::to_vec_pretty(&build_manifest(
        document,
        &document_path,
        &document_bytes,
        media,
    ))?;

    let base_options =
        SimpleFileOptions::default().last_modified_time(zip_timestamp(&document.exported_at));
    let mut zip_writer = ZipWriter::new(Cursor::new(Vec::new()));
    write_entry(
        &mut zip_writer,
        &document_path,
        &document_bytes,
        base_options,
        CompressionMethod::Deflated,
    )?;
    write_entry(
        &mut zip_writer,
        MANIFEST_PATH,
        &manifest_bytes,
        base_options,
        CompressionMethod::Deflated,
    )?;
    for media_entry in media {
        let compression = media_compression(file_for_path(document, &media_entry.bundle_path));
        write_entry(
            &mut zip_writer,
            &media_entry.bundle_path,
            &media_entry.bytes,
            base_options,
            compression,
        )?;
    }
    Ok(zip_writer.finish()?.into_inner())
}

fn write_entry(
    zip_writer: &mut ZipWriter<Cursor<Vec<u8>>>,
    path: &str,
    bytes: &[u8],
    base_options: SimpleFileOptions,
    compression: CompressionMethod,
) -> Result<(), BundleError> {
    let needs_zip64 = bytes.len() as u64 >= ZIP64_THRESHOLD_BYTES;
    let options = base_options
        .compression_method(compression)
        .large_file(needs_zip64);
    zip_writer.start_file(path, options)?;
    zip_writer.write_all(bytes)?;
    Ok(())
}

/// Rejects media paths that would escape the extraction folder or collide
/// with another entry. Collisions are checked case-insensitively because
/// extracting on macOS or Windows would otherwise overwrite one file with
/// another.
fn validate_media_paths(document_path: &str, media: &[MediaEntry]) -> Result<(), BundleError> {
    let mut used_paths: HashSet<String> = HashSet::new();
    used_paths.insert(document_path.to_lowercase());
    used_paths.insert(MANIFEST_PATH.to_owned());
    for media_entry in media {
        if !is_safe_bundle_path(&media_entry.bundle_path) {
            return Err(BundleError::UnsafePath(media_entry.bundle_path.clone()));
        }
        if !used_paths.insert(media_entry.bundle_path.to_lowercase()) {
            return Err(BundleError::DuplicatePath(media_entry.bundle_path.clone()));
        }
    }
    Ok(())
}

fn is_safe_bundle_path(path: &str) -> bool {
    if path.is_empty() || path.contains(['\\', ':']) || path.chars().any(char::is_control) {
        return false;
    }
    path.split('/')
        .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

fn build_manifest<'a>(
    document: &'a ExportDocument,
    document_path: &'a str,
    document_bytes: &[u8],
    media: &'a [MediaEntry],
) -> BundleManifest<'a> {
    let mut entries = Vec::with_capacity(media.len() + 1);
    entries.push(ManifestEntry {
        path: document_path,
        kind: "document",
        size_bytes: document_bytes.len() as u64,
        mime_type: None,
        sha256: None,
        file_id: None,
        name: None,
        version: None,
    });
    for media_entry in media {
        let file = file_for_path(document, &media_entry.bundle_path);
        entries.push(ManifestEntry {
            path: &media_entry.bundle_path,
            kind: "media",
            size_bytes: media_entry.bytes.len() as u64,
            mime_type: file.map(|file| file.mime_type.as_str()),
            sha256: file
                .map(|file| file.sha256.as_str())
                .filter(|sha256| !sha256.is_empty()),
            file_id: file.map(|file| file.file_id.as_str()),
            name: file.map(|file| file.name.as_str()),
            version: file.map(|file| file.version),
        });
    }
    BundleManifest {
        format_version: document.format_version,
        chat_id: &document.chat_id,
        title: &document.title,
        exported_at: document.exported_at,
        from_version: document.from_version,
        to_version: document.to_version,
        entries,
    }
}

fn file_for_path<'a>(document: &'a ExportDocument, bundle_path: &str) -> Option<&'a ExportFile> {
    document
        .files
        .iter()
        .find(|file| file.bundle_path == bundle_path)
}

/// Media that is compressed already only costs time to deflate again.
fn media_compression(file: Option<&ExportFile>) -> CompressionMethod {
    let Some(file) = file else {
        return CompressionMethod::Deflated;
    };
    let mime_type = file.mime_type.trim().to_ascii_lowercase();
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    let is_uncompressed_media = matches!(
        essence,
        "image/svg+xml" | "image/bmp" | "image/tiff" | "audio/wav" | "audio/x-wav"
    );
    let is_compressed_media = essence.starts_with("image/")
        || essence.starts_with("video/")
        || essence.starts_with("audio/");
    let is_archive = matches!(
        essence,
        "application/zip"
            | "application/gzip"
            | "application/x-gzip"
            | "application/x-7z-compressed"
            | "application/x-rar-compressed"
            | "application/vnd.rar"
            | "application/x-bzip2"
            | "application/x-xz"
            | "application/zstd"
            | "application/epub+zip"
    );
    // the Office Open XML and OpenDocument formats are zip files inside
    let is_zipped_document = essence.starts_with("application/vnd.openxmlformats-officedocument.")
        || essence.starts_with("application/vnd.oasis.opendocument.");
    if (is_compressed_media && !is_uncompressed_media) || is_archive || is_zipped_document {
        return CompressionMethod::Stored;
    }
    CompressionMethod::Deflated
}

/// Zip timestamps use the export time so a bundle's bytes depend only on its
/// content; dates zip cannot store (before 1980) fall back to its default.
fn zip_timestamp(exported_at: &DateTime<Utc>) -> zip::DateTime {
    let Ok(year) = u16::try_from(exported_at.year()) else {
        return zip::DateTime::default();
    };
    // chrono's month, day, hour, minute and second are all below 256
    let to_u8 = |value: u32| u8::try_from(value).unwrap_or_default();
    zip::DateTime::from_date_and_time(
        year,
        to_u8(exported_at.month()),
        to_u8(exported_at.day()),
        to_u8(exported_at.hour()),
        to_u8(exported_at.minute()),
        to_u8(exported_at.second()),
    )
    .unwrap_or_default()
}

/// A safe path inside a bundle for a file name: "files/<sanitized name>",
/// free of directory traversal, never empty, and unique among `taken` (a
/// " (2)", " (3)", ... suffix before the extension). The returned path is
/// added to `taken`.
pub fn bundle_path_for(name: &str, taken: &mut HashSet<String>) -> String {
    let file_name = sanitize_file_name(name);
    let (stem, extension) = split_extension(&file_name);
    let mut candidate = format!("{MEDIA_FOLDER}/{file_name}");
    // terminates: `taken` is finite, so some suffix is always free
    let mut suffix_number: u64 = 2;
    while is_taken(&candidate, taken) {
        candidate = format!("{MEDIA_FOLDER}/{stem} ({suffix_number}){extension}");
        suffix_number += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// Case-insensitive, for the same reason as `validate_media_paths`.
fn is_taken(candidate: &str, taken: &HashSet<String>) -> bool {
    taken.contains(candidate)
        || taken
            .iter()
            .any(|taken_path| taken_path.eq_ignore_ascii_case(candidate))
}

/// One flat file name: path separators become '_', traversal segments, control
/// characters and leading dots go, and characters Windows forbids become '_'.
fn sanitize_file_name(name: &str) -> String {
    let mut segments: Vec<String> = Vec::new();
    for raw_segment in name.split(['/', '\\']) {
        let cleaned_segment: String = raw_segment
            .chars()
            .filter(|character| !character.is_control())
            .map(|character| match character {
                '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
                _ => character,
            })
            .collect();
        let cleaned_segment =
            collapse_dot_runs(cleaned_segment.trim().trim_start_matches('.').trim());
        if !cleaned_segment.is_empty() {
            segments.push(cleaned_segment);
        }
    }
    let joined_name = segments.join("_");
    // Windows drops trailing dots and spaces, which would make names collide
    let mut file_name = truncate_keeping_extension(
        joined_name.trim_end_matches(['.', ' ']),
        MAX_FILE_NAME_BYTES,
    );
    if file_name.is_empty() {
        return FALLBACK_FILE_NAME.to_owned();
    }
    if is_windows_reserved_name(&file_name) {
        file_name.insert(0, '_');
    }
    file_name
}

/// "a..b" → "a.b": no ".." survives anywhere in a bundle path.
fn collapse_dot_runs(segment: &str) -> String {
    let mut collapsed = String::with_capacity(segment.len());
    for character in segment.chars() {
        if character == '.' && collapsed.ends_with('.') {
            continue;
        }
        collapsed.push(character);
    }
    collapsed
}

/// (stem, ".ext"), or (name, "") when there is no extension worth keeping.
fn split_extension(file_name: &str) -> (&str, &str) {
    const MAX_EXTENSION_BYTES: usize = 16;
    match file_name.rfind('.') {
        Some(dot_index)
            if dot_index > 0
                && file_name.len() - dot_index <= MAX_EXTENSION_BYTES
                && dot_index + 1 < file_name.len() =>
        {
            file_name.split_at(dot_index)
        }
        _ => (file_name, ""),
    }
}

fn truncate_keeping_extension(file_name: &str, max_bytes: usize) -> String {
    if file_name.len() <= max_bytes {
        return file_name.to_owned();
    }
    let (stem, extension) = split_extension(file_name);
    let stem_budget = max_bytes.saturating_sub(extension.len());
    let mut truncated_stem = String::with_capacity(stem_budget);
    for character in stem.chars() {
        if truncated_stem.len() + character.len_utf8() > stem_budget {
            break;
        }
        truncated_stem.push(character);
    }
    format!("{}{extension}", truncated_stem.trim_end_matches(['.', ' ']))
}

fn is_windows_reserved_name(file_name: &str) -> bool {
    let stem = file_name
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_ascii_uppercase();
    if matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL") {
        return true;
    }
    // COM1..COM9, LPT1..LPT9
    stem.len() == 4
        && (stem.starts_with("COM") || stem.starts_with("LPT"))
        && stem.as_bytes()[3].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::super::{fixtures, render_markdown};
    use super::*;

    fn read_entry(archive: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
        let mut entry = archive
            .by_name(name)
            .unwrap_or_else(|error| panic!("entry {name} missing: {error}"));
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("entry is readable");
        bytes
    }

    fn sample_bundle_document() -> ExportDocument {
        let mut document = fixtures::sample_document();
        let mut photo = fixtures::file("photo.png", "files/photo.png");
        photo.mime_type = "image/png".to_owned();
        photo.sha256 = "ab".repeat(32);
        document.files.push(photo);
        document
    }

    fn sample_media() -> Vec<MediaEntry> {
        vec![
            MediaEntry {
                bundle_path: "files/itinerary.xlsx".to_owned(),
                bytes: b"PK fake spreadsheet".repeat(50),
            },
            MediaEntry {
                bundle_path: "files/photo.png".to_owned(),
                bytes: vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3],
            },
        ]
    }

    #[test]
    fn zip_holds_document_manifest_and_media() {
        let document = sample_bundle_document();
        let media = sample_media();
        let zip_bytes = build_zip(TextFormat::Markdown, &document, &media).expect("bundle builds");
        let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).expect("zip is readable");

        let names: Vec<String> = archive
            .file_names()
            .map(|name| name.expect("entry name is utf-8").into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "chat.md",
                "manifest.json",
                "files/itinerary.xlsx",
                "files/photo.png"
            ]
        );

        assert_eq!(
            read_entry(&mut archive, "chat.md"),
            render_markdown(&document)
        );
        for media_entry in &media {
            assert_eq!(
                read_entry(&mut archive, &media_entry.bundle_path),
                media_entry.bytes
            );
        }

        let manifest: serde_json::Value =
            serde_json::from_slice(&read_entry(&mut archive, "manifest.json"))
                .expect("manifest is json");
        assert_eq!(manifest["chat_id"], "chat-42");
        assert_eq!(manifest["to_version"], 2);
        let entries = manifest["entries"].as_array().expect("entries array");
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0]["path"], "chat.md");
        assert_eq!(entries[0]["size_bytes"], render_markdown(&document).len());
        assert!(entries[0].get("sha256").is_none());
        assert_eq!(entries[1]["path"], "files/itinerary.xlsx");
        assert_eq!(entries[1]["size_bytes"], media[0].bytes.len());
        assert_eq!(entries[1]["sha256"], document.files[0].sha256.as_str());
        assert_eq!(entries[2]["sha256"], "ab".repeat(32));
        assert_eq!(entries[2]["mime_type"], "image/png");
    }

    #[test]
    fn compressed_media_is_stored_and_text_is_deflated() {
        let document = sample_bundle_document();
        let zip_bytes =
            build_zip(TextFormat::Json, &document, &sample_media()).expect("bundle builds");
        let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).expect("zip is readable");
        assert_eq!(
            archive
                .by_name("chat.json")
                .expect("document")
                .compression(),
            CompressionMethod::Deflated
        );
        assert_eq!(
            archive
                .by_name("manifest.json")
                .expect("manifest")
                .compression(),
            CompressionMethod::Deflated
        );
        assert_eq!(
            archive
                .by_name("files/photo.png")
                .expect("photo")
                .compression(),
            CompressionMethod::Stored
        );
        // xlsx is a zip inside
        assert_eq!(
            archive
                .by_name("files/itinerary.xlsx")
                .expect("sheet")
                .compression(),
            CompressionMethod::Stored
        );
    }

    #[test]
    fn document_entry_follows_the_text_format() {
        let document = fixtures::sample_document();
        for (format, expected_name) in [
            (TextFormat::Json, "chat.json"),
            (TextFormat::Html, "chat.html"),
        ] {
            let zip_bytes = build_zip(format, &document, &[]).expect("bundle builds");
            let mut archive =
                zip::ZipArchive::new(Cursor::new(zip_bytes)).expect("zip is readable");
            assert_eq!(archive.len(), 2);
            assert_eq!(
                read_entry(&mut archive, expected_name),
                render_text(format, &document)
            );
        }
    }

    #[test]
    fn duplicate_paths_are_rejected() {
        let document = fixtures::sample_document();
        let duplicated_media = vec![
            MediaEntry {
                bundle_path: "files/a.txt".to_owned(),
                bytes: b"one".to_vec(),
            },
            MediaEntry {
                bundle_path: "files/a.txt".to_owned(),
                bytes: b"two".to_vec(),
            },
        ];
        let error = build_zip(TextFormat::Markdown, &document, &duplicated_media)
            .expect_err("duplicate must fail");
        assert!(matches!(error, BundleError::DuplicatePath(ref path) if path == "files/a.txt"));
        assert_eq!(
            error.to_string(),
            "bundle path \"files/a.txt\" is used more than once"
        );

        for colliding_path in ["chat.md", "Manifest.JSON"] {
            let media = vec![MediaEntry {
                bundle_path: colliding_path.to_owned(),
                bytes: Vec::new(),
            }];
            let result = build_zip(TextFormat::Markdown, &document, &media);
            assert!(
                matches!(result, Err(BundleError::DuplicatePath(_))),
                "{colliding_path} must collide"
            );
        }
    }

    #[test]
    fn unsafe_paths_are_rejected() {
        let document = fixtures::sample_document();
        for unsafe_path in [
            "",
            "../evil.sh",
            "/etc/passwd",
            "files/../../x",
            "C:\\x",
            "files//x",
            "files/a\nb",
        ] {
            let media = vec![MediaEntry {
                bundle_path: unsafe_path.to_owned(),
                bytes: Vec::new(),
            }];
            let result = build_zip(TextFormat::Markdown, &document, &media);
            assert!(
                matches!(result, Err(BundleError::UnsafePath(_))),
                "{unsafe_path:?} must be rejected"
            );
        }
    }

    #[test]
    fn bundle_paths_strip_traversal() {
        let mut taken = HashSet::new();
        assert_eq!(
            bundle_path_for("../../etc/passwd", &mut taken),
            "files/etc_passwd"
        );
        assert_eq!(
            bundle_path_for("..\\..\\windows\\system.ini", &mut taken),
            "files/windows_system.ini"
        );
        assert_eq!(bundle_path_for(".bashrc", &mut taken), "files/bashrc");
        assert_eq!(bundle_path_for("a..b.txt", &mut taken), "files/a.b.txt");
        assert_eq!(
            bundle_path_for("we\u{0}ird\n<name>?.txt", &mut taken),
            "files/weird_name__.txt"
        );
        assert_eq!(bundle_path_for("con.txt", &mut taken), "files/_con.txt");
        for path in &taken {
            assert!(!path.contains(".."), "{path} contains ..");
            assert!(!path.contains('\\'), "{path} contains a backslash");
            assert!(is_safe_bundle_path(path), "{path} is not safe");
        }
    }

    #[test]
    fn bundle_paths_are_never_empty() {
        let mut taken = HashSet::new();
        assert_eq!(bundle_path_for("", &mut taken), "files/file");
        assert_eq!(bundle_path_for("../..", &mut taken), "files/file (2)");
        assert_eq!(bundle_path_for(" . ", &mut taken), "files/file (3)");
    }

    #[test]
    fn duplicate_names_get_numbered_suffixes() {
        let mut taken = HashSet::new();
        assert_eq!(
            bundle_path_for("report.xlsx", &mut taken),
            "files/report.xlsx"
        );
        assert_eq!(
            bundle_path_for("report.xlsx", &mut taken),
            "files/report (2).xlsx"
        );
        assert_eq!(
            bundle_path_for("REPORT.xlsx", &mut taken),
            "files/REPORT (3).xlsx"
        );
        assert_eq!(bundle_path_for("README", &mut taken), "files/README");
        assert_eq!(bundle_path_for("README", &mut taken), "files/README (2)");
        assert_eq!(taken.len(), 5);
    }

    #[test]
    fn long_names_are_truncated_keeping_the_extension() {
        let mut taken = HashSet::new();
        let long_name = format!("{}.pdf", "é".repeat(300));
        let path = bundle_path_for(&long_name, &mut taken);
        assert!(path.ends_with(".pdf"));
        assert!(path.len() <= MEDIA_FOLDER.len() + 1 + MAX_FILE_NAME_BYTES);
    }

    #[test]
    fn sanitized_paths_build_a_valid_bundle() {
        let mut document = fixtures::sample_document();
        let mut taken = HashSet::new();
        let mut media = Vec::new();
        for name in ["../a.txt", "a.txt", "A.TXT"] {
            let bundle_path = bundle_path_for(name, &mut taken);
            let mut file = fixtures::file(name, &bundle_path);
            file.mime_type = "text/plain".to_owned();
            document.files.push(file);
            media.push(MediaEntry {
                bundle_path,
                bytes: name.as_bytes().to_vec(),
            });
        }
        let zip_bytes =
            build_zip(TextFormat::Html, &document, &media).expect("sanitized paths are accepted");
        let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).expect("zip is readable");
        assert_eq!(
            read_entry(&mut archive, "files/a (2).txt"),
            b"a.txt".to_vec()
        );
        assert_eq!(
            read_entry(&mut archive, "files/A (3).TXT"),
            b"A.TXT".to_vec()
        );
    }
}
