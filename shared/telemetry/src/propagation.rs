//! W3C trace context in NATS and HTTP headers.

use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct NatsHeaderInjector<'a>(&'a mut async_nats::HeaderMap);

impl Injector for NatsHeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct NatsHeaderExtractor<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsHeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

struct HttpHeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HttpHeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let Ok(name) = http::HeaderName::from_bytes(key.as_bytes()) else {
            return;
        };
        let Ok(value) = http::HeaderValue::from_str(&value) else {
            return;
        };
        self.0.insert(name, value);
    }
}

struct HttpHeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HttpHeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// Writes the trace context of `span` into NATS headers (when this process records spans).
pub fn inject_into_nats_headers(span: &tracing::Span, headers: &mut async_nats::HeaderMap) {
    if !crate::spans_are_recorded() {
        return;
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut NatsHeaderInjector(headers));
    });
}

pub fn context_from_nats_headers(headers: &async_nats::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&NatsHeaderExtractor(headers))
    })
}

/// Makes `span` a child of the remote span named in `headers`, when there is one.
pub fn set_span_parent_from_nats_headers(
    span: &tracing::Span,
    headers: Option<&async_nats::HeaderMap>,
) {
    let Some(headers) = headers else {
        return;
    };
    if !crate::spans_are_recorded() || headers.get("traceparent").is_none() {
        return;
    }
    let _ = span.set_parent(context_from_nats_headers(headers));
}

pub fn inject_into_http_headers(span: &tracing::Span, headers: &mut http::HeaderMap) {
    if !crate::spans_are_recorded() {
        return;
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HttpHeaderInjector(headers));
    });
}

pub fn context_from_http_headers(headers: &http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HttpHeaderExtractor(headers))
    })
}

/// Makes `span` a child of the remote span named in HTTP headers, when there is one.
pub fn set_span_parent_from_http_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    if !crate::spans_are_recorded() || headers.get("traceparent").is_none() {
        return;
    }
    let _ = span.set_parent(context_from_http_headers(headers));
}
