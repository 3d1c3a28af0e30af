//! Pure rules of the vault: what a valid request is, how a file is cut into parts, which
//! lifecycle changes are allowed, how variants are sized. No I/O here.

use radiant_bus::ServiceError;
use radiant_proto::media;

use crate::config::{LimitsConfig, MIN_PART_SIZE_BYTES};

pub const DEFAULT_MIME_TYPE: &str = "application/octet-stream";
const MAX_SCOPE_CHARS: usize = 200;
const MAX_NAME_CHARS: usize = 255;
const MAX_MIME_CHARS: usize = 127;
const MAX_REASON_CHARS: usize = 1000;
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// An owner scope such as `chat:0195f0c2-...`: letters, digits and `:_-./`.
pub fn validate_scope(scope: &str) -> Result<(), ServiceError> {
    if scope.is_empty() || scope.chars().count() > MAX_SCOPE_CHARS {
        return Err(ServiceError::invalid_field(
            "scope",
            format!("must be 1 to {MAX_SCOPE_CHARS} characters"),
        ));
    }
    if !scope
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || ":_-./".contains(character))
    {
        return Err(ServiceError::invalid_field(
            "scope",
            "may contain only letters, digits and : _ - . /",
        ));
    }
    Ok(())
}

pub fn validate_name(name: &str) -> Result<(), ServiceError> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid_field(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters, not only spaces"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::invalid_field(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// `type/subtype` (parameters allowed); empty means `application/octet-stream`.
pub fn normalize_mime_type(mime_type: &str) -> Result<String, ServiceError> {
    let mime_type = mime_type.trim();
    if mime_type.is_empty() {
        return Ok(DEFAULT_MIME_TYPE.to_string());
    }
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    let valid_token = |token: &str| {
        !token.is_empty()
            && token.chars().all(|character| {
                character.is_ascii_alphanumeric() || "!#$&-^_.+".contains(character)
            })
    };
    let valid = mime_type.len() <= MAX_MIME_CHARS
        && mime_type.is_ascii()
        && !mime_type
            .chars()
            .any(|character| character.is_ascii_control())
        && matches!(essence.split_once('/'), Some((kind, subtype)) if valid_token(kind) && valid_token(subtype));
    if !valid {
        return Err(ServiceError::invalid_field(
            "mime_type",
            "must be a media type such as image/png",
        ));
    }
    Ok(mime_type.to_ascii_lowercase())
}

/// A SHA-256 as 64 hex digits; returned in lowercase.
pub fn normalize_sha256(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.len() != 64 || !value.chars().all(|character| character.is_ascii_hexdigit()) {
        return Err(ServiceError::invalid_field(
            field,
            "must be 64 hexadecimal digits (SHA-256)",
        ));
    }
    Ok(value.to_ascii_lowercase())
}

pub fn validate_reason(reason: &str) -> Result<(), ServiceError> {
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ServiceError::invalid_field(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Empty means "no idempotency".
pub fn validate_idempotency_key(key: &str) -> Result<(), ServiceError> {
    if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(ServiceError::invalid_field(
            "idempotency_key",
            format!("must be at most {MAX_IDEMPOTENCY_KEY_CHARS} printable characters"),
        ));
    }
    Ok(())
}

pub fn parse_uuid(field: &str, value: &str) -> Result<uuid::Uuid, ServiceError> {
    uuid::Uuid::parse_str(value.trim())
        .map_err(|_| ServiceError::invalid_field(field, "must be a UUID"))
}

/// How an upload is cut into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    pub size_bytes: u64,
    pub part_size_bytes: u64,
    pub part_count: u32,
}

impl PartPlan {
    /// What S3 must hold as part `part_number` (1-based) when the upload is complete.
    pub fn expected_size(&self, part_number: u32) -> Option<u64> {
        if part_number == 0 || part_number > self.part_count {
            return None;
        }
        let start = (part_number as u64 - 1) * self.part_size_bytes;
        Some((self.size_bytes - start).min(self.part_size_bytes))
    }
}

/// Plans the parts of a `size_bytes` upload. A requested part size is honoured when S3 allows
/// it; without one, the default grows until the file fits in `max_parts`.
pub fn plan_parts(
    size_bytes: u64,
    requested_part_size: u64,
    limits: &LimitsConfig,
) -> Result<PartPlan, ServiceError> {
    if size_bytes == 0 {
        return Err(ServiceError::invalid_field(
            "size_bytes",
            "must be at least 1 byte (store empty files with the small-file path)",
        ));
    }
    if size_bytes > limits.max_file_bytes {
        return Err(ServiceError::payload_too_large(format!(
            "file of {size_bytes} bytes exceeds the limit of {} bytes",
            limits.max_file_bytes
        ))
        .with_field_violation("size_bytes", "over the limit"));
    }
    let max_parts = limits.max_parts as u64;
    let part_size_bytes = if requested_part_size == 0 {
        let fitting = size_bytes.div_ceil(max_parts);
        let mebibyte = 1024 * 1024;
        limits
            .default_part_size_bytes
            .max(fitting.div_ceil(mebibyte) * mebibyte)
    } else {
        if requested_part_size < MIN_PART_SIZE_BYTES && requested_part_size < size_bytes {
            return Err(ServiceError::invalid_field(
                "part_size_bytes",
                "must be at least 5 MiB unless the file fits in one part",
            ));
        }
        if requested_part_size > crate::config::MAX_PART_SIZE_BYTES {
            return Err(ServiceError::invalid_field(
                "part_size_bytes",
                "must be at most 5 GiB",
            ));
        }
        requested_part_size
    };
    let part_count = size_bytes.div_ceil(part_size_bytes);
    if part_count > max_parts {
        return Err(ServiceError::invalid_field(
            "part_size_bytes",
            format!("the file would need {part_count} parts; at most {max_parts} are allowed"),
        ));
    }
    Ok(PartPlan {
        size_bytes,
        part_size_bytes,
        part_count: part_count as u32,
    })
}

/// The first problem with the parts S3 holds, if any: each part 1..=n present once with its
/// planned size. Sizes are checked before completing, the hash after.
pub fn check_received_parts(
    plan: &PartPlan,
    received: &[crate::storage::ReceivedPart],
) -> Result<(), String> {
    for part_number in 1..=plan.part_count {
        let Some(part) = received.iter().find(|part| part.part_number == part_number) else {
            return Err(format!(
                "part {part_number} of {} has not been uploaded",
                plan.part_count
            ));
        };
        let expected = plan.expected_size(part_number).unwrap_or_default();
        if part.size_bytes != expected {
            return Err(format!(
                "part {part_number} has {} bytes; the declared file size needs {expected}",
                part.size_bytes
            ));
        }
    }
    if let Some(extra) = received
        .iter()
        .find(|part| part.part_number > plan.part_count)
    {
        return Err(format!(
            "part {} is beyond the {} parts of the declared size",
            extra.part_number, plan.part_count
        ));
    }
    Ok(())
}

/// The largest size within `max_side` × `max_side` with the same aspect ratio; never larger
/// than the original.
pub fn fit_within(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    if width <= max_side && height <= max_side {
        return (width, height);
    }
    let scale = max_side as f64 / width.max(height) as f64;
    let fitted = |side: u32| ((side as f64 * scale).round() as u32).clamp(1, max_side);
    (fitted(width), fitted(height))
}

/// Decoding bound: width × height over `max_megapixels` million pixels is refused.
pub fn exceeds_megapixels(width: u32, height: u32, max_megapixels: u64) -> bool {
    width as u64 * height as u64 > max_megapixels * 1_000_000
}

pub fn is_variant_source(mime_type: &str) -> bool {
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    matches!(
        essence,
        "image/png" | "image/jpeg" | "image/jpg" | "image/webp" | "image/gif"
    )
}

/// The file's lifecycle as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileLifecycle {
    Active,
    Archived,
    Tombstoned,
    Deleted,
}

impl FileLifecycle {
    pub fn parse(value: &str) -> Self {
        match value {
            "archived" => Self::Archived,
            "tombstoned" => Self::Tombstoned,
            "deleted" => Self::Deleted,
            _ => Self::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
            Self::Tombstoned => "tombstoned",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleChange {
    Tombstone,
    Restore,
    Purge,
}

/// Whether `change` may happen to a file in `current` state with or without a legal hold.
/// A legal hold blocks every lifecycle change; a purge needs a tombstone first.
pub fn check_lifecycle_change(
    current: FileLifecycle,
    legal_hold: bool,
    change: LifecycleChange,
) -> Result<FileLifecycle, ServiceError> {
    if legal_hold {
        return Err(ServiceError::conflict(
            "the file is under legal hold; an admin must clear the hold first",
        ));
    }
    match (change, current) {
        (LifecycleChange::Tombstone, FileLifecycle::Active | FileLifecycle::Archived) => {
            Ok(FileLifecycle::Tombstoned)
        }
        (LifecycleChange::Restore, FileLifecycle::Tombstoned) => Ok(FileLifecycle::Active),
        (LifecycleChange::Purge, FileLifecycle::Tombstoned) => Ok(FileLifecycle::Deleted),
        (LifecycleChange::Tombstone, FileLifecycle::Tombstoned) => {
            Err(ServiceError::conflict("the file is already tombstoned"))
        }
        (LifecycleChange::Restore, FileLifecycle::Active | FileLifecycle::Archived) => {
            Err(ServiceError::conflict("the file is not tombstoned"))
        }
        (LifecycleChange::Purge, FileLifecycle::Active | FileLifecycle::Archived) => Err(
            ServiceError::conflict("only a tombstoned file can be purged; tombstone it first"),
        ),
        (_, FileLifecycle::Deleted) => Err(ServiceError::conflict("the file has been purged")),
    }
}

pub fn upload_status_from(value: &str) -> media::UploadStatus {
    match value {
        "pending" => media::UploadStatus::Pending,
        "uploading" => media::UploadStatus::Uploading,
        "completed" => media::UploadStatus::Completed,
        "failed" => media::UploadStatus::Failed,
        _ => media::UploadStatus::Unspecified,
    }
}

pub fn processing_status_from(value: &str) -> media::ProcessingStatus {
    match value {
        "pending" => media::ProcessingStatus::Pending,
        "processing" => media::ProcessingStatus::Processing,
        "completed" => media::ProcessingStatus::Completed,
        "failed" => media::ProcessingStatus::Failed,
        "not_applicable" => media::ProcessingStatus::NotApplicable,
        _ => media::ProcessingStatus::Unspecified,
    }
}

pub fn lifecycle_status_from(value: &str) -> media::LifecycleStatus {
    match value {
        "active" => media::LifecycleStatus::Active,
        "archived" => media::LifecycleStatus::Archived,
        "tombstoned" => media::LifecycleStatus::Tombstoned,
        "deleted" => media::LifecycleStatus::Deleted,
        _ => media::LifecycleStatus::Unspecified,
    }
}

pub fn source_as_str(source: i32) -> Result<&'static str, ServiceError> {
    match media::FileSource::try_from(source) {
        Ok(media::FileSource::Unspecified | media::FileSource::UserUpload) => Ok("user_upload"),
        Ok(media::FileSource::AiGenerated) => Ok("ai_generated"),
        Ok(media::FileSource::System) => Ok("system"),
        Err(_) => Err(ServiceError::invalid_field("source", "unknown file source")),
    }
}

pub fn source_from(value: &str) -> media::FileSource {
    match value {
        "ai_generated" => media::FileSource::AiGenerated,
        "system" => media::FileSource::System,
        _ => media::FileSource::UserUpload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::ReceivedPart;

    fn limits() -> LimitsConfig {
        LimitsConfig {
            small_file_max_bytes: 1024 * 1024,
            max_file_bytes: 50 * 1024 * 1024 * 1024,
            default_part_size_bytes: 16 * 1024 * 1024,
            max_parts: 10_000,
        }
    }

    #[test]
    fn parts_cover_the_file_and_the_last_one_is_the_rest() {
        let plan = plan_parts(40 * 1024 * 1024 + 3, 0, &limits()).unwrap();
        assert_eq!(plan.part_size_bytes, 16 * 1024 * 1024);
        assert_eq!(plan.part_count, 3);
        assert_eq!(plan.expected_size(3), Some(8 * 1024 * 1024 + 3));
        assert_eq!(plan.expected_size(4), None);
        assert_eq!(plan.expected_size(0), None);
    }

    #[test]
    fn default_part_size_grows_to_fit_the_part_limit() {
        let mut small_limit = limits();
        small_limit.max_parts = 4;
        let plan = plan_parts(100 * 1024 * 1024, 0, &small_limit).unwrap();
        assert_eq!(plan.part_count, 4);
        assert_eq!(plan.part_size_bytes, 25 * 1024 * 1024);
    }

    #[test]
    fn bad_plans_are_refused_with_the_field() {
        assert_eq!(plan_parts(0, 0, &limits()).unwrap_err().status(), 400);
        assert_eq!(
            plan_parts(60 * 1024 * 1024 * 1024, 0, &limits())
                .unwrap_err()
                .status(),
            413
        );
        assert_eq!(
            plan_parts(10 * 1024 * 1024, 1024, &limits())
                .unwrap_err()
                .status(),
            400
        );
        // one small part is fine
        assert_eq!(plan_parts(1000, 1024, &limits()).unwrap().part_count, 1);
        let mut tight = limits();
        tight.max_parts = 2;
        assert_eq!(
            plan_parts(30 * 1024 * 1024, 5 * 1024 * 1024, &tight)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn received_parts_must_match_the_plan() {
        let plan = PartPlan {
            size_bytes: 12,
            part_size_bytes: 5,
            part_count: 3,
        };
        let part = |part_number, size_bytes| ReceivedPart {
            part_number,
            size_bytes,
            etag: String::new(),
        };
        assert!(check_received_parts(&plan, &[part(1, 5), part(2, 5), part(3, 2)]).is_ok());
        assert!(
            check_received_parts(&plan, &[part(1, 5), part(3, 2)])
                .unwrap_err()
                .contains("part 2")
        );
        assert!(
            check_received_parts(&plan, &[part(1, 5), part(2, 4), part(3, 2)])
                .unwrap_err()
                .contains("4 bytes")
        );
        assert!(
            check_received_parts(&plan, &[part(1, 5), part(2, 5), part(3, 2), part(4, 1)]).is_err()
        );
    }

    #[test]
    fn fitting_keeps_the_aspect_ratio_and_never_upscales() {
        assert_eq!(fit_within(4000, 3000, 256), (256, 192));
        assert_eq!(fit_within(3000, 4000, 1440), (1080, 1440));
        assert_eq!(fit_within(100, 50, 256), (100, 50));
        assert_eq!(fit_within(10_000, 1, 256), (256, 1));
        assert!(exceeds_megapixels(10_000, 8_001, 80));
        assert!(!exceeds_megapixels(10_000, 8_000, 80));
    }

    #[test]
    fn lifecycle_changes_follow_the_state_machine() {
        use FileLifecycle::*;
        use LifecycleChange::*;
        assert_eq!(
            check_lifecycle_change(Active, false, Tombstone).unwrap(),
            Tombstoned
        );
        assert_eq!(
            check_lifecycle_change(Tombstoned, false, Restore).unwrap(),
            Active
        );
        assert_eq!(
            check_lifecycle_change(Tombstoned, false, Purge).unwrap(),
            Deleted
        );
        assert_eq!(
            check_lifecycle_change(Active, false, Purge)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(
            check_lifecycle_change(Deleted, false, Restore)
                .unwrap_err()
                .status(),
            409
        );
        for change in [Tombstone, Restore, Purge] {
            assert_eq!(
                check_lifecycle_change(Tombstoned, true, change)
                    .unwrap_err()
                    .status(),
                409
            );
        }
    }

    #[test]
    fn inputs_are_validated_and_normalized() {
        assert!(validate_scope("chat:0195f0c2-aaaa").is_ok());
        assert!(validate_scope("chat 1").is_err());
        assert!(validate_scope("").is_err());
        assert!(validate_name("report.pdf").is_ok());
        assert!(validate_name("  ").is_err());
        assert!(validate_name("a\nb").is_err());
        assert_eq!(normalize_mime_type("").unwrap(), DEFAULT_MIME_TYPE);
        assert_eq!(normalize_mime_type("Image/PNG").unwrap(), "image/png");
        assert_eq!(
            normalize_mime_type("text/plain; charset=utf-8").unwrap(),
            "text/plain; charset=utf-8"
        );
        assert!(normalize_mime_type("png").is_err());
        let upper = "A".repeat(64);
        assert_eq!(normalize_sha256("sha256", &upper).unwrap(), "a".repeat(64));
        assert!(normalize_sha256("sha256", "abc").is_err());
        assert!(is_variant_source("image/png"));
        assert!(!is_variant_source("application/pdf"));
    }
}
