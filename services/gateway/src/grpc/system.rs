use radiant_proto::system::system_service_server::SystemService;
use radiant_proto::system::{
    GetServiceStatusRequest, ListServicesRequest, ListServicesResponse, ServiceStatus,
};
use tonic::{Request, Response, Status};

use super::{authenticate_admin, to_status};
use crate::platform;
use crate::state::AppState;

pub struct SystemGrpc {
    state: AppState,
}

impl SystemGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl SystemService for SystemGrpc {
    #[tracing::instrument(skip_all, name = "grpc.list_services")]
    async fn list_services(
        &self,
        request: Request<ListServicesRequest>,
    ) -> Result<Response<ListServicesResponse>, Status> {
        authenticate_admin(&self.state, request.metadata()).await?;
        let instances = platform::list_services(&self.state)
            .await
            .map_err(to_status)?;
        Ok(Response::new(ListServicesResponse { instances }))
    }

    #[tracing::instrument(skip_all, name = "grpc.get_service_status")]
    async fn get_service_status(
        &self,
        request: Request<GetServiceStatusRequest>,
    ) -> Result<Response<ServiceStatus>, Status> {
        let context = authenticate_admin(&self.state, request.metadata()).await?;
        let status = platform::service_status(&self.state, &context, &request.get_ref().service)
            .await
            .map_err(to_status)?;
        Ok(Response::new(status))
    }
}
