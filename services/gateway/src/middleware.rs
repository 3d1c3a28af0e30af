//! Request ids and the HTTP server span.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::error::REQUEST_ID;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Takes the caller's `x-request-id` when it is a sane token, otherwise makes one; every
/// response and error body carries it.
pub async fn request_id(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_acceptable_request_id(value))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "http.request",
        otel.kind = "server",
        otel.name = tracing::field::Empty,
        http.request.method = %request.method(),
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        request_id = %request_id,
    );
    radiant_telemetry::set_span_parent_from_http_headers(&span, request.headers());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    span.record("http.route", route.as_str());
    span.record(
        "otel.name",
        format!("{} {route}", request.method()).as_str(),
    );

    let mut response = REQUEST_ID
        .scope(request_id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    span.record("http.response.status_code", response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// A caller-chosen request id is kept when it is a short token of safe characters.
pub(crate) fn is_acceptable_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_.:".contains(character))
}
