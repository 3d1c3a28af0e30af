//! `chat.complete` (the whole answer as the reply) and `chat.stream` (the decision as the
//! reply, then the answer as `StreamChunk`s on the caller's subject).

use std::sync::Arc;

use futures::StreamExt;
use radiant_bus::subjects::brain as subjects;
use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::brain::{
    CompleteRequest, Completion, RouteDecision, RouteRequest, StreamFailure, stream_chunk,
};
use tokio_util::sync::CancellationToken;

use crate::brain::BrainRouter;
use crate::execute::{self, Sink};
use crate::invoke::Prompt;

/// The largest temperature providers accept.
const MAX_TEMPERATURE: f64 = 2.0;

fn prompt_of(
    router: &BrainRouter,
    request: &CompleteRequest,
    route: &RouteRequest,
    model_max_output: u32,
) -> Result<Prompt, ServiceError> {
    if let Some(temperature) = request.temperature
        && !(temperature.is_finite() && (0.0..=MAX_TEMPERATURE).contains(&temperature))
    {
        return Err(ServiceError::invalid_field(
            "temperature",
            "must be between 0 and 2",
        ));
    }
    if let Some(top_p) = request.top_p
        && !(top_p.is_finite() && top_p > 0.0 && top_p <= 1.0)
    {
        return Err(ServiceError::invalid_field("top_p", "must be in (0, 1]"));
    }
    let mut max_output_tokens = if route.max_output_tokens > 0 {
        route.max_output_tokens
    } else {
        router.config.invocation.max_output_tokens
    };
    if model_max_output > 0 {
        max_output_tokens = max_output_tokens.min(model_max_output);
    }
    Ok(Prompt {
        messages: route.messages.clone(),
        max_output_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
    })
}

fn output_id_of(request: &CompleteRequest) -> Result<String, ServiceError> {
    if request.output_id.is_empty() {
        return Ok(uuid::Uuid::now_v7().to_string());
    }
    if request.output_id.len() > 100 || request.output_id.chars().any(char::is_control) {
        return Err(ServiceError::invalid_field(
            "output_id",
            "must be at most 100 printable characters",
        ));
    }
    Ok(request.output_id.clone())
}

fn model_max_output(router: &BrainRouter, model_id: &str) -> u32 {
    router
        .view
        .callable(model_id)
        .map(|callable| callable.model.max_output)
        .unwrap_or(0)
}

#[tracing::instrument(skip_all, fields(model = %request.route.as_ref().map(|route| route.model.as_str()).unwrap_or("")))]
pub async fn complete(
    router: &BrainRouter,
    context: RequestContext,
    request: CompleteRequest,
) -> Result<Completion, ServiceError> {
    let route = request.route.clone().unwrap_or_default();
    let output_id = output_id_of(&request)?;
    let routed = crate::routing::route(router, &context, &route).await?;
    let prompt = prompt_of(
        router,
        &request,
        &route,
        model_max_output(router, &routed.decision.model_id),
    )?;
    let source = if route.source.is_empty() {
        "api".to_string()
    } else {
        route.source.clone()
    };
    let ask = execute::Ask {
        prompt,
        output_id,
        source,
    };
    execute::answer(
        router,
        &context,
        &routed,
        ask,
        &mut Sink::none(),
        CancellationToken::new(),
    )
    .await
    .map_err(|(error, _partial)| error)
}

#[tracing::instrument(skip_all, fields(model = %request.route.as_ref().map(|route| route.model.as_str()).unwrap_or("")))]
pub async fn stream(
    router: &Arc<BrainRouter>,
    context: RequestContext,
    request: CompleteRequest,
) -> Result<RouteDecision, ServiceError> {
    let subject = request.stream_subject.trim().to_string();
    if subject.is_empty() || subject.contains([' ', '*', '>']) || subject.len() > 200 {
        return Err(ServiceError::invalid_field(
            "stream_subject",
            "must be a plain NATS subject",
        ));
    }
    let route = request.route.clone().unwrap_or_default();
    let output_id = output_id_of(&request)?;
    let routed = crate::routing::route(router, &context, &route).await?;
    let prompt = prompt_of(
        router,
        &request,
        &route,
        model_max_output(router, &routed.decision.model_id),
    )?;
    let decision = routed.proto.clone();
    let nats = router.bus.nats().clone();
    // the caller publishes to <subject>.cancel when it goes away
    let mut cancels = nats
        .subscribe(format!("{subject}{}", subjects::CANCEL_SUFFIX))
        .await
        .map_err(|error| {
            ServiceError::unavailable(format!("cannot listen for cancellation: {error}"))
        })?;
    let cancel = CancellationToken::new();
    let router = router.clone();
    let source = if route.source.is_empty() {
        "api".to_string()
    } else {
        route.source.clone()
    };
    router.streams.clone().spawn(async move {
        let cancel_on_message = cancel.clone();
        let listener = tokio::spawn(async move {
            if cancels.next().await.is_some() {
                cancel_on_message.cancel();
            }
        });
        let mut sink = Sink::subject(nats, subject);
        let ask = execute::Ask {
            prompt,
            output_id,
            source,
        };
        let outcome = execute::answer(&router, &context, &routed, ask, &mut sink, cancel).await;
        let last = match outcome {
            Ok(completion) => stream_chunk::Chunk::Finished(completion),
            Err((error, partial)) => stream_chunk::Chunk::Failed(StreamFailure {
                code: error.code.as_str().to_string(),
                message: error.message,
                partial: Some(partial),
            }),
        };
        sink.send(last).await;
        listener.abort();
    });
    Ok(decision)
}
