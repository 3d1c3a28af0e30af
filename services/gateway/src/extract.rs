//! Extractors whose rejections are [`ApiError`]s: authenticated callers and JSON bodies.

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
