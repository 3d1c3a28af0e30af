//! The registry through NATS: the seeded and imported catalogue, selection on live state
//! streamed in as events, admin writes and their refusals, workflows, credentials, thermal.

mod support;

use std::time::Duration;

use radiant_bus::ErrorCode;
use radiant_bus::subjects::registry as subjects;
use radiant_db::sea_orm::{ConnectionTrait, DbBackend, Statement};
use radiant_proto::events::{ModelThermalObserved, ProviderHealthObserved};
use radiant_proto::registry::*;
use radiant_testkit::eventually;
use support::{admin, service, spawn_registry, user};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn observation(
    provider: &str,
    success: bool,
    latency_ms: f64,
    observed_at_ms: i64,
) -> ProviderHealthObserved {
    ProviderHealthObserved {
        provider_id: provider.to_string(),
        success,
        latency_ms,
        error: if success {
            String::new()
        } else {
            "503 from upstream".to_string()
        },
        observed_at_ms,
        source: "test".to_string(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_seed_catalogue_has_the_seeds_models_alphafold_and_the_local_models() {
    let registry = spawn_registry().await;
    let listed: ListModelsResponse = registry
        .call(
            &user(),
            subjects::MODELS_LIST,
            &ListModelsRequest {
                hosting: "self_hosted".into(),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // 56 seed models (AlphaFold 2 among them) + 8 inference-host endpoints
    assert_eq!(
        listed.total,
        64,
        "{:?}",
        listed
            .models
            .iter()
            .map(|m| &m.model_id)
            .collect::<Vec<_>>()
    );
    let config: ModelConfig = registry
        .call(
            &user(),
            subjects::MODELS_CONFIG,
            &GetModelRequest {
                model_id: "alphafold2".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(config.licenses.len(), 3);
    assert!(
        config
            .licenses
            .iter()
            .any(|license| license.spdx_id == "CC-BY-SA-4.0" && license.share_alike)
    );
    assert_eq!(config.dependencies.len(), 5);
    assert_eq!(config.workflow_ids, vec!["protein-folding-alphafold2"]);
    assert_eq!(config.model.unwrap().min_tier, 4);
    let workflow: Workflow = registry
        .call(
            &user(),
            subjects::WORKFLOWS_GET,
            &GetWorkflowRequest {
                workflow_id: "protein-folding-alphafold2".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(workflow.tasks.len(), 6);
    let prediction = workflow
        .tasks
        .iter()
        .find(|task| task.task_id == "structure_prediction")
        .unwrap();
    assert_eq!(prediction.depends_on.len(), 2);
    let llama: Model = registry
        .call(
            &user(),
            subjects::MODELS_GET,
            &GetModelRequest {
                model_id: "llama-3.2-11b-vision".into(),
            },
        )
        .await
        .or_else(|_| Ok::<Model, ()>(Model::default()))
        .unwrap();
    if !llama.model_id.is_empty() {
        assert!(llama.license_ids[0].starts_with("LicenseRef-"));
    }
    let missing = registry
        .call::<_, Model>(
            &user(),
            subjects::MODELS_GET,
            &GetModelRequest {
                model_id: "no-such-model".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_full_sync_imports_the_models_dev_catalogue_and_selection_uses_live_health() {
    let registry = spawn_registry().await;
    let run: SyncRun = registry
        .call(
            &admin(),
            subjects::SYNC_TRIGGER,
            &TriggerSyncRequest {
                sync_type: "full".into(),
                wait: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(run.status, "completed", "{:?}", run.errors);
    assert!(run.models_added >= 3000, "{run:?}");
    assert!(run.providers_updated >= 150, "{run:?}");
    // a second run finds nothing new
    let again: SyncRun = registry
        .call(
            &admin(),
            subjects::SYNC_TRIGGER,
            &TriggerSyncRequest {
                sync_type: "full".into(),
                wait: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            again.models_added,
            again.models_deprecated,
            again.prices_updated
        ),
        (0, 0, 0)
    );
    let history: ListSyncRunsResponse = registry
        .call(
            &admin(),
            subjects::SYNC_LIST,
            &ListSyncRunsRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(history.runs.len(), 2);

    // no provider has been heard from: external models rank by id; make two providers known
    let now = now_ms();
    for index in 0..5 {
        registry
            .publish(
                subjects::EVENT_HEALTH_OBSERVED,
                &observation("openai", true, 300.0, now - 5000 + index),
            )
            .await;
        registry
            .publish(
                subjects::EVENT_HEALTH_OBSERVED,
                &observation("anthropic", true, 900.0, now - 5000 + index),
            )
            .await;
    }
    let request = SelectModelsRequest {
        mode: "chat".into(),
        input_modalities: vec!["text".into(), "image".into()],
        min_context_window: 100_000,
        hosting_preference: "external".into(),
        limit: 5,
        ..Default::default()
    };
    let selected = eventually(Duration::from_secs(10), || async {
        let selection: SelectModelsResponse = registry
            .call(&user(), subjects::MODELS_SELECT, &request)
            .await
            .unwrap();
        selection
            .candidates
            .first()
            .is_some_and(|candidate| candidate.provider_id == "openai")
    })
    .await;
    assert!(selected, "the fastest healthy provider's model comes first");
    let selection: SelectModelsResponse = registry
        .call(&user(), subjects::MODELS_SELECT, &request)
        .await
        .unwrap();
    assert!(selection.catalogue_size >= 3000);
    assert!(
        selection
            .candidates
            .iter()
            .all(|candidate| candidate.context_window >= 100_000)
    );

    // openai starts failing: three failures in a row make it unhealthy and it drops out
    let later = now_ms();
    for index in 0..3 {
        registry
            .publish(
                subjects::EVENT_HEALTH_OBSERVED,
                &observation("openai", false, 50.0, later + index),
            )
            .await;
    }
    let dropped = eventually(Duration::from_secs(10), || async {
        let selection: SelectModelsResponse = registry
            .call(&user(), subjects::MODELS_SELECT, &request)
            .await
            .unwrap();
        selection
            .candidates
            .iter()
            .all(|candidate| candidate.provider_id != "openai")
    })
    .await;
    assert!(dropped);
    let health: ProviderHealth = registry
        .call(
            &user(),
            subjects::PROVIDERS_HEALTH,
            &GetProviderHealthRequest {
                provider_id: "openai".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(health.status, "unhealthy");
    assert_eq!(health.last_error, "503 from upstream");
    assert!((health.ewma_latency_ms - 300.0).abs() < 1e-6);

    // a late observation (older than the newest applied) is history only: still unhealthy
    registry
        .publish(
            subjects::EVENT_HEALTH_OBSERVED,
            &observation("openai", true, 10.0, now - 60_000),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let health: ProviderHealth = registry
        .call(
            &user(),
            subjects::PROVIDERS_HEALTH,
            &GetProviderHealthRequest {
                provider_id: "openai".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(health.status, "unhealthy");
    let stored = registry
        .count("SELECT count(*) AS count FROM health_observations WHERE provider_id = 'openai'")
        .await;
    assert_eq!(stored, 9, "every observation is kept");
}

#[tokio::test]
async fn malformed_events_are_dead_lettered_and_the_consumer_goes_on() {
    let registry = spawn_registry().await;
    registry
        .publish_raw(subjects::EVENT_HEALTH_OBSERVED, b"\xff\xff not protobuf")
        .await;
    registry
        .publish(
            subjects::EVENT_HEALTH_OBSERVED,
            &observation("NOT A PROVIDER", true, 1.0, now_ms()),
        )
        .await;
    registry
        .publish(
            subjects::EVENT_THERMAL_OBSERVED,
            &ModelThermalObserved {
                model_id: "smollm2-135m-instruct".into(),
                state: "lukewarm".into(),
                observed_at_ms: now_ms(),
                ..Default::default()
            },
        )
        .await;
    registry
        .publish(
            subjects::EVENT_HEALTH_OBSERVED,
            &observation("inference-host", true, 12.0, now_ms()),
        )
        .await;
    let projected = eventually(Duration::from_secs(10), || async {
        registry
            .registry
            .view
            .with_live(|live| live.health.contains_key("inference-host"))
    })
    .await;
    assert!(projected, "a good event after bad ones is projected");
    assert!(
        registry.dead_letters_reach(3).await,
        "the three malformed events are dead letters"
    );
}

#[tokio::test]
async fn thermal_observations_warm_ups_and_modes_drive_the_state() {
    let registry = spawn_registry().await;
    let model_id = "smollm2-135m-instruct";
    let now = now_ms();
    registry
        .publish(
            subjects::EVENT_THERMAL_OBSERVED,
            &ModelThermalObserved {
                model_id: model_id.into(),
                state: "warm".into(),
                observed_at_ms: now,
                source: "test".into(),
                ..Default::default()
            },
        )
        .await;
    // an out-of-order older observation never overwrites the newer state
    registry
        .publish(
            subjects::EVENT_THERMAL_OBSERVED,
            &ModelThermalObserved {
                model_id: model_id.into(),
                state: "cold".into(),
                observed_at_ms: now - 10_000,
                source: "test".into(),
                ..Default::default()
            },
        )
        .await;
    let warm = eventually(Duration::from_secs(10), || async {
        registry.registry.view.with_live(|live| {
            live.thermal
                .get(model_id)
                .is_some_and(|thermal| thermal.state == "warm")
        })
    })
    .await;
    assert!(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let thermal: ModelThermal = registry
        .call(
            &user(),
            subjects::THERMAL_GET,
            &GetThermalRequest {
                model_id: model_id.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(thermal.state, "warm");

    let off: ModelThermal = registry
        .call(
            &admin(),
            subjects::THERMAL_SET_MODE,
            &SetThermalModeRequest {
                model_id: model_id.into(),
                mode: "off".into(),
                reason: "maintenance".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(off.state, "off");
    let selection: SelectModelsResponse = registry
        .call(
            &user(),
            subjects::MODELS_SELECT,
            &SelectModelsRequest {
                mode: "chat".into(),
                hosting_preference: "self_hosted".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let off_seen = eventually(Duration::from_secs(5), || async {
        let selection: SelectModelsResponse = registry
            .call(
                &user(),
                subjects::MODELS_SELECT,
                &SelectModelsRequest {
                    mode: "chat".into(),
                    hosting_preference: "self_hosted".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        selection
            .candidates
            .iter()
            .all(|candidate| candidate.model_id != model_id)
    })
    .await;
    assert!(off_seen, "an OFF model is not selected: {selection:?}");
    let refused = registry
        .call::<_, ModelThermal>(
            &user(),
            subjects::THERMAL_SET_MODE,
            &SetThermalModeRequest {
                model_id: model_id.into(),
                mode: "automatic".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::PermissionDenied);
    let bad_mode = registry
        .call::<_, ModelThermal>(
            &admin(),
            subjects::THERMAL_SET_MODE,
            &SetThermalModeRequest {
                model_id: model_id.into(),
                mode: "tepid".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_mode.field_violations[0].0, "mode");

    // a warm-up of a SageMaker model keeps it warm until warm_until
    let warmed: ModelThermal = registry
        .call(
            &service(),
            subjects::THERMAL_WARM,
            &WarmUpRequest {
                model_id: "yolov8m".into(),
                keep_warm_seconds: 600,
                requested_by: "brain-router".into(),
            },
        )
        .await
        .unwrap();
    assert!(warmed.warm_until_ms > now_ms() + 500_000);
    // the same by event, for callers that cannot wait (the visual pipeline)
    registry
        .publish(
            subjects::EVENT_WARMUP_REQUESTED,
            &radiant_proto::events::ThermalWarmupRequested {
                model_id: "sam-2".into(),
                keep_warm_seconds: 300,
                requested_by: "visual-pipeline".into(),
                requested_at_ms: now_ms(),
            },
        )
        .await;
    let warmed_by_event = eventually(Duration::from_secs(10), || async {
        registry.registry.view.with_live(|live| {
            live.thermal
                .get("sam-2")
                .is_some_and(|thermal| thermal.warm_until_ms > now_ms() + 200_000)
        })
    })
    .await;
    assert!(warmed_by_event);
    let external = registry
        .call::<_, ModelThermal>(
            &service(),
            subjects::THERMAL_WARM,
            &WarmUpRequest {
                model_id: "inference-host-openai/smollm2-135m-instruct".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(external.code, ErrorCode::InvalidArgument);
    let transitions = registry.count("SELECT count(*) AS count FROM thermal_transitions WHERE model_id = 'smollm2-135m-instruct'").await;
    assert_eq!(transitions, 2, "cold -> warm -> off");
}

fn new_model(model_id: &str) -> Model {
    Model {
        model_id: model_id.to_string(),
        provider_id: "inference-host-openai".to_string(),
        hosting: "external".to_string(),
        category: "llm".to_string(),
        modes: vec!["chat".to_string()],
        input_modalities: vec!["text".to_string()],
        output_modalities: vec!["text".to_string()],
        context_window: 8192,
        ..Default::default()
    }
}

#[tokio::test]
async fn admin_writes_are_validated_audited_and_refused_to_others() {
    let registry = spawn_registry().await;
    let create = |model: Model, licenses: Vec<License>| UpsertModelRequest {
        model: Some(model),
        licenses,
        reason: "onboarding".into(),
        ..Default::default()
    };
    let license = License {
        spdx_id: "MIT".into(),
        commercial_use: true,
        compliance_status: "compliant".into(),
        ..Default::default()
    };
    let created: Model = registry
        .call(
            &admin(),
            subjects::MODELS_CREATE,
            &create(new_model("acme/chat-1"), vec![license.clone()]),
        )
        .await
        .unwrap();
    assert_eq!(created.revision, 1);
    assert_eq!(created.license_ids, vec!["MIT"]);
    let duplicate = registry
        .call::<_, Model>(
            &admin(),
            subjects::MODELS_CREATE,
            &create(new_model("acme/chat-1"), vec![]),
        )
        .await
        .unwrap_err();
    assert_eq!(duplicate.code, ErrorCode::Conflict);
    let forbidden = registry
        .call::<_, Model>(
            &user(),
            subjects::MODELS_CREATE,
            &create(new_model("acme/chat-2"), vec![]),
        )
        .await
        .unwrap_err();
    assert_eq!(forbidden.code, ErrorCode::PermissionDenied);
    for (mutate, field) in [
        (
            (|model: &mut Model| model.category = "cooking".into()) as fn(&mut Model),
            "model.category",
        ),
        (
            |model: &mut Model| model.modes = vec!["juggling".into()],
            "model.modes[0]",
        ),
        (
            |model: &mut Model| model.license_ids = vec!["Apache".into()],
            "model.license_ids[0]",
        ),
    ] {
        let mut model = new_model("acme/chat-3");
        mutate(&mut model);
        let refused = registry
            .call::<_, Model>(&admin(), subjects::MODELS_CREATE, &create(model, vec![]))
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidArgument);
        assert_eq!(refused.field_violations[0].0, field, "{refused:?}");
    }
    let bad_license = License {
        spdx_id: "GPL-4.0".into(),
        ..Default::default()
    };
    let refused = registry
        .call::<_, Model>(
            &admin(),
            subjects::MODELS_CREATE,
            &create(new_model("acme/chat-4"), vec![bad_license]),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.field_violations[0].0, "licenses[0].spdx_id");

    // an update with a stale revision is refused; with the right one it lands and is audited
    let mut changed = new_model("acme/chat-1");
    changed.context_window = 32_768;
    let stale = registry
        .call::<_, Model>(
            &admin(),
            subjects::MODELS_UPDATE,
            &UpsertModelRequest {
                model: Some(changed.clone()),
                expected_revision: 7,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(stale.code, ErrorCode::Conflict);
    let updated: Model = registry
        .call(
            &admin(),
            subjects::MODELS_UPDATE,
            &UpsertModelRequest {
                model: Some(changed),
                expected_revision: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.revision, updated.context_window), (2, 32_768));
    let disabled: Model = registry
        .call(
            &admin(),
            subjects::MODELS_SET_ENABLED,
            &SetModelEnabledRequest {
                model_id: "acme/chat-1".into(),
                enabled: false,
                reason: "license dispute".into(),
            },
        )
        .await
        .unwrap();
    assert!(!disabled.enabled);
    let audit: ListAuditResponse = registry
        .call(
            &admin(),
            subjects::AUDIT_LIST,
            &ListAuditRequest {
                entity_type: "model".into(),
                entity_id: "acme/chat-1".into(),
                limit: 10,
            },
        )
        .await
        .unwrap();
    let actions: Vec<_> = audit
        .entries
        .iter()
        .map(|entry| entry.action.as_str())
        .collect();
    assert_eq!(actions, ["disable", "update", "create"]);
    assert!(
        audit.entries[1].before_json.contains("8192")
            && audit.entries[1].after_json.contains("32768")
    );
    assert_eq!(audit.entries[0].actor, "admin-1");
    assert_eq!(audit.entries[0].summary, "license dispute");
    // the disabled model is never selected
    let gone = eventually(Duration::from_secs(5), || async {
        let selection: SelectModelsResponse = registry
            .call(
                &user(),
                subjects::MODELS_SELECT,
                &SelectModelsRequest {
                    mode: "chat".into(),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        selection
            .candidates
            .iter()
            .all(|candidate| candidate.model_id != "acme/chat-1")
    })
    .await;
    assert!(gone);

    let summary: LicenseComplianceSummary = registry
        .call(
            &admin(),
            subjects::LICENSES_COMPLIANCE,
            &LicenseComplianceRequest {},
        )
        .await
        .unwrap();
    // the three AGPL YOLO models may not be used commercially
    assert!(summary.non_compliant >= 3, "{summary:?}");
    assert!(summary.review_needed >= 1);
    assert!(summary.commercial_ok > 40);
    let stats: RegistryStats = registry
        .call(&admin(), subjects::STATS, &StatsRequest {})
        .await
        .unwrap();
    // 56 seed models, 8 inference-host endpoints, its OpenAI-compatible route, acme/chat-1
    assert_eq!(stats.total_models, 66);
    assert_eq!(stats.workflows, 1);
    let bad_filter = registry
        .call::<_, ListModelsResponse>(
            &user(),
            subjects::MODELS_LIST,
            &ListModelsRequest {
                category: "cooking".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_filter.field_violations[0].0, "category");
    let bad_select = registry
        .call::<_, SelectModelsResponse>(
            &user(),
            subjects::MODELS_SELECT,
            &SelectModelsRequest {
                mode: "teleport".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_select.field_violations[0].0, "mode");
}

#[tokio::test]
async fn workflows_are_checked_dags_and_deletes_are_soft() {
    let registry = spawn_registry().await;
    let task = |id: &str, depends_on: &[&str]| WorkflowTask {
        task_id: id.into(),
        task_type: "inference".into(),
        model_id: "smollm2-135m-instruct".into(),
        depends_on: depends_on.iter().map(|id| id.to_string()).collect(),
        ..Default::default()
    };
    let workflow = |tasks: Vec<WorkflowTask>| Workflow {
        workflow_id: "summarize-then-embed".into(),
        name: "Summarize then embed".into(),
        category: "llm".into(),
        tasks,
        ..Default::default()
    };
    let cyclic = registry
        .call::<_, Workflow>(
            &admin(),
            subjects::WORKFLOWS_CREATE,
            &UpsertWorkflowRequest {
                workflow: Some(workflow(vec![task("a", &["b"]), task("b", &["a"])])),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(cyclic.message.contains("cycle"), "{cyclic:?}");
    let mut unknown_model = task("a", &[]);
    unknown_model.model_id = "no-such-model".into();
    let refused = registry
        .call::<_, Workflow>(
            &admin(),
            subjects::WORKFLOWS_CREATE,
            &UpsertWorkflowRequest {
                workflow: Some(workflow(vec![unknown_model])),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.field_violations[0].0, "workflow.tasks[0].model_id");
    let created: Workflow = registry
        .call(
            &admin(),
            subjects::WORKFLOWS_CREATE,
            &UpsertWorkflowRequest {
                workflow: Some(workflow(vec![task("a", &[]), task("b", &["a"])])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(created.revision, 1);
    let deleted: Workflow = registry
        .call(
            &admin(),
            subjects::WORKFLOWS_DELETE,
            &DeleteWorkflowRequest {
                workflow_id: "summarize-then-embed".into(),
                reason: "replaced".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.workflow_id, "summarize-then-embed");
    let missing = registry
        .call::<_, Workflow>(
            &user(),
            subjects::WORKFLOWS_GET,
            &GetWorkflowRequest {
                workflow_id: "summarize-then-embed".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn credentials_are_encrypted_never_listed_in_plaintext_rotated_and_audited() {
    let registry = spawn_registry().await;
    let secret = "sk-test-0123456789abcdef";
    let first: CredentialInfo = registry
        .call(
            &admin(),
            subjects::CREDENTIALS_SET,
            &SetCredentialRequest {
                provider_id: "sagemaker".into(),
                api_key: secret.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((first.version, first.key_hint.as_str()), (1, "…cdef"));
    let rotated: CredentialInfo = registry
        .call(
            &admin(),
            subjects::CREDENTIALS_SET,
            &SetCredentialRequest {
                provider_id: "sagemaker".into(),
                api_key: "sk-test-rotated-9999".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rotated.version, 2);
    let listed: ListCredentialsResponse = registry
        .call(
            &admin(),
            subjects::CREDENTIALS_LIST,
            &ListCredentialsRequest {},
        )
        .await
        .unwrap();
    let wire = format!("{listed:?}");
    assert!(!wire.contains(secret) && !wire.contains("rotated-9999"));
    assert_eq!(
        listed
            .credentials
            .iter()
            .filter(|credential| credential.active)
            .count(),
        1
    );
    let stored = registry
        .registry
        .database
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT ciphertext FROM credentials",
        ))
        .await
        .unwrap();
    for row in stored {
        let ciphertext: Vec<u8> = row.try_get("", "ciphertext").unwrap();
        assert!(!ciphertext.windows(8).any(|window| window == b"sk-test-"));
    }
    let refused = registry
        .call::<_, ResolvedCredential>(
            &admin(),
            subjects::CREDENTIALS_RESOLVE,
            &ResolveCredentialRequest {
                provider_id: "sagemaker".into(),
                purpose: "invoke".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::PermissionDenied);
    let resolved: ResolvedCredential = registry
        .call(
            &service(),
            subjects::CREDENTIALS_RESOLVE,
            &ResolveCredentialRequest {
                provider_id: "sagemaker".into(),
                purpose: "invoke yolov8m".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (resolved.api_key.as_str(), resolved.version),
        ("sk-test-rotated-9999", 2)
    );
    let listed: ListCredentialsResponse = registry
        .call(
            &admin(),
            subjects::CREDENTIALS_LIST,
            &ListCredentialsRequest {},
        )
        .await
        .unwrap();
    let active = listed
        .credentials
        .iter()
        .find(|credential| credential.active)
        .unwrap();
    assert_eq!(active.use_count, 1);
    let uses = registry
        .count("SELECT count(*) AS count FROM credential_uses WHERE purpose = 'invoke yolov8m'")
        .await;
    assert_eq!(uses, 1);
    let revoked: CredentialInfo = registry
        .call(
            &admin(),
            subjects::CREDENTIALS_REVOKE,
            &RevokeCredentialRequest {
                provider_id: "sagemaker".into(),
                reason: "leaked".into(),
            },
        )
        .await
        .unwrap();
    assert!(!revoked.active);
    let gone = registry
        .call::<_, ResolvedCredential>(
            &service(),
            subjects::CREDENTIALS_RESOLVE,
            &ResolveCredentialRequest {
                provider_id: "sagemaker".into(),
                purpose: "invoke".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(gone.code, ErrorCode::NotFound);
    // the health probe reports providers without keys as unconfigured, never calls them
    let run: SyncRun = registry
        .call(
            &admin(),
            subjects::SYNC_TRIGGER,
            &TriggerSyncRequest {
                sync_type: "health".into(),
                wait: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(run.status, "completed");
    let unconfigured = eventually(Duration::from_secs(10), || async {
        registry.registry.view.with_live(|live| {
            live.health
                .get("sagemaker")
                .is_some_and(|health| health.status == "unconfigured")
        })
    })
    .await;
    assert!(unconfigured);
}

#[tokio::test]
async fn later_syncs_flag_new_models_deprecate_vanished_ones_and_update_prices() {
    // a copy of the snapshot this test may change
    let directory =
        std::env::temp_dir().join(format!("radiant-catalogue-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join("models-dev.sqlite");
    std::fs::copy(support::catalogue_file(), &file).unwrap();
    let path = file.to_string_lossy().to_string();
    let registry =
        support::spawn_registry_with(|config| config.catalogue.models_dev_file = path).await;
    let trigger = |sync_type: &str| TriggerSyncRequest {
        sync_type: sync_type.into(),
        wait: true,
    };
    let first: SyncRun = registry
        .call(&admin(), subjects::SYNC_TRIGGER, &trigger("full"))
        .await
        .unwrap();
    assert!(first.models_added >= 3000);

    let changes = rusqlite::Connection::open(&file).unwrap();
    changes
        .execute_batch(
            "DELETE FROM model_modalities WHERE model_full_id = 'openai:gpt-4o';
             DELETE FROM pricing WHERE model_full_id = 'openai:gpt-4o';
             DELETE FROM experimental_modes WHERE model_full_id = 'openai:gpt-4o';
             DELETE FROM models WHERE full_id = 'openai:gpt-4o';
             UPDATE pricing SET cost_input = 123.0 WHERE model_full_id = 'anthropic:claude-sonnet-4-5' AND experimental_mode_name IS NULL AND min_context = 0;
             INSERT INTO models (full_id, provider_id, id, name, family, attachment, reasoning, tool_call, open_weights, limit_context, limit_output)
               VALUES ('openai:gpt-radiant-test', 'openai', 'gpt-radiant-test', 'GPT Radiant Test', 'gpt', 0, 0, 1, 0, 128000, 4096);
             INSERT INTO model_modalities VALUES ('openai:gpt-radiant-test', 'input', 0, 'text'), ('openai:gpt-radiant-test', 'output', 0, 'text');",
        )
        .unwrap();
    drop(changes);
    let pricing: SyncRun = registry
        .call(&admin(), subjects::SYNC_TRIGGER, &trigger("pricing"))
        .await
        .unwrap();
    assert_eq!(
        (
            pricing.models_added,
            pricing.models_deprecated,
            pricing.prices_updated
        ),
        (0, 0, 1),
        "{pricing:?}"
    );
    let second: SyncRun = registry
        .call(&admin(), subjects::SYNC_TRIGGER, &trigger("full"))
        .await
        .unwrap();
    assert_eq!(
        (
            second.models_added,
            second.models_deprecated,
            second.prices_updated
        ),
        (1, 1, 0),
        "{second:?}"
    );
    let added: Model = registry
        .call(
            &user(),
            subjects::MODELS_GET,
            &GetModelRequest {
                model_id: "openai/gpt-radiant-test".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(added.status, "pending_review");
    let vanished: Model = registry
        .call(
            &user(),
            subjects::MODELS_GET,
            &GetModelRequest {
                model_id: "openai/gpt-4o".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(vanished.status, "deprecated", "kept, never deleted");
    let repriced: Model = registry
        .call(
            &user(),
            subjects::MODELS_GET,
            &GetModelRequest {
                model_id: "anthropic/claude-sonnet-4-5".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(repriced.pricing.unwrap().input_per_million, 123.0);
    // neither the new (pending review) nor the deprecated model is ever selected
    let selection: SelectModelsResponse = registry
        .call(
            &user(),
            subjects::MODELS_SELECT,
            &SelectModelsRequest {
                mode: "chat".into(),
                limit: 100,
                hosting_preference: "external".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        selection
            .candidates
            .iter()
            .all(|candidate| candidate.model_id != "openai/gpt-radiant-test"
                && candidate.model_id != "openai/gpt-4o")
    );
    let _ = std::fs::remove_dir_all(&directory);
}

#[tokio::test]
async fn future_dated_and_redelivered_observations_change_nothing() {
    let registry = spawn_registry().await;
    // one clock a year ahead: refused (dead-lettered), so it cannot freeze the provider
    registry
        .publish(
            subjects::EVENT_HEALTH_OBSERVED,
            &observation("inference-host", true, 5.0, now_ms() + 365 * 24 * 3_600_000),
        )
        .await;
    registry
        .publish(
            subjects::EVENT_HEALTH_OBSERVED,
            &observation("inference-host", true, 7.0, now_ms()),
        )
        .await;
    let projected = eventually(Duration::from_secs(10), || async {
        registry.registry.view.with_live(|live| {
            live.health
                .get("inference-host")
                .is_some_and(|health| health.ewma_latency_ms == 7.0)
        })
    })
    .await;
    assert!(
        projected,
        "the real observation is applied, the future one was not"
    );

    // the same observation delivered twice (a retry after a lost projection) counts once
    let repeated = observation("repeat-provider", false, 9.0, now_ms());
    for _ in 0..2 {
        radiant_registry::live::projector::project_health(
            &registry.registry,
            vec![("id:same-message".to_string(), repeated.clone())],
        )
        .await
        .unwrap();
    }
    let row = registry
        .registry
        .database
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (SELECT count(*) FROM health_observations WHERE provider_id = 'repeat-provider') AS stored, \
             (SELECT consecutive_failures FROM provider_health WHERE provider_id = 'repeat-provider') AS failures",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "stored").unwrap(), 1);
    assert_eq!(row.try_get::<i32>("", "failures").unwrap(), 1);
}

/// Projects the batch and reads back what the live bucket holds for "summary-provider".
async fn project_summary_provider(
    registry: &std::sync::Arc<radiant_registry::registry::Registry>,
    batch: Vec<(String, ProviderHealthObserved)>,
) -> ProviderHealth {
    radiant_registry::live::projector::project_health(registry, batch)
        .await
        .unwrap();
    radiant_registry::live::projector::health_entry(registry, "summary-provider")
        .await
        .expect("projected")
}

#[tokio::test]
async fn a_summary_of_many_calls_weighs_as_its_calls() {
    let registry = spawn_registry().await;
    let start = now_ms() - 10_000;
    // a router's summary of 1000 successful calls of one model, 256 latencies kept
    let summary = ProviderHealthObserved {
        model_id: "smollm2-135m-instruct".into(),
        calls: 1000,
        latencies_ms: (0..256).map(|index| 10.0 + (index % 20) as f32).collect(),
        first_observed_at_ms: start,
        ..observation("summary-provider", true, 19.5, start + 1_000)
    };
    let mut batch = vec![("id:summary".to_string(), summary)];
    // then ten failures, two of them in one millisecond (both count)
    for index in 0..10 {
        let at = start + 2_000 + (index / 2) as i64 * 2;
        batch.push((
            format!("id:failure-{index}"),
            observation("summary-provider", false, 3.0, at),
        ));
    }
    let health = project_summary_provider(&registry.registry, batch).await;
    assert_eq!(health.observations, 1010);
    // the window of 200 calls: the ten failures and 190 of the summary's calls
    assert!((health.error_rate - 0.05).abs() < 1e-9, "{health:?}");
    assert_eq!(health.p95_latency_ms, 28.0, "{health:?}");
    assert!(
        (health.ewma_latency_ms - 19.5).abs() < 1e-6,
        "1000 calls at their mean move the average all the way: {health:?}"
    );
    assert_eq!(health.status, "unhealthy", "ten failures in a row");
    // the demand the thermal manager sees counts calls, not rows
    let demand = radiant_registry::store::live::requests_last_minute(&registry.registry.database)
        .await
        .unwrap();
    assert!(
        demand
            .iter()
            .any(|(model_id, calls)| model_id == "smollm2-135m-instruct" && *calls >= 1000.0),
        "{demand:?}"
    );

    // a later summary ends the failure run and fills the window again
    let recovery = ProviderHealthObserved {
        calls: 300,
        latencies_ms: vec![8.0; 100],
        first_observed_at_ms: start + 3_000,
        ..observation("summary-provider", true, 8.0, start + 4_000)
    };
    let health = project_summary_provider(
        &registry.registry,
        vec![("id:recovery".to_string(), recovery)],
    )
    .await;
    assert_eq!(health.observations, 1310);
    assert_eq!(health.error_rate, 0.0);
    assert_eq!(health.p99_latency_ms, 8.0);
    assert_eq!(health.status, "healthy");

    // summaries that do not add up are refused at the edge
    let failed_summary = ProviderHealthObserved {
        calls: 5,
        ..observation("inference-host", false, 3.0, now_ms())
    };
    let too_many_latencies = ProviderHealthObserved {
        calls: 2,
        latencies_ms: vec![1.0, 2.0, 3.0],
        first_observed_at_ms: now_ms() - 10,
        ..observation("inference-host", true, 3.0, now_ms())
    };
    let not_a_number = ProviderHealthObserved {
        calls: 2,
        latencies_ms: vec![1.0, f32::NAN],
        first_observed_at_ms: now_ms() - 10,
        ..observation("inference-host", true, 3.0, now_ms())
    };
    let samples_without_summary = ProviderHealthObserved {
        latencies_ms: vec![1.0],
        ..observation("inference-host", true, 3.0, now_ms())
    };
    for bad in [
        failed_summary,
        too_many_latencies,
        not_a_number,
        samples_without_summary,
    ] {
        registry
            .publish(subjects::EVENT_HEALTH_OBSERVED, &bad)
            .await;
    }
    assert!(
        registry.dead_letters_reach(4).await,
        "the four bad summaries are dead letters"
    );
    let stored = registry
        .count("SELECT count(*) AS count FROM health_observations WHERE provider_id = 'inference-host' AND calls > 1")
        .await;
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn schedules_run_once_across_replicas_and_interrupted_runs_are_closed() {
    let registry = spawn_registry().await;
    registry
        .registry
        .database
        .execute_unprepared(
            "INSERT INTO sync_runs (sync_id, sync_type, trigger, status, started_at) \
             VALUES ('00000000-0000-7000-8000-000000000001', 'thermal', 'schedule', 'running', now() - interval '1 hour')",
        )
        .await
        .unwrap();
    let interval = Duration::from_secs(60);
    let first = radiant_registry::sync::run_scheduled(&registry.registry, "thermal", interval)
        .await
        .unwrap();
    assert_eq!(first.unwrap().status, "completed");
    // a second replica's tick moments later finds it done
    let second = radiant_registry::sync::run_scheduled(&registry.registry, "thermal", interval)
        .await
        .unwrap();
    assert!(second.is_none());
    let history: ListSyncRunsResponse = registry
        .call(
            &admin(),
            subjects::SYNC_LIST,
            &ListSyncRunsRequest {
                sync_type: "thermal".into(),
                limit: 10,
            },
        )
        .await
        .unwrap();
    let statuses: Vec<_> = history.runs.iter().map(|run| run.status.as_str()).collect();
    assert_eq!(statuses, ["completed", "failed"]);
    assert!(history.runs[1].errors[0].starts_with("interrupted"));
    // a non-admin never sees disabled models, whatever they ask
    let request = ListModelsRequest {
        include_disabled: true,
        limit: 500,
        ..Default::default()
    };
    registry
        .call::<_, Model>(
            &admin(),
            subjects::MODELS_SET_ENABLED,
            &SetModelEnabledRequest {
                model_id: "yolov8m".into(),
                enabled: false,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let seen: ListModelsResponse = registry
        .call(&user(), subjects::MODELS_LIST, &request)
        .await
        .unwrap();
    assert!(seen.models.iter().all(|model| model.enabled));
    let seen: ListModelsResponse = registry
        .call(&admin(), subjects::MODELS_LIST, &request)
        .await
        .unwrap();
    assert!(seen.models.iter().any(|model| !model.enabled));
}
