//! The service kit against a real nats-server: typed request/reply, context headers, error
//! headers, deadlines, discovery, status, queue groups, graceful stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_nats::service::{NATS_SERVICE_ERROR, NATS_SERVICE_ERROR_CODE};
use radiant_bus::discovery::{self, Verb};
use radiant_bus::subjects::endpoints;
use radiant_bus::{
    BusError, ErrorCode, RequestContext, ServiceError, ServiceHostBuilder, ServiceName,
};
use radiant_proto::common::{PageInfo, PageRequest};
use radiant_proto::system::{ServiceStatus, StatusRequest};
use radiant_testkit::TestNamespace;
use uuid::Uuid;

fn service_name(name: &str) -> ServiceName {
    ServiceName::owned(name, name)
}

/// A service whose `echo` endpoint reports the context it received.
async fn start_echo_service(test: &TestNamespace, name: &str) -> radiant_bus::ServiceHost {
    ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_name(name),
        "1.2.3",
    )
    .endpoint(
        "echo",
        |context: RequestContext, request: PageRequest| async move {
            if request.page_token == "fail" {
                return Err(ServiceError::invalid_field(
                    "page_token",
                    "must not be \"fail\"",
                ));
            }
            if request.page_token == "panic" {
                panic!("handler bug");
            }
            Ok(PageInfo {
                next_page_token: format!(
                    "{}|{}|{}|{}|{}|{}",
                    context
                        .tenant_id
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                    context.user_id.unwrap_or_default(),
                    context.roles.join(","),
                    context.tier.unwrap_or_default(),
                    context.request_id,
                    request.page_token
                ),
                total_size: u64::from(request.page_size),
            })
        },
    )
    .start()
    .await
    .expect("service starts")
}

#[tokio::test]
async fn typed_request_carries_the_context_headers() {
    let test = TestNamespace::new().await;
    let host = start_echo_service(&test, "echo-a").await;
    let tenant = Uuid::new_v4();
    let mut context = RequestContext::for_tenant(tenant, "alice").with_roles(&["admin", "editor"]);
    context.tier = Some("pro".to_string());
    context.request_id = "req-42".to_string();

    let reply: PageInfo = test
        .bus_client()
        .call(
            &service_name("echo-a"),
            "echo",
            &context,
            &PageRequest {
                page_size: 7,
                page_token: "x".to_string(),
            },
        )
        .await
        .expect("reply");
    assert_eq!(
        reply.next_page_token,
        format!("{tenant}|alice|admin,editor|pro|req-42|x")
    );
    assert_eq!(reply.total_size, 7);
    host.stop().await;
}

#[tokio::test]
async fn errors_round_trip_through_the_micro_error_headers() {
    let test = TestNamespace::new().await;
    let host = start_echo_service(&test, "echo-b").await;
    let request = PageRequest {
        page_size: 1,
        page_token: "fail".to_string(),
    };

    // the typed client gives back the same error the handler returned
    let error = test
        .bus_client()
        .call::<_, PageInfo>(
            &service_name("echo-b"),
            "echo",
            &RequestContext::internal(),
            &request,
        )
        .await
        .unwrap_err();
    let BusError::Service(service_error) = error else {
        panic!("expected a service error, got {error:?}");
    };
    assert_eq!(
        service_error,
        ServiceError::invalid_field("page_token", "must not be \"fail\"")
    );

    // on the wire it is a standard NATS micro error reply that plain clients understand
    let subject = test
        .namespace
        .service_subject(&service_name("echo-b"), "echo");
    let raw = test
        .nats
        .request(subject, prost::Message::encode_to_vec(&request).into())
        .await
        .expect("a micro error reply is still a reply");
    let raw_headers = raw.headers.expect("error headers");
    assert_eq!(
        raw_headers.get(NATS_SERVICE_ERROR_CODE).unwrap().as_str(),
        "400"
    );
    assert_eq!(
        raw_headers.get(NATS_SERVICE_ERROR).unwrap().as_str(),
        "page_token: must not be \"fail\""
    );
    assert!(raw.payload.is_empty());
    host.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_is_an_internal_error_and_the_service_keeps_serving() {
    let test = TestNamespace::new().await;
    let host = start_echo_service(&test, "echo-c").await;
    let client = test.bus_client();
    let echo = service_name("echo-c");
    let panic_request = PageRequest {
        page_size: 0,
        page_token: "panic".to_string(),
    };
    let error = client
        .call::<_, PageInfo>(&echo, "echo", &RequestContext::internal(), &panic_request)
        .await
        .unwrap_err();
    assert_eq!(error.to_service_error().code, ErrorCode::Internal);
    let reply: PageInfo = client
        .call(
            &echo,
            "echo",
            &RequestContext::internal(),
            &PageRequest::default(),
        )
        .await
        .expect("still serving");
    assert!(reply.next_page_token.ends_with('|'));
    host.stop().await;
}

#[tokio::test]
async fn an_undecodable_payload_is_an_invalid_argument() {
    let test = TestNamespace::new().await;
    let host = start_echo_service(&test, "echo-d").await;
    let subject = test
        .namespace
        .service_subject(&service_name("echo-d"), "echo");
    let error = test
        .bus_client()
        .request_bytes(
            subject,
            &RequestContext::internal(),
            bytes::Bytes::from_static(&[0xff, 0xff, 0xff]),
        )
        .await
        .unwrap_err();
    let service_error = error.to_service_error();
    assert_eq!(service_error.code, ErrorCode::InvalidArgument);
    assert!(
        service_error
            .message
            .contains("payload is not a valid request"),
        "{service_error}"
    );
    host.stop().await;
}

#[tokio::test]
async fn calling_a_service_that_is_not_running_is_no_responders() {
    let test = TestNamespace::new().await;
    let error = test
        .bus_client()
        .call::<_, PageInfo>(
            &service_name("nobody"),
            "echo",
            &RequestContext::internal(),
            &PageRequest::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, BusError::NoResponders { .. }), "{error:?}");
    assert_eq!(error.to_service_error().code, ErrorCode::Unavailable);
}

#[tokio::test]
async fn work_whose_deadline_passed_is_refused_without_running_the_handler() {
    let test = TestNamespace::new().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let host = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_name("late"),
        "1.0.0",
    )
    .endpoint(
        "work",
        move |_context: RequestContext, _request: PageRequest| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(PageInfo::default())
            }
        },
    )
    .start()
    .await
    .unwrap();

    // the client refuses to send at all
    let mut expired = RequestContext::internal();
    expired.deadline = Some(SystemTime::now() - Duration::from_secs(1));
    let error = test
        .bus_client()
        .call::<_, PageInfo>(
            &service_name("late"),
            "work",
            &expired,
            &PageRequest::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, BusError::DeadlineExceeded { .. }),
        "{error:?}"
    );

    // and a service that receives expired work (clock skew, queueing) refuses it
    let mut headers = async_nats::HeaderMap::new();
    expired.write_headers(&mut headers);
    let subject = test
        .namespace
        .service_subject(&service_name("late"), "work");
    let reply = test
        .nats
        .request_with_headers(subject, headers, bytes::Bytes::new())
        .await
        .unwrap();
    let error = ServiceError::from_reply_headers(reply.headers.as_ref()).expect("error reply");
    assert_eq!(error.code, ErrorCode::DeadlineExceeded);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    host.stop().await;
}

#[tokio::test]
async fn a_handler_still_running_at_the_deadline_is_stopped() {
    let test = TestNamespace::new().await;
    let finished = Arc::new(AtomicBool::new(false));
    let finished_flag = finished.clone();
    let host = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_name("slow"),
        "1.0.0",
    )
    .endpoint(
        "work",
        move |_context: RequestContext, _request: PageRequest| {
            let finished_flag = finished_flag.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                finished_flag.store(true, Ordering::SeqCst);
                Ok(PageInfo::default())
            }
        },
    )
    .start()
    .await
    .unwrap();

    // the raw request waits longer than the deadline, so the reply it gets is the service's
    let mut context = RequestContext::internal();
    context.deadline = Some(SystemTime::now() + Duration::from_millis(300));
    let mut request_headers = async_nats::HeaderMap::new();
    context.write_headers(&mut request_headers);
    let subject = test
        .namespace
        .service_subject(&service_name("slow"), "work");
    let request = async_nats::Request::new()
        .headers(request_headers)
        .payload(bytes::Bytes::new())
        .timeout(Some(Duration::from_secs(5)));
    let reply = test.nats.send_request(subject, request).await.unwrap();
    let error = ServiceError::from_reply_headers(reply.headers.as_ref()).expect("error reply");
    assert_eq!(error.code, ErrorCode::DeadlineExceeded);

    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "the handler ran past its deadline"
    );
    host.stop().await;
}

#[tokio::test]
async fn discovery_lists_the_running_services_of_the_namespace_only() {
    let test = TestNamespace::new().await;
    let other = TestNamespace::new().await;
    let first = start_echo_service(&test, "disc-one").await;
    let second = start_echo_service(&test, "disc-two").await;
    let foreign = start_echo_service(&other, "disc-one").await;

    let found = discovery::discover(
        &test.nats,
        &test.namespace,
        Verb::Ping,
        None,
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    let names: Vec<_> = found.iter().map(|service| service.name.as_str()).collect();
    assert_eq!(names, vec!["disc-one", "disc-two"]);
    assert!(found.iter().all(|service| service.version == "1.2.3"));
    assert!(
        found
            .iter()
            .any(|service| service.id == first.instance_id())
    );

    let info = discovery::discover(
        &test.nats,
        &test.namespace,
        Verb::Info,
        Some("disc-two"),
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    assert_eq!(info.len(), 1);
    let subjects: Vec<_> = info[0]
        .endpoints
        .iter()
        .map(|endpoint| endpoint.subject.clone())
        .collect();
    let group = test.namespace.service_group(&service_name("disc-two"));
    assert!(subjects.contains(&format!("{group}.echo")), "{subjects:?}");
    assert!(
        subjects.contains(&format!("{group}.{}", endpoints::SYSTEM_STATUS)),
        "{subjects:?}"
    );

    assert!(
        discovery::is_answering(
            &test.nats,
            &test.namespace,
            "disc-one",
            Duration::from_millis(300)
        )
        .await
    );
    assert!(
        !discovery::is_answering(
            &test.nats,
            &test.namespace,
            "disc-none",
            Duration::from_millis(200)
        )
        .await
    );

    first.stop().await;
    let after_stop = discovery::discover(
        &test.nats,
        &test.namespace,
        Verb::Ping,
        None,
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    let names: Vec<_> = after_stop
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    assert_eq!(names, vec!["disc-two"]);
    second.stop().await;
    foreign.stop().await;
}

#[tokio::test]
async fn system_status_reports_every_dependency_check() {
    let test = TestNamespace::new().await;
    let host = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_name("checked"),
        "2.0.0",
    )
    .health_check("database", || async { Ok("select 1 answered".to_string()) })
    .health_check("s3", || async { Err("connection refused".to_string()) })
    .start()
    .await
    .unwrap();
    let status: ServiceStatus = test
        .bus_client()
        .call(
            &service_name("checked"),
            endpoints::SYSTEM_STATUS,
            &RequestContext::internal(),
            &StatusRequest {},
        )
        .await
        .unwrap();
    assert_eq!(status.service, "checked");
    assert_eq!(status.version, "2.0.0");
    assert_eq!(status.instance_id, host.instance_id());
    assert!(status.started_at.is_some());
    assert!(!status.ready);
    let checks: Vec<_> = status
        .checks
        .iter()
        .map(|check| (check.name.as_str(), check.ok, check.detail.as_str()))
        .collect();
    assert_eq!(
        checks,
        vec![
            ("database", true, "select 1 answered"),
            ("s3", false, "connection refused")
        ]
    );
    host.stop().await;
}

#[tokio::test]
async fn replicas_in_the_queue_group_share_the_requests() {
    let test = TestNamespace::new().await;
    let first = start_echo_service(&test, "replicated").await;
    let second = start_echo_service(&test, "replicated").await;
    let client = test.bus_client();
    let mut handled_by = std::collections::HashMap::new();
    for _ in 0..60 {
        let status: ServiceStatus = client
            .call(
                &service_name("replicated"),
                endpoints::SYSTEM_STATUS,
                &RequestContext::internal(),
                &StatusRequest {},
            )
            .await
            .unwrap();
        *handled_by.entry(status.instance_id).or_insert(0) += 1;
    }
    // each request is handled once, by one of the two replicas, and both take part
    assert_eq!(handled_by.values().sum::<i32>(), 60);
    assert!(handled_by.contains_key(first.instance_id()));
    assert!(handled_by.contains_key(second.instance_id()));
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn stop_waits_for_requests_in_flight() {
    let test = TestNamespace::new().await;
    let host = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_name("draining"),
        "1.0.0",
    )
    .endpoint(
        "work",
        |_context: RequestContext, _request: PageRequest| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            Ok(PageInfo {
                next_page_token: "done".to_string(),
                total_size: 1,
            })
        },
    )
    .start()
    .await
    .unwrap();
    let client = test.bus_client();
    let in_flight = tokio::spawn(async move {
        client
            .call::<_, PageInfo>(
                &service_name("draining"),
                "work",
                &RequestContext::internal(),
                &PageRequest::default(),
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    host.stop().await;
    let reply = in_flight
        .await
        .unwrap()
        .expect("the request in flight was answered");
    assert_eq!(reply.next_page_token, "done");
}

#[tokio::test]
async fn without_recorded_spans_the_callers_trace_context_is_forwarded_through_every_hop() {
    // no telemetry installed in this test binary: nothing records spans, so the kit must pass
    // the caller's traceparent along unchanged
    assert!(!radiant_telemetry::spans_are_recorded());
    let test = TestNamespace::new().await;
    let leaf = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_name("trace-leaf"),
        "1.0.0",
    )
    .endpoint(
        "leaf",
        |context: RequestContext, _request: PageRequest| async move {
            Ok(PageInfo {
                next_page_token: format!(
                    "{}|{}",
                    context.trace_parent.unwrap_or_default(),
                    context.trace_state.unwrap_or_default()
                ),
                total_size: 0,
            })
        },
    )
    .start()
    .await
    .unwrap();
    let client = test.bus_client();
    let middle = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_name("trace-middle"),
        "1.0.0",
    )
    .endpoint(
        "middle",
        move |context: RequestContext, request: PageRequest| {
            let client = client.clone();
            async move {
                Ok(client
                    .call::<_, PageInfo>(&service_name("trace-leaf"), "leaf", &context, &request)
                    .await?)
            }
        },
    )
    .start()
    .await
    .unwrap();

    let mut context = RequestContext::internal();
    context.trace_parent =
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
    context.trace_state = Some("congo=t61rcWkgMzE".to_string());
    let reply: PageInfo = test
        .bus_client()
        .call(
            &service_name("trace-middle"),
            "middle",
            &context,
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.next_page_token,
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01|congo=t61rcWkgMzE"
    );
    middle.stop().await;
    leaf.stop().await;
}

#[tokio::test]
async fn a_started_service_answers_other_connections_at_once() {
    // start() returns only after the server has processed the service's subscriptions, so a
    // caller on another connection never sees "no responders" right after a start
    let test = TestNamespace::new().await;
    let other_connection = radiant_testkit::TestStack::get().await.nats().await;
    let caller = radiant_bus::BusClient::new(
        other_connection,
        test.namespace.clone(),
        Duration::from_secs(2),
    );
    for attempt in 0..30 {
        let name = format!("fresh-{attempt}");
        let host = start_echo_service(&test, &name).await;
        let reply: Result<PageInfo, _> = caller
            .call(
                &service_name(&name),
                "echo",
                &RequestContext::internal(),
                &PageRequest::default(),
            )
            .await;
        assert!(reply.is_ok(), "attempt {attempt}: {reply:?}");
        host.stop().await;
    }
}
