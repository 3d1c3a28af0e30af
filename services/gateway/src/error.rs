//! Every error a client sees: `{"error":{"code","message","request_id"}}` with the matching
//! status. The request id comes from the request-id middleware's task-local, so errors raised
//! anywhere in a request (extractors, handlers, fallbacks) carry it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use radiant_bus::{BusError, ErrorCode, ServiceError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;

tokio::task_local! {
    /// The id of the request the current task is serving.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorPayload,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorPayload {
    /// Stable snake_case code, e.g. `unauthenticated`, `not_found`.
    pub code: String,
    pub message: String,
    pub request_id: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidArgument.as_str(),
            message,
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound.as_str(), message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::PermissionDenied.as_str(),
            message,
        )
    }

    pub fn from_json_rejection(rejection: JsonRejection, body_limit_bytes: usize) -> Self {
        match rejection {
            JsonRejection::JsonSyntaxError(error) => Self::invalid_argument(format!(
                "request body is not valid json: {}",
                error.body_text()
            )),
            JsonRejection::JsonDataError(error) => Self::invalid_argument(format!(
                "request body does not match the schema: {}",
                error.body_text()
            )),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected content-type: application/json",
            ),
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::payload_too_large(body_limit_bytes)
            }
            other => Self::new(other.status(), "invalid_argument", other.body_text()),
        }
    }

    pub fn payload_too_large(body_limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge.as_str(),
            format!("request body exceeds the limit of {body_limit_bytes} bytes"),
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            // internal subjects and failure details stay in the log, keyed by the request id
            tracing::warn!(
                code = %error.code,
                detail = %error.message,
                request_id = %current_request_id(),
                "service failure"
            );
            return Self::new(status, error.code.as_str(), public_message(error.code));
        }
        Self::new(status, error.code.as_str(), error.message)
    }
}

/// What a client is told about a server-side failure.
pub fn public_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unavailable => "the service is unavailable, try again later",
        ErrorCode::DeadlineExceeded => "the request did not finish in time",
        ErrorCode::BadGateway => "a service answered with something that could not be read",
        _ => "internal error",
    }
}

impl From<BusError> for ApiError {
    fn from(error: BusError) -> Self {
        error.to_service_error().into()
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let status = match error {
            AuthError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        let code = match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated.as_str(),
            _ => ErrorCode::Unavailable.as_str(),
        };
        Self::new(status, code, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), code = %self.code, message = %self.message, "request failed");
        }
        let body = ErrorBody {
            error: ErrorPayload {
                code: self.code,
                message: self.message,
                request_id: current_request_id(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
