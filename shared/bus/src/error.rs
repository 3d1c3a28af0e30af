//! Errors that cross the bus.
//!
//! A handler returns a [`ServiceError`]; the kit replies with the NATS micro error headers
//! (`Nats-Service-Error` = message, `Nats-Service-Error-Code` = HTTP-like status) plus
//! `Radiant-Error-Detail`, a base64 `radiant.common.v1.ErrorDetail` with the stable code and
//! field violations. The caller's [`crate::BusClient`] turns that reply back into the same
//! [`ServiceError`], so a 404 three hops away is still a 404 at the gateway.

use async_nats::HeaderMap;
use async_nats::service::{NATS_SERVICE_ERROR, NATS_SERVICE_ERROR_CODE};
use base64::Engine as _;
use prost::Message as _;
use radiant_proto::common::{ErrorDetail, FieldViolation};

pub const ERROR_DETAIL_HEADER: &str = "Radiant-Error-Detail";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnprocessableEntity,
    TooManyRequests,
    Internal,
    BadGateway,
    Unavailable,
    DeadlineExceeded,
}

impl ErrorCode {
    const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidArgument,
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnprocessableEntity,
        ErrorCode::TooManyRequests,
        ErrorCode::Internal,
        ErrorCode::BadGateway,
        ErrorCode::Unavailable,
        ErrorCode::DeadlineExceeded,
    ];

    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnprocessableEntity => 422,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::Internal => 500,
            ErrorCode::BadGateway => 502,
            ErrorCode::Unavailable => 503,
            ErrorCode::DeadlineExceeded => 504,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnprocessableEntity => "unprocessable_entity",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::Internal => "internal",
            ErrorCode::BadGateway => "bad_gateway",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::DeadlineExceeded => "deadline_exceeded",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|candidate| candidate.as_str() == code)
    }

    /// The closest code for a bare status (a reply from a non-kit service).
    pub fn from_status(status: u16) -> Self {
        if let Some(code) = Self::ALL
            .into_iter()
            .find(|candidate| candidate.status() == status)
        {
            return code;
        }
        match status {
            400..=499 => ErrorCode::InvalidArgument,
            _ => ErrorCode::Internal,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// An error a service handler answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub code: ErrorCode,
    pub message: String,
    pub field_violations: Vec<(String, String)>,
}

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field_violations: Vec::new(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    /// An invalid argument naming the offending field.
    pub fn invalid_field(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::new(
            ErrorCode::InvalidArgument,
            format!("{field}: {description}"),
        )
        .with_field_violation(field, description)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnprocessableEntity, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    pub fn deadline_exceeded(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::DeadlineExceeded, message)
    }

    pub fn with_field_violation(mut self, field: &str, description: impl Into<String>) -> Self {
        self.field_violations
            .push((field.to_string(), description.into()));
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn to_detail(&self, request_id: &str) -> ErrorDetail {
        ErrorDetail {
            code: self.code.as_str().to_string(),
            message: self.message.clone(),
            request_id: request_id.to_string(),
            field_violations: self
                .field_violations
                .iter()
                .map(|(field, description)| FieldViolation {
                    field: field.clone(),
                    description: description.clone(),
                })
                .collect(),
        }
    }

    /// The micro error (its two standard headers) and our detail header for a reply.
    pub fn to_reply(&self, request_id: &str) -> (async_nats::service::error::Error, HeaderMap) {
        let mut headers = HeaderMap::new();
        let detail = base64::engine::general_purpose::STANDARD
            .encode(self.to_detail(request_id).encode_to_vec());
        headers.insert(ERROR_DETAIL_HEADER, detail.as_str());
        let micro_error = async_nats::service::error::Error {
            // a header value cannot span lines
            status: self.message.replace(['\r', '\n'], " "),
            code: self.status() as usize,
        };
        (micro_error, headers)
    }

    /// The error a reply carries, if it is an error reply. A micro error reply is still
    /// `Ok(message)` to `Client::request`, so every reply goes through here.
    pub fn from_reply_headers(headers: Option<&HeaderMap>) -> Option<Self> {
        let headers = headers?;
        let status_code = headers.get(NATS_SERVICE_ERROR_CODE)?;
        let status: u16 = status_code.as_str().trim().parse().unwrap_or(500);
        let message = headers
            .get(NATS_SERVICE_ERROR)
            .map(|value| value.as_str().to_string())
            .unwrap_or_default();
        let detail = headers.get(ERROR_DETAIL_HEADER).and_then(|value| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value.as_str())
                .ok()?;
            ErrorDetail::decode(bytes.as_slice()).ok()
        });
        let Some(detail) = detail else {
            return Some(Self::new(ErrorCode::from_status(status), message));
        };
        let code = ErrorCode::parse(&detail.code).unwrap_or_else(|| ErrorCode::from_status(status));
        Some(Self {
            code,
            message: detail.message,
            field_violations: detail
                .field_violations
                .into_iter()
                .map(|violation| (violation.field, violation.description))
                .collect(),
        })
    }
}

/// What a caller sees when a request over the bus does not produce a reply message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BusError {
    /// The service answered with an error.
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("no service answers {subject}")]
    NoResponders { subject: String },
    #[error("request to {subject} timed out after {timeout_ms} ms")]
    Timeout { subject: String, timeout_ms: u64 },
    #[error("deadline passed before {subject} could be called")]
    DeadlineExceeded { subject: String },
    #[error("reply from {subject} could not be decoded: {message}")]
    Decode { subject: String, message: String },
    #[error("nats request to {subject} failed: {message}")]
    Transport { subject: String, message: String },
}

impl BusError {
    /// The error to hand on to this service's own caller.
    pub fn to_service_error(&self) -> ServiceError {
        match self {
            BusError::Service(error) => error.clone(),
            BusError::NoResponders { .. } | BusError::Transport { .. } => {
                ServiceError::unavailable(self.to_string())
            }
            BusError::Timeout { .. } | BusError::DeadlineExceeded { .. } => {
                ServiceError::deadline_exceeded(self.to_string())
            }
            BusError::Decode { .. } => ServiceError::new(ErrorCode::BadGateway, self.to_string()),
        }
    }
}

impl From<BusError> for ServiceError {
    fn from(error: BusError) -> Self {
        error.to_service_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name_and_status() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(ErrorCode::from_status(code.status()), code);
        }
    }

    #[test]
    fn error_round_trips_through_reply_headers() {
        let error = ServiceError::invalid_field("title", "must not be empty");
        let (micro, mut headers) = error.to_reply("req-9");
        headers.insert(NATS_SERVICE_ERROR, micro.status.as_str());
        headers.insert(NATS_SERVICE_ERROR_CODE, micro.code.to_string().as_str());
        assert_eq!(
            ServiceError::from_reply_headers(Some(&headers)),
            Some(error)
        );
    }

    #[test]
    fn bare_micro_errors_map_by_status() {
        let mut headers = HeaderMap::new();
        headers.insert(NATS_SERVICE_ERROR, "no such thing");
        headers.insert(NATS_SERVICE_ERROR_CODE, "404");
        let error = ServiceError::from_reply_headers(Some(&headers)).unwrap();
        assert_eq!(error.code, ErrorCode::NotFound);
        assert_eq!(error.message, "no such thing");
        assert_eq!(
            ServiceError::from_reply_headers(Some(&HeaderMap::new())),
            None
        );
        assert_eq!(ServiceError::from_reply_headers(None), None);
    }
}
