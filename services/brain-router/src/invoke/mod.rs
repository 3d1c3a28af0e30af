//! Calling a model: self-hosted endpoints through aws-sdk-sagemakerruntime (plain and response
//! stream), external providers through their OpenAI-compatible or Anthropic HTTP APIs (plain and
//! streamed). Every provider answers as one [`PieceStream`], so retries, fallbacks and
//! streaming to the caller ([`crate::execute`]) are written once.

pub mod anthropic;
pub mod openai;
pub mod sagemaker;
pub mod sse;

use std::pin::Pin;

use futures::Stream;
use radiant_proto::brain::ChatMessage;

/// What a model is asked.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub messages: Vec<ChatMessage>,
    pub max_output_tokens: u32,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
}

/// How to reach one model.
#[derive(Debug, Clone)]
pub enum Target {
    SageMaker {
        /// The SageMaker runtime's URL ("" = AWS's own for the region).
        base_url: String,
        endpoint_name: String,
        /// `access_key_id:secret_access_key` from the registry, when the provider needs one.
        credential: Option<String>,
    },
    OpenAi {
        base_url: String,
        model: String,
        api_key: Option<String>,
    },
    Anthropic {
        base_url: String,
        model: String,
        api_key: Option<String>,
    },
}

/// One piece of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Usage {
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
    },
    Finish(String),
}

pub type PieceStream = Pin<Box<dyn Stream<Item = Result<Piece, InvokeError>> + Send>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Connection refused, reset, DNS: nobody answered.
    Unavailable,
    Timeout,
    /// The provider answered with an error status.
    Refused(u16),
    /// The answer could not be understood, or the stream broke off.
    Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvokeError {
    pub kind: FailureKind,
    pub message: String,
}

impl InvokeError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Worth trying the same model again: the provider may answer next time.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            FailureKind::Unavailable | FailureKind::Timeout | FailureKind::Protocol => true,
            FailureKind::Refused(status) => status == 408 || status == 429 || status >= 500,
        }
    }

    /// A failure of the provider (reported as a health event), not of the request.
    pub fn counts_against_provider(&self) -> bool {
        match self.kind {
            FailureKind::Refused(status) => status == 408 || status == 429 || status >= 500,
            _ => true,
        }
    }

    pub fn from_reqwest(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            FailureKind::Timeout
        } else if error.is_connect() {
            FailureKind::Unavailable
        } else if let Some(status) = error.status() {
            FailureKind::Refused(status.as_u16())
        } else {
            FailureKind::Protocol
        };
        Self::new(kind, format!("http: {error}"))
    }
}

/// The provider's error body in a few words: its `error.message` if it has one.
pub(crate) fn error_message(status: u16, body: &str) -> String {
    let parsed = serde_json::from_str::<serde_json::Value>(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|value| {
            value["error"]["message"]
                .as_str()
                .or_else(|| value["message"].as_str())
                .or_else(|| value["error"].as_str())
        })
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(300).collect());
    format!("provider answered {status}: {message}")
}

/// What one stream event means.
pub enum EventOutcome {
    Pieces(Vec<Piece>),
    /// The answer is complete (with these last pieces).
    End(Vec<Piece>),
}

/// Pieces from a byte stream of Server-Sent Events, each event read by `parse`. A stream that
/// ends before `parse` saw its end, or breaks, ends in a protocol error.
pub fn decode_sse_stream<Bytes, Parse>(bytes: Bytes, parse: Parse) -> PieceStream
where
    Bytes: Stream<Item = Result<bytes::Bytes, String>> + Send + 'static,
    Parse: FnMut(&sse::SseEvent) -> Result<EventOutcome, InvokeError> + Send + 'static,
{
    use futures::StreamExt;
    struct State<Bytes, Parse> {
        bytes: Pin<Box<Bytes>>,
        parse: Parse,
        decoder: sse::SseDecoder,
        // what came before a failure is still delivered, then the failure
        pending: std::collections::VecDeque<Result<Piece, InvokeError>>,
        done: bool,
    }
    let state = State {
        bytes: Box::pin(bytes),
        parse,
        decoder: sse::SseDecoder::default(),
        pending: Default::default(),
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, state));
            }
            if state.done {
                return None;
            }
            let events = match state.bytes.next().await {
                Some(Ok(chunk)) => state
                    .decoder
                    .push(&chunk)
                    .map_err(|message| InvokeError::new(FailureKind::Protocol, message)),
                Some(Err(message)) => Err(InvokeError::new(
                    FailureKind::Protocol,
                    format!("the stream broke off: {message}"),
                )),
                None => Err(InvokeError::new(
                    FailureKind::Protocol,
                    "the stream ended before the answer did",
                )),
            };
            let events = match events {
                Ok(events) => events,
                Err(error) => {
                    state.pending.push_back(Err(error));
                    state.done = true;
                    continue;
                }
            };
            for event in events {
                match (state.parse)(&event) {
                    Ok(EventOutcome::Pieces(pieces)) => {
                        state.pending.extend(pieces.into_iter().map(Ok))
                    }
                    Ok(EventOutcome::End(pieces)) => {
                        state.pending.extend(pieces.into_iter().map(Ok));
                        state.done = true;
                        break;
                    }
                    Err(error) => {
                        state.pending.push_back(Err(error));
                        state.done = true;
                        break;
                    }
                }
            }
        }
    }))
}

/// Sends an HTTP call to a provider: an error status becomes a [`FailureKind::Refused`] with
/// the provider's own message.
pub(crate) async fn send(
    builder: reqwest::RequestBuilder,
) -> Result<reqwest::Response, InvokeError> {
    let response = builder.send().await.map_err(InvokeError::from_reqwest)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(InvokeError::new(
        FailureKind::Refused(status.as_u16()),
        error_message(status.as_u16(), &body),
    ))
}

/// Calls the target and streams its answer.
pub async fn stream(
    clients: &Clients,
    target: &Target,
    prompt: &Prompt,
) -> Result<PieceStream, InvokeError> {
    match target {
        Target::SageMaker { .. } => sagemaker::stream(clients, target, prompt).await,
        Target::OpenAi { .. } => openai::stream(&clients.http, target, prompt).await,
        Target::Anthropic { .. } => anthropic::stream(clients, target, prompt).await,
    }
}

/// Calls the target and waits for its whole answer (one piece stream, already complete).
pub async fn complete(
    clients: &Clients,
    target: &Target,
    prompt: &Prompt,
) -> Result<Vec<Piece>, InvokeError> {
    match target {
        Target::SageMaker { .. } => sagemaker::complete(clients, target, prompt).await,
        Target::OpenAi { .. } => openai::complete(&clients.http, target, prompt).await,
        Target::Anthropic { .. } => anthropic::complete(clients, target, prompt).await,
    }
}

/// The clients every call shares: one HTTP pool, one SageMaker runtime client per base URL.
pub struct Clients {
    pub http: reqwest::Client,
    pub sagemaker: sagemaker::SageMakerClients,
    pub anthropic_version: String,
}

impl Clients {
    pub fn new(sagemaker_region: &str, anthropic_version: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("radiant-brain-router/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(5))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            sagemaker: sagemaker::SageMakerClients::new(sagemaker_region),
            anthropic_version: anthropic_version.to_string(),
        })
    }
}
