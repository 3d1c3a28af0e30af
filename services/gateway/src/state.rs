use std::sync::Arc;

use std::time::SystemTime;

use radiant_bus::{BusClient, RequestContext};

use crate::auth::{AuthError, Authenticator};
use crate::config::GatewayConfig;

/// What every HTTP and gRPC handler shares.
#[derive(Clone)]
pub struct AppState {
    pub bus: BusClient,
    pub authenticator: Arc<Authenticator>,
    pub config: Arc<GatewayConfig>,
    /// Outbound HTTP: streams upload parts to their presigned S3 URLs.
    pub http_client: reqwest::Client,
}

impl AppState {
    /// The context of a caller on either transport: the verified token's claims, this request's
    /// deadline, and the caller's W3C trace context (forwarded when the gateway records no spans
    /// of its own). `header` reads an HTTP header or a gRPC metadata entry.
    pub async fn caller_context(
        &self,
        authorization: Option<&str>,
        request_id: &str,
        header: impl Fn(&str) -> Option<String>,
    ) -> Result<RequestContext, AuthError> {
        let mut context = self
            .authenticator
            .authenticate_header(authorization, request_id)
            .await?;
        context.deadline = Some(SystemTime::now() + self.config.http.request_timeout());
        context.trace_parent = header("traceparent");
        context.trace_state = header("tracestate");
        Ok(context)
    }
}
