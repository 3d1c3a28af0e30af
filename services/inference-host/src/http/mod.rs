//! The host's HTTP surface: SageMaker's routes and the OpenAI-compatible ones.

pub mod chat_wire;
pub mod errors;
pub mod event_stream;
pub mod openai;
pub mod sagemaker;
pub mod streaming;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::{get, post};

use crate::invoke::{Host, InvocationError};

pub struct AppState {
    pub host: Host,
    pub max_body_bytes: usize,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/ping", get(sagemaker::ping))
        .route("/endpoints", get(sagemaker::list_endpoints))
        .route("/endpoints/{name}", get(sagemaker::describe_endpoint))
        .route("/endpoints/{name}/warm", post(sagemaker::warm_endpoint))
        .route("/endpoints/{name}/invocations", post(sagemaker::invoke))
        .route(
            "/endpoints/{name}/invocations-response-stream",
            post(sagemaker::invoke_stream),
        )
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/models", get(openai::models))
        // bodies are read with their own limit (read_body), which answers in each dialect
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// The request body, refused with 413 past `limit` bytes (400 when it cannot be read at all).
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, InvocationError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let inner = error.into_inner();
        if inner
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            InvocationError::TooLarge(format!("the request body exceeds the {limit} byte limit"))
        } else {
            InvocationError::Invalid(format!("the request body could not be read: {inner}"))
        }
    })
}
