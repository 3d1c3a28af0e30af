//! The catalogue the registry starts with, written at start if absent (a seed never
//! overwrites what an admin changed): the seeds' 56 self-hosted SageMaker models, AlphaFold 2
//! with its licenses, dependencies and protein-folding workflow, and the models the local
//! inference host serves. The seeds' values are kept; only their vocabulary is normalized
//! (lowercase states, file formats as modalities, non-SPDX licenses as `LicenseRef-`).

use radiant_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use radiant_proto::registry::{
    Dependency, License, Model, ParameterValidation, Pricing, Provider, SelfHosted, Workflow,
    WorkflowParameter, WorkflowTask,
};
use serde_json::Value;

use crate::domain::vocabulary::{self as vocab, is_one_of};
use crate::store;

const SELF_HOSTED_MODELS: &str = include_str!("../seed/self_hosted_models.json");
const ALPHAFOLD2: &str = include_str!("../seed/alphafold2.json");

pub const SAGEMAKER_PROVIDER: &str = "sagemaker";
pub const INFERENCE_HOST_PROVIDER: &str = "inference-host";
pub const INFERENCE_HOST_OPENAI_PROVIDER: &str = "inference-host-openai";

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn number(value: &Value, key: &str) -> f64 {
    value.get(key).and_then(Value::as_f64).unwrap_or_default()
}

fn unsigned(value: &Value, key: &str) -> u64 {
    value.get(key).and_then(Value::as_u64).unwrap_or_default()
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// File formats the seed lists as output modalities, as modalities.
fn modality(value: &str) -> String {
    match value {
        "glb" | "obj" | "ply" | "mesh" | "splat" => "3d".to_string(),
        "pdb" => "structure".to_string(),
        other => other.to_string(),
    }
}

/// An SPDX id, or the seed's name as `LicenseRef-<name>`.
pub fn spdx(license: &str) -> String {
    if vocab::is_spdx_id(license) {
        return license.to_string();
    }
    let name: String = license
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '.' {
                character
            } else {
                '-'
            }
        })
        .collect();
    format!("LicenseRef-{name}")
}

fn compliance(spdx_id: &str, commercial_use: bool) -> &'static str {
    if !commercial_use {
        "non_compliant"
    } else if spdx_id.starts_with("LicenseRef-") {
        "review_needed"
    } else {
        "compliant"
    }
}

fn self_hosted_model(row: &Value) -> (Model, License) {
    let model_id = text(row, "model_id");
    let primary_mode = text(row, "primary_mode");
    let specialty = text(row, "specialty");
    let mut modes = vec![primary_mode];
    if is_one_of(&specialty, vocab::MODES) && !modes.contains(&specialty) {
        modes.push(specialty.clone());
    }
    let mut output_modalities: Vec<String> = Vec::new();
    for value in strings(row, "output_modalities") {
        let value = modality(&value);
        if !output_modalities.contains(&value) {
            output_modalities.push(value);
        }
    }
    let license_spdx = spdx(&text(row, "license"));
    let commercial_use = row
        .get("commercial_use_allowed")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut attributes = std::collections::BTreeMap::new();
    for key in ["accuracy", "benchmark"] {
        let value = text(row, key);
        if !value.is_empty() {
            attributes.insert(key.to_string(), value);
        }
    }
    for key in ["input_formats", "output_formats"] {
        let values = strings(row, key);
        if !values.is_empty() {
            attributes.insert(key.to_string(), values.join(","));
        }
    }
    let model = Model {
        model_id: model_id.clone(),
        provider_id: SAGEMAKER_PROVIDER.to_string(),
        hosting: "self_hosted".to_string(),
        name: text(row, "name"),
        display_name: text(row, "display_name"),
        description: text(row, "description"),
        category: text(row, "category"),
        specialty,
        modes,
        capabilities: strings(row, "capabilities"),
        input_modalities: strings(row, "input_modalities"),
        output_modalities,
        context_window: unsigned(row, "context_window") as u32,
        max_output: unsigned(row, "max_output") as u32,
        pricing: Some(Pricing {
            hourly_rate: number(row, "hourly_rate"),
            per_request: number(row, "per_request"),
            per_image: number(row, "per_image"),
            per_minute_audio: number(row, "per_minute_audio"),
            per_minute_video: number(row, "per_minute_video"),
            per_3d_model: number(row, "per_3d_model"),
            markup_percent: number(row, "markup_percent"),
            ..Default::default()
        }),
        min_tier: unsigned(row, "min_tier") as u32,
        parameters: unsigned(row, "parameters"),
        self_hosted: Some(SelfHosted {
            sagemaker_image: text(row, "sagemaker_image"),
            instance_type: text(row, "instance_type"),
            gpu_memory_gb: unsigned(row, "gpu_memory_gb") as u32,
            endpoint_name: format!("radiant-{model_id}"),
            default_thermal_state: text(row, "default_thermal_state").to_lowercase(),
            warmup_time_seconds: unsigned(row, "warmup_time_seconds") as u32,
            scale_to_zero_minutes: unsigned(row, "scale_to_zero_minutes") as u32,
            min_instances: unsigned(row, "min_instances") as u32,
            max_instances: unsigned(row, "max_instances") as u32,
            environment_json: row
                .get("environment")
                .map(Value::to_string)
                .unwrap_or_else(|| "{}".to_string()),
            model_data_url: text(row, "model_data_url"),
        }),
        license_ids: vec![license_spdx.clone()],
        attributes,
        status: "active".to_string(),
        enabled: true,
        source: "seed".to_string(),
        ..Default::default()
    };
    let license = License {
        covers: "model_weights".to_string(),
        spdx_id: license_spdx.clone(),
        url: text(row, "license_url"),
        commercial_use,
        commercial_notes: text(row, "commercial_use_notes"),
        attribution_required: row
            .get("attribution_required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        compliance_status: compliance(&license_spdx, commercial_use).to_string(),
        ..Default::default()
    };
    (model, license)
}

/// AlphaFold 2's licenses, dependencies and workflow (section 34 of the seeds). The
/// workflow's tasks come from its DAG, its parameters from its input schema and defaults.
fn alphafold2() -> (Vec<License>, Vec<Dependency>, Workflow) {
    let seed: Value = serde_json::from_str(ALPHAFOLD2).expect("embedded alphafold2 seed is JSON");
    let licenses = seed["licenses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            let spdx_id = spdx(&text(row, "license_spdx"));
            let covers = match text(row, "license_type").as_str() {
                "source_code" => "source_code",
                "database" => "database",
                _ => "model_weights",
            };
            License {
                covers: covers.to_string(),
                share_alike: spdx_id.contains("-SA-"),
                url: text(row, "license_url"),
                commercial_use: row
                    .get("commercial_use")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                commercial_notes: text(row, "commercial_notes"),
                attribution_required: row
                    .get("attribution_required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                attribution_text: text(row, "attribution_text"),
                compliance_status: text(row, "compliance_status"),
                spdx_id,
                ..Default::default()
            }
        })
        .collect();
    let dependencies = seed["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| Dependency {
            dependency_type: "database".to_string(),
            name: text(row, "dependency_name"),
            required: row.get("required").and_then(Value::as_bool).unwrap_or(true),
            description: text(row, "notes"),
            license_id: spdx(&text(row, "dependency_license")),
            size_bytes: (number(row, "dependency_size_gb") * 1e9) as u64,
            ..Default::default()
        })
        .collect();
    let definition = &seed["workflows"][0];
    let edges = definition["dag_definition"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tasks = definition["dag_definition"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|node| {
            let task_id = text(node, "id");
            let depends_on = edges
                .iter()
                .filter(|edge| text(edge, "to") == task_id)
                .map(|edge| text(edge, "from"))
                .collect();
            let is_validation = text(node, "type") == "validation";
            WorkflowTask {
                name: task_id.replace('_', " "),
                model_id: if is_validation {
                    String::new()
                } else {
                    text(node, "modelId")
                },
                task_type: if is_validation {
                    "validation"
                } else {
                    "inference"
                }
                .to_string(),
                depends_on,
                config_json: "{}".to_string(),
                timeout_seconds: 3600,
                max_retries: 2,
                task_id,
            }
        })
        .collect();
    let mut parameters = Vec::new();
    let required = strings(&definition["input_schema"], "required");
    if let Some(properties) = definition["input_schema"]["properties"].as_object() {
        for (name, schema) in properties {
            parameters.push(WorkflowParameter {
                name: name.clone(),
                parameter_type: text(schema, "type"),
                required: required.contains(name),
                description: "amino-acid sequence (one-letter codes)".to_string(),
                validation: Some(ParameterValidation {
                    min_length: unsigned(schema, "minLength") as u32,
                    max_length: unsigned(schema, "maxLength") as u32,
                    pattern: "^[ACDEFGHIKLMNPQRSTVWY]+$".to_string(),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    if let Some(defaults) = definition["default_parameters"].as_object() {
        for (name, default) in defaults {
            let parameter_type = match default {
                Value::Bool(_) => "boolean",
                Value::Number(number) if number.is_i64() => "integer",
                Value::Number(_) => "number",
                _ => "json",
            };
            parameters.push(WorkflowParameter {
                name: name.clone(),
                parameter_type: parameter_type.to_string(),
                default_json: default.to_string(),
                ..Default::default()
            });
        }
    }
    let workflow = Workflow {
        workflow_id: text(definition, "workflow_id").replace('_', "-"),
        name: text(definition, "name"),
        description: text(definition, "description"),
        category: text(definition, "category"),
        tasks,
        parameters,
        enabled: true,
        min_tier: unsigned(definition, "min_tier") as u32,
        ..Default::default()
    };
    (licenses, dependencies, workflow)
}

/// The inference host's endpoints as self-hosted models, and its OpenAI-compatible chat
/// route as an external provider that needs no key.
fn local_models() -> Vec<Model> {
    let local = |model_id: &str,
                 display: &str,
                 category: &str,
                 modes: &[&str],
                 input: &[&str],
                 output: &[&str],
                 description: &str| Model {
        model_id: model_id.to_string(),
        provider_id: INFERENCE_HOST_PROVIDER.to_string(),
        hosting: "self_hosted".to_string(),
        name: model_id.to_string(),
        display_name: display.to_string(),
        description: description.to_string(),
        category: category.to_string(),
        modes: modes.iter().map(|mode| mode.to_string()).collect(),
        input_modalities: input.iter().map(|value| value.to_string()).collect(),
        output_modalities: output.iter().map(|value| value.to_string()).collect(),
        min_tier: 1,
        pricing: Some(Pricing::default()),
        self_hosted: Some(SelfHosted {
            sagemaker_image: "radiant/inference-host".to_string(),
            instance_type: "local".to_string(),
            endpoint_name: model_id.to_string(),
            default_thermal_state: "automatic".to_string(),
            warmup_time_seconds: 5,
            scale_to_zero_minutes: 15,
            max_instances: 1,
            environment_json: "{}".to_string(),
            ..Default::default()
        }),
        license_ids: vec!["Apache-2.0".to_string()],
        status: "active".to_string(),
        enabled: true,
        source: "seed".to_string(),
        ..Default::default()
    };
    let mut smollm2 = local(
        "smollm2-135m-instruct",
        "SmolLM2 135M Instruct",
        "llm",
        &["chat", "completion"],
        &["text"],
        &["text"],
        "SmolLM2-135M-Instruct (Q8_0) on the local inference host",
    );
    smollm2.context_window = 4096;
    smollm2.max_output = 1024;
    smollm2.family = "smollm2".to_string();
    smollm2.parameters = 135_000_000;
    let mut minilm = local(
        "all-minilm-l6-v2",
        "all-MiniLM-L6-v2",
        "embedding",
        &["embedding"],
        &["text"],
        &["embedding"],
        "sentence embeddings (384 dimensions) on the local inference host",
    );
    minilm.context_window = 256;
    minilm.parameters = 22_700_000;
    let mut external = smollm2.clone();
    external.model_id = format!("{INFERENCE_HOST_OPENAI_PROVIDER}/smollm2-135m-instruct");
    external.provider_id = INFERENCE_HOST_OPENAI_PROVIDER.to_string();
    external.hosting = "external".to_string();
    external.self_hosted = None;
    external.description = "SmolLM2 through the inference host's OpenAI-compatible API".to_string();
    vec![
        smollm2,
        minilm,
        local(
            "upscale-lanczos-sharpen",
            "Lanczos upscaling with sharpening",
            "vision",
            &["upscaling"],
            &["image"],
            &["image"],
            "x2/x4 Lanczos resampling and unsharp masking",
        ),
        local(
            "inpaint-telea",
            "Telea inpainting",
            "vision",
            &["inpainting", "image_editing"],
            &["image"],
            &["image"],
            "fast-marching inpainting of masked regions",
        ),
        local(
            "segment-graph-felzenszwalb",
            "Felzenszwalb graph segmentation",
            "vision",
            &["segmentation"],
            &["image"],
            &["image"],
            "graph-based segmentation from a point or box prompt",
        ),
        local(
            "interpolate-block-motion",
            "Block-motion frame interpolation",
            "video",
            &["interpolation"],
            &["image", "video"],
            &["image", "video"],
            "bilateral block matching and warping between frames",
        ),
        local(
            "face-restore-bilateral-sharpen",
            "Bilateral face restoration",
            "vision",
            &["face_restoration"],
            &["image"],
            &["image"],
            "edge-preserving smoothing and sharpening",
        ),
        local(
            "matting-guided-filter",
            "Guided-filter matting",
            "vision",
            &["matting"],
            &["image"],
            &["image"],
            "alpha matte and cut-out by guided filtering",
        ),
        external,
    ]
}

fn providers(inference_host_url: &str) -> Vec<Provider> {
    let base = inference_host_url.trim_end_matches('/');
    vec![
        Provider {
            provider_id: SAGEMAKER_PROVIDER.to_string(),
            display_name: "Amazon SageMaker (self-hosted models)".to_string(),
            api_kind: "sagemaker".to_string(),
            docs_url: "https://docs.aws.amazon.com/sagemaker/".to_string(),
            env_vars: vec![
                "AWS_ACCESS_KEY_ID".to_string(),
                "AWS_SECRET_ACCESS_KEY".to_string(),
            ],
            requires_credential: true,
            ..Default::default()
        },
        Provider {
            provider_id: INFERENCE_HOST_PROVIDER.to_string(),
            display_name: "RADIANT inference host (SageMaker protocol)".to_string(),
            api_kind: "sagemaker".to_string(),
            base_url: base.to_string(),
            requires_credential: false,
            ..Default::default()
        },
        Provider {
            provider_id: INFERENCE_HOST_OPENAI_PROVIDER.to_string(),
            display_name: "RADIANT inference host (OpenAI-compatible)".to_string(),
            api_kind: "openai_compatible".to_string(),
            base_url: format!("{base}/v1"),
            requires_credential: false,
            ..Default::default()
        },
    ]
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub models_added: usize,
    pub workflows_added: usize,
}

/// Writes whatever of the seed catalogue is missing, in one transaction.
pub async fn apply(
    database: &DatabaseConnection,
    inference_host_url: &str,
) -> Result<SeedReport, DbErr> {
    let transaction = database.begin().await?;
    let mut report = SeedReport::default();
    for provider in providers(inference_host_url) {
        store::providers::upsert(&transaction, &provider, "seed").await?;
    }
    let rows: Vec<Value> =
        serde_json::from_str(SELF_HOSTED_MODELS).expect("embedded model seed is JSON");
    let (alphafold_licenses, alphafold_dependencies, workflow) = alphafold2();
    for row in &rows {
        let (mut model, license) = self_hosted_model(row);
        let (licenses, dependencies) = if model.model_id == "alphafold2" {
            model.license_ids = alphafold_licenses
                .iter()
                .map(|license| license.spdx_id.clone())
                .collect();
            (alphafold_licenses.clone(), alphafold_dependencies.clone())
        } else {
            (vec![license], Vec::new())
        };
        report.models_added +=
            insert_model(&transaction, &mut model, licenses, dependencies).await? as usize;
    }
    for mut model in local_models() {
        let license = License {
            covers: "source_code".to_string(),
            spdx_id: "Apache-2.0".to_string(),
            commercial_use: true,
            compliance_status: "compliant".to_string(),
            ..Default::default()
        };
        report.models_added +=
            insert_model(&transaction, &mut model, vec![license], Vec::new()).await? as usize;
    }
    let mut workflow = workflow;
    crate::domain::workflow::validate(&mut workflow)
        .map_err(|error| DbErr::Custom(format!("seed workflow: {}", error.message)))?;
    report.workflows_added += store::workflows::insert(&transaction, &workflow).await? as usize;
    transaction.commit().await?;
    Ok(report)
}

async fn insert_model(
    connection: &impl ConnectionTrait,
    model: &mut Model,
    mut licenses: Vec<License>,
    mut dependencies: Vec<Dependency>,
) -> Result<bool, DbErr> {
    crate::domain::validation::model(model).map_err(|error| {
        DbErr::Custom(format!("seed model {}: {}", model.model_id, error.message))
    })?;
    model.source = "seed".to_string();
    model.enabled = true;
    for (index, license) in licenses.iter_mut().enumerate() {
        crate::domain::validation::license(index, license, &model.model_id).map_err(|error| {
            DbErr::Custom(format!(
                "seed license of {}: {}",
                model.model_id, error.message
            ))
        })?;
    }
    for (index, dependency) in dependencies.iter_mut().enumerate() {
        crate::domain::validation::dependency(index, dependency, &model.model_id).map_err(
            |error| {
                DbErr::Custom(format!(
                    "seed dependency of {}: {}",
                    model.model_id, error.message
                ))
            },
        )?;
    }
    if !store::models::insert(connection, model, None).await? {
        return Ok(false);
    }
    store::licenses::replace_for_model(connection, &model.model_id, &licenses).await?;
    store::licenses::replace_dependencies(connection, &model.model_id, &dependencies).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_model_passes_validation() {
        let rows: Vec<Value> = serde_json::from_str(SELF_HOSTED_MODELS).unwrap();
        assert_eq!(rows.len(), 56);
        for row in &rows {
            let (mut model, mut license) = self_hosted_model(row);
            crate::domain::validation::model(&mut model)
                .unwrap_or_else(|error| panic!("{}: {error:?}", model.model_id));
            crate::domain::validation::license(0, &mut license, &model.model_id).unwrap();
        }
        for mut model in local_models() {
            crate::domain::validation::model(&mut model).unwrap();
        }
        let (licenses, dependencies, mut workflow) = alphafold2();
        assert_eq!(licenses.len(), 3);
        assert_eq!(dependencies.len(), 5);
        assert_eq!(workflow.tasks.len(), 6);
        crate::domain::workflow::validate(&mut workflow).unwrap();
        assert_eq!(spdx("Llama-3.2"), "LicenseRef-Llama-3.2");
        assert_eq!(spdx("MIT"), "MIT");
    }
}
