//! One trace from the HTTP client through the gateway to a service: the gateway joins the
//! caller's `traceparent` and the service's span is a child of the gateway's NATS client span.

mod support;

use std::time::Duration;

use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::InMemorySpanExporterBuilder;
use radiant_bus::subjects::TIME_MACHINE;
use radiant_telemetry::TelemetryConfig;
use support::spawn_app;

#[tokio::test]
async fn an_http_request_and_the_nats_hop_behind_it_are_one_trace() {
    let exporter = InMemorySpanExporterBuilder::new().build();
    let config = TelemetryConfig {
        log_filter: "warn".to_string(),
        ..TelemetryConfig::default()
    };
    let _telemetry =
        radiant_telemetry::init_with_exporter("gateway-trace-test", &config, exporter.clone())
            .unwrap();

    let app = spawn_app().await;
    let time_machine = app.start_service(TIME_MACHINE).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span_id = "00f067aa0ba902b7";
    let response = app
        .http
        .get(app.url("/api/v1/admin/services/time-machine/status"))
        .bearer_auth(app.token(&["admin"]))
        .header("traceparent", format!("00-{trace_id}-{caller_span_id}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    time_machine.stop().await;
    app.stop().await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let spans = exporter.get_finished_spans().unwrap();
    let http = spans
        .iter()
        .find(|span| span.name.starts_with("GET "))
        .expect("http server span");
    let nats_client = spans
        .iter()
        .find(|span| {
            span.span_kind == SpanKind::Client && span.name.ends_with(".tm.v1.system.status")
        })
        .expect("nats client span");
    let service = spans
        .iter()
        .find(|span| {
            span.span_kind == SpanKind::Server && span.name.ends_with(".tm.v1.system.status")
        })
        .expect("service span");

    for span in [http, nats_client, service] {
        assert_eq!(
            span.span_context.trace_id().to_string(),
            trace_id,
            "{} left the trace",
            span.name
        );
    }
    assert_eq!(http.parent_span_id.to_string(), caller_span_id);
    assert_eq!(service.parent_span_id, nats_client.span_context.span_id());
    // the client span descends from the http span (through the handler's own span)
    let mut ancestor = nats_client.parent_span_id;
    let mut reached_http = false;
    while let Some(parent) = spans
        .iter()
        .find(|span| span.span_context.span_id() == ancestor)
    {
        if parent.span_context.span_id() == http.span_context.span_id() {
            reached_http = true;
            break;
        }
        ancestor = parent.parent_span_id;
    }
    assert!(
        reached_http,
        "the nats client span does not descend from the http span"
    );
}
