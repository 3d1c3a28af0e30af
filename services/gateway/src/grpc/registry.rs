//! `radiant.registry.v1.RegistryService`: each RPC authenticates the caller (admin RPCs need
//! the admin role) and forwards the same message to the registry's NATS endpoint.

use radiant_bus::subjects::{REGISTRY, registry as subjects};
use radiant_proto::registry::registry_service_server::RegistryService;
use radiant_proto::registry::*;
use tonic::{Request, Response, Status};

use super::{authenticate, authenticate_admin, to_status};
use crate::state::AppState;

pub struct RegistryGrpc {
    state: AppState,
}

impl RegistryGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    async fn forward<Req: prost::Message, Resp: prost::Message + Default>(
        &self,
        endpoint: &str,
        request: Request<Req>,
        admin_only: bool,
    ) -> Result<Response<Resp>, Status> {
        let context = if admin_only {
            authenticate_admin(&self.state, request.metadata()).await?
        } else {
            authenticate(&self.state, request.metadata()).await?
        };
        let (bus, context) = if endpoint == subjects::SYNC_TRIGGER {
            // a full import waited for takes seconds: the long deadline
            let timeout = self.state.config.http.upload_complete_timeout();
            (
                self.state.bus.with_timeout(timeout),
                context.with_deadline_in(timeout),
            )
        } else {
            (self.state.bus.clone(), context)
        };
        let response = bus
            .call(&REGISTRY, endpoint, &context, request.get_ref())
            .await
            .map_err(|error| to_status(error.to_service_error()))?;
        Ok(Response::new(response))
    }
}

// the RPCs are written out: `#[tonic::async_trait]` cannot see methods a macro would generate
#[tonic::async_trait]
impl RegistryService for RegistryGrpc {
    #[tracing::instrument(skip_all, name = "grpc.registry.get_model")]
    async fn get_model(
        &self,
        request: Request<GetModelRequest>,
    ) -> Result<Response<Model>, Status> {
        self.forward(subjects::MODELS_GET, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.list_models")]
    async fn list_models(
        &self,
        request: Request<ListModelsRequest>,
    ) -> Result<Response<ListModelsResponse>, Status> {
        self.forward(subjects::MODELS_LIST, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.select_models")]
    async fn select_models(
        &self,
        request: Request<SelectModelsRequest>,
    ) -> Result<Response<SelectModelsResponse>, Status> {
        self.forward(subjects::MODELS_SELECT, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.get_model_config")]
    async fn get_model_config(
        &self,
        request: Request<GetModelRequest>,
    ) -> Result<Response<ModelConfig>, Status> {
        self.forward(subjects::MODELS_CONFIG, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.list_providers")]
    async fn list_providers(
        &self,
        request: Request<ListProvidersRequest>,
    ) -> Result<Response<ListProvidersResponse>, Status> {
        self.forward(subjects::PROVIDERS_LIST, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.get_provider_health")]
    async fn get_provider_health(
        &self,
        request: Request<GetProviderHealthRequest>,
    ) -> Result<Response<ProviderHealth>, Status> {
        self.forward(subjects::PROVIDERS_HEALTH, request, false)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.get_thermal")]
    async fn get_thermal(
        &self,
        request: Request<GetThermalRequest>,
    ) -> Result<Response<ModelThermal>, Status> {
        self.forward(subjects::THERMAL_GET, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.warm_up")]
    async fn warm_up(
        &self,
        request: Request<WarmUpRequest>,
    ) -> Result<Response<ModelThermal>, Status> {
        self.forward(subjects::THERMAL_WARM, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.list_licenses")]
    async fn list_licenses(
        &self,
        request: Request<ListLicensesRequest>,
    ) -> Result<Response<ListLicensesResponse>, Status> {
        self.forward(subjects::LICENSES_LIST, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.get_workflow")]
    async fn get_workflow(
        &self,
        request: Request<GetWorkflowRequest>,
    ) -> Result<Response<Workflow>, Status> {
        self.forward(subjects::WORKFLOWS_GET, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.list_workflows")]
    async fn list_workflows(
        &self,
        request: Request<ListWorkflowsRequest>,
    ) -> Result<Response<ListWorkflowsResponse>, Status> {
        self.forward(subjects::WORKFLOWS_LIST, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.create_model")]
    async fn create_model(
        &self,
        request: Request<UpsertModelRequest>,
    ) -> Result<Response<Model>, Status> {
        self.forward(subjects::MODELS_CREATE, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.update_model")]
    async fn update_model(
        &self,
        request: Request<UpsertModelRequest>,
    ) -> Result<Response<Model>, Status> {
        self.forward(subjects::MODELS_UPDATE, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.set_model_enabled")]
    async fn set_model_enabled(
        &self,
        request: Request<SetModelEnabledRequest>,
    ) -> Result<Response<Model>, Status> {
        self.forward(subjects::MODELS_SET_ENABLED, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.review_license")]
    async fn review_license(
        &self,
        request: Request<LicenseReviewRequest>,
    ) -> Result<Response<License>, Status> {
        self.forward(subjects::LICENSES_REVIEW, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.license_compliance")]
    async fn license_compliance(
        &self,
        request: Request<LicenseComplianceRequest>,
    ) -> Result<Response<LicenseComplianceSummary>, Status> {
        self.forward(subjects::LICENSES_COMPLIANCE, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.create_workflow")]
    async fn create_workflow(
        &self,
        request: Request<UpsertWorkflowRequest>,
    ) -> Result<Response<Workflow>, Status> {
        self.forward(subjects::WORKFLOWS_CREATE, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.update_workflow")]
    async fn update_workflow(
        &self,
        request: Request<UpsertWorkflowRequest>,
    ) -> Result<Response<Workflow>, Status> {
        self.forward(subjects::WORKFLOWS_UPDATE, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.delete_workflow")]
    async fn delete_workflow(
        &self,
        request: Request<DeleteWorkflowRequest>,
    ) -> Result<Response<Workflow>, Status> {
        self.forward(subjects::WORKFLOWS_DELETE, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.stats")]
    async fn stats(
        &self,
        request: Request<StatsRequest>,
    ) -> Result<Response<RegistryStats>, Status> {
        self.forward(subjects::STATS, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.list_audit")]
    async fn list_audit(
        &self,
        request: Request<ListAuditRequest>,
    ) -> Result<Response<ListAuditResponse>, Status> {
        self.forward(subjects::AUDIT_LIST, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.list_sync_runs")]
    async fn list_sync_runs(
        &self,
        request: Request<ListSyncRunsRequest>,
    ) -> Result<Response<ListSyncRunsResponse>, Status> {
        self.forward(subjects::SYNC_LIST, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.trigger_sync")]
    async fn trigger_sync(
        &self,
        request: Request<TriggerSyncRequest>,
    ) -> Result<Response<SyncRun>, Status> {
        self.forward(subjects::SYNC_TRIGGER, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.set_thermal_mode")]
    async fn set_thermal_mode(
        &self,
        request: Request<SetThermalModeRequest>,
    ) -> Result<Response<ModelThermal>, Status> {
        self.forward(subjects::THERMAL_SET_MODE, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.set_credential")]
    async fn set_credential(
        &self,
        request: Request<SetCredentialRequest>,
    ) -> Result<Response<CredentialInfo>, Status> {
        self.forward(subjects::CREDENTIALS_SET, request, true).await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.list_credentials")]
    async fn list_credentials(
        &self,
        request: Request<ListCredentialsRequest>,
    ) -> Result<Response<ListCredentialsResponse>, Status> {
        self.forward(subjects::CREDENTIALS_LIST, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.registry.revoke_credential")]
    async fn revoke_credential(
        &self,
        request: Request<RevokeCredentialRequest>,
    ) -> Result<Response<CredentialInfo>, Status> {
        self.forward(subjects::CREDENTIALS_REVOKE, request, true)
            .await
    }
}
