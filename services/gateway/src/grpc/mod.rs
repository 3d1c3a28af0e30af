//! The gRPC port: the same contracts as the NATS payloads (`proto/`), served by tonic with the
//! standard health and reflection services. Requests authenticate with the same bearer tokens
//! (`authorization` metadata) and are forwarded over NATS with the same context headers.

mod media;
mod registry;
mod system;
mod time_machine;

use radiant_bus::{ErrorCode, RequestContext, ServiceError};
use radiant_proto::media::media_service_server::MediaServiceServer;
use radiant_proto::registry::registry_service_server::RegistryServiceServer;
use radiant_proto::system::system_service_server::SystemServiceServer;
use radiant_proto::tm::time_machine_service_server::TimeMachineServiceServer;
use tonic::service::Routes;

use crate::middleware::{REQUEST_ID_HEADER, is_acceptable_request_id};
use crate::state::AppState;

pub async fn routes(state: AppState) -> Routes {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<SystemServiceServer<system::SystemGrpc>>()
        .await;
    health_reporter
        .set_serving::<MediaServiceServer<media::MediaGrpc>>()
        .await;
    health_reporter
        .set_serving::<RegistryServiceServer<registry::RegistryGrpc>>()
        .await;
    health_reporter
        .set_serving::<TimeMachineServiceServer<time_machine::TimeMachineGrpc>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(radiant_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the embedded descriptor sets are valid");
    Routes::new(health_service)
        .add_service(reflection)
        .add_service(SystemServiceServer::new(system::SystemGrpc::new(
            state.clone(),
        )))
        // small files ride in one message: allow the gateway's body limit plus framing
        .add_service(RegistryServiceServer::new(registry::RegistryGrpc::new(
            state.clone(),
        )))
        .add_service(
            MediaServiceServer::new(media::MediaGrpc::new(state.clone()))
                .max_decoding_message_size(state.config.http.body_limit_bytes + 64 * 1024),
        )
        // UploadFile carries the file's bytes in one message, like the media vault's StoreFile
        .add_service(
            TimeMachineServiceServer::new(time_machine::TimeMachineGrpc::new(state.clone()))
                .max_decoding_message_size(state.config.http.body_limit_bytes + 64 * 1024),
        )
}

/// The caller of a gRPC request, from its `authorization` metadata.
pub(crate) async fn authenticate(
    state: &AppState,
    metadata: &tonic::metadata::MetadataMap,
) -> Result<RequestContext, tonic::Status> {
    let text = |name: &str| {
        metadata
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let request_id = text(REQUEST_ID_HEADER)
        .filter(|value| is_acceptable_request_id(value))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    state
        .caller_context(text("authorization").as_deref(), &request_id, text)
        .await
        .map_err(|error| tonic::Status::unauthenticated(error.to_string()))
}

/// An authenticated caller holding the `admin` role (the twin of the HTTP `Admin` extractor).
pub(crate) async fn authenticate_admin(
    state: &AppState,
    metadata: &tonic::metadata::MetadataMap,
) -> Result<RequestContext, tonic::Status> {
    let context = authenticate(state, metadata).await?;
    if !context.is_admin() {
        return Err(tonic::Status::permission_denied(
            "this method needs the admin role",
        ));
    }
    Ok(context)
}

/// The gRPC status for a service error (the HTTP mapping's twin).
pub(crate) fn to_status(error: ServiceError) -> tonic::Status {
    let code = match error.code {
        ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
        ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
        ErrorCode::PermissionDenied => tonic::Code::PermissionDenied,
        ErrorCode::NotFound => tonic::Code::NotFound,
        ErrorCode::Conflict => tonic::Code::AlreadyExists,
        ErrorCode::PayloadTooLarge => tonic::Code::ResourceExhausted,
        ErrorCode::UnprocessableEntity => tonic::Code::FailedPrecondition,
        ErrorCode::TooManyRequests => tonic::Code::ResourceExhausted,
        ErrorCode::Internal | ErrorCode::BadGateway => tonic::Code::Internal,
        ErrorCode::Unavailable => tonic::Code::Unavailable,
        ErrorCode::DeadlineExceeded => tonic::Code::DeadlineExceeded,
    };
    if error.status() >= 500 {
        tracing::warn!(code = %error.code, detail = %error.message, "service failure");
        return tonic::Status::new(code, crate::error::public_message(error.code));
    }
    tonic::Status::new(code, error.message)
}
