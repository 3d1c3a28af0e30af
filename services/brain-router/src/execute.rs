//! Carrying out a decision: the chosen model, then its fallbacks; each model tried up to
//! `attempts_per_model` times on retryable errors. A stream that fails before its first token
//! falls back like any failed call; one that fails after it is continued by the next model
//! from where it stopped (the client is told with a `switched` chunk), so the caller gets one
//! coherent answer. Every call is reported as a health observation, every answer gets an
//! execution manifest.

use std::time::{Duration, Instant};

use futures::StreamExt;
use radiant_bus::{ErrorCode, RequestContext, ServiceError};
use radiant_proto::brain::{self as proto, ChatMessage, Completion, StreamChunk, stream_chunk};
use radiant_proto::events::{ExecutionManifest, ExecutionStep, ProviderHealthObserved};
use tokio_util::sync::CancellationToken;

use crate::brain::BrainRouter;
use crate::invoke::{self, FailureKind, InvokeError, Piece, Prompt, Target};
use crate::live::CallableModel;
use crate::recording::Record;
use crate::routing::{Routed, estimate_tokens};

/// Where streamed pieces go: nowhere (a whole answer), or a NATS subject.
pub struct Sink {
    nats: Option<(async_nats::Client, String)>,
    sequence: u64,
}

impl Sink {
    pub fn none() -> Self {
        Self {
            nats: None,
            sequence: 0,
        }
    }

    pub fn subject(nats: async_nats::Client, subject: String) -> Self {
        Self {
            nats: Some((nats, subject)),
            sequence: 0,
        }
    }

    pub fn is_streaming(&self) -> bool {
        self.nats.is_some()
    }

    pub async fn send(&mut self, chunk: stream_chunk::Chunk) {
        let Some((nats, subject)) = &self.nats else {
            return;
        };
        self.sequence += 1;
        let message = StreamChunk {
            sequence: self.sequence,
            chunk: Some(chunk),
        };
        let payload = bytes::Bytes::from(prost::Message::encode_to_vec(&message));
        if let Err(error) = nats.publish(subject.clone(), payload).await {
            tracing::debug!(%error, "stream chunk not published");
        }
    }
}

/// How one try ended.
enum TryOutcome {
    Done,
    Cancelled,
    Failed(InvokeError),
}

/// What the tries of one answer add up to.
struct Answer {
    text: String,
    finish_reason: String,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    first_token_at: Option<Instant>,
    attempts: Vec<proto::Attempt>,
    steps: Vec<ExecutionStep>,
}

fn continuation(prompt: &Prompt, partial: &str) -> Prompt {
    let mut messages = prompt.messages.clone();
    messages.push(ChatMessage {
        role: "assistant".to_string(),
        content: partial.to_string(),
    });
    messages.push(ChatMessage {
        role: "user".to_string(),
        content: "Your answer above was cut off. Continue it exactly where it stopped, without repeating anything and without comment.".to_string(),
    });
    Prompt {
        messages,
        max_output_tokens: prompt.max_output_tokens,
        temperature: prompt.temperature,
        top_p: prompt.top_p,
    }
}

/// Resolves how to reach the model: its provider's API, URL and key.
async fn target_of(router: &BrainRouter, callable: &CallableModel) -> Result<Target, InvokeError> {
    let provider = &callable.provider;
    let credential = if provider.requires_credential {
        credential_of(router, &provider.provider_id).await?
    } else {
        None
    };
    let model = &callable.model;
    match provider.api_kind.as_str() {
        "sagemaker" => {
            let endpoint_name = model
                .self_hosted
                .as_ref()
                .map(|hosted| hosted.endpoint_name.clone())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| model.name.clone());
            Ok(Target::SageMaker {
                base_url: provider.base_url.clone(),
                endpoint_name,
                credential,
            })
        }
        "openai_compatible" => Ok(Target::OpenAi {
            base_url: provider.base_url.clone(),
            model: model.name.clone(),
            api_key: credential,
        }),
        "anthropic" => Ok(Target::Anthropic {
            base_url: if provider.base_url.is_empty() {
                "https://api.anthropic.com/v1".to_string()
            } else {
                provider.base_url.clone()
            },
            model: model.name.clone(),
            api_key: credential,
        }),
        other => Err(InvokeError::new(
            FailureKind::Refused(501),
            format!(
                "provider {} has api kind {other}, which the router cannot call",
                provider.provider_id
            ),
        )),
    }
}

/// The provider's key from the registry, cached for a minute.
async fn credential_of(
    router: &BrainRouter,
    provider_id: &str,
) -> Result<Option<String>, InvokeError> {
    const FRESH_FOR: Duration = Duration::from_secs(60);
    if let Some((key, resolved_at)) = router
        .credentials
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(provider_id)
        && resolved_at.elapsed() < FRESH_FOR
    {
        return Ok(key.clone());
    }
    let resolved: Result<radiant_proto::registry::ResolvedCredential, _> = router
        .bus
        .call(
            &radiant_bus::subjects::REGISTRY,
            radiant_bus::subjects::registry::CREDENTIALS_RESOLVE,
            &crate::live::service_context(),
            &radiant_proto::registry::ResolveCredentialRequest {
                provider_id: provider_id.to_string(),
                purpose: "invoke".to_string(),
            },
        )
        .await;
    let key = match resolved {
        Ok(credential) if !credential.api_key.is_empty() => Some(credential.api_key),
        Ok(_) => None,
        Err(error) => {
            return Err(InvokeError::new(
                FailureKind::Unavailable,
                format!(
                    "no key for provider {provider_id}: {}",
                    ServiceError::from(error).message
                ),
            ));
        }
    };
    router
        .credentials
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(provider_id.to_string(), (key.clone(), Instant::now()));
    Ok(key)
}

fn apply(answer: &mut Answer, piece: Piece) -> Option<String> {
    match piece {
        Piece::Text(text) => {
            if answer.first_token_at.is_none() {
                answer.first_token_at = Some(Instant::now());
            }
            answer.text.push_str(&text);
            return Some(text);
        }
        Piece::Usage {
            input_tokens,
            output_tokens,
        } => {
            if input_tokens.is_some() {
                answer.input_tokens = input_tokens;
            }
            if output_tokens.is_some() {
                answer.output_tokens = output_tokens;
            }
        }
        Piece::Finish(reason) => answer.finish_reason = reason,
    }
    None
}

/// One try of one model, streamed: pieces go to the sink as they come.
async fn try_streamed(
    router: &BrainRouter,
    target: &Target,
    prompt: &Prompt,
    answer: &mut Answer,
    sink: &mut Sink,
    cancel: &CancellationToken,
    deadline: tokio::time::Instant,
) -> TryOutcome {
    let invocation = &router.config.invocation;
    let first_token_by =
        deadline.min(tokio::time::Instant::now() + invocation.first_token_timeout());
    let opened = tokio::select! {
        opened = tokio::time::timeout_at(first_token_by, invoke::stream(&router.clients, target, prompt)) => opened,
        _ = cancel.cancelled() => return TryOutcome::Cancelled,
    };
    let mut pieces = match opened {
        Ok(Ok(pieces)) => pieces,
        Ok(Err(error)) => return TryOutcome::Failed(error),
        Err(_) => {
            return TryOutcome::Failed(InvokeError::new(
                FailureKind::Timeout,
                "no answer before the first-token timeout",
            ));
        }
    };
    let mut got_text = false;
    loop {
        let wait_until = if got_text {
            deadline.min(tokio::time::Instant::now() + invocation.idle_timeout())
        } else {
            first_token_by
        };
        let next = tokio::select! {
            next = tokio::time::timeout_at(wait_until, pieces.next()) => next,
            _ = cancel.cancelled() => return TryOutcome::Cancelled,
        };
        match next {
            Ok(Some(Ok(piece))) => {
                if let Some(text) = apply(answer, piece) {
                    got_text = true;
                    sink.send(stream_chunk::Chunk::Delta(text)).await;
                }
            }
            Ok(Some(Err(error))) => return TryOutcome::Failed(error),
            Ok(None) => return TryOutcome::Done,
            Err(_) => {
                let message = if got_text {
                    "the stream stalled"
                } else {
                    "no first token before the timeout"
                };
                return TryOutcome::Failed(InvokeError::new(FailureKind::Timeout, message));
            }
        }
    }
}

/// One try of one model, whole.
async fn try_whole(
    router: &BrainRouter,
    target: &Target,
    prompt: &Prompt,
    answer: &mut Answer,
    cancel: &CancellationToken,
    deadline: tokio::time::Instant,
) -> TryOutcome {
    let completed = tokio::select! {
        completed = tokio::time::timeout_at(deadline, invoke::complete(&router.clients, target, prompt)) => completed,
        _ = cancel.cancelled() => return TryOutcome::Cancelled,
    };
    match completed {
        Ok(Ok(pieces)) => {
            for piece in pieces {
                apply(answer, piece);
            }
            TryOutcome::Done
        }
        Ok(Err(error)) => TryOutcome::Failed(error),
        Err(_) => TryOutcome::Failed(InvokeError::new(
            FailureKind::Timeout,
            "no answer before the deadline",
        )),
    }
}

fn observe(
    router: &BrainRouter,
    callable: &CallableModel,
    success: bool,
    latency: Duration,
    error: &str,
) {
    router
        .recorder
        .record(Record::Health(ProviderHealthObserved {
            provider_id: callable.provider.provider_id.clone(),
            region: String::new(),
            model_id: callable.model.model_id.clone(),
            success,
            latency_ms: latency.as_secs_f64() * 1_000.0,
            error: error.to_string(),
            observed_at_ms: crate::live::now_ms(),
            source: "router".to_string(),
            // one call; the recorder summarises successes (`health_summary`)
            ..Default::default()
        }));
}

/// What is asked of the models once the request is routed.
pub struct Ask {
    pub prompt: Prompt,
    pub output_id: String,
    /// Who asks (chat, openai, ...), for the manifest.
    pub source: String,
}

/// The answer to a routed request, streamed to `sink` when it streams. `Err` carries the
/// failure and what was produced until then.
pub async fn answer(
    router: &BrainRouter,
    context: &RequestContext,
    routed: &Routed,
    ask: Ask,
    sink: &mut Sink,
    cancel: CancellationToken,
) -> Result<Completion, (ServiceError, Completion)> {
    let Ask {
        prompt,
        output_id,
        source,
    } = ask;
    let source = source.as_str();
    let started = Instant::now();
    let invocation = &router.config.invocation;
    let mut deadline = tokio::time::Instant::now() + invocation.total_timeout();
    if !sink.is_streaming()
        && let Some(remaining) = context.remaining()
    {
        deadline = deadline.min(tokio::time::Instant::now() + remaining);
    }
    let mut answer = Answer {
        text: String::new(),
        finish_reason: String::new(),
        input_tokens: None,
        output_tokens: None,
        first_token_at: None,
        attempts: Vec::new(),
        steps: Vec::new(),
    };
    let models: Vec<&String> = std::iter::once(&routed.decision.model_id)
        .chain(routed.decision.fallbacks.iter())
        .collect();
    let mut last_error: Option<InvokeError> = None;
    let mut answered_by: Option<CallableModel> = None;
    let mut cancelled = false;
    'models: for model_id in models {
        let Some(callable) = router.view.callable(model_id) else {
            last_error = Some(InvokeError::new(
                FailureKind::Unavailable,
                format!("model {model_id} is not callable here"),
            ));
            continue;
        };
        if let Some(previous) = answer.steps.last().map(|step| step.model_id.clone())
            && !answer.text.is_empty()
            && previous != *model_id
        {
            sink.send(stream_chunk::Chunk::Switched(proto::Switch {
                from_model: previous,
                to_model: model_id.clone(),
                reason: last_error
                    .as_ref()
                    .map(|error| error.message.clone())
                    .unwrap_or_default(),
            }))
            .await;
        }
        let target = match target_of(router, &callable).await {
            Ok(target) => target,
            Err(error) => {
                last_error = Some(error);
                continue;
            }
        };
        let (thermal_state, health_status) = router
            .view
            .live_state_of(&callable.provider.provider_id, model_id);
        for attempt in 1..=invocation.attempts_per_model {
            if tokio::time::Instant::now() >= deadline {
                last_error = Some(InvokeError::new(
                    FailureKind::Timeout,
                    "the answer's time ran out",
                ));
                break 'models;
            }
            let text_before = answer.text.len();
            let this_prompt = if answer.text.is_empty() {
                prompt.clone()
            } else {
                continuation(&prompt, &answer.text)
            };
            let try_started = Instant::now();
            let outcome = if sink.is_streaming() {
                try_streamed(
                    router,
                    &target,
                    &this_prompt,
                    &mut answer,
                    sink,
                    &cancel,
                    deadline,
                )
                .await
            } else {
                try_whole(
                    router,
                    &target,
                    &this_prompt,
                    &mut answer,
                    &cancel,
                    deadline,
                )
                .await
            };
            let latency = try_started.elapsed();
            let produced = (answer.text.len() - text_before) as u32;
            let (success, error) = match &outcome {
                TryOutcome::Done => (true, String::new()),
                TryOutcome::Cancelled => (true, "cancelled by the caller".to_string()),
                TryOutcome::Failed(error) => (false, error.message.clone()),
            };
            answer.attempts.push(proto::Attempt {
                model_id: model_id.clone(),
                provider_id: callable.provider.provider_id.clone(),
                attempt,
                success,
                error: error.clone(),
                latency_ms: latency.as_secs_f64() * 1_000.0,
                output_chars: produced,
            });
            answer.steps.push(ExecutionStep {
                model_id: model_id.clone(),
                model_version: crate::routing::model_version(&callable.model),
                provider_id: callable.provider.provider_id.clone(),
                attempt,
                success,
                error,
                latency_ms: latency.as_secs_f64() * 1_000.0,
                thermal_state: thermal_state.clone(),
                health_status: health_status.clone(),
            });
            match outcome {
                TryOutcome::Done => {
                    observe(router, &callable, true, latency, "");
                    answered_by = Some(callable);
                    break 'models;
                }
                TryOutcome::Cancelled => {
                    cancelled = true;
                    answered_by = Some(callable);
                    break 'models;
                }
                TryOutcome::Failed(error) => {
                    if error.counts_against_provider() {
                        observe(router, &callable, false, latency, &error.message);
                    }
                    tracing::info!(%model_id, attempt, error = %error.message, produced, "model call failed");
                    let retry_here = error.is_retryable() && produced == 0;
                    last_error = Some(error);
                    if !retry_here {
                        // a partial answer is continued by the next model, not restarted
                        continue 'models;
                    }
                    if attempt < invocation.attempts_per_model {
                        tokio::time::sleep(Duration::from_millis(
                            invocation.retry_backoff_ms * u64::from(attempt),
                        ))
                        .await;
                    }
                }
            }
        }
    }
    let latency = started.elapsed();
    let model = answered_by.as_ref().map(|callable| &callable.model);
    let output_tokens = answer
        .output_tokens
        .unwrap_or_else(|| u64::from(estimate_tokens(&answer.text)));
    let input_tokens = answer
        .input_tokens
        .unwrap_or_else(|| u64::from(routed.input_tokens));
    let cost_usd = model
        .map(|model| {
            router
                .view
                .candidate_of(model)
                .estimated_cost(input_tokens as u32, output_tokens as u32)
        })
        .unwrap_or(0.0);
    let finish_reason = if cancelled {
        "cancelled".to_string()
    } else if answer.finish_reason.is_empty() {
        "stop".to_string()
    } else {
        answer.finish_reason.clone()
    };
    let completion = Completion {
        output_id: output_id.clone(),
        model_id: model
            .map(|model| model.model_id.clone())
            .unwrap_or_else(|| routed.decision.model_id.clone()),
        provider_id: model
            .map(|model| model.provider_id.clone())
            .unwrap_or_else(|| routed.decision.provider_id.clone()),
        text: answer.text.clone(),
        finish_reason,
        input_tokens,
        output_tokens,
        cost_usd,
        latency_ms: latency.as_secs_f64() * 1_000.0,
        time_to_first_token_ms: answer
            .first_token_at
            .map(|at| at.duration_since(started).as_secs_f64() * 1_000.0)
            .unwrap_or(0.0),
        attempts: answer.attempts.clone(),
        decision: Some(routed.proto.clone()),
        partial: cancelled,
    };
    let success = answered_by.is_some();
    manifest(
        router,
        context,
        routed,
        &completion,
        answer.steps,
        success,
        source,
    );
    if success {
        return Ok(completion);
    }
    let message = match &last_error {
        Some(error) => format!("every model failed; the last error: {}", error.message),
        None => "no model could be called".to_string(),
    };
    let code = match last_error.map(|error| error.kind) {
        Some(FailureKind::Timeout) => ErrorCode::DeadlineExceeded,
        _ => ErrorCode::BadGateway,
    };
    Err((ServiceError::new(code, message), completion))
}

fn manifest(
    router: &BrainRouter,
    context: &RequestContext,
    routed: &Routed,
    completion: &Completion,
    steps: Vec<ExecutionStep>,
    success: bool,
    source: &str,
) {
    let last = steps.last();
    router
        .recorder
        .record(Record::Manifest(Box::new(ExecutionManifest {
            output_id: completion.output_id.clone(),
            decision_id: routed.decision_id.to_string(),
            tenant_id: routed.tenant_id.to_string(),
            user_id: routed.user_id.clone(),
            request_id: context.request_id.clone(),
            model_id: completion.model_id.clone(),
            model_version: last
                .map(|step| step.model_version.clone())
                .unwrap_or_default(),
            provider_id: completion.provider_id.clone(),
            thermal_state: last
                .map(|step| step.thermal_state.clone())
                .unwrap_or_default(),
            health_status: last
                .map(|step| step.health_status.clone())
                .unwrap_or_default(),
            task_type: routed.proto.task_type.clone(),
            reasoning: routed.proto.summary.clone(),
            confidence: routed.decision.confidence,
            user_override: routed.proto.basis == "requested",
            requested_model: routed.requested_model.clone(),
            input_tokens: completion.input_tokens,
            output_tokens: completion.output_tokens,
            latency_ms: completion.latency_ms,
            time_to_first_token_ms: completion.time_to_first_token_ms,
            cost_usd: completion.cost_usd,
            finish_reason: completion.finish_reason.clone(),
            partial: completion.partial,
            success,
            steps,
            created_at_ms: crate::live::now_ms(),
            source: source.to_string(),
        })));
}
