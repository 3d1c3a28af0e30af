//! The chat request and response shapes on the wire: OpenAI's chat completions (also what
//! SageMaker's LMI containers accept as `messages`) and TGI's `inputs`/`parameters`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::invoke::{ChatInput, ChatRequest, InvocationError};
use crate::models::chat_llm::{ChatMessage, Generation, GenerationSettings};

const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];
const MAX_STOP_SEQUENCES: usize = 4;
const MIN_TOP_P: f64 = 1e-6;

#[derive(Debug, Deserialize)]
struct OpenAiChatBody {
    model: Option<String>,
    messages: Vec<OpenAiMessage>,
    max_tokens: Option<usize>,
    max_completion_tokens: Option<usize>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop: Option<OneOrMany>,
    seed: Option<u64>,
    #[serde(default)]
    stream: bool,
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Debug, Deserialize)]
struct OpenAiMessage {
    role: String,
    content: Option<ContentField>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ContentField {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
struct ContentPart {
    #[serde(rename = "type")]
    part_type: String,
    text: Option<String>,
}

/// A field that takes one text or a list of them (`stop`, `input`, `inputs`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(text) => vec![text],
            OneOrMany::Many(texts) => texts,
        }
    }
}

#[derive(Debug, Deserialize)]
struct TgiBody {
    inputs: String,
    #[serde(default)]
    parameters: TgiParameters,
    #[serde(default)]
    stream: bool,
}

#[derive(Debug, Default, Deserialize)]
struct TgiParameters {
    max_new_tokens: Option<usize>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    #[serde(default)]
    do_sample: bool,
    stop: Option<Vec<String>>,
    seed: Option<u64>,
}

/// A parsed OpenAI-style chat request and how the caller wants the answer.
pub struct OpenAiChat {
    pub model: Option<String>,
    pub request: ChatRequest,
    pub stream: bool,
    pub include_usage: bool,
}

pub fn parse_openai_chat(body: &[u8]) -> Result<OpenAiChat, InvocationError> {
    let parsed: OpenAiChatBody = serde_json::from_slice(body).map_err(|error| {
        InvocationError::Invalid(format!(
            "the body is not a valid chat completion request: {error}"
        ))
    })?;
    let mut messages = Vec::with_capacity(parsed.messages.len());
    for (index, message) in parsed.messages.into_iter().enumerate() {
        if !ROLES.contains(&message.role.as_str()) {
            return Err(InvocationError::Invalid(format!(
                "messages[{index}].role must be one of {}, not {:?}",
                ROLES.join(", "),
                message.role
            )));
        }
        let content = match message.content {
            None => String::new(),
            Some(ContentField::Text(text)) => text,
            Some(ContentField::Parts(parts)) => {
                let mut text = String::new();
                for part in parts {
                    if part.part_type != "text" {
                        return Err(InvocationError::Invalid(format!(
                            "messages[{index}] holds a {:?} part; this model reads text only",
                            part.part_type
                        )));
                    }
                    text.push_str(part.text.as_deref().unwrap_or_default());
                }
                text
            }
        };
        messages.push(ChatMessage {
            role: message.role,
            content,
        });
    }
    let temperature = parsed.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(InvocationError::Invalid(format!(
            "temperature must be within 0..2, not {temperature}"
        )));
    }
    let top_p = validate_top_p(parsed.top_p)?;
    let stop = parsed.stop.map(OneOrMany::into_vec).unwrap_or_default();
    validate_stops(&stop)?;
    Ok(OpenAiChat {
        model: parsed.model,
        request: ChatRequest {
            input: ChatInput::Messages(messages),
            max_tokens: parsed.max_completion_tokens.or(parsed.max_tokens),
            settings: GenerationSettings {
                temperature,
                top_p,
                stop,
                seed: parsed.seed.unwrap_or_else(random_seed),
            },
        },
        stream: parsed.stream,
        include_usage: parsed
            .stream_options
            .is_some_and(|options| options.include_usage),
    })
}

/// TGI's shape, as SageMaker's Hugging Face LLM containers take it; greedy unless `do_sample`.
pub fn parse_tgi(body: &[u8]) -> Result<(ChatRequest, bool), InvocationError> {
    let parsed: TgiBody = serde_json::from_slice(body).map_err(|error| {
        InvocationError::Invalid(format!(
            "the body is not a valid generation request: {error}"
        ))
    })?;
    let parameters = parsed.parameters;
    let temperature = if parameters.do_sample {
        let temperature = parameters.temperature.unwrap_or(1.0);
        if temperature <= 0.0 || temperature > 2.0 {
            return Err(InvocationError::Invalid(format!(
                "parameters.temperature must be within (0, 2] when sampling, not {temperature}"
            )));
        }
        temperature
    } else {
        0.0
    };
    let stop = parameters.stop.unwrap_or_default();
    validate_stops(&stop)?;
    Ok((
        ChatRequest {
            input: ChatInput::Prompt(parsed.inputs),
            max_tokens: parameters.max_new_tokens,
            settings: GenerationSettings {
                temperature,
                top_p: validate_top_p(parameters.top_p)?,
                stop,
                seed: parameters.seed.unwrap_or_else(random_seed),
            },
        },
        parsed.stream,
    ))
}

fn validate_top_p(top_p: Option<f64>) -> Result<Option<f64>, InvocationError> {
    match top_p {
        // the sampler works in f32: a smaller top_p would round to 0 and keep no token
        Some(top_p) if !(MIN_TOP_P..=1.0).contains(&top_p) => Err(InvocationError::Invalid(
            format!("top_p must be within [{MIN_TOP_P}, 1], not {top_p}"),
        )),
        // 1.0 keeps every token: the same as no nucleus filter, without its cost
        Some(top_p) if top_p >= 1.0 => Ok(None),
        other => Ok(other),
    }
}

fn validate_stops(stop: &[String]) -> Result<(), InvocationError> {
    if stop.len() > MAX_STOP_SEQUENCES {
        return Err(InvocationError::Invalid(format!(
            "stop holds {} sequences; at most {MAX_STOP_SEQUENCES}",
            stop.len()
        )));
    }
    Ok(())
}

fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u128() as u64
}

pub fn completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn usage(generation: &Generation) -> Value {
    json!({
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
        "total_tokens": generation.prompt_tokens + generation.completion_tokens,
    })
}

/// A whole `chat.completion` object.
pub fn completion(id: &str, model: &str, generation: &Generation) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": now_unix(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": generation.text },
            "finish_reason": generation.finish_reason.as_openai(),
        }],
        "usage": usage(generation),
        "timings": {
            "time_to_first_token_ms": generation.time_to_first_token.as_secs_f64() * 1000.0,
            "total_ms": generation.total.as_secs_f64() * 1000.0,
        },
    })
}

/// One `chat.completion.chunk` carrying `delta`.
pub fn chunk(id: &str, model: &str, delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": now_unix(),
        "model": model,
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
    })
}

/// The final usage-only chunk (`stream_options.include_usage`).
pub fn usage_chunk(id: &str, model: &str, generation: &Generation) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": now_unix(),
        "model": model,
        "choices": [],
        "usage": usage(generation),
    })
}

pub fn sse(value: &Value) -> String {
    format!("data: {value}\n\n")
}

pub const SSE_DONE: &str = "data: [DONE]\n\n";
