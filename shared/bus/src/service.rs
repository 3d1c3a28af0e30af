//! Hosting a service: a NATS micro service whose endpoints are typed protobuf handlers.
//!
//! Every service built here answers `$SRV.PING/INFO/STATS` (discovery and statistics come
//! from async-nats' service API), runs its endpoints in the default queue group so replicas
//! share the load, and answers `system.status` with its dependency checks. For every request
//! the kit reads the context headers, joins the caller's trace, refuses work whose deadline
//! already passed, stops the handler when the deadline passes, turns a panic into an
//! `internal` error, and replies with the error headers the caller's client understands.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_nats::service::ServiceExt;
use bytes::Bytes;
use futures::FutureExt;
use futures::StreamExt;
use radiant_proto::system::{DependencyCheck, ServiceStatus, StatusRequest};
use tracing::Instrument;

use crate::context::RequestContext;
use crate::error::ServiceError;
use crate::subjects::{NAMESPACE_METADATA_KEY, Namespace, ServiceName, endpoints};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type ErasedHandler =
    Arc<dyn Fn(RequestContext, Bytes) -> BoxFuture<Result<Bytes, ServiceError>> + Send + Sync>;
type ErasedCheck = Arc<dyn Fn() -> BoxFuture<Result<String, String>> + Send + Sync>;

/// How long one dependency check of `system.status` may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct ServiceHostBuilder {
    nats: async_nats::Client,
    namespace: Namespace,
    service: ServiceName,
    version: String,
    description: String,
    max_concurrent_requests: usize,
    endpoints: Vec<(String, ErasedHandler)>,
    checks: Vec<(String, ErasedCheck)>,
}

impl ServiceHostBuilder {
    pub fn new(
        nats: async_nats::Client,
        namespace: Namespace,
        service: ServiceName,
        version: &str,
    ) -> Self {
        Self {
            nats,
            namespace,
            service,
            version: version.to_string(),
            description: String::new(),
            max_concurrent_requests: 256,
            endpoints: Vec::new(),
            checks: Vec::new(),
        }
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    /// Requests one replica runs at once per endpoint. At the limit the endpoint stops taking
    /// requests from its subscription: NATS has already given them to this replica, so they
    /// wait in its subscription buffer (and callers whose deadline passes get a timeout), not
    /// for another replica. Capacity comes from replicas; this bounds memory and contention.
    pub fn max_concurrent_requests(mut self, max_concurrent_requests: usize) -> Self {
        self.max_concurrent_requests = max_concurrent_requests.max(1);
        self
    }

    /// Adds `<prefix>.<service token>.v1.<endpoint>` answered by `handler`.
    pub fn endpoint<Request, Response, Handler, HandlerFuture>(
        mut self,
        endpoint: &str,
        handler: Handler,
    ) -> Self
    where
        Request: prost::Message + Default + 'static,
        Response: prost::Message + 'static,
        Handler: Fn(RequestContext, Request) -> HandlerFuture + Send + Sync + 'static,
        HandlerFuture: Future<Output = Result<Response, ServiceError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: ErasedHandler = Arc::new(move |context, payload: Bytes| {
            let handler = handler.clone();
            Box::pin(async move {
                let request = Request::decode(payload).map_err(|error| {
                    ServiceError::invalid_argument(format!(
                        "payload is not a valid request: {error}"
                    ))
                })?;
                let response = handler(context, request).await?;
                Ok(Bytes::from(response.encode_to_vec()))
            })
        });
        self.endpoints.push((endpoint.to_string(), erased));
        self
    }

    /// A dependency check reported by `system.status`: `Ok(detail)` when healthy.
    pub fn health_check<Check, CheckFuture>(mut self, name: &str, check: Check) -> Self
    where
        Check: Fn() -> CheckFuture + Send + Sync + 'static,
        CheckFuture: Future<Output = Result<String, String>> + Send + 'static,
    {
        let erased: ErasedCheck = Arc::new(move || Box::pin(check()));
        self.checks.push((name.to_string(), erased));
        self
    }

    pub async fn start(self) -> Result<ServiceHost, ServiceStartError> {
        let started_at = SystemTime::now();
        let metadata = HashMap::from([(
            NAMESPACE_METADATA_KEY.to_string(),
            self.namespace.subject_prefix().to_string(),
        )]);
        let micro_service = self
            .nats
            .service_builder()
            .description(&self.description)
            .metadata(metadata)
            .start(self.service.name(), &self.version)
            .await
            .map_err(|error| ServiceStartError(error.to_string()))?;
        let instance_id = micro_service.info().await.id;
        // from here on, an early return drops the host, which stops the micro service again
        let mut host = ServiceHost {
            micro_service: Some(micro_service),
            instance_id: instance_id.clone(),
            endpoint_tasks: Vec::new(),
        };

        let status_handler = status_handler(
            self.service.name().to_string(),
            self.version.clone(),
            instance_id.clone(),
            started_at,
            Arc::new(self.checks),
        );
        let mut all_endpoints = vec![(endpoints::SYSTEM_STATUS.to_string(), status_handler)];
        all_endpoints.extend(self.endpoints);

        let group = host
            .micro_service
            .as_ref()
            .expect("set above")
            .group(self.namespace.service_group(&self.service));
        for (endpoint_name, handler) in all_endpoints {
            let endpoint = group
                .endpoint_builder()
                // endpoint names allow no dots
                .name(endpoint_name.replace('.', "-"))
                .add(endpoint_name.as_str())
                .await
                .map_err(|error| ServiceStartError(error.to_string()))?;
            let endpoint_state = EndpointState {
                endpoint: Box::leak(endpoint_name.into_boxed_str()),
                handler,
                max_concurrent_requests: self.max_concurrent_requests,
            };
            host.endpoint_tasks
                .push(tokio::spawn(serve_endpoint(endpoint, endpoint_state)));
        }
        // `flush` only writes the subscriptions to the socket; a message of our own that comes
        // back proves the server has processed them (it handles one connection's commands in
        // order), so from here on a request from any connection reaches this service
        server_round_trip(&self.nats).await.map_err(|error| {
            ServiceStartError(format!(
                "subscriptions not confirmed by the server: {error}"
            ))
        })?;
        tracing::info!(
            service = %self.service,
            version = %self.version,
            instance_id = %instance_id,
            group = %self.namespace.service_group(&self.service),
            "service started"
        );
        Ok(host)
    }
}

/// Publishes to a fresh inbox this connection subscribes to and waits for the message: once it
/// arrives, the server has processed every command this connection sent before it.
async fn server_round_trip(nats: &async_nats::Client) -> Result<(), async_nats::Error> {
    let inbox = nats.new_inbox();
    let mut echo = nats.subscribe(inbox.clone()).await?;
    nats.publish(inbox, Bytes::new()).await?;
    nats.flush().await?;
    match tokio::time::timeout(Duration::from_secs(5), echo.next()).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("subscription closed".into()),
        Err(_) => Err("no echo within 5 s".into()),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("service could not start: {0}")]
pub struct ServiceStartError(String);

struct EndpointState {
    /// Leaked once per endpoint at start so that every request's span records it without a copy.
    endpoint: &'static str,
    handler: ErasedHandler,
    max_concurrent_requests: usize,
}

/// Runs an endpoint's requests concurrently. A request is first polled inside the endpoint's
/// own task: handing every request to a spawned task costs a wake-up of another worker thread,
/// which dominated the kit's latency (see bench/bus-rpc.sh), and most requests finish in that
/// poll. One that has to wait (a model call, a database round trip) becomes a task of its own,
/// so the endpoint's waiting requests are spread over every worker thread instead of being
/// polled by one (the chat path at concurrency 50 was held to one core, bench/chat-path.sh).
/// Handlers are async and must not block; CPU-heavy work belongs in `spawn_blocking`. At the
/// concurrency limit the task stops taking requests, so they wait in NATS where another replica
/// of the queue group can take them.
async fn serve_endpoint(
    mut endpoint: async_nats::service::endpoint::Endpoint,
    state: EndpointState,
) {
    let state = Arc::new(state);
    let mut in_flight = tokio::task::JoinSet::new();
    let mut accepting = true;
    loop {
        tokio::select! {
            biased;
            Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                // handle_request catches a handler's panic; this is the kit's own
                if let Err(error) = finished
                    && error.is_panic()
                {
                    tracing::error!(endpoint = state.endpoint, "request task panicked");
                }
            }
            request = endpoint.next(), if accepting && in_flight.len() < state.max_concurrent_requests => {
                match request {
                    Some(request) => {
                        let state = state.clone();
                        let mut handling = Box::pin(async move { handle_request(&state, request).await });
                        // most requests finish in their first poll: only the others need a slot
                        if futures::poll!(handling.as_mut()).is_pending() {
                            in_flight.spawn(handling);
                        }
                    }
                    // the service was stopped: finish what is in flight
                    None => accepting = false,
                }
            }
            else => break,
        }
    }
}

async fn handle_request(state: &EndpointState, request: async_nats::service::Request) {
    let headers = request.message.headers.as_ref();
    let context = match RequestContext::from_headers(headers) {
        Ok(context) => context,
        Err(error) => return respond(&request, Err(error), "").await,
    };
    // Where spans are recorded, the request span carries the OpenTelemetry fields. Elsewhere it
    // is a debug span for log context only: building an info span per request was the largest
    // single cost of the kit against raw NATS (bench/bus-rpc.sh); the kit's own warnings name
    // the request id and subject themselves.
    let span = if radiant_telemetry::spans_are_recorded() {
        tracing::info_span!(
            "nats.handle",
            otel.name = %request.message.subject,
            otel.kind = "server",
            endpoint = state.endpoint,
            request_id = context.request_id.as_str(),
        )
    } else {
        tracing::debug_span!(
            "nats.handle",
            endpoint = state.endpoint,
            request_id = context.request_id.as_str()
        )
    };
    radiant_telemetry::set_span_parent_from_nats_headers(&span, headers);

    async {
        let request_id = context.request_id.clone();
        let remaining = context.remaining();
        if remaining.is_some_and(|remaining| remaining.is_zero()) {
            let error =
                ServiceError::deadline_exceeded("deadline passed before the request was handled");
            return respond(&request, Err(error), &request_id).await;
        }

        let mut handler_future = Box::pin(
            std::panic::AssertUnwindSafe((state.handler)(context, request.message.payload.clone()))
                .catch_unwind(),
        );
        // a handler that finishes in its first poll needs no deadline timer
        let outcome = match futures::poll!(handler_future.as_mut()) {
            std::task::Poll::Ready(outcome) => outcome,
            std::task::Poll::Pending => match remaining {
                // dropping the handler future at the deadline rolls back whatever it had open
                Some(remaining) => match tokio::time::timeout(remaining, handler_future).await {
                    Ok(outcome) => outcome,
                    Err(_) => Ok(Err(ServiceError::deadline_exceeded(
                        "deadline passed while the request was handled",
                    ))),
                },
                None => handler_future.await,
            },
        };
        let result = outcome.unwrap_or_else(|panic| {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::error!(%reason, %request_id, endpoint = state.endpoint, "handler panicked");
            Err(ServiceError::internal("the handler failed unexpectedly"))
        });
        respond(&request, result, &request_id).await;
    }
    .instrument(span)
    .await
}

async fn respond(
    request: &async_nats::service::Request,
    result: Result<Bytes, ServiceError>,
    request_id: &str,
) {
    let publish_result = match result {
        Ok(payload) => request.respond(Ok(payload)).await,
        Err(error) => {
            let subject = request.message.subject.as_str();
            if error.status() >= 500 {
                tracing::warn!(%subject, %request_id, code = %error.code, message = %error.message, "request failed");
            } else {
                tracing::debug!(%subject, %request_id, code = %error.code, message = %error.message, "request refused");
            }
            let (micro_error, headers) = error.to_reply(request_id);
            request
                .respond_with_headers(Err(micro_error), headers)
                .await
        }
    };
    if let Err(error) = publish_result {
        tracing::warn!(%error, %request_id, "reply could not be published");
    }
}

fn status_handler(
    service: String,
    version: String,
    instance_id: String,
    started_at: SystemTime,
    checks: Arc<Vec<(String, ErasedCheck)>>,
) -> ErasedHandler {
    Arc::new(move |_context, payload: Bytes| {
        let service = service.clone();
        let version = version.clone();
        let instance_id = instance_id.clone();
        let checks = checks.clone();
        Box::pin(async move {
            <StatusRequest as prost::Message>::decode(payload).map_err(|error| {
                ServiceError::invalid_argument(format!("payload is not a StatusRequest: {error}"))
            })?;
            let results = futures::future::join_all(checks.iter().map(|(name, check)| {
                let name = name.clone();
                let check = check.clone();
                async move {
                    let started = Instant::now();
                    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check()).await;
                    let latency_ms = started.elapsed().as_millis() as u32;
                    let (ok, detail) = match outcome {
                        Ok(Ok(detail)) => (true, detail),
                        Ok(Err(detail)) => (false, detail),
                        Err(_) => (false, format!("no answer within {CHECK_TIMEOUT:?}")),
                    };
                    DependencyCheck {
                        name,
                        ok,
                        detail,
                        latency_ms,
                    }
                }
            }))
            .await;
            let status = ServiceStatus {
                service,
                version,
                instance_id,
                started_at: Some(prost_types::Timestamp::from(started_at)),
                uptime_seconds: started_at
                    .elapsed()
                    .map(|uptime| uptime.as_secs())
                    .unwrap_or(0),
                ready: results.iter().all(|check| check.ok),
                checks: results,
            };
            Ok(Bytes::from(prost::Message::encode_to_vec(&status)))
        })
    })
}

/// A running service. [`ServiceHost::stop`] stops taking requests and waits for the ones in
/// flight to finish.
pub struct ServiceHost {
    micro_service: Option<async_nats::service::Service>,
    instance_id: String,
    endpoint_tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ServiceHost {
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    pub async fn stop(mut self) {
        if let Some(micro_service) = self.micro_service.take()
            && let Err(error) = micro_service.stop().await
        {
            tracing::warn!(%error, "micro service did not stop cleanly");
        }
        // each endpoint task ends once its requests in flight have been answered
        for task in self.endpoint_tasks.drain(..) {
            let _ = task.await;
        }
        tracing::info!(instance_id = %self.instance_id, "service stopped");
    }
}

impl Drop for ServiceHost {
    fn drop(&mut self) {
        // dropped without stop(): stop answering at once, abandoning requests in flight
        for task in &self.endpoint_tasks {
            task.abort();
        }
        if let Some(micro_service) = self.micro_service.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = micro_service.stop().await;
            });
        }
    }
}

/// Adds `subject` to a [`ServiceHostBuilder`], answered by `handler(&state, context, request)`
/// where `state` is an `Arc` (or other `Clone`) the handler borrows for each request, and the
/// handler's error converts into [`crate::ServiceError`]:
/// `let builder = radiant_bus::state_endpoint!(builder, vault, "files.get", files::get_file);`
#[macro_export]
macro_rules! state_endpoint {
    ($builder:expr, $state:expr, $subject:expr, $handler:path) => {{
        let state = $state.clone();
        $builder.endpoint($subject, move |context, request| {
            let state = state.clone();
            async move { $handler(&state, context, request).await.map_err(Into::into) }
        })
    }};
}
