//! The task type of a prompt: the nearest task prototype by the embeddings of a registry model
//! (all-MiniLM-L6-v2 on the inference host, through the SageMaker protocol), or keywords when
//! embeddings are unavailable or slow. The prototypes are embedded once, in the background,
//! and again until that succeeds.

use std::sync::RwLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::domain::context::TaskType;
use crate::domain::task::{PROTOTYPES, Prototypes, classify_by_keywords};
use crate::invoke::{Clients, FailureKind, InvokeError, Target};
use crate::live::LiveView;

/// Characters of the prompt that are embedded (the model reads 256 tokens at most).
const MAX_EMBEDDED_CHARS: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSource {
    Caller,
    Embeddings,
    Keywords,
}

impl TaskSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSource::Caller => "caller",
            TaskSource::Embeddings => "embeddings",
            TaskSource::Keywords => "keywords",
        }
    }
}

pub struct Classifier {
    embedding_model: String,
    timeout: Duration,
    prototypes: RwLock<Option<std::sync::Arc<Prototypes>>>,
    target_cache: RwLock<Option<Target>>,
}

impl Classifier {
    pub fn new(embedding_model: &str, timeout: Duration) -> Self {
        Self {
            embedding_model: embedding_model.to_string(),
            timeout,
            prototypes: RwLock::new(None),
            target_cache: RwLock::new(None),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.prototypes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }

    fn target(
        &self,
        view: &LiveView,
        bus_model: &radiant_proto::registry::Model,
    ) -> Option<Target> {
        let provider = view.provider(&bus_model.provider_id)?;
        let endpoint_name = bus_model.self_hosted.as_ref()?.endpoint_name.clone();
        Some(Target::SageMaker {
            base_url: provider.base_url,
            endpoint_name,
            credential: None,
        })
    }

    /// Embeds the prototypes; `Ok(false)` when no embedding model is configured.
    pub async fn prepare(
        &self,
        view: &LiveView,
        bus: &radiant_bus::BusClient,
        clients: &Clients,
    ) -> Result<bool, String> {
        if self.embedding_model.is_empty() {
            return Ok(false);
        }
        let model = crate::live::lookup(bus, &self.embedding_model)
            .await
            .map_err(|error| error.to_string())?
            .ok_or_else(|| {
                format!(
                    "embedding model {} is not in the registry",
                    self.embedding_model
                )
            })?;
        let target = self.target(view, &model).ok_or_else(|| {
            format!(
                "embedding model {} has no callable provider",
                self.embedding_model
            )
        })?;
        let texts: Vec<String> = PROTOTYPES
            .iter()
            .map(|(_, text)| text.to_string())
            .collect();
        let vectors = embed(clients, &target, &texts)
            .await
            .map_err(|error| error.to_string())?;
        let labelled: Vec<(TaskType, Vec<f32>)> = PROTOTYPES
            .iter()
            .map(|(task, _)| *task)
            .zip(vectors)
            .collect();
        let prototypes = Prototypes::new(&labelled);
        if prototypes.is_empty() {
            return Err("the prototype embeddings were empty".to_string());
        }
        *self
            .prototypes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(std::sync::Arc::new(prototypes));
        *self
            .target_cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(target);
        Ok(true)
    }

    /// The task of `prompt`: by embeddings within the timeout, else by keywords.
    pub async fn classify(&self, clients: &Clients, prompt: &str) -> (TaskType, TaskSource) {
        let prototypes = self
            .prototypes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let target = self
            .target_cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let (Some(prototypes), Some(target)) = (prototypes, target) {
            let text: String = prompt.chars().take(MAX_EMBEDDED_CHARS).collect();
            let embedded =
                tokio::time::timeout(self.timeout, embed(clients, &target, &[text])).await;
            match embedded {
                Ok(Ok(vectors)) => {
                    if let Some((task, _similarity)) = vectors
                        .first()
                        .and_then(|vector| prototypes.classify(vector))
                    {
                        return (task, TaskSource::Embeddings);
                    }
                }
                Ok(Err(error)) => tracing::debug!(%error, "prompt embedding failed; keywords"),
                Err(_) => tracing::debug!("prompt embedding too slow; keywords"),
            }
        }
        (classify_by_keywords(prompt), TaskSource::Keywords)
    }
}

/// Embeddings of `texts` from a SageMaker-protocol embedding endpoint
/// (`{"inputs": [...]}` → `{"embeddings": [[...]]}`).
pub async fn embed(
    clients: &Clients,
    target: &Target,
    texts: &[String],
) -> Result<Vec<Vec<f32>>, InvokeError> {
    let Target::SageMaker {
        base_url,
        endpoint_name,
        credential,
    } = target
    else {
        return Err(InvokeError::new(
            FailureKind::Protocol,
            "embeddings need a sagemaker endpoint",
        ));
    };
    let client = clients.sagemaker.client(base_url, credential.as_deref());
    let output = client
        .invoke_endpoint()
        .endpoint_name(endpoint_name)
        .content_type("application/json")
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
            json!({ "inputs": texts }).to_string(),
        ))
        .send()
        .await
        .map_err(crate::invoke::sagemaker::sdk_error)?;
    let body: Value = output
        .body
        .as_ref()
        .and_then(|body| serde_json::from_slice(body.as_ref()).ok())
        .ok_or_else(|| InvokeError::new(FailureKind::Protocol, "unreadable embeddings"))?;
    let vectors = body["embeddings"]
        .as_array()
        .ok_or_else(|| InvokeError::new(FailureKind::Protocol, "no embeddings in the answer"))?
        .iter()
        .map(|vector| {
            vector
                .as_array()
                .map(|values| {
                    values
                        .iter()
                        .filter_map(Value::as_f64)
                        .map(|value| value as f32)
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect::<Vec<Vec<f32>>>();
    if vectors.len() != texts.len() {
        return Err(InvokeError::new(
            FailureKind::Protocol,
            format!("{} embeddings for {} texts", vectors.len(), texts.len()),
        ));
    }
    Ok(vectors)
}
