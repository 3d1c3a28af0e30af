//! The registry's closed vocabularies. Values are lowercase; anything else is refused with the
//! field named, so a typo never becomes a new category that no selection ever matches.

pub const HOSTING: &[&str] = &["external", "self_hosted"];
pub const HOSTING_PREFERENCES: &[&str] = &["any", "external", "self_hosted"];

pub const CATEGORIES: &[&str] = &[
    "llm",
    "vision",
    "audio",
    "scientific",
    "medical",
    "geospatial",
    "3d",
    "embedding",
    "multimodal",
    "image",
    "video",
];

/// What a model can be asked to do. The seeds' primary modes, the chat platform's modes and
/// the visual pipeline's operations.
pub const MODES: &[&str] = &[
    "chat",
    "completion",
    "embedding",
    "inference",
    "transcription",
    "speech",
    "audio",
    "3d",
    "image_generation",
    "image_editing",
    "segmentation",
    "detection",
    "classification",
    "upscaling",
    "inpainting",
    "interpolation",
    "face_restoration",
    "matting",
    "ocr",
    "protein_folding",
];

pub const MODALITIES: &[&str] = &[
    "text",
    "image",
    "audio",
    "video",
    "pdf",
    "embedding",
    "json",
    "3d",
    "structure",
    "sequence",
    "smiles",
    "graph",
    "state",
    "action",
];

pub const MODEL_STATUSES: &[&str] = &["active", "pending_review", "deprecated"];
pub const SOURCES: &[&str] = &["seed", "models.dev", "admin"];
pub const THERMAL_STATES: &[&str] = &["off", "cold", "warm", "hot"];
pub const THERMAL_MODES: &[&str] = &["off", "cold", "warm", "hot", "automatic"];
pub const HEALTH_STATUSES: &[&str] = &[
    "healthy",
    "degraded",
    "unhealthy",
    "unknown",
    "unconfigured",
];
pub const API_KINDS: &[&str] = &["openai_compatible", "anthropic", "sagemaker", "catalogue"];
pub const LICENSE_COVERS: &[&str] = &[
    "source_code",
    "model_weights",
    "database",
    "data",
    "service",
];
pub const COMPLIANCE_STATUSES: &[&str] = &["compliant", "review_needed", "non_compliant"];
pub const DEPENDENCY_TYPES: &[&str] = &["model", "database", "library", "data", "service"];
pub const TASK_TYPES: &[&str] = &[
    "inference",
    "preprocessing",
    "postprocessing",
    "validation",
    "aggregation",
    "conditional",
];
pub const PARAMETER_TYPES: &[&str] = &[
    "string", "integer", "number", "boolean", "enum", "file", "json",
];
pub const WIDGETS: &[&str] = &[
    "text", "textarea", "number", "slider", "select", "checkbox", "file",
];
pub const SYNC_TYPES: &[&str] = &["full", "pricing", "health", "thermal"];

/// SPDX license identifiers the registry knows (https://spdx.org/licenses/). Licenses SPDX does
/// not list are written `LicenseRef-<name>`.
pub const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-3.0",
    "AGPL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-2.0",
    "Artistic-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.2",
    "GPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.1",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MIT-0",
    "MPL-2.0",
    "MS-PL",
    "NCSA",
    "ODbL-1.0",
    "OFL-1.1",
    "OpenRAIL",
    "OpenRAIL++",
    "OSL-3.0",
    "PDDL-1.0",
    "PostgreSQL",
    "Python-2.0",
    "Unlicense",
    "UPL-1.0",
    "Zlib",
];

pub fn is_one_of(value: &str, vocabulary: &[&str]) -> bool {
    vocabulary.contains(&value)
}

/// An SPDX id from the list, or `LicenseRef-` followed by letters, digits, `.` and `-`.
pub fn is_spdx_id(value: &str) -> bool {
    if SPDX_IDS.contains(&value) {
        return true;
    }
    match value.strip_prefix("LicenseRef-") {
        Some(name) => {
            !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-')
        }
        None => false,
    }
}

/// HOT before WARM before COLD before OFF (unknown last).
pub fn thermal_rank(state: &str) -> u8 {
    match state {
        "hot" => 0,
        "warm" => 1,
        "cold" => 2,
        "off" => 3,
        _ => 4,
    }
}

/// Healthy before degraded before unknown; the rest are not selectable.
pub fn health_rank(status: &str) -> u8 {
    match status {
        "healthy" => 0,
        "degraded" => 1,
        "unknown" => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_ids_and_license_refs() {
        assert!(is_spdx_id("Apache-2.0"));
        assert!(is_spdx_id("LicenseRef-Llama-3.2"));
        assert!(!is_spdx_id("apache"));
        assert!(!is_spdx_id("LicenseRef-"));
        assert!(!is_spdx_id("LicenseRef-a b"));
    }

    #[test]
    fn ranks_order_states() {
        assert!(thermal_rank("hot") < thermal_rank("warm"));
        assert!(thermal_rank("warm") < thermal_rank("cold"));
        assert!(health_rank("healthy") < health_rank("degraded"));
        assert!(health_rank("degraded") < health_rank("unknown"));
    }
}
