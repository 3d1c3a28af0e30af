//! SageMaker's routes: `POST /endpoints/{name}/invocations` and
//! `.../invocations-response-stream` as aws-sdk-sagemakerruntime sends them (SigV4 headers are
//! accepted and not checked: this host stands in for SageMaker on a developer machine), `GET
//! /ping`, and the endpoint descriptions and warm-ups the registry's thermal sync uses.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::chat_wire::OneOrMany;
use super::errors::{SageMakerError, request_id};
use super::streaming::{self, Dialect};
use super::{AppState, chat_wire, read_body};
use crate::config::EndpointKind;
use crate::endpoints::EndpointDescription;
use crate::invoke::InvocationError;

#[tracing::instrument(name = "sagemaker invoke", skip(state, body), fields(endpoint = %name))]
pub async fn invoke(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, SageMakerError> {
    let endpoint = state.host.endpoint(&name)?;
    let body = read_body(body, state.max_body_bytes).await?;
    match endpoint.kind() {
        EndpointKind::ChatLlm | EndpointKind::ZeroWork => invoke_chat(&state, &name, &body).await,
        EndpointKind::Embedding => {
            let inputs = parse_embedding_inputs(&body)?;
            let outcome = state.host.embed(&name, inputs).await?;
            let body =
                json!({ "embeddings": outcome.vectors, "prompt_tokens": outcome.prompt_tokens });
            Ok(json_response(body, outcome.cold_start))
        }
        _ => {
            let (output, cold_start) = state.host.visual(&name, body).await?;
            Ok(json_response(output, cold_start))
        }
    }
}

async fn invoke_chat(
    state: &AppState,
    name: &str,
    body: &[u8],
) -> Result<Response, SageMakerError> {
    if is_messages_request(body) {
        let chat = chat_wire::parse_openai_chat(body)?;
        let outcome = state.host.chat(name, chat.request).await?;
        let completion =
            chat_wire::completion(&chat_wire::completion_id(), name, &outcome.generation);
        return Ok(json_response(completion, outcome.cold_start));
    }
    let (request, _stream) = chat_wire::parse_tgi(body)?;
    let outcome = state.host.chat(name, request).await?;
    let generation = &outcome.generation;
    let answer = json!([{
        "generated_text": generation.text,
        "details": {
            "finish_reason": generation.finish_reason.as_openai(),
            "generated_tokens": generation.completion_tokens,
            "prompt_tokens": generation.prompt_tokens,
        },
    }]);
    Ok(json_response(answer, outcome.cold_start))
}

#[tracing::instrument(name = "sagemaker invoke stream", skip(state, body), fields(endpoint = %name))]
pub async fn invoke_stream(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, SageMakerError> {
    let endpoint = state.host.endpoint(&name)?;
    if !matches!(
        endpoint.kind(),
        EndpointKind::ChatLlm | EndpointKind::ZeroWork
    ) {
        return Err(InvocationError::WrongKind {
            endpoint: name,
            kind: crate::invoke::kind_name(endpoint.kind()),
            operation: "response streaming",
        }
        .into());
    }
    let body = read_body(body, state.max_body_bytes).await?;
    let (request, dialect) = if is_messages_request(&body) {
        let chat = chat_wire::parse_openai_chat(&body)?;
        let dialect = Dialect::OpenAi {
            id: chat_wire::completion_id(),
            model: name.clone(),
            include_usage: true,
        };
        (chat.request, dialect)
    } else {
        let (request, _stream) = chat_wire::parse_tgi(&body)?;
        (request, Dialect::Tgi)
    };
    let stream = state.host.chat_stream(&name, request).await?;
    let cold_start = stream.cold_start;
    let mut response = Response::new(Body::from_stream(streaming::event_stream_body(
        stream, dialect,
    )));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    headers.insert(
        "x-amzn-sagemaker-content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    add_invocation_headers(&mut response, cold_start);
    Ok(response)
}

/// OpenAI-shaped bodies carry `messages`; TGI-shaped ones carry `inputs`.
fn is_messages_request(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        messages: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(body).is_ok_and(|probe| probe.messages.is_some())
}

fn parse_embedding_inputs(body: &[u8]) -> Result<Vec<String>, InvocationError> {
    #[derive(Deserialize)]
    struct EmbeddingBody {
        inputs: Option<OneOrMany>,
        input: Option<OneOrMany>,
    }
    let parsed: EmbeddingBody = serde_json::from_slice(body).map_err(|error| {
        InvocationError::Invalid(format!(
            "the body is not a valid embedding request: {error}"
        ))
    })?;
    match parsed.inputs.or(parsed.input) {
        Some(texts) => Ok(texts.into_vec()),
        None => Err(InvocationError::Invalid(
            "the field inputs (a text or a list of texts) is required".into(),
        )),
    }
}

fn json_response(body: Value, cold_start: Option<Duration>) -> Response {
    let mut response = Json(body).into_response();
    add_invocation_headers(&mut response, cold_start);
    response
}

fn add_invocation_headers(response: &mut Response, cold_start: Option<Duration>) {
    let headers = response.headers_mut();
    headers.insert(
        "x-amzn-invoked-production-variant",
        HeaderValue::from_static("AllTraffic"),
    );
    headers.insert("x-amzn-requestid", request_id());
    if let Some(cold_start) = cold_start
        && let Ok(value) = HeaderValue::from_str(&cold_start.as_millis().to_string())
    {
        headers.insert("x-radiant-cold-start-ms", value);
    }
}

/// SageMaker's container health check.
pub async fn ping() -> StatusCode {
    StatusCode::OK
}

/// Every endpoint's description (DescribeEndpoint's fields that a local host has).
pub async fn list_endpoints(State(state): State<Arc<AppState>>) -> Json<Value> {
    let endpoints: Vec<EndpointDescription> = state
        .host
        .endpoints
        .all()
        .map(|endpoint| endpoint.describe())
        .collect();
    Json(json!({ "Endpoints": endpoints }))
}

pub async fn describe_endpoint(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<EndpointDescription>, SageMakerError> {
    let endpoint = state.host.endpoint(&name)?;
    Ok(Json(endpoint.describe()))
}

/// Loads the endpoint's model now, so the next call is warm (the registry's warm-up).
#[tracing::instrument(name = "sagemaker warm", skip(state), fields(endpoint = %name))]
pub async fn warm_endpoint(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, SageMakerError> {
    let cold_start = state.host.warm(&name).await?;
    let endpoint = state.host.endpoint(&name)?;
    Ok(Json(json!({
        "EndpointName": name,
        "EndpointStatus": endpoint.describe().endpoint_status,
        "ColdStartMs": cold_start.map(|d| d.as_millis() as u64),
        "WasWarm": cold_start.is_none(),
    })))
}
