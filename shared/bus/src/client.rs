//! The caller side of request/reply: typed protobuf requests with context and trace headers,
//! deadlines honoured, and error replies turned back into [`ServiceError`].

use std::time::{Duration, SystemTime};

use async_nats::HeaderMap;
use async_nats::RequestErrorKind;
use bytes::Bytes;
use tracing::Instrument;

use crate::context::RequestContext;
use crate::error::{BusError, ServiceError};
use crate::subjects::{Namespace, ServiceName};

#[derive(Debug, Clone)]
pub struct BusClient {
    nats: async_nats::Client,
    namespace: Namespace,
    default_timeout: Duration,
}

impl BusClient {
    pub fn new(nats: async_nats::Client, namespace: Namespace, default_timeout: Duration) -> Self {
        Self {
            nats,
            namespace,
            default_timeout,
        }
    }

    /// The same client with another default timeout, for the few calls that may take long.
    pub fn with_timeout(&self, default_timeout: Duration) -> Self {
        Self {
            default_timeout,
            ..self.clone()
        }
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Calls `endpoint` of `service` and decodes its reply.
    pub async fn call<Request, Response>(
        &self,
        service: &ServiceName,
        endpoint: &str,
        context: &RequestContext,
        request: &Request,
    ) -> Result<Response, BusError>
    where
        Request: prost::Message,
        Response: prost::Message + Default,
    {
        let subject = self.namespace.service_subject(service, endpoint);
        self.request(subject, context, request).await
    }

    pub async fn request<Request, Response>(
        &self,
        subject: String,
        context: &RequestContext,
        request: &Request,
    ) -> Result<Response, BusError>
    where
        Request: prost::Message,
        Response: prost::Message + Default,
    {
        let payload = Bytes::from(request.encode_to_vec());
        let reply = self
            .request_bytes(subject.clone(), context, payload)
            .await?;
        Response::decode(reply).map_err(|error| BusError::Decode {
            subject,
            message: error.to_string(),
        })
    }

    /// The untyped round trip every typed call goes through.
    pub async fn request_bytes(
        &self,
        subject: String,
        context: &RequestContext,
        payload: Bytes,
    ) -> Result<Bytes, BusError> {
        let timeout = match context.remaining() {
            Some(remaining) if remaining.is_zero() => {
                return Err(BusError::DeadlineExceeded { subject });
            }
            Some(remaining) => remaining.min(self.default_timeout),
            None => self.default_timeout,
        };
        // a client span only where spans are recorded; elsewhere the caller's trace context is
        // forwarded as it came (see radiant_telemetry)
        let span = if radiant_telemetry::spans_are_recorded() {
            tracing::info_span!(
                "nats.request",
                otel.name = %subject,
                otel.kind = "client",
                request_id = %context.request_id,
            )
        } else {
            tracing::Span::none()
        };

        let mut headers = HeaderMap::new();
        // the callee learns when this caller gives up, even if the caller set no deadline
        let effective_deadline = SystemTime::now() + timeout;
        let deadline = match context.deadline {
            Some(deadline) if deadline <= effective_deadline => deadline,
            _ => effective_deadline,
        };
        context.write_headers_with_deadline(&mut headers, Some(deadline));
        radiant_telemetry::inject_into_nats_headers(&span, &mut headers);

        let request = async_nats::Request::new()
            .payload(payload)
            .headers(headers)
            .timeout(Some(timeout));
        let result = self
            .nats
            .send_request(subject.clone(), request)
            .instrument(span.clone())
            .await;

        let message = match result {
            Ok(message) => message,
            Err(error) => {
                let bus_error = match error.kind() {
                    RequestErrorKind::NoResponders => BusError::NoResponders { subject },
                    RequestErrorKind::TimedOut => BusError::Timeout {
                        subject,
                        timeout_ms: timeout.as_millis() as u64,
                    },
                    _ => BusError::Transport {
                        subject,
                        message: error.to_string(),
                    },
                };
                span.in_scope(|| tracing::debug!(error = %bus_error, "request failed"));
                return Err(bus_error);
            }
        };
        if let Some(error) = ServiceError::from_reply_headers(message.headers.as_ref()) {
            span.in_scope(|| tracing::debug!(error = %error, "service answered with an error"));
            return Err(BusError::Service(error));
        }
        Ok(message.payload)
    }
}
