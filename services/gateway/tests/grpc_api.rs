//! The gRPC port: health, reflection, auth, and forwarding over NATS.

mod support;

use radiant_bus::subjects::TIME_MACHINE;
use radiant_proto::system::system_service_client::SystemServiceClient;
use radiant_proto::system::{GetServiceStatusRequest, ListServicesRequest};
use support::{spawn_app, with_token};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn health_reports_the_system_service_serving() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.grpc_channel().await);
    let response = health
        .check(HealthCheckRequest {
            service: "radiant.system.v1.SystemService".to_string(),
        })
        .await
        .unwrap();
    assert_eq!(response.into_inner().status, ServingStatus::Serving as i32);
    app.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_contract_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let app = spawn_app().await;
    let mut reflection = ServerReflectionClient::new(app.grpc_channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<_> = list
        .service
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    assert!(
        names.contains(&"radiant.system.v1.SystemService"),
        "{names:?}"
    );
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    app.stop().await;
}

#[tokio::test]
async fn calls_need_a_valid_token_and_admin_calls_the_admin_role() {
    let app = spawn_app().await;
    let mut client = SystemServiceClient::new(app.grpc_channel().await);

    let status = client
        .list_services(ListServicesRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let status = client
        .list_services(with_token(ListServicesRequest {}, "forged.token.value"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    let status = client
        .list_services(with_token(ListServicesRequest {}, &app.token(&["editor"])))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let request = GetServiceStatusRequest {
        service: "gateway".to_string(),
    };
    let status = client
        .get_service_status(with_token(request, &app.token(&["editor"])))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn requests_are_forwarded_over_nats_with_the_proto_contract() {
    // a wide discovery window: replies are slow while the other tests load the machine
    let app = support::spawn_app_with(|config| config.discovery.window_ms = 2_000).await;
    let time_machine = app.start_service(TIME_MACHINE).await;
    let mut client = SystemServiceClient::new(app.grpc_channel().await);

    let listed = client
        .list_services(with_token(ListServicesRequest {}, &app.token(&["admin"])))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = listed
        .instances
        .iter()
        .map(|instance| instance.name.as_str())
        .collect();
    assert_eq!(names, vec!["gateway", "time-machine"]);

    let admin = app.token(&["admin"]);
    let status = client
        .get_service_status(with_token(
            GetServiceStatusRequest {
                service: "time-machine".to_string(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.service, "time-machine");
    assert_eq!(status.instance_id, time_machine.instance_id());
    assert!(status.ready);

    let missing = client
        .get_service_status(with_token(
            GetServiceStatusRequest {
                service: "registry".to_string(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::Unavailable);
    let unknown = client
        .get_service_status(with_token(
            GetServiceStatusRequest {
                service: "nope".to_string(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    time_machine.stop().await;
    app.stop().await;
}
