//! `radiant.tm.v1.TimeMachineService`: each RPC authenticates the caller (any authenticated
//! caller: the time machine scopes every chat to the caller's tenant and user) and forwards the
//! same message to the time machine's NATS endpoint.

use radiant_bus::subjects::{TIME_MACHINE, tm as subjects};
use radiant_proto::tm::time_machine_service_server::TimeMachineService;
use radiant_proto::tm::*;
use tonic::{Request, Response, Status};

use super::{authenticate, to_status};
use crate::state::AppState;

pub struct TimeMachineGrpc {
    state: AppState,
}

impl TimeMachineGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    async fn forward<Req: prost::Message, Resp: prost::Message + Default>(
        &self,
        endpoint: &str,
        request: Request<Req>,
    ) -> Result<Response<Resp>, Status> {
        let context = authenticate(&self.state, request.metadata()).await?;
        let response = self
            .state
            .bus
            .call(&TIME_MACHINE, endpoint, &context, request.get_ref())
            .await
            .map_err(|error| to_status(error.to_service_error()))?;
        Ok(Response::new(response))
    }
}

// the RPCs are written out: `#[tonic::async_trait]` cannot see methods a macro would generate
#[tonic::async_trait]
impl TimeMachineService for TimeMachineGrpc {
    #[tracing::instrument(skip_all, name = "grpc.tm.create_chat")]
    async fn create_chat(
        &self,
        request: Request<CreateChatRequest>,
    ) -> Result<Response<Chat>, Status> {
        self.forward(subjects::CHATS_CREATE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.get_chat")]
    async fn get_chat(
        &self,
        request: Request<GetChatRequest>,
    ) -> Result<Response<ChatWithMessages>, Status> {
        self.forward(subjects::CHATS_GET, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.list_chats")]
    async fn list_chats(
        &self,
        request: Request<ListChatsRequest>,
    ) -> Result<Response<ListChatsResponse>, Status> {
        self.forward(subjects::CHATS_LIST, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.update_chat")]
    async fn update_chat(
        &self,
        request: Request<UpdateChatRequest>,
    ) -> Result<Response<Chat>, Status> {
        self.forward(subjects::CHATS_UPDATE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.delete_chat")]
    async fn delete_chat(&self, request: Request<ChatRequest>) -> Result<Response<Chat>, Status> {
        self.forward(subjects::CHATS_DELETE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.restore_chat")]
    async fn restore_chat(&self, request: Request<ChatRequest>) -> Result<Response<Chat>, Status> {
        self.forward(subjects::CHATS_RESTORE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.save_message")]
    async fn save_message(
        &self,
        request: Request<SaveMessageRequest>,
    ) -> Result<Response<SavedMessage>, Status> {
        self.forward(subjects::MESSAGES_SAVE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.edit_message")]
    async fn edit_message(
        &self,
        request: Request<EditMessageRequest>,
    ) -> Result<Response<SavedMessage>, Status> {
        self.forward(subjects::MESSAGES_EDIT, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.delete_message")]
    async fn delete_message(
        &self,
        request: Request<DeleteMessageRequest>,
    ) -> Result<Response<SavedMessage>, Status> {
        self.forward(subjects::MESSAGES_DELETE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.list_message_versions")]
    async fn list_message_versions(
        &self,
        request: Request<ListMessageVersionsRequest>,
    ) -> Result<Response<ListMessageVersionsResponse>, Status> {
        self.forward(subjects::MESSAGES_VERSIONS, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.create_snapshot")]
    async fn create_snapshot(
        &self,
        request: Request<CreateSnapshotRequest>,
    ) -> Result<Response<Snapshot>, Status> {
        self.forward(subjects::SNAPSHOTS_CREATE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.get_timeline")]
    async fn get_timeline(
        &self,
        request: Request<GetTimelineRequest>,
    ) -> Result<Response<Timeline>, Status> {
        self.forward(subjects::SNAPSHOTS_TIMELINE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.get_calendar")]
    async fn get_calendar(
        &self,
        request: Request<GetCalendarRequest>,
    ) -> Result<Response<Calendar>, Status> {
        self.forward(subjects::SNAPSHOTS_CALENDAR, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.list_snapshots_by_date")]
    async fn list_snapshots_by_date(
        &self,
        request: Request<ListSnapshotsByDateRequest>,
    ) -> Result<Response<SnapshotList>, Status> {
        self.forward(subjects::SNAPSHOTS_BY_DATE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.get_chat_at_snapshot")]
    async fn get_chat_at_snapshot(
        &self,
        request: Request<GetChatAtSnapshotRequest>,
    ) -> Result<Response<ChatAtSnapshot>, Status> {
        self.forward(subjects::SNAPSHOTS_VIEW, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.verify_chat")]
    async fn verify_chat(
        &self,
        request: Request<ChatRequest>,
    ) -> Result<Response<VerifyChatResponse>, Status> {
        self.forward(subjects::SNAPSHOTS_VERIFY, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.restore")]
    async fn restore(
        &self,
        request: Request<RestoreRequest>,
    ) -> Result<Response<RestoreResult>, Status> {
        self.forward(subjects::HISTORY_RESTORE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.compare")]
    async fn compare(
        &self,
        request: Request<CompareRequest>,
    ) -> Result<Response<Comparison>, Status> {
        self.forward(subjects::HISTORY_COMPARE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.search")]
    async fn search(
        &self,
        request: Request<SearchRequest>,
    ) -> Result<Response<SearchResponse>, Status> {
        self.forward(subjects::HISTORY_SEARCH, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.upload_file")]
    async fn upload_file(
        &self,
        request: Request<UploadFileRequest>,
    ) -> Result<Response<ChatFile>, Status> {
        self.forward(subjects::FILES_UPLOAD, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.attach_file")]
    async fn attach_file(
        &self,
        request: Request<AttachFileRequest>,
    ) -> Result<Response<ChatFile>, Status> {
        self.forward(subjects::FILES_ATTACH, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.delete_file")]
    async fn delete_file(
        &self,
        request: Request<DeleteFileRequest>,
    ) -> Result<Response<ChatFile>, Status> {
        self.forward(subjects::FILES_DELETE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.list_files")]
    async fn list_files(
        &self,
        request: Request<ListFilesRequest>,
    ) -> Result<Response<ChatFileList>, Status> {
        self.forward(subjects::FILES_LIST, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.list_file_versions")]
    async fn list_file_versions(
        &self,
        request: Request<ListFileVersionsRequest>,
    ) -> Result<Response<ChatFileList>, Status> {
        self.forward(subjects::FILES_VERSIONS, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.get_file_download")]
    async fn get_file_download(
        &self,
        request: Request<GetFileDownloadRequest>,
    ) -> Result<Response<FileDownload>, Status> {
        self.forward(subjects::FILES_DOWNLOAD, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.get_history_summary")]
    async fn get_history_summary(
        &self,
        request: Request<ChatRequest>,
    ) -> Result<Response<HistorySummary>, Status> {
        self.forward(subjects::AI_SUMMARY, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.find_in_history")]
    async fn find_in_history(
        &self,
        request: Request<FindInHistoryRequest>,
    ) -> Result<Response<FindInHistoryResponse>, Status> {
        self.forward(subjects::AI_FIND, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.ai_restore")]
    async fn ai_restore(
        &self,
        request: Request<AiRestoreRequest>,
    ) -> Result<Response<AiRestoreResponse>, Status> {
        self.forward(subjects::AI_RESTORE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.compare_since")]
    async fn compare_since(
        &self,
        request: Request<CompareSinceRequest>,
    ) -> Result<Response<CompareSinceResponse>, Status> {
        self.forward(subjects::AI_COMPARE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.create_export")]
    async fn create_export(
        &self,
        request: Request<CreateExportRequest>,
    ) -> Result<Response<ExportBundle>, Status> {
        self.forward(subjects::EXPORTS_CREATE, request).await
    }

    #[tracing::instrument(skip_all, name = "grpc.tm.get_export")]
    async fn get_export(
        &self,
        request: Request<GetExportRequest>,
    ) -> Result<Response<ExportBundle>, Status> {
        self.forward(subjects::EXPORTS_GET, request).await
    }
}
