//! Error responses in the two dialects the host speaks: SageMaker's (an `X-Amzn-ErrorType`
//! header and a `{"__type", "message"}` body, what aws-sdk-sagemakerruntime parses into its
//! typed errors) and OpenAI's (`{"error": {"message", "type", "code"}}`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::endpoints::AdmissionError;
use crate::invoke::InvocationError;

/// How long a refused caller should wait before trying again.
const RETRY_AFTER_SECONDS: &str = "1";

struct Classified {
    status: StatusCode,
    sagemaker_code: &'static str,
    openai_type: &'static str,
    openai_code: &'static str,
    retry_after: bool,
}

fn classify(error: &InvocationError) -> Classified {
    let (status, sagemaker_code, openai_type, openai_code, retry_after) = match error {
        InvocationError::UnknownEndpoint(_) => (
            StatusCode::NOT_FOUND,
            "ValidationError",
            "invalid_request_error",
            "model_not_found",
            false,
        ),
        InvocationError::WrongKind { .. } | InvocationError::Invalid(_) => (
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "invalid_request_error",
            "invalid_request",
            false,
        ),
        InvocationError::ContextExceeded(_) => (
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "invalid_request_error",
            "context_length_exceeded",
            false,
        ),
        InvocationError::TooLarge(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "ValidationError",
            "invalid_request_error",
            "payload_too_large",
            false,
        ),
        InvocationError::Admission(AdmissionError::Saturated { .. }) => (
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "rate_limit_error",
            "endpoint_saturated",
            true,
        ),
        InvocationError::Admission(AdmissionError::QueueTimeout { .. }) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "server_error",
            "endpoint_busy",
            true,
        ),
        InvocationError::ModelTimeout { .. } => (
            StatusCode::FAILED_DEPENDENCY,
            "ModelError",
            "server_error",
            "timeout",
            false,
        ),
        InvocationError::LoadFailed { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ModelNotReadyException",
            "server_error",
            "model_not_ready",
            true,
        ),
        InvocationError::ComputeFailed { .. } => (
            StatusCode::FAILED_DEPENDENCY,
            "ModelError",
            "server_error",
            "model_error",
            false,
        ),
    };
    Classified {
        status,
        sagemaker_code,
        openai_type,
        openai_code,
        retry_after,
    }
}

/// An error on a SageMaker route.
pub struct SageMakerError(pub InvocationError);

impl From<InvocationError> for SageMakerError {
    fn from(error: InvocationError) -> Self {
        SageMakerError(error)
    }
}

impl IntoResponse for SageMakerError {
    fn into_response(self) -> Response {
        let classified = classify(&self.0);
        let message = self.0.to_string();
        if classified.status.is_server_error() {
            tracing::warn!(error = %message, "invocation failed");
        }
        let body = json!({ "__type": classified.sagemaker_code, "message": message });
        let mut response = (classified.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            "x-amzn-errortype",
            HeaderValue::from_static(classified.sagemaker_code),
        );
        headers.insert("x-amzn-requestid", request_id());
        if classified.retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// An error on an OpenAI-compatible route.
pub struct OpenAiError(pub InvocationError);

impl From<InvocationError> for OpenAiError {
    fn from(error: InvocationError) -> Self {
        OpenAiError(error)
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let classified = classify(&self.0);
        let message = self.0.to_string();
        if classified.status.is_server_error() {
            tracing::warn!(error = %message, "invocation failed");
        }
        let body = json!({
            "error": { "message": message, "type": classified.openai_type, "param": null, "code": classified.openai_code }
        });
        let mut response = (classified.status, Json(body)).into_response();
        if classified.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

pub fn request_id() -> HeaderValue {
    HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
        .unwrap_or(HeaderValue::from_static("local"))
}
