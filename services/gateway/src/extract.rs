//! Extractors whose rejections are [`ApiError`]s: authenticated callers, JSON bodies and raw
//! bodies.

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use radiant_bus::RequestContext;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, current_request_id};
use crate::state::AppState;

/// A caller with a valid bearer token; the context carries the request's deadline.
#[derive(Debug, Clone)]
pub struct Authenticated(pub RequestContext);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authorization = parts
            .headers
            .get(AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or("<not ascii>"));
        let context = state
            .caller_context(authorization, &current_request_id(), |name| {
                parts
                    .headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string)
            })
            .await?;
        Ok(Self(context))
    }
}

/// An authenticated caller holding the `admin` role.
#[derive(Debug, Clone)]
pub struct Admin(pub RequestContext);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authenticated(context) = Authenticated::from_request_parts(parts, state).await?;
        if !context.is_admin() {
            return Err(ApiError::permission_denied(
                "this route needs the admin role",
            ));
        }
        Ok(Self(context))
    }
}

/// `axum::Json` with errors in the gateway's format (400 with the parser's message, 413 over
/// the body limit, 415 without a JSON content type).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from_json_rejection(
                rejection,
                state.config.http.body_limit_bytes,
            )),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// [`ApiJson`] for a body the client may leave out: an empty (or all-whitespace) body is
/// `T::default()`; any other body is read exactly as `ApiJson` reads it (JSON content type,
/// the gateway's body limit, the same errors).
#[derive(Debug, Clone)]
pub struct OptionalApiJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let headers = parts.headers.clone();
        let ApiBytes(bytes) =
            ApiBytes::from_request(Request::from_parts(parts, body), state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // clients that have nothing to say often send no content type either: no 415
            return Ok(Self(T::default()));
        }
        let mut request = Request::new(Body::from(bytes));
        *request.headers_mut() = headers;
        let ApiJson(value) = ApiJson::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// The raw request body, at most the gateway's body limit (413 in the gateway's format above
/// it).
#[derive(Debug, Clone)]
pub struct ApiBytes(pub Bytes);

impl FromRequest<AppState> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) => Err(bytes_rejection_error(
                rejection,
                state.config.http.body_limit_bytes,
            )),
        }
    }
}

fn bytes_rejection_error(rejection: BytesRejection, body_limit_bytes: usize) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::payload_too_large(body_limit_bytes);
    }
    ApiError::new(
        rejection.status(),
        radiant_bus::ErrorCode::InvalidArgument.as_str(),
        format!("request body could not be read: {}", rejection.body_text()),
    )
}

/// `axum::extract::Query` with its refusal in the gateway's error format (400 naming what
/// could not be read, instead of a plain-text body).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::invalid_argument(format!(
                "query string could not be read: {}",
                rejection.body_text()
            ))),
        }
    }
}
