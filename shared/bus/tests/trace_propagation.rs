//! One trace across two NATS hops: a client span calls service B, whose handler calls
//! service C; every span shares the trace id and each server span's parent is the client span
//! that sent the request.

use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry_sdk::trace::InMemorySpanExporterBuilder;
use radiant_bus::{BusClient, RequestContext, ServiceHostBuilder, ServiceName};
use radiant_proto::common::{PageInfo, PageRequest};
use radiant_telemetry::TelemetryConfig;
use radiant_testkit::TestNamespace;
use tracing::Instrument;

#[tokio::test]
async fn a_request_through_two_services_is_one_trace_with_correct_parents() {
    let exporter = InMemorySpanExporterBuilder::new().build();
    let config = TelemetryConfig {
        log_filter: "warn".to_string(),
        ..TelemetryConfig::default()
    };
    let _telemetry =
        radiant_telemetry::init_with_exporter("trace-test", &config, exporter.clone()).unwrap();

    let test = TestNamespace::new().await;
    let service_b = ServiceName::owned("hop-b", "hopb");
    let service_c = ServiceName::owned("hop-c", "hopc");

    let host_c = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_c.clone(),
        "1.0.0",
    )
    .endpoint(
        "leaf",
        |_context: RequestContext, request: PageRequest| async move {
            Ok(PageInfo {
                next_page_token: format!("leaf:{}", request.page_token),
                total_size: 0,
            })
        },
    )
    .start()
    .await
    .unwrap();
    let client_for_b: BusClient = test.bus_client();
    let service_c_for_b = service_c.clone();
    let host_b = ServiceHostBuilder::new(
        test.nats.clone(),
        test.namespace.clone(),
        service_b.clone(),
        "1.0.0",
    )
    .endpoint(
        "middle",
        move |context: RequestContext, request: PageRequest| {
            let client = client_for_b.clone();
            let service_c = service_c_for_b.clone();
            async move {
                let reply: PageInfo = client.call(&service_c, "leaf", &context, &request).await?;
                Ok(PageInfo {
                    next_page_token: format!("middle:{}", reply.next_page_token),
                    total_size: 0,
                })
            }
        },
    )
    .start()
    .await
    .unwrap();

    let root = tracing::info_span!("gateway.handle");
    let reply: PageInfo = test
        .bus_client()
        .call(
            &service_b,
            "middle",
            &RequestContext::internal(),
            &PageRequest {
                page_size: 0,
                page_token: "x".to_string(),
            },
        )
        .instrument(root.clone())
        .await
        .unwrap();
    assert_eq!(reply.next_page_token, "middle:leaf:x");
    drop(root);
    host_b.stop().await;
    host_c.stop().await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let spans = exporter.get_finished_spans().unwrap();
    let find = |name_part: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|span| span.name.contains(name_part) && span.span_kind == kind)
            .unwrap_or_else(|| {
                let seen: Vec<_> = spans
                    .iter()
                    .map(|span| (span.name.to_string(), span.span_kind.clone()))
                    .collect();
                panic!("no {kind:?} span named like {name_part}; spans: {seen:?}")
            })
    };
    let root = spans
        .iter()
        .find(|span| span.name == "gateway.handle")
        .expect("root span");
    let client_to_b = find(".hopb.v1.middle", SpanKind::Client);
    let server_b = find(".hopb.v1.middle", SpanKind::Server);
    let client_to_c = find(".hopc.v1.leaf", SpanKind::Client);
    let server_c = find(".hopc.v1.leaf", SpanKind::Server);

    let trace_id = root.span_context.trace_id();
    for span in [client_to_b, server_b, client_to_c, server_c] {
        assert_eq!(
            span.span_context.trace_id(),
            trace_id,
            "{} is in another trace",
            span.name
        );
    }
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    assert_eq!(client_to_b.parent_span_id, root.span_context.span_id());
    assert_eq!(server_b.parent_span_id, client_to_b.span_context.span_id());
    assert_eq!(client_to_c.parent_span_id, server_b.span_context.span_id());
    assert_eq!(server_c.parent_span_id, client_to_c.span_context.span_id());
}
