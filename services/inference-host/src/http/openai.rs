//! The OpenAI-compatible routes: `/v1/chat/completions` (whole or streamed as Server-Sent
//! Events), `/v1/embeddings` and `/v1/models`. The model name is the endpoint name.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::chat_wire::OneOrMany;
use super::errors::OpenAiError;
use super::streaming::{self, Dialect};
use super::{AppState, chat_wire, read_body};
use crate::config::EndpointKind;
use crate::invoke::InvocationError;

#[tracing::instrument(name = "openai chat completions", skip(state, body))]
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<Response, OpenAiError> {
    let body = read_body(body, state.max_body_bytes).await?;
    let chat = chat_wire::parse_openai_chat(&body)?;
    let model = chat.model.clone().ok_or_else(|| {
        InvocationError::Invalid("model is required (an endpoint name, see /v1/models)".into())
    })?;
    if chat.stream {
        let stream = state.host.chat_stream(&model, chat.request).await?;
        let dialect = Dialect::OpenAi {
            id: chat_wire::completion_id(),
            model,
            include_usage: chat.include_usage,
        };
        let mut response = Response::new(Body::from_stream(streaming::sse_body(stream, dialect)));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Ok(response);
    }
    let outcome = state.host.chat(&model, chat.request).await?;
    Ok(Json(chat_wire::completion(
        &chat_wire::completion_id(),
        &model,
        &outcome.generation,
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct EmbeddingsBody {
    model: String,
    input: OneOrMany,
    encoding_format: Option<String>,
}

#[tracing::instrument(name = "openai embeddings", skip(state, body))]
pub async fn embeddings(
    State(state): State<Arc<AppState>>,
    body: Body,
) -> Result<Json<Value>, OpenAiError> {
    let body = read_body(body, state.max_body_bytes).await?;
    let parsed: EmbeddingsBody = serde_json::from_slice(&body).map_err(|error| {
        InvocationError::Invalid(format!(
            "the body is not a valid embeddings request: {error}"
        ))
    })?;
    if let Some(format) = parsed.encoding_format.as_deref()
        && format != "float"
    {
        return Err(InvocationError::Invalid(format!(
            "encoding_format {format:?} is not supported; use \"float\""
        ))
        .into());
    }
    let inputs = parsed.input.into_vec();
    let outcome = state.host.embed(&parsed.model, inputs).await?;
    let data: Vec<Value> = outcome
        .vectors
        .into_iter()
        .enumerate()
        .map(|(index, embedding)| json!({ "object": "embedding", "index": index, "embedding": embedding }))
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": parsed.model,
        "usage": { "prompt_tokens": outcome.prompt_tokens, "total_tokens": outcome.prompt_tokens },
    })))
}

/// The chat and embedding endpoints, as OpenAI models.
pub async fn models(State(state): State<Arc<AppState>>) -> Json<Value> {
    let data: Vec<Value> = state
        .host
        .endpoints
        .all()
        .filter(|endpoint| {
            matches!(
                endpoint.kind(),
                EndpointKind::ChatLlm | EndpointKind::Embedding | EndpointKind::ZeroWork
            )
        })
        .map(|endpoint| {
            json!({
                "id": endpoint.name(),
                "object": "model",
                "created": 0,
                "owned_by": "radiant-inference-host",
                "kind": crate::invoke::kind_name(endpoint.kind()),
            })
        })
        .collect();
    Json(json!({ "object": "list", "data": data }))
}
