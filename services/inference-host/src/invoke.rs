//! The host's domain logic, shared by the SageMaker and OpenAI routes: admit a call on an
//! endpoint, make sure its model is loaded, compute on a blocking thread under the call's
//! deadline, and say precisely why when it cannot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::config::{EndpointKind, LimitsConfig};
use crate::endpoints::{AdmissionError, Endpoint, Endpoints, LoadedModel, Slot};
use crate::models::ModelError;
use crate::models::chat_llm::{
    ChatMessage, ChatModel, FinishReason, Generation, GenerationSettings, PreparedPrompt,
};
use crate::visual::{self, VisualError};

/// The zero-work endpoint's answer: fixed, so a benchmark through it measures only the
/// caller's own overhead.
pub const ZERO_WORK_REPLY: &str = "Zero-work endpoint: a fixed reply.";
const ZERO_WORK_REPLY_TOKENS: usize = 8;
/// The default completion length when a request names none.
const DEFAULT_MAX_TOKENS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("endpoint {0} of account local not found")]
    UnknownEndpoint(String),
    #[error("endpoint {endpoint} is a {kind} endpoint and cannot serve {operation}")]
    WrongKind {
        endpoint: String,
        kind: &'static str,
        operation: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    ContextExceeded(String),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Admission(#[from] AdmissionError),
    #[error("endpoint {endpoint} did not answer within its {timeout_ms} ms timeout")]
    ModelTimeout { endpoint: String, timeout_ms: u64 },
    #[error("endpoint {endpoint} could not load its model: {reason}")]
    LoadFailed { endpoint: String, reason: String },
    #[error("endpoint {endpoint} failed: {reason}")]
    ComputeFailed { endpoint: String, reason: String },
}

impl InvocationError {
    fn from_model(endpoint: &str, error: ModelError) -> Self {
        match error {
            ModelError::Invalid(message) => InvocationError::Invalid(message),
            ModelError::ContextExceeded(message) => InvocationError::ContextExceeded(message),
            ModelError::TooLarge(message) => InvocationError::TooLarge(message),
            ModelError::MissingFile { .. } | ModelError::Load(_) => InvocationError::LoadFailed {
                endpoint: endpoint.to_string(),
                reason: error.to_string(),
            },
            ModelError::Compute(reason) => InvocationError::ComputeFailed {
                endpoint: endpoint.to_string(),
                reason,
            },
        }
    }
}

pub fn kind_name(kind: EndpointKind) -> &'static str {
    match kind {
        EndpointKind::ChatLlm => "chat",
        EndpointKind::Embedding => "embedding",
        EndpointKind::ZeroWork => "zero-work",
        EndpointKind::Upscale => "upscaling",
        EndpointKind::Inpaint => "inpainting",
        EndpointKind::Segment => "segmentation",
        EndpointKind::Interpolate => "frame interpolation",
        EndpointKind::FaceRestore => "face restoration",
        EndpointKind::Matting => "matting",
    }
}

/// A chat request, whichever wire shape it came in.
#[derive(Debug, Clone)]
pub enum ChatInput {
    Messages(Vec<ChatMessage>),
    /// A raw prompt (the TGI `inputs` shape): used as is, no template.
    Prompt(String),
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub input: ChatInput,
    pub max_tokens: Option<usize>,
    pub settings: GenerationSettings,
}

/// A finished chat call.
#[derive(Debug, Clone)]
pub struct ChatOutcome {
    pub generation: Generation,
    pub cold_start: Option<Duration>,
}

/// What a streaming chat call sends, in order: text pieces, then one `Finished` or `Failed`.
#[derive(Debug)]
pub enum ChatEvent {
    Text(String),
    Finished(Generation),
    Failed(String),
}

pub struct ChatStream {
    pub prompt_tokens: usize,
    pub cold_start: Option<Duration>,
    pub events: mpsc::Receiver<ChatEvent>,
}

pub struct EmbeddingOutcome {
    pub vectors: Vec<Vec<f32>>,
    pub prompt_tokens: usize,
    pub cold_start: Option<Duration>,
}

pub struct Host {
    pub endpoints: Endpoints,
    pub limits: LimitsConfig,
}

/// An admitted call with its model loaded.
struct Admitted {
    endpoint: Arc<Endpoint>,
    slot: Slot,
    model: Arc<LoadedModel>,
    cold_start: Option<Duration>,
    deadline: Instant,
}

impl Host {
    pub fn endpoint(&self, name: &str) -> Result<Arc<Endpoint>, InvocationError> {
        self.endpoints
            .get(name)
            .ok_or_else(|| InvocationError::UnknownEndpoint(name.to_string()))
    }

    fn expect_kind(
        endpoint: &Endpoint,
        allowed: &[EndpointKind],
        operation: &'static str,
    ) -> Result<(), InvocationError> {
        if allowed.contains(&endpoint.kind()) {
            return Ok(());
        }
        Err(InvocationError::WrongKind {
            endpoint: endpoint.name().to_string(),
            kind: kind_name(endpoint.kind()),
            operation,
        })
    }

    async fn admit(&self, endpoint: Arc<Endpoint>) -> Result<Admitted, InvocationError> {
        let deadline = Instant::now() + endpoint.config.timeout();
        let slot = endpoint.admit(deadline).await?;
        let ready = endpoint
            .ensure_loaded()
            .await
            .map_err(|error| InvocationError::from_model(endpoint.name(), error))?;
        Ok(Admitted {
            endpoint,
            slot,
            model: ready.model,
            cold_start: ready.cold_start,
            deadline,
        })
    }

    /// Loads the endpoint's model now (a warm-up); returns the cold start it took, if any.
    pub async fn warm(&self, name: &str) -> Result<Option<Duration>, InvocationError> {
        let endpoint = self.endpoint(name)?;
        endpoint.touch();
        let ready = endpoint
            .ensure_loaded()
            .await
            .map_err(|error| InvocationError::from_model(endpoint.name(), error))?;
        Ok(ready.cold_start)
    }

    /// A chat call on `name`, checked and admitted, its model loaded.
    async fn admit_chat(
        &self,
        name: &str,
        request: &ChatRequest,
    ) -> Result<Admitted, InvocationError> {
        let endpoint = self.endpoint(name)?;
        Self::expect_kind(
            &endpoint,
            &[EndpointKind::ChatLlm, EndpointKind::ZeroWork],
            "chat completions",
        )?;
        self.validate_chat(request)?;
        self.admit(endpoint).await
    }

    fn validate_chat(&self, request: &ChatRequest) -> Result<(), InvocationError> {
        if let Some(max_tokens) = request.max_tokens
            && max_tokens > self.limits.max_completion_tokens
        {
            return Err(InvocationError::Invalid(format!(
                "max_tokens is {max_tokens}; at most {} may be asked for",
                self.limits.max_completion_tokens
            )));
        }
        match &request.input {
            ChatInput::Messages(messages) if messages.is_empty() => Err(InvocationError::Invalid(
                "messages must not be empty".into(),
            )),
            ChatInput::Prompt(prompt) if prompt.is_empty() => {
                Err(InvocationError::Invalid("inputs must not be empty".into()))
            }
            _ => Ok(()),
        }
    }

    fn prepare(model: &ChatModel, request: &ChatRequest) -> Result<PreparedPrompt, ModelError> {
        let prompt = match &request.input {
            ChatInput::Messages(messages) => ChatModel::chat_prompt(messages),
            ChatInput::Prompt(prompt) => prompt.clone(),
        };
        model.prepare(&prompt, request.max_tokens, DEFAULT_MAX_TOKENS)
    }

    /// A whole chat completion.
    pub async fn chat(
        &self,
        name: &str,
        request: ChatRequest,
    ) -> Result<ChatOutcome, InvocationError> {
        let admitted = self.admit_chat(name, &request).await?;
        let LoadedModel::Chat(_) = admitted.model.as_ref() else {
            return Ok(ChatOutcome {
                generation: zero_work_generation(),
                cold_start: admitted.cold_start,
            });
        };
        let endpoint_name = admitted.endpoint.name().to_string();
        let timeout_ms = admitted.endpoint.config.timeout_ms;
        let cold_start = admitted.cold_start;
        let generation = run_blocking(admitted, move |model, deadline| {
            let LoadedModel::Chat(chat_model) = model else {
                return Err(ModelError::Compute(
                    "the endpoint's model changed kind".into(),
                ));
            };
            let prompt = Self::prepare(chat_model, &request)?;
            chat_model.generate(&prompt, &request.settings, deadline, |_| true)
        })
        .await?;
        if generation.finish_reason == FinishReason::Cancelled {
            return Err(InvocationError::ModelTimeout {
                endpoint: endpoint_name,
                timeout_ms,
            });
        }
        Ok(ChatOutcome {
            generation,
            cold_start,
        })
    }

    /// A chat completion streamed as it is generated. Everything that can be refused (unknown
    /// endpoint, bad request, a prompt beyond the context, saturation) is refused before the
    /// first event, so callers can still answer with a plain error status.
    pub async fn chat_stream(
        &self,
        name: &str,
        request: ChatRequest,
    ) -> Result<ChatStream, InvocationError> {
        let admitted = self.admit_chat(name, &request).await?;
        let (sender, events) = mpsc::channel(64);
        let cold_start = admitted.cold_start;
        if !matches!(admitted.model.as_ref(), LoadedModel::Chat(_)) {
            let generation = zero_work_generation();
            // the channel is empty and holds 64: these two sends cannot fail
            let _ = sender.try_send(ChatEvent::Text(generation.text.clone()));
            let _ = sender.try_send(ChatEvent::Finished(generation));
            return Ok(ChatStream {
                prompt_tokens: 0,
                cold_start,
                events,
            });
        }
        // tokenizing a long prompt is CPU work: not on the async threads
        let model_for_prompt = admitted.model.clone();
        let (prompt, request) = tokio::task::spawn_blocking(move || {
            let LoadedModel::Chat(chat_model) = model_for_prompt.as_ref() else {
                return Err(ModelError::Compute(
                    "the endpoint's model changed kind".into(),
                ));
            };
            Self::prepare(chat_model, &request).map(|prompt| (prompt, request))
        })
        .await
        .unwrap_or_else(|join_error| {
            Err(ModelError::Compute(format!(
                "tokenizing crashed: {join_error}"
            )))
        })
        .map_err(|error| InvocationError::from_model(admitted.endpoint.name(), error))?;
        let prompt_tokens = prompt.token_ids.len();
        let Admitted {
            slot,
            model,
            deadline,
            ..
        } = admitted;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let LoadedModel::Chat(chat_model) = model.as_ref() else {
                return;
            };
            // a caller that stops reading must not hold the slot past the deadline: every send
            // waits at most until then
            let send = |event: ChatEvent| {
                let sent =
                    runtime.block_on(tokio::time::timeout_at(deadline.into(), sender.send(event)));
                matches!(sent, Ok(Ok(())))
            };
            let outcome = chat_model.generate(&prompt, &request.settings, deadline, |text| {
                // a send fails when the caller went away: stop generating for nobody
                send(ChatEvent::Text(text.to_string()))
            });
            let last = match outcome {
                Ok(generation)
                    if generation.finish_reason == FinishReason::Cancelled
                        && Instant::now() >= deadline =>
                {
                    ChatEvent::Failed(
                        "the model did not finish within the endpoint's timeout".into(),
                    )
                }
                Ok(generation) => ChatEvent::Finished(generation),
                Err(error) => ChatEvent::Failed(error.to_string()),
            };
            // the last event may find a full channel: give a reading caller a moment past
            // the deadline to receive it
            let grace = Instant::now().max(deadline) + std::time::Duration::from_secs(1);
            let _ = runtime.block_on(tokio::time::timeout_at(grace.into(), sender.send(last)));
        });
        Ok(ChatStream {
            prompt_tokens,
            cold_start,
            events,
        })
    }

    pub async fn embed(
        &self,
        name: &str,
        inputs: Vec<String>,
    ) -> Result<EmbeddingOutcome, InvocationError> {
        let endpoint = self.endpoint(name)?;
        Self::expect_kind(&endpoint, &[EndpointKind::Embedding], "embeddings")?;
        if inputs.is_empty() {
            return Err(InvocationError::Invalid(
                "input must hold at least one text".into(),
            ));
        }
        if inputs.len() > self.limits.max_embedding_batch {
            return Err(InvocationError::Invalid(format!(
                "input holds {} texts; at most {} per request",
                inputs.len(),
                self.limits.max_embedding_batch
            )));
        }
        if inputs.iter().any(|text| text.is_empty()) {
            return Err(InvocationError::Invalid(
                "input texts must not be empty".into(),
            ));
        }
        let admitted = self.admit(endpoint).await?;
        let cold_start = admitted.cold_start;
        let (vectors, prompt_tokens) = run_blocking(admitted, move |model, _deadline| {
            let LoadedModel::Embedding(embedding_model) = model else {
                return Err(ModelError::Compute(
                    "the endpoint's model changed kind".into(),
                ));
            };
            embedding_model.embed(&inputs)
        })
        .await?;
        Ok(EmbeddingOutcome {
            vectors,
            prompt_tokens,
            cold_start,
        })
    }

    /// A visual endpoint: JSON in, JSON out (see `visual`).
    pub async fn visual(
        &self,
        name: &str,
        body: bytes::Bytes,
    ) -> Result<(serde_json::Value, Option<Duration>), InvocationError> {
        let endpoint = self.endpoint(name)?;
        let kind = endpoint.kind();
        let max_megapixels = self.limits.max_image_megapixels;
        let admitted = self.admit(endpoint).await?;
        let cold_start = admitted.cold_start;
        let output = run_blocking(admitted, move |_model, _deadline| {
            visual::invoke(kind, &body, max_megapixels).map_err(|error| match error {
                VisualError::Invalid(message) => ModelError::Invalid(message),
                VisualError::TooLarge(message) => ModelError::TooLarge(message),
            })
        })
        .await?;
        Ok((output, cold_start))
    }
}

fn zero_work_generation() -> Generation {
    Generation {
        text: ZERO_WORK_REPLY.to_string(),
        prompt_tokens: 0,
        completion_tokens: ZERO_WORK_REPLY_TOKENS,
        finish_reason: FinishReason::Stop,
        time_to_first_token: Duration::ZERO,
        total: Duration::ZERO,
    }
}

/// Runs `compute` on a blocking thread holding the call's slot until it really ends; the
/// caller stops waiting at the deadline (the slot stays taken until the work is done, so
/// capacity is never overstated).
async fn run_blocking<T: Send + 'static>(
    admitted: Admitted,
    compute: impl FnOnce(&LoadedModel, Instant) -> Result<T, ModelError> + Send + 'static,
) -> Result<T, InvocationError> {
    let Admitted {
        endpoint,
        slot,
        model,
        deadline,
        ..
    } = admitted;
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        compute(model.as_ref(), deadline)
    });
    match tokio::time::timeout_at(deadline.into(), task).await {
        Ok(Ok(result)) => {
            result.map_err(|error| InvocationError::from_model(endpoint.name(), error))
        }
        Ok(Err(join_error)) => Err(InvocationError::ComputeFailed {
            endpoint: endpoint.name().to_string(),
            reason: format!("the computation crashed: {join_error}"),
        }),
        Err(_) => Err(InvocationError::ModelTimeout {
            endpoint: endpoint.name().to_string(),
            timeout_ms: endpoint.config.timeout_ms,
        }),
    }
}
