//! The OpenAI-compatible API: `POST /v1/chat/completions` (whole or streamed, model "auto" or
//! any registry model id, usage in the answer) and `GET /v1/models` (the models the caller's
//! plan may call), so OpenAI clients and SDKs work unchanged with the platform's token as
//! their API key. Answers are not saved in a chat (that is `POST /api/chat`).

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use radiant_bus::subjects::{REGISTRY, registry as registry_subjects};
use radiant_proto::brain::{ChatMessage, CompleteRequest, Completion, RouteRequest, stream_chunk};
use radiant_proto::registry::{SelectModelsRequest, SelectModelsResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::answers;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Authenticated};
use crate::state::AppState;

/// A message's content: a text, or parts of which the text ones are read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum OpenAiContent {
    Text(String),
    Parts(Vec<Value>),
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenAiMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<OpenAiContent>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

/// OpenAI's request; fields this platform does not use are accepted and ignored, as OpenAI
/// clients send many.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatCompletionRequest {
    pub model: String,
    pub messages: Vec<OpenAiMessage>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
}

fn text_of(content: &Option<OpenAiContent>) -> Result<String, ApiError> {
    match content {
        None => Ok(String::new()),
        Some(OpenAiContent::Text(text)) => Ok(text.clone()),
        Some(OpenAiContent::Parts(parts)) => {
            let mut text = String::new();
            for part in parts {
                match part["type"].as_str() {
                    Some("text") => text.push_str(part["text"].as_str().unwrap_or("")),
                    Some(other) => {
                        return Err(ApiError::invalid_argument(format!(
                            "messages: content parts of type {other} are not supported; send text"
                        )));
                    }
                    None => {
                        return Err(ApiError::invalid_argument(
                            "messages: a content part has no type",
                        ));
                    }
                }
            }
            Ok(text)
        }
    }
}

fn complete_request(
    body: &ChatCompletionRequest,
    output_id: &str,
) -> Result<CompleteRequest, ApiError> {
    if body.messages.is_empty() {
        return Err(ApiError::invalid_argument(
            "messages: must hold at least one message",
        ));
    }
    if body.model.trim().is_empty() {
        return Err(ApiError::invalid_argument(
            "model: must name a model, or \"auto\"",
        ));
    }
    let mut messages = Vec::with_capacity(body.messages.len());
    for message in &body.messages {
        // OpenAI's "developer" role is its new name for system
        let role = if message.role == "developer" {
            "system".to_string()
        } else {
            message.role.clone()
        };
        messages.push(ChatMessage {
            role,
            content: text_of(&message.content)?,
        });
    }
    Ok(CompleteRequest {
        route: Some(RouteRequest {
            messages,
            model: body.model.trim().to_string(),
            max_output_tokens: body.max_completion_tokens.or(body.max_tokens).unwrap_or(0),
            source: "openai".to_string(),
            ..Default::default()
        }),
        temperature: body.temperature,
        top_p: body.top_p,
        output_id: output_id.to_string(),
        ..Default::default()
    })
}

fn created() -> i64 {
    chrono::Utc::now().timestamp()
}

fn usage(completion: &Completion) -> Value {
    json!({
        "prompt_tokens": completion.input_tokens,
        "completion_tokens": completion.output_tokens,
        "total_tokens": completion.input_tokens + completion.output_tokens,
    })
}

/// OpenAI's `chat.completion` (or, with `"stream": true`, Server-Sent Events of
/// `chat.completion.chunk` ending in `data: [DONE]`).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", security(("bearer" = [])),
    request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "chat.completion, or text/event-stream of chat.completion.chunk"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn chat_completions(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiJson(body): ApiJson<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    let output_id = uuid::Uuid::now_v7().simple().to_string();
    let request = complete_request(&body, &output_id)?;
    let id = format!("chatcmpl-{output_id}");
    if !body.stream {
        let completion = answers::complete(&state, &context, &request).await?;
        let answer = json!({
            "id": id,
            "object": "chat.completion",
            "created": created(),
            "model": completion.model_id,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": completion.text },
                "finish_reason": completion.finish_reason,
            }],
            "usage": usage(&completion),
        });
        return Ok(Json(answer).into_response());
    }
    let include_usage = body
        .stream_options
        .as_ref()
        .is_some_and(|options| options.include_usage);
    let (decision, stream) = answers::open(&state, &context, request).await?;
    let model = decision.model_id.clone();
    let chunk = move |delta: Value, finish_reason: Option<&str>| -> Event {
        Event::default().data(
            json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": created(),
                "model": model,
                "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
            })
            .to_string(),
        )
    };
    let first = chunk(json!({ "role": "assistant", "content": "" }), None);
    let events = futures::stream::unfold(
        (stream, Some(first), false, chunk),
        move |(mut stream, mut first, mut done, chunk)| async move {
            if let Some(first) = first.take() {
                return Some((vec![first], (stream, None, done, chunk)));
            }
            if done {
                return None;
            }
            let events = match stream.next().await.and_then(|chunk| chunk.chunk) {
                Some(stream_chunk::Chunk::Delta(text)) => vec![chunk(json!({ "content": text }), None)],
                Some(stream_chunk::Chunk::Switched(_)) => Vec::new(),
                Some(stream_chunk::Chunk::Finished(completion)) => {
                    done = true;
                    let mut events = vec![chunk(json!({}), Some(completion.finish_reason.as_str()))];
                    if include_usage {
                        events.push(Event::default().data(
                            json!({
                                "id": format!("chatcmpl-{}", completion.output_id),
                                "object": "chat.completion.chunk",
                                "created": created(),
                                "model": completion.model_id,
                                "choices": [],
                                "usage": usage(&completion),
                            })
                            .to_string(),
                        ));
                    }
                    events.push(Event::default().data("[DONE]"));
                    events
                }
                Some(stream_chunk::Chunk::Failed(failure)) => {
                    done = true;
                    tracing::warn!(code = %failure.code, message = %failure.message, "streamed completion failed");
                    vec![Event::default().data(
                        json!({ "error": { "message": "no model could complete the answer", "type": "server_error", "code": failure.code } })
                            .to_string(),
                    )]
                }
                None if stream.is_ended() => return None,
                None => {
                    done = true;
                    vec![Event::default().data(
                        json!({ "error": { "message": "the answer stopped arriving", "type": "server_error", "code": "deadline_exceeded" } })
                            .to_string(),
                    )]
                }
            };
            Some((events, (stream, None, done, chunk)))
        },
    )
    .flat_map(|events| futures::stream::iter(events.into_iter().map(Ok::<Event, Infallible>)));
    Ok(Sse::new(events).into_response())
}

use futures::StreamExt;

/// The models the caller may call: "auto" and the chat models the registry would select for
/// the caller's plan (configured provider, healthy, not switched off), its best 100.
#[utoipa::path(get, path = "/v1/models", tag = "openai", security(("bearer" = [])),
    responses((status = 200, description = "OpenAI's model list"), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn models(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let tier = context.plan_tier();
    let selected: SelectModelsResponse = state
        .bus
        .call(
            &REGISTRY,
            registry_subjects::MODELS_SELECT,
            &context,
            &SelectModelsRequest {
                mode: "chat".to_string(),
                tenant_tier: tier,
                limit: 100,
                ..Default::default()
            },
        )
        .await?;
    let now = created();
    let mut data =
        vec![json!({ "id": "auto", "object": "model", "created": now, "owned_by": "radiant" })];
    data.extend(selected.candidates.iter().map(|candidate| {
        json!({ "id": candidate.model_id, "object": "model", "created": now, "owned_by": candidate.provider_id })
    }));
    Ok(Json(json!({ "object": "list", "data": data })))
}
