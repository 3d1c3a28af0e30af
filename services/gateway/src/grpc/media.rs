//! `radiant.media.v1.MediaService`: each RPC authenticates the caller and forwards the same
//! message to the media vault's NATS endpoint.

use radiant_bus::subjects::{MEDIA_VAULT, media as subjects};
use radiant_proto::media::media_service_server::MediaService;
use radiant_proto::media::*;
use tonic::{Request, Response, Status};

use super::{authenticate, authenticate_admin, to_status};
use crate::state::AppState;

pub struct MediaGrpc {
    state: AppState,
}

impl MediaGrpc {
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
        // completion reads the whole file back to verify it: it gets the long deadline
        let (bus, context) = if endpoint == subjects::UPLOADS_COMPLETE {
            let timeout = self.state.config.http.upload_complete_timeout();
            (
                self.state.bus.with_timeout(timeout),
                context.with_deadline_in(timeout),
            )
        } else {
            (self.state.bus.clone(), context)
        };
        let response = bus
            .call(&MEDIA_VAULT, endpoint, &context, request.get_ref())
            .await
            .map_err(|error| to_status(error.to_service_error()))?;
        Ok(Response::new(response))
    }
}

// the RPCs are written out: `#[tonic::async_trait]` cannot see methods a macro would generate
#[tonic::async_trait]
impl MediaService for MediaGrpc {
    #[tracing::instrument(skip_all, name = "grpc.media.store_file")]
    async fn store_file(
        &self,
        request: Request<StoreFileRequest>,
    ) -> Result<Response<FileVersion>, Status> {
        self.forward(subjects::FILES_STORE, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.create_upload_session")]
    async fn create_upload_session(
        &self,
        request: Request<CreateUploadSessionRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        self.forward(subjects::UPLOADS_CREATE, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.get_part_urls")]
    async fn get_part_urls(
        &self,
        request: Request<GetPartUrlsRequest>,
    ) -> Result<Response<PartUrls>, Status> {
        self.forward(subjects::UPLOADS_PART_URLS, request, false)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.get_upload_session")]
    async fn get_upload_session(
        &self,
        request: Request<GetUploadSessionRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        self.forward(subjects::UPLOADS_GET, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.complete_upload_session")]
    async fn complete_upload_session(
        &self,
        request: Request<CompleteUploadSessionRequest>,
    ) -> Result<Response<FileVersion>, Status> {
        self.forward(subjects::UPLOADS_COMPLETE, request, false)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.abort_upload_session")]
    async fn abort_upload_session(
        &self,
        request: Request<AbortUploadSessionRequest>,
    ) -> Result<Response<UploadSession>, Status> {
        self.forward(subjects::UPLOADS_ABORT, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.get_file")]
    async fn get_file(
        &self,
        request: Request<GetFileRequest>,
    ) -> Result<Response<FileVersion>, Status> {
        self.forward(subjects::FILES_GET, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.list_file_versions")]
    async fn list_file_versions(
        &self,
        request: Request<ListFileVersionsRequest>,
    ) -> Result<Response<FileVersionList>, Status> {
        self.forward(subjects::FILES_VERSIONS, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.get_download_url")]
    async fn get_download_url(
        &self,
        request: Request<GetDownloadUrlRequest>,
    ) -> Result<Response<DownloadUrl>, Status> {
        self.forward(subjects::FILES_DOWNLOAD_URL, request, false)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.tombstone_file")]
    async fn tombstone_file(
        &self,
        request: Request<FileLifecycleRequest>,
    ) -> Result<Response<FileVersion>, Status> {
        self.forward(subjects::FILES_TOMBSTONE, request, false)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.restore_file")]
    async fn restore_file(
        &self,
        request: Request<FileLifecycleRequest>,
    ) -> Result<Response<FileVersion>, Status> {
        self.forward(subjects::FILES_RESTORE, request, false).await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.set_legal_hold")]
    async fn set_legal_hold(
        &self,
        request: Request<SetLegalHoldRequest>,
    ) -> Result<Response<FileVersion>, Status> {
        self.forward(subjects::FILES_LEGAL_HOLD, request, true)
            .await
    }

    #[tracing::instrument(skip_all, name = "grpc.media.purge_file")]
    async fn purge_file(
        &self,
        request: Request<FileLifecycleRequest>,
    ) -> Result<Response<PurgeFileResponse>, Status> {
        self.forward(subjects::FILES_PURGE, request, false).await
    }
}
