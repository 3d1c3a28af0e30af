//! Validation of what admins write: every refusal names the field, every accepted value is
//! normalized (trimmed, lists deduplicated) so stored documents compare equal when they mean
//! the same.

use radiant_bus::ServiceError;
use radiant_proto::registry::{Dependency, License, Model, Pricing, SelfHosted};

use super::vocabulary::{self as vocab, is_one_of};

pub type Checked<T> = Result<T, ServiceError>;

const MAX_TEXT: usize = 4000;
const MAX_NAME: usize = 200;
const MAX_LIST: usize = 64;

fn one_of(field: &str, value: &str, vocabulary: &[&str]) -> Checked<()> {
    if is_one_of(value, vocabulary) {
        return Ok(());
    }
    Err(ServiceError::invalid_field(
        field,
        format!("\"{value}\" is not one of: {}", vocabulary.join(", ")),
    ))
}

/// Trims `value` and checks its length and that it holds no control characters but newlines.
pub fn text(field: &str, value: &mut String, required: bool, max: usize) -> Checked<()> {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_string();
    }
    if required && value.is_empty() {
        return Err(ServiceError::invalid_field(field, "is required"));
    }
    if value.len() > max {
        return Err(ServiceError::invalid_field(
            field,
            format!("is longer than {max} bytes"),
        ));
    }
    if value
        .chars()
        .any(|character| character.is_control() && character != '\n')
    {
        return Err(ServiceError::invalid_field(
            field,
            "holds control characters",
        ));
    }
    Ok(())
}

fn list(field: &str, values: &mut Vec<String>, vocabulary: Option<&[&str]>) -> Checked<()> {
    if values.len() > MAX_LIST {
        return Err(ServiceError::invalid_field(
            field,
            format!("has more than {MAX_LIST} entries"),
        ));
    }
    let mut normalized: Vec<String> = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let value = value.trim().to_string();
        let item_field = format!("{field}[{index}]");
        if value.is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
            return Err(ServiceError::invalid_field(
                &item_field,
                "must be 1 to 200 bytes without control characters",
            ));
        }
        if let Some(vocabulary) = vocabulary {
            one_of(&item_field, &value, vocabulary)?;
        }
        if !normalized.contains(&value) {
            normalized.push(value);
        }
    }
    *values = normalized;
    Ok(())
}

/// `^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$`: model ids travel in subjects' payloads, URLs
/// (percent-encoded) and KV keys (escaped).
pub fn model_id(field: &str, value: &str) -> Checked<()> {
    let valid = !value.is_empty()
        && value.len() <= MAX_NAME
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._:/@+-".contains(&byte));
    if valid {
        return Ok(());
    }
    Err(ServiceError::invalid_field(
        field,
        "must be 1 to 200 characters of letters, digits and ._:/@+- starting with a letter or digit",
    ))
}

/// Lowercase letters, digits, `.`, `_`, `-`; 1..100 characters.
pub fn provider_id(field: &str, value: &str) -> Checked<()> {
    let valid = !value.is_empty()
        && value.len() <= 100
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && value.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"._-".contains(&byte)
        });
    if valid {
        return Ok(());
    }
    Err(ServiceError::invalid_field(
        field,
        "must be 1 to 100 lowercase letters, digits and ._- starting with a letter or digit",
    ))
}

pub fn tier(field: &str, value: u32) -> Checked<()> {
    if (1..=5).contains(&value) {
        return Ok(());
    }
    Err(ServiceError::invalid_field(
        field,
        "must be between 1 and 5",
    ))
}

fn price(field: &str, value: f64) -> Checked<()> {
    if value.is_finite() && (0.0..=1_000_000.0).contains(&value) {
        return Ok(());
    }
    Err(ServiceError::invalid_field(
        field,
        "must be a number between 0 and 1000000",
    ))
}

pub fn pricing(pricing: &Pricing) -> Checked<()> {
    price("pricing.input_per_million", pricing.input_per_million)?;
    price("pricing.output_per_million", pricing.output_per_million)?;
    price(
        "pricing.cache_read_per_million",
        pricing.cache_read_per_million,
    )?;
    price(
        "pricing.cache_write_per_million",
        pricing.cache_write_per_million,
    )?;
    price("pricing.per_request", pricing.per_request)?;
    price("pricing.per_image", pricing.per_image)?;
    price("pricing.per_minute_audio", pricing.per_minute_audio)?;
    price("pricing.per_minute_video", pricing.per_minute_video)?;
    price("pricing.per_3d_model", pricing.per_3d_model)?;
    price("pricing.hourly_rate", pricing.hourly_rate)?;
    if !(pricing.markup_percent.is_finite() && (0.0..=1000.0).contains(&pricing.markup_percent)) {
        return Err(ServiceError::invalid_field(
            "pricing.markup_percent",
            "must be between 0 and 1000",
        ));
    }
    Ok(())
}

fn self_hosted(config: &mut SelfHosted) -> Checked<()> {
    text(
        "self_hosted.sagemaker_image",
        &mut config.sagemaker_image,
        true,
        500,
    )?;
    text(
        "self_hosted.instance_type",
        &mut config.instance_type,
        true,
        50,
    )?;
    if !config.instance_type.starts_with("ml.") && config.instance_type != "local" {
        return Err(ServiceError::invalid_field(
            "self_hosted.instance_type",
            "must be a SageMaker instance type (ml.*) or \"local\"",
        ));
    }
    text(
        "self_hosted.endpoint_name",
        &mut config.endpoint_name,
        false,
        63,
    )?;
    if config.default_thermal_state.is_empty() {
        config.default_thermal_state = "cold".to_string();
    }
    one_of(
        "self_hosted.default_thermal_state",
        &config.default_thermal_state,
        vocab::THERMAL_MODES,
    )?;
    if config.max_instances < config.min_instances {
        return Err(ServiceError::invalid_field(
            "self_hosted.max_instances",
            "must not be below min_instances",
        ));
    }
    if config.environment_json.is_empty() {
        config.environment_json = "{}".to_string();
    }
    match serde_json::from_str::<serde_json::Value>(&config.environment_json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(ServiceError::invalid_field(
            "self_hosted.environment_json",
            "must be a JSON object",
        )),
    }
}

/// Checks and normalizes a model an admin writes. Live state, revision and times are the
/// registry's and are cleared.
pub fn model(model: &mut Model) -> Checked<()> {
    model_id("model.model_id", &model.model_id)?;
    provider_id("model.provider_id", &model.provider_id)?;
    one_of("model.hosting", &model.hosting, vocab::HOSTING)?;
    text("model.name", &mut model.name, false, MAX_NAME)?;
    if model.name.is_empty() {
        model.name = model.model_id.clone();
    }
    text(
        "model.display_name",
        &mut model.display_name,
        false,
        MAX_NAME,
    )?;
    if model.display_name.is_empty() {
        model.display_name = model.name.clone();
    }
    text("model.description", &mut model.description, false, MAX_TEXT)?;
    text("model.family", &mut model.family, false, MAX_NAME)?;
    text("model.specialty", &mut model.specialty, false, MAX_NAME)?;
    one_of("model.category", &model.category, vocab::CATEGORIES)?;
    list("model.modes", &mut model.modes, Some(vocab::MODES))?;
    if model.modes.is_empty() {
        return Err(ServiceError::invalid_field(
            "model.modes",
            "needs at least one mode",
        ));
    }
    list("model.capabilities", &mut model.capabilities, None)?;
    list(
        "model.input_modalities",
        &mut model.input_modalities,
        Some(vocab::MODALITIES),
    )?;
    list(
        "model.output_modalities",
        &mut model.output_modalities,
        Some(vocab::MODALITIES),
    )?;
    if model.input_modalities.is_empty() || model.output_modalities.is_empty() {
        return Err(ServiceError::invalid_field(
            "model.input_modalities",
            "input and output modalities need at least one entry each",
        ));
    }
    if model.min_tier == 0 {
        model.min_tier = if model.hosting == "self_hosted" { 3 } else { 1 };
    }
    tier("model.min_tier", model.min_tier)?;
    pricing(model.pricing.get_or_insert_with(Default::default))?;
    match (model.hosting.as_str(), model.self_hosted.as_mut()) {
        ("self_hosted", Some(config)) => self_hosted(config)?,
        ("self_hosted", None) => {
            return Err(ServiceError::invalid_field(
                "model.self_hosted",
                "is required for self-hosted models",
            ));
        }
        (_, Some(_)) => {
            return Err(ServiceError::invalid_field(
                "model.self_hosted",
                "is only for self-hosted models",
            ));
        }
        _ => {}
    }
    if model.status.is_empty() {
        model.status = "active".to_string();
    }
    one_of("model.status", &model.status, vocab::MODEL_STATUSES)?;
    list("model.license_ids", &mut model.license_ids, None)?;
    for (index, spdx_id) in model.license_ids.iter().enumerate() {
        if !vocab::is_spdx_id(spdx_id) {
            return Err(ServiceError::invalid_field(
                &format!("model.license_ids[{index}]"),
                format!("\"{spdx_id}\" is not an SPDX id (or LicenseRef-<name>)"),
            ));
        }
    }
    if model.attributes.len() > MAX_LIST {
        return Err(ServiceError::invalid_field(
            "model.attributes",
            "has too many entries",
        ));
    }
    for (key, value) in model.attributes.iter_mut() {
        let field = format!("model.attributes.{key}");
        if key.is_empty() || key.len() > 100 || key.chars().any(char::is_control) {
            return Err(ServiceError::invalid_field(
                &field,
                "needs a name of 1 to 100 bytes",
            ));
        }
        text(&field, value, false, MAX_TEXT)?;
    }
    text("model.release_date", &mut model.release_date, false, 32)?;
    text(
        "model.knowledge_cutoff",
        &mut model.knowledge_cutoff,
        false,
        32,
    )?;
    model.live = None;
    model.revision = 0;
    model.created_at.clear();
    model.updated_at.clear();
    model.provider_name.clear();
    no_nul_characters("model", model)
}

pub fn license(index: usize, license: &mut License, model_id: &str) -> Checked<()> {
    let field = |name: &str| format!("licenses[{index}].{name}");
    license.model_id = model_id.to_string();
    if license.covers.is_empty() {
        license.covers = "model_weights".to_string();
    }
    one_of(&field("covers"), &license.covers, vocab::LICENSE_COVERS)?;
    if !vocab::is_spdx_id(&license.spdx_id) {
        return Err(ServiceError::invalid_field(
            &field("spdx_id"),
            format!(
                "\"{}\" is not an SPDX id (or LicenseRef-<name>)",
                license.spdx_id
            ),
        ));
    }
    text(&field("url"), &mut license.url, false, 500)?;
    text(
        &field("commercial_notes"),
        &mut license.commercial_notes,
        false,
        MAX_TEXT,
    )?;
    text(
        &field("attribution_text"),
        &mut license.attribution_text,
        false,
        MAX_TEXT,
    )?;
    if license.compliance_status.is_empty() {
        license.compliance_status = "review_needed".to_string();
    }
    one_of(
        &field("compliance_status"),
        &license.compliance_status,
        vocab::COMPLIANCE_STATUSES,
    )?;
    text(
        &field("compliance_notes"),
        &mut license.compliance_notes,
        false,
        MAX_TEXT,
    )?;
    if !license.expires_at.is_empty() {
        timestamp(&field("expires_at"), &license.expires_at)?;
    }
    no_nul_characters(&format!("licenses[{index}]"), license)
}

pub fn dependency(index: usize, dependency: &mut Dependency, owner_model_id: &str) -> Checked<()> {
    let field = |name: &str| format!("dependencies[{index}].{name}");
    dependency.model_id = owner_model_id.to_string();
    one_of(
        &field("dependency_type"),
        &dependency.dependency_type,
        vocab::DEPENDENCY_TYPES,
    )?;
    text(&field("name"), &mut dependency.name, true, MAX_NAME)?;
    text(&field("version"), &mut dependency.version, false, 50)?;
    text(
        &field("description"),
        &mut dependency.description,
        false,
        MAX_TEXT,
    )?;
    if dependency.dependency_type == "model" {
        model_id(
            &field("depends_on_model_id"),
            &dependency.depends_on_model_id,
        )?;
    }
    if !dependency.license_id.is_empty() && !vocab::is_spdx_id(&dependency.license_id) {
        return Err(ServiceError::invalid_field(
            &field("license_id"),
            "is not an SPDX id (or LicenseRef-<name>)",
        ));
    }
    no_nul_characters(&format!("dependencies[{index}]"), dependency)
}

/// Refuses a NUL character anywhere in a document (PostgreSQL text and jsonb cannot hold one),
/// naming the field path it was found in.
pub fn no_nul_characters(root: &str, document: &impl serde::Serialize) -> Checked<()> {
    fn walk(path: &mut String, value: &serde_json::Value) -> Option<String> {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => Some(path.clone()),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(index, item)| {
                    let length = path.len();
                    path.push_str(&format!("[{index}]"));
                    let found = walk(path, item);
                    path.truncate(length);
                    found
                })
            }
            serde_json::Value::Object(fields) => fields.iter().find_map(|(name, item)| {
                let length = path.len();
                path.push('.');
                path.push_str(name);
                let found = if name.contains('\0') {
                    Some(path.clone())
                } else {
                    walk(path, item)
                };
                path.truncate(length);
                found
            }),
            _ => None,
        }
    }
    let value = serde_json::to_value(document)
        .map_err(|_| ServiceError::invalid_field(root, "cannot be represented as JSON"))?;
    match walk(&mut root.to_string(), &value) {
        Some(path) => Err(ServiceError::invalid_field(&path, "holds a NUL character")),
        None => Ok(()),
    }
}

/// An RFC 3339 time.
pub fn timestamp(field: &str, value: &str) -> Checked<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|time| time.with_timezone(&chrono::Utc))
        .map_err(|_| ServiceError::invalid_field(field, "must be an RFC 3339 time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_model() -> Model {
        Model {
            model_id: "acme/model-1".to_string(),
            provider_id: "acme".to_string(),
            hosting: "external".to_string(),
            category: "llm".to_string(),
            modes: vec!["chat".to_string()],
            input_modalities: vec!["text".to_string()],
            output_modalities: vec!["text".to_string()],
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_model_is_normalized() {
        let mut model = valid_model();
        model.modes.push(" chat ".to_string());
        super::model(&mut model).unwrap();
        assert_eq!(model.modes, vec!["chat"]);
        assert_eq!(model.display_name, "acme/model-1");
        assert_eq!(model.min_tier, 1);
        assert_eq!(model.status, "active");
    }

    #[test]
    fn nul_characters_are_refused_with_their_path() {
        let mut model = valid_model();
        model.self_hosted = None;
        model
            .attributes
            .insert("note".to_string(), "a\0b".to_string());
        let error = super::model(&mut model).unwrap_err();
        assert_eq!(error.field_violations[0].0, "model.attributes.note");
        let mut model = valid_model();
        model.capabilities = vec!["x\0".to_string()];
        assert!(super::model(&mut model).is_err());
    }

    #[test]
    fn refusals_name_the_field() {
        type Breaker = fn(&mut Model);
        let cases: Vec<(Breaker, &str)> = vec![
            (
                |model| model.category = "cooking".to_string(),
                "model.category",
            ),
            (
                |model| model.modes = vec!["dance".to_string()],
                "model.modes[0]",
            ),
            (
                |model| model.license_ids = vec!["GPL".to_string()],
                "model.license_ids[0]",
            ),
            (|model| model.min_tier = 9, "model.min_tier"),
            (
                |model| model.model_id = "bad id".to_string(),
                "model.model_id",
            ),
            (
                |model| model.hosting = "self_hosted".to_string(),
                "model.self_hosted",
            ),
            (
                |model| {
                    model.pricing = Some(Pricing {
                        input_per_million: -1.0,
                        ..Default::default()
                    })
                },
                "pricing.input_per_million",
            ),
        ];
        for (break_it, field) in cases {
            let mut model = valid_model();
            break_it(&mut model);
            let error = super::model(&mut model).unwrap_err();
            assert_eq!(error.field_violations[0].0, field, "{error:?}");
        }
    }
}
