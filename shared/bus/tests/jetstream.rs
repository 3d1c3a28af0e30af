//! JetStream helpers against a real nats-server: deduplication, the consumer runner's
//! redelivery with delay, dead letters after max_deliver and on reject, KV buckets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use radiant_bus::RequestContext;
use radiant_bus::jetstream::{
    ConsumerRunner, ConsumerSpec, JobError, JobMessage, RetryPolicy, StreamSpec,
    dead_letter_headers, ensure_stream, publish_message,
};
use radiant_bus::kv::{BucketSpec, ensure_bucket};
use radiant_proto::common::PageRequest;
use radiant_testkit::{TestNamespace, eventually};

async fn events_stream(test: &TestNamespace) -> (String, String) {
    let stream = test.namespace.stream_name("JOBS");
    let subject = test.namespace.event_subject("jobs", "requested");
    ensure_stream(
        &test.jetstream,
        &StreamSpec::events(
            stream.clone(),
            vec![test.namespace.event_domain_wildcard("jobs")],
            Duration::from_secs(600),
        ),
    )
    .await
    .unwrap();
    (stream, subject)
}

async fn consumer_info(
    test: &TestNamespace,
    stream: &str,
    durable: &str,
) -> async_nats::jetstream::consumer::Info {
    test.jetstream
        .get_stream(stream)
        .await
        .unwrap()
        .consumer_info(durable)
        .await
        .unwrap()
}

fn job(token: &str) -> PageRequest {
    PageRequest {
        page_size: 1,
        page_token: token.to_string(),
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(300),
        max_delay: Duration::from_secs(2),
        multiplier: 2.0,
    }
}

#[tokio::test]
async fn stream_setup_is_idempotent_and_applies_changes() {
    let test = TestNamespace::new().await;
    let name = test.namespace.stream_name("SETUP");
    let mut spec = StreamSpec::events(
        name.clone(),
        vec![test.namespace.event_domain_wildcard("setup")],
        Duration::from_secs(60),
    );
    ensure_stream(&test.jetstream, &spec).await.unwrap();
    ensure_stream(&test.jetstream, &spec).await.unwrap();
    spec.max_age = Duration::from_secs(120);
    let mut stream = ensure_stream(&test.jetstream, &spec).await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().config.max_age,
        Duration::from_secs(120)
    );
}

#[tokio::test]
async fn publishing_twice_with_one_message_id_stores_one_message() {
    let test = TestNamespace::new().await;
    let (stream, subject) = events_stream(&test).await;
    let context = RequestContext::internal();
    let first = publish_message(&test.jetstream, &subject, "job-1", &context, &job("a"))
        .await
        .unwrap();
    let second = publish_message(&test.jetstream, &subject, "job-1", &context, &job("a"))
        .await
        .unwrap();
    let third = publish_message(&test.jetstream, &subject, "job-2", &context, &job("b"))
        .await
        .unwrap();
    assert!(!first.duplicate);
    assert!(second.duplicate);
    assert_eq!(second.stream_sequence, first.stream_sequence);
    assert!(!third.duplicate);
    let mut stream = test.jetstream.get_stream(&stream).await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 2);
}

#[tokio::test]
async fn a_failing_message_is_redelivered_after_the_computed_delay_then_acked() {
    let test = TestNamespace::new().await;
    let (stream, subject) = events_stream(&test).await;
    let deliveries: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let seen = deliveries.clone();

    let mut spec = ConsumerSpec::new(&stream, "flaky-worker");
    spec.retry = fast_retry();
    spec.max_deliver = 5;
    let runner = ConsumerRunner::start(
        test.jetstream.clone(),
        test.namespace.clone(),
        spec,
        move |message: JobMessage| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((message.delivered, Instant::now()));
                let request: PageRequest = message.decode()?;
                assert_eq!(request.page_token, "flaky");
                if message.delivered < 3 {
                    return Err(JobError::Retry("downstream not ready".to_string()));
                }
                Ok(())
            }
        },
    )
    .await
    .unwrap();

    publish_message(
        &test.jetstream,
        &subject,
        "flaky-1",
        &RequestContext::internal(),
        &job("flaky"),
    )
    .await
    .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            deliveries.lock().unwrap().len() >= 3
        })
        .await
    );
    // nothing more after the successful third delivery: it was acked
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let deliveries = deliveries.lock().unwrap().clone();
    assert_eq!(
        deliveries
            .iter()
            .map(|(count, _)| *count)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // the server held each redelivery back for at least the nak delay (300 ms, then 600 ms)
    assert!(deliveries[1].1 - deliveries[0].1 >= Duration::from_millis(300));
    assert!(deliveries[2].1 - deliveries[1].1 >= Duration::from_millis(600));

    let consumer_info = consumer_info(&test, &stream, "flaky-worker").await;
    assert_eq!(consumer_info.num_ack_pending, 0);
    assert_eq!(consumer_info.num_pending, 0);
    runner.stop().await;
}

async fn next_dead_letter(test: &TestNamespace) -> async_nats::jetstream::Message {
    let dead_letters = test
        .jetstream
        .get_stream(test.namespace.dead_letter_stream())
        .await
        .unwrap();
    let consumer: async_nats::jetstream::consumer::PullConsumer = dead_letters
        .create_consumer(async_nats::jetstream::consumer::pull::Config::default())
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(1)
        .expires(Duration::from_secs(15))
        .messages()
        .await
        .unwrap();
    messages
        .next()
        .await
        .expect("a dead letter within 15 s")
        .unwrap()
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_dead_lettered_after_max_deliver() {
    let test = TestNamespace::new().await;
    let (stream, subject) = events_stream(&test).await;
    let attempts = Arc::new(Mutex::new(0u64));
    let counted = attempts.clone();

    let mut spec = ConsumerSpec::new(&stream, "doomed-worker");
    spec.retry = RetryPolicy {
        initial_delay: Duration::from_millis(100),
        ..fast_retry()
    };
    spec.max_deliver = 3;
    let runner = ConsumerRunner::start(
        test.jetstream.clone(),
        test.namespace.clone(),
        spec,
        move |_message: JobMessage| {
            let counted = counted.clone();
            async move {
                *counted.lock().unwrap() += 1;
                Err(JobError::Retry("always failing".to_string()))
            }
        },
    )
    .await
    .unwrap();

    let published = publish_message(
        &test.jetstream,
        &subject,
        "doomed-1",
        &RequestContext::internal(),
        &job("doomed"),
    )
    .await
    .unwrap();
    let dead_letter = next_dead_letter(&test).await;
    let provenance =
        dead_letter_headers(dead_letter.headers.as_ref().unwrap()).expect("dead letter headers");
    assert_eq!(provenance.stream, stream);
    assert_eq!(provenance.consumer, "doomed-worker");
    assert_eq!(provenance.stream_sequence, published.stream_sequence);
    assert_eq!(
        provenance.original_subject.as_deref(),
        Some(subject.as_str())
    );
    assert_eq!(provenance.reason, "max_deliveries");
    assert_eq!(provenance.deliveries, 3);
    let payload: PageRequest = prost::Message::decode(dead_letter.payload.clone()).unwrap();
    assert_eq!(payload, job("doomed"));
    assert_eq!(
        dead_letter.subject.as_str(),
        test.namespace.dead_letter_subject(&stream, "doomed-worker")
    );
    // the server stopped at max_deliver
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(*attempts.lock().unwrap(), 3);
    runner.stop().await;
}

#[tokio::test]
async fn a_rejected_message_is_dead_lettered_at_once_with_the_reason() {
    let test = TestNamespace::new().await;
    let (stream, subject) = events_stream(&test).await;
    let attempts = Arc::new(Mutex::new(0u64));
    let counted = attempts.clone();
    let runner = ConsumerRunner::start(
        test.jetstream.clone(),
        test.namespace.clone(),
        ConsumerSpec::new(&stream, "strict-worker"),
        move |_message: JobMessage| {
            let counted = counted.clone();
            async move {
                *counted.lock().unwrap() += 1;
                Err(JobError::Reject(
                    "schema version 9 is not supported".to_string(),
                ))
            }
        },
    )
    .await
    .unwrap();

    publish_message(
        &test.jetstream,
        &subject,
        "bad-1",
        &RequestContext::internal(),
        &job("bad"),
    )
    .await
    .unwrap();
    let dead_letter = next_dead_letter(&test).await;
    let provenance = dead_letter_headers(dead_letter.headers.as_ref().unwrap()).unwrap();
    assert_eq!(provenance.reason, "terminated");
    assert_eq!(
        provenance.detail.as_deref(),
        Some("schema version 9 is not supported")
    );
    assert_eq!(provenance.deliveries, 1);
    assert_eq!(*attempts.lock().unwrap(), 1);
    runner.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_gets_the_message_again() {
    let test = TestNamespace::new().await;
    let (stream, subject) = events_stream(&test).await;
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let seen = deliveries.clone();
    let mut spec = ConsumerSpec::new(&stream, "crashy-worker");
    spec.retry = fast_retry();
    let runner = ConsumerRunner::start(
        test.jetstream.clone(),
        test.namespace.clone(),
        spec,
        move |message: JobMessage| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(message.delivered);
                if message.delivered == 1 {
                    panic!("bug on first try");
                }
                Ok(())
            }
        },
    )
    .await
    .unwrap();
    publish_message(
        &test.jetstream,
        &subject,
        "crash-1",
        &RequestContext::internal(),
        &job("crash"),
    )
    .await
    .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            deliveries.lock().unwrap().len() >= 2
        })
        .await
    );
    // the second delivery succeeded and was acked: no third one follows
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(*deliveries.lock().unwrap(), vec![1, 2]);
    let consumer_info = consumer_info(&test, &stream, "crashy-worker").await;
    assert_eq!(consumer_info.num_ack_pending, 0);
    runner.stop().await;
}

#[tokio::test]
async fn kv_buckets_hold_protobuf_values_with_optimistic_updates() {
    let test = TestNamespace::new().await;
    let mut spec = BucketSpec::new("STATE");
    spec.history = 5;
    let bucket = ensure_bucket(&test.jetstream, &test.namespace, &spec)
        .await
        .unwrap();
    // a second replica running the same setup gets the same bucket
    let same_bucket = ensure_bucket(&test.jetstream, &test.namespace, &spec)
        .await
        .unwrap();

    let revision = bucket.put("model.smollm2", &job("warm")).await.unwrap();
    let (value, read_revision) = same_bucket
        .get::<PageRequest>("model.smollm2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value, job("warm"));
    assert_eq!(read_revision, revision);

    let newer = bucket
        .update("model.smollm2", &job("hot"), revision)
        .await
        .unwrap();
    assert!(newer > revision);
    // a writer that read the old revision loses instead of overwriting newer state
    assert!(
        bucket
            .update("model.smollm2", &job("cold"), revision)
            .await
            .is_err()
    );
    assert_eq!(
        bucket
            .get::<PageRequest>("model.smollm2")
            .await
            .unwrap()
            .unwrap()
            .0,
        job("hot")
    );
    assert!(
        bucket
            .get::<PageRequest>("model.absent")
            .await
            .unwrap()
            .is_none()
    );
}
