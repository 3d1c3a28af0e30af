//! Routing and answering against a real registry and the inference host's SmolLM2: whole and
//! streamed answers, the refusals (400, 403, 404, 503), retries and fallbacks when a provider
//! fails before or after its first token, cancellation, health events, routing history,
//! manifests and rules.

mod support;

use std::time::Duration;

use radiant_bus::ErrorCode;
use radiant_bus::subjects::{REGISTRY, brain as subjects, registry as registry_subjects};
use radiant_db::sea_orm::{ConnectionTrait, DbBackend, Statement};
use radiant_proto::brain::{
    Completion, ListHistoryRequest, ListHistoryResponse, RouteDecision, RouteRequest, RoutingRule,
    RuleConditions, stream_chunk::Chunk,
};
use radiant_proto::registry::{GetProviderHealthRequest, Model, ProviderHealth};
use radiant_testkit::eventually;
use support::*;

#[tokio::test]
async fn auto_is_answered_by_smollm2_and_the_decision_is_explained_recorded_and_manifested() {
    let platform = spawn_platform().await;
    let context = platform.user();
    let completion: Completion = platform
        .call(
            &context,
            subjects::CHAT_COMPLETE,
            &ask("auto", "What is the capital of France?", 12),
        )
        .await
        .expect("an answer");
    assert!(
        completion.model_id == LOCAL_MODEL || completion.model_id == OPENAI_MODEL,
        "{}",
        completion.model_id
    );
    assert!(!completion.text.trim().is_empty());
    assert!(completion.output_tokens > 0 && completion.input_tokens > 0);
    assert_eq!(completion.attempts.len(), 1);
    let decision = completion.decision.clone().unwrap();
    assert_eq!(decision.basis, "scores");
    assert!(decision.summary.len() > 10, "{}", decision.summary);
    assert!(decision.considered >= 2);

    // routing history, written off the request's path
    let history_context = context.clone();
    assert!(
        eventually(Duration::from_secs(10), || {
            let platform = &platform;
            let context = history_context.clone();
            let decision_id = decision.decision_id.clone();
            async move {
                let history: ListHistoryResponse = platform
                    .call(
                        &context,
                        subjects::HISTORY_LIST,
                        &ListHistoryRequest::default(),
                    )
                    .await
                    .unwrap();
                history
                    .records
                    .iter()
                    .any(|record| record.decision_id == decision_id)
            }
        })
        .await,
        "the decision is in routing history"
    );
    // another tenant sees none of it
    let other = radiant_bus::RequestContext::for_tenant(uuid::Uuid::now_v7(), "user-1");
    let history: ListHistoryResponse = platform
        .call(
            &other,
            subjects::HISTORY_LIST,
            &ListHistoryRequest::default(),
        )
        .await
        .unwrap();
    assert!(history.records.is_empty());

    // the execution manifest is on JetStream
    let stream_name = platform.test.namespace.stream_name(subjects::EVENTS_STREAM);
    let subject = platform
        .test
        .namespace
        .event_subject(subjects::EVENT_DOMAIN, subjects::EVENT_EXECUTION_MANIFEST);
    let mut manifest = None;
    for _ in 0..100 {
        let stream = platform
            .test
            .jetstream
            .get_stream(&stream_name)
            .await
            .unwrap();
        if let Ok(message) = stream.get_last_raw_message_by_subject(&subject).await {
            manifest = Some(
                <radiant_proto::events::ExecutionManifest as prost::Message>::decode(
                    message.payload,
                )
                .unwrap(),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let manifest = manifest.expect("a manifest");
    assert_eq!(manifest.output_id, completion.output_id);
    assert_eq!(manifest.model_id, completion.model_id);
    assert!(manifest.success && !manifest.user_override);
    assert_eq!(manifest.steps.len(), 1);
    assert!(
        !manifest.steps[0].thermal_state.is_empty() && !manifest.steps[0].health_status.is_empty()
    );
    platform.stop().await;
}

#[tokio::test]
async fn a_streamed_answer_arrives_in_pieces_that_add_up_to_the_completion() {
    let platform = spawn_platform().await;
    let chunks = platform
        .stream(
            &platform.user(),
            ask(LOCAL_MODEL, "Count from one to five.", 16),
            None,
        )
        .await
        .unwrap();
    let mut text = String::new();
    let mut sequence = 0;
    for chunk in &chunks {
        assert!(chunk.sequence > sequence, "chunks arrive in order");
        sequence = chunk.sequence;
        if let Some(Chunk::Delta(delta)) = &chunk.chunk {
            text.push_str(delta);
        }
    }
    let Some(Chunk::Finished(completion)) = &chunks.last().unwrap().chunk else {
        panic!("the stream ends finished: {:?}", chunks.last());
    };
    assert!(chunks.len() >= 3, "several deltas and the end");
    assert_eq!(completion.text, text);
    assert_eq!(completion.model_id, LOCAL_MODEL);
    assert_eq!(completion.decision.as_ref().unwrap().basis, "requested");
    assert!(
        completion.time_to_first_token_ms > 0.0
            && completion.time_to_first_token_ms <= completion.latency_ms
    );
    // the self-hosted call went through the SageMaker runtime's response stream
    assert!(
        platform
            .proxy
            .calls()
            .iter()
            .any(|call| call.ends_with("/invocations-response-stream"))
    );
    platform.stop().await;
}

#[tokio::test]
async fn bad_requests_are_refused_with_their_status_and_reason() {
    let platform = spawn_platform().await;
    let context = platform.user();
    let route = |request: RouteRequest| {
        let platform = &platform;
        let context = context.clone();
        async move {
            platform
                .call::<_, RouteDecision>(&context, subjects::ROUTE, &request)
                .await
                .unwrap_err()
        }
    };
    let base = ask("auto", "hello", 8).route.unwrap();

    let error = route(RouteRequest {
        messages: vec![],
        ..base.clone()
    })
    .await;
    assert_eq!(error.code, ErrorCode::InvalidArgument, "{error}");
    let mut empty = base.clone();
    empty.messages[0].content = "  ".to_string();
    assert_eq!(route(empty).await.code, ErrorCode::InvalidArgument);
    let mut bad_role = base.clone();
    bad_role.messages[0].role = "tool".to_string();
    assert_eq!(route(bad_role).await.code, ErrorCode::InvalidArgument);

    let error = route(RouteRequest {
        model: "nobody/never-heard-of".to_string(),
        ..base.clone()
    })
    .await;
    assert_eq!(error.code, ErrorCode::NotFound, "{error}");

    // beyond every model's context: 400 naming the limit
    let mut long = base.clone();
    long.messages[0].content = "word ".repeat(20_000);
    let error = route(long).await;
    assert_eq!(error.code, ErrorCode::InvalidArgument, "{error}");
    assert!(error.message.contains("4096"), "{error}");

    // nothing reads audio: 503 with the reason
    let error = route(RouteRequest {
        needs_audio: true,
        ..base.clone()
    })
    .await;
    assert_eq!(error.code, ErrorCode::Unavailable, "{error}");
    assert!(error.message.contains("audio"), "{error}");

    // a model above the caller's plan, asked for by name: 403
    let mut premium: Model = platform
        .bus
        .call(
            &REGISTRY,
            registry_subjects::MODELS_GET,
            &platform.admin(),
            &radiant_proto::registry::GetModelRequest {
                model_id: LOCAL_MODEL.to_string(),
            },
        )
        .await
        .unwrap();
    premium.model_id = "smollm2-enterprise".to_string();
    premium.min_tier = 5;
    premium.source = String::new();
    premium.live = None;
    let _: Model = platform
        .bus
        .call(
            &REGISTRY,
            registry_subjects::MODELS_CREATE,
            &platform.admin(),
            &radiant_proto::registry::UpsertModelRequest {
                model: Some(premium),
                reason: "test".to_string(),
                ..Default::default()
            },
        )
        .await
        .expect("model created");
    let error = route(RouteRequest {
        model: "smollm2-enterprise".to_string(),
        ..base.clone()
    })
    .await;
    assert_eq!(error.code, ErrorCode::PermissionDenied, "{error}");
    let mut enterprise = context.clone();
    enterprise.tier = Some("enterprise".to_string());
    let decision: RouteDecision = platform
        .call(
            &enterprise,
            subjects::ROUTE,
            &RouteRequest {
                model: "smollm2-enterprise".to_string(),
                ..base.clone()
            },
        )
        .await
        .expect("an enterprise plan may use it");
    assert_eq!(decision.model_id, "smollm2-enterprise");

    // no tenant: refused
    let error = platform
        .call::<_, RouteDecision>(
            &radiant_bus::RequestContext::internal(),
            subjects::ROUTE,
            &base,
        )
        .await
        .unwrap_err();
    assert_ne!(error.code, ErrorCode::Internal);
    platform.stop().await;
}

#[tokio::test]
async fn a_provider_failing_before_its_first_token_is_retried_then_replaced_and_reported() {
    let platform = spawn_platform().await;
    platform.proxy.arm(OPENAI_PATH, FaultKind::Status(503), 100);
    let completion: Completion = platform
        .call(
            &platform.user(),
            subjects::CHAT_COMPLETE,
            &ask(OPENAI_MODEL, "Say hi.", 8),
        )
        .await
        .expect("the fallback answers");
    assert_eq!(completion.model_id, LOCAL_MODEL);
    let failed: Vec<_> = completion
        .attempts
        .iter()
        .filter(|attempt| !attempt.success)
        .collect();
    assert_eq!(
        failed.len(),
        2,
        "two tries of the failing model: {:?}",
        completion.attempts
    );
    assert!(
        failed
            .iter()
            .all(|attempt| attempt.model_id == OPENAI_MODEL && attempt.error.contains("503"))
    );
    assert!(completion.attempts.last().unwrap().success);

    // streamed, a failure before the first token is retried on the same model
    platform
        .proxy
        .arm(SAGEMAKER_PATH, FaultKind::Status(503), 1);
    let chunks = platform
        .stream(&platform.user(), ask(LOCAL_MODEL, "Say hi.", 8), None)
        .await
        .unwrap();
    assert!(
        !chunks
            .iter()
            .any(|chunk| matches!(chunk.chunk, Some(Chunk::Switched(_))))
    );
    let Some(Chunk::Finished(streamed)) = &chunks.last().unwrap().chunk else {
        panic!("finished")
    };
    assert_eq!(streamed.model_id, LOCAL_MODEL);
    assert_eq!(streamed.attempts.len(), 2, "{:?}", streamed.attempts);
    assert!(!streamed.attempts[0].success && streamed.attempts[1].success);

    // the registry hears of it within seconds
    let bus = platform.bus.clone();
    assert!(
        eventually(Duration::from_secs(10), || {
            let bus = bus.clone();
            async move {
                let health: Result<ProviderHealth, _> = bus
                    .call(
                        &REGISTRY,
                        registry_subjects::PROVIDERS_HEALTH,
                        &radiant_bus::RequestContext::internal(),
                        &GetProviderHealthRequest {
                            provider_id: "inference-host-openai".to_string(),
                        },
                    )
                    .await;
                health.is_ok_and(|health| health.last_failure_at_ms > 0 && health.error_rate > 0.0)
            }
        })
        .await,
        "the failures are in the registry's live state"
    );
    // and the router stops choosing it: asked for by name, it is refused with the reason
    let request = ask(OPENAI_MODEL, "Say hi.", 8).route.unwrap();
    let user = platform.user();
    assert!(
        eventually(Duration::from_secs(10), || {
            let platform = &platform;
            let request = request.clone();
            let user = user.clone();
            async move {
                platform
                    .call::<_, RouteDecision>(&user, subjects::ROUTE, &request)
                    .await
                    .is_err_and(|error| {
                        error.code == ErrorCode::Unavailable && error.message.contains("unhealthy")
                    })
            }
        })
        .await,
        "an unhealthy provider is no longer routed to"
    );
    platform.stop().await;
}

#[tokio::test]
async fn a_stream_cut_after_its_first_token_is_continued_by_the_fallback() {
    let platform = spawn_platform().await;
    platform
        .proxy
        .arm(OPENAI_PATH, FaultKind::CutAfterFirstToken, 1);
    let chunks = platform
        .stream(
            &platform.user(),
            ask(OPENAI_MODEL, "List three colours.", 16),
            None,
        )
        .await
        .unwrap();
    let switched: Vec<_> = chunks
        .iter()
        .filter_map(|chunk| match &chunk.chunk {
            Some(Chunk::Switched(switch)) => Some(switch.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(switched.len(), 1, "{chunks:?}");
    assert_eq!(switched[0].from_model, OPENAI_MODEL);
    assert_eq!(switched[0].to_model, LOCAL_MODEL);
    let Some(Chunk::Finished(completion)) = &chunks.last().unwrap().chunk else {
        panic!("finished: {:?}", chunks.last())
    };
    let text: String = chunks
        .iter()
        .filter_map(|chunk| match &chunk.chunk {
            Some(Chunk::Delta(delta)) => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        completion.text, text,
        "one coherent answer: what was sent is what is recorded"
    );
    assert!(completion.attempts[0].output_chars > 0 && !completion.attempts[0].success);
    assert!(completion.attempts.last().unwrap().success);
    assert_eq!(completion.model_id, LOCAL_MODEL);
    platform.stop().await;
}

#[tokio::test]
async fn a_hanging_provider_times_out_into_the_fallback() {
    let platform = spawn_platform_with(|config| {
        config.invocation.first_token_timeout_ms = 1_500;
        config.invocation.attempts_per_model = 1;
    })
    .await;
    // the local model loads first, so its cold start is not taken for a hang
    let _: Completion = platform
        .call(
            &platform.user(),
            subjects::CHAT_COMPLETE,
            &ask(LOCAL_MODEL, "Say hi.", 2),
        )
        .await
        .unwrap();
    platform.proxy.arm(OPENAI_PATH, FaultKind::Hang, 10);
    let chunks = platform
        .stream(&platform.user(), ask(OPENAI_MODEL, "Say hi.", 8), None)
        .await
        .unwrap();
    let Some(Chunk::Finished(completion)) = &chunks.last().unwrap().chunk else {
        panic!("finished: {:?}", chunks.last())
    };
    assert_eq!(completion.model_id, LOCAL_MODEL);
    assert!(
        completion.attempts[0].error.contains("timeout"),
        "{:?}",
        completion.attempts
    );
    platform.stop().await;
}

#[tokio::test]
async fn every_model_failing_is_a_bad_gateway_with_the_tries() {
    let platform = spawn_platform().await;
    platform.proxy.arm(OPENAI_PATH, FaultKind::Status(500), 100);
    platform
        .proxy
        .arm(SAGEMAKER_PATH, FaultKind::Status(500), 100);
    let chunks = platform
        .stream(&platform.user(), ask(OPENAI_MODEL, "Say hi.", 8), None)
        .await
        .unwrap();
    let Some(Chunk::Failed(failure)) = &chunks.last().unwrap().chunk else {
        panic!("failed")
    };
    assert_eq!(failure.code, "bad_gateway");
    assert!(failure.partial.as_ref().unwrap().attempts.len() >= 3);
    // the failures just reported reach the registry within milliseconds, so the next request
    // meets either the same failing calls or a provider already marked unhealthy
    let error = platform
        .call::<_, Completion>(
            &platform.user(),
            subjects::CHAT_COMPLETE,
            &ask(OPENAI_MODEL, "Say hi.", 8),
        )
        .await
        .unwrap_err();
    assert!(
        error.code == ErrorCode::BadGateway
            || (error.code == ErrorCode::Unavailable && error.message.contains("unhealthy")),
        "{error}"
    );
    platform.stop().await;
}

#[tokio::test]
async fn a_cancelled_stream_finishes_with_what_it_has_marked_partial() {
    let platform = spawn_platform().await;
    let chunks = platform
        .stream(
            &platform.user(),
            ask(LOCAL_MODEL, "Write a long story about a dragon.", 200),
            Some(2),
        )
        .await
        .unwrap();
    let Some(Chunk::Finished(completion)) = &chunks.last().unwrap().chunk else {
        panic!("finished")
    };
    assert!(completion.partial);
    assert_eq!(completion.finish_reason, "cancelled");
    assert!(!completion.text.is_empty());
    assert!(completion.output_tokens < 200);
    platform.stop().await;
}

#[tokio::test]
async fn a_tenant_rule_routes_its_requests_and_only_admins_write_rules() {
    let platform = spawn_platform().await;
    let rule = RoutingRule {
        name: "code to the local model".to_string(),
        priority: 10,
        conditions: Some(RuleConditions {
            task_type: "code".to_string(),
            ..Default::default()
        }),
        target_model: LOCAL_MODEL.to_string(),
        active: true,
        ..Default::default()
    };
    let error = platform
        .call::<_, RoutingRule>(&platform.user(), subjects::RULES_UPSERT, &rule)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::PermissionDenied);
    let missing = RoutingRule {
        target_model: "nobody/none".to_string(),
        ..rule.clone()
    };
    let error = platform
        .call::<_, RoutingRule>(&platform.admin(), subjects::RULES_UPSERT, &missing)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::NotFound);
    let stored: RoutingRule = platform
        .call(&platform.admin(), subjects::RULES_UPSERT, &rule)
        .await
        .expect("an admin writes the rule");
    let mut request = ask("auto", "Write a Rust function that reverses a string.", 8)
        .route
        .unwrap();
    request.task_type = "code".to_string();
    let decision: RouteDecision = platform
        .call(&platform.user(), subjects::ROUTE, &request)
        .await
        .unwrap();
    assert_eq!(decision.basis, "rule");
    assert_eq!(decision.rule_id, stored.rule_id);
    assert_eq!(decision.model_id, LOCAL_MODEL);
    // other tenants are not bound by it
    let other = radiant_bus::RequestContext::for_tenant(uuid::Uuid::now_v7(), "u");
    let decision: RouteDecision = platform
        .call(&other, subjects::ROUTE, &request)
        .await
        .unwrap();
    assert_eq!(decision.basis, "scores");
    // deleted: scores again
    let _: radiant_proto::brain::DeleteRuleResponse = platform
        .call(
            &platform.admin(),
            subjects::RULES_DELETE,
            &radiant_proto::brain::DeleteRuleRequest {
                rule_id: stored.rule_id.clone(),
            },
        )
        .await
        .unwrap();
    let decision: RouteDecision = platform
        .call(&platform.user(), subjects::ROUTE, &request)
        .await
        .unwrap();
    assert_eq!(decision.basis, "scores");
    platform.stop().await;
}

#[tokio::test]
async fn the_task_is_classified_by_embeddings_once_they_answer() {
    let platform = spawn_platform().await;
    let router = platform.router.as_ref().unwrap().router().clone();
    assert!(
        eventually(Duration::from_secs(60), || {
            let router = router.clone();
            async move { router.classifier.is_ready() }
        })
        .await,
        "the prototypes get embedded"
    );
    let mut request = ask(
        "auto",
        "Fix the bug in this Python function: def add(a, b): return a - b",
        8,
    )
    .route
    .unwrap();
    request.model = "auto".to_string();
    let decision: RouteDecision = platform
        .call(&platform.user(), subjects::ROUTE, &request)
        .await
        .unwrap();
    assert_eq!(decision.task_source, "embeddings");
    assert_eq!(decision.task_type, "code");
    platform.stop().await;
}

#[tokio::test]
async fn successful_answers_reach_the_registry_as_one_summary_and_failures_at_once() {
    let platform = spawn_platform_with(|config| {
        config.recording.health_summary_interval_ms = 5_000;
    })
    .await;
    let context = platform.user();
    let answers = futures::future::join_all((0..6).map(|index| {
        let platform = &platform;
        let context = context.clone();
        async move {
            platform
                .call::<_, Completion>(
                    &context,
                    subjects::CHAT_COMPLETE,
                    &ask(LOCAL_MODEL, &format!("Count to {index}."), 4),
                )
                .await
        }
    }))
    .await;
    for answer in &answers {
        assert_eq!(answer.as_ref().expect("an answer").model_id, LOCAL_MODEL);
    }
    let registry = platform.registry.as_ref().unwrap().registry().clone();
    let summarised = || {
        let registry = registry.clone();
        async move {
            let row = registry
                .database
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!(
                        "SELECT count(*) AS row_count, coalesce(sum(calls), 0)::int8 AS call_count, \
                         coalesce(max(cardinality(latencies_ms)), 0)::int8 AS most_latencies \
                         FROM health_observations WHERE source = 'router' AND model_id = '{LOCAL_MODEL}'"
                    ),
                ))
                .await
                .unwrap()
                .unwrap();
            (
                row.try_get::<i64>("", "row_count").unwrap(),
                row.try_get::<i64>("", "call_count").unwrap(),
                row.try_get::<i64>("", "most_latencies").unwrap(),
            )
        }
    };
    assert!(
        eventually(Duration::from_secs(20), || async {
            summarised().await.1 == 6
        })
        .await,
        "the six calls reach the registry: {:?}",
        summarised().await
    );
    let (rows, calls, most_latencies) = summarised().await;
    assert_eq!(calls, 6);
    assert!(
        rows < 6,
        "fewer rows than calls: the successes came summarised ({rows} rows)"
    );
    assert!(most_latencies > 1, "a summary keeps its calls' latencies");

    // a failure does not wait for the interval
    platform
        .proxy
        .arm(SAGEMAKER_PATH, FaultKind::Status(503), 100);
    // (the fallback may answer it; the failed tries are what counts here)
    let _ = platform
        .call::<_, Completion>(
            &context,
            subjects::CHAT_COMPLETE,
            &ask(LOCAL_MODEL, "Say hi.", 4),
        )
        .await;
    let failure_seen = eventually(Duration::from_secs(4), || {
        let registry = registry.clone();
        async move {
            registry
                .database
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!(
                        "SELECT count(*) AS failures FROM health_observations \
                         WHERE source = 'router' AND model_id = '{LOCAL_MODEL}' AND NOT success"
                    ),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "failures")
                .unwrap()
                > 0
        }
    })
    .await;
    assert!(
        failure_seen,
        "the failure is reported before the interval ends"
    );
}
