//! Answers from the brain router: whole (`chat.complete`) or streamed (`chat.stream`, then
//! `StreamChunk`s on an inbox of this gateway until `finished` or `failed`). Dropping a stream
//! before its end tells the router to stop (`<inbox>.cancel`).

use std::time::Duration;

use futures::StreamExt;
use radiant_bus::subjects::{BRAIN_ROUTER, brain as subjects};
use radiant_bus::{BusError, ErrorCode, RequestContext};
use radiant_proto::brain::{CompleteRequest, Completion, RouteDecision, RouteRequest, StreamChunk};

use crate::error::ApiError;
use crate::state::AppState;

/// A routing refusal keeps its reason (the router writes it for the client: "no model can
/// serve this request: ..."); other server-side failures keep theirs in the log.
pub fn route_failure(error: BusError) -> ApiError {
    if let BusError::Service(service_error) = &error
        && service_error.code == ErrorCode::Unavailable
    {
        return ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable.as_str(),
            service_error.message.clone(),
        );
    }
    error.into()
}

/// The caller's context with the deadline of a whole answer.
pub fn answer_context(state: &AppState, context: &RequestContext) -> RequestContext {
    context
        .clone()
        .with_deadline_in(state.config.chat.answer_timeout())
}

pub async fn route(
    state: &AppState,
    context: &RequestContext,
    request: &RouteRequest,
) -> Result<RouteDecision, ApiError> {
    state
        .bus
        .call(&BRAIN_ROUTER, subjects::ROUTE, context, request)
        .await
        .map_err(route_failure)
}

pub async fn complete(
    state: &AppState,
    context: &RequestContext,
    request: &CompleteRequest,
) -> Result<Completion, ApiError> {
    let context = answer_context(state, context);
    state
        .bus
        .with_timeout(state.config.chat.answer_timeout())
        .call(&BRAIN_ROUTER, subjects::CHAT_COMPLETE, &context, request)
        .await
        .map_err(route_failure)
}

pub struct AnswerStream {
    nats: async_nats::Client,
    subject: String,
    chunks: async_nats::Subscriber,
    idle_timeout: Duration,
    ended: bool,
}

/// Routes the request and opens its stream; a refusal (400, 403, 404, 503) comes back before
/// anything streams.
pub async fn open(
    state: &AppState,
    context: &RequestContext,
    mut request: CompleteRequest,
) -> Result<(RouteDecision, AnswerStream), ApiError> {
    let nats = state.bus.nats().clone();
    let subject = nats.new_inbox();
    let chunks = nats.subscribe(subject.clone()).await.map_err(|error| {
        ApiError::from(radiant_bus::ServiceError::unavailable(format!(
            "cannot subscribe: {error}"
        )))
    })?;
    request.stream_subject = subject.clone();
    let decision = state
        .bus
        .call(&BRAIN_ROUTER, subjects::CHAT_STREAM, context, &request)
        .await
        .map_err(route_failure)?;
    Ok((
        decision,
        AnswerStream {
            nats,
            subject,
            chunks,
            idle_timeout: state.config.chat.idle_timeout(),
            ended: false,
        },
    ))
}

impl AnswerStream {
    /// The next chunk; `None` when the stream went silent past the idle timeout or closed.
    pub async fn next(&mut self) -> Option<StreamChunk> {
        if self.ended {
            return None;
        }
        let message = tokio::time::timeout(self.idle_timeout, self.chunks.next())
            .await
            .ok()??;
        let chunk: StreamChunk = prost::Message::decode(message.payload).ok()?;
        if matches!(
            chunk.chunk,
            Some(radiant_proto::brain::stream_chunk::Chunk::Finished(_))
                | Some(radiant_proto::brain::stream_chunk::Chunk::Failed(_))
        ) {
            self.ended = true;
        }
        Some(chunk)
    }

    /// Asks the router to stop; it then finishes the stream with what it has.
    pub async fn cancel(&self) {
        let subject = format!("{}{}", self.subject, subjects::CANCEL_SUFFIX);
        if let Err(error) = self.nats.publish(subject, bytes::Bytes::new()).await {
            tracing::debug!(%error, "cancellation not published");
        }
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

impl Drop for AnswerStream {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let nats = self.nats.clone();
        let subject = format!("{}{}", self.subject, subjects::CANCEL_SUFFIX);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = nats.publish(subject, bytes::Bytes::new()).await;
            });
        }
    }
}
