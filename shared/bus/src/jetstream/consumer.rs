//! The durable pull-consumer runner.
//!
//! A message is acknowledged only after its handler returned `Ok` (and the server confirmed the
//! ack), so work the handler committed is never lost and work it did not commit is redelivered.
//! `JobError::Retry` naks with a delay computed from the delivery count; after `max_deliver`
//! deliveries the server stops and emits a max-deliveries advisory. `JobError::Reject` (or a
//! message that cannot be read at all) terminates the message at once. Both advisories are
//! turned into dead letters by the mover in [`super::dead_letter`]. Long handlers keep their
//! message by sending progress acks, and a panicking handler is a retry, not a crash. The runner
//! pulls only as many messages as it has free handler slots, so no message waits in a local
//! buffer while its ack deadline runs out; a durable deleted under it is created again.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer};
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::JetStreamError;
use crate::context::RequestContext;
use crate::subjects::Namespace;

/// Exponential backoff between deliveries of a failing message.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// The delay before delivery `delivered + 1`.
    pub fn delay_after(&self, delivered: u64) -> Duration {
        let exponent = delivered.saturating_sub(1).min(63) as i32;
        let delay = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        if !delay.is_finite() || delay >= self.max_delay.as_secs_f64() {
            return self.max_delay;
        }
        Duration::from_secs_f64(delay.max(0.0))
    }
}

#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub stream: String,
    pub durable_name: String,
    /// Empty: every subject of the stream.
    pub filter_subjects: Vec<String>,
    pub max_deliver: i64,
    pub ack_wait: Duration,
    pub retry: RetryPolicy,
    /// Messages handled at once by this process.
    pub concurrency: usize,
    /// Start the dead-letter mover for this stream with the consumer.
    pub dead_letters: bool,
    /// A durable that nobody pulls from for this long is removed by the server.
    pub inactive_threshold: Option<Duration>,
}

impl ConsumerSpec {
    pub fn new(stream: &str, durable_name: &str) -> Self {
        Self {
            stream: stream.to_string(),
            durable_name: durable_name.to_string(),
            filter_subjects: Vec::new(),
            max_deliver: 5,
            ack_wait: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            concurrency: 8,
            dead_letters: true,
            inactive_threshold: None,
        }
    }

    fn validate(&self) -> Result<(), JetStreamError> {
        let invalid = |message: &str| {
            Err(JetStreamError::new(
                format!("consumer {} spec", self.durable_name),
                message,
            ))
        };
        if self.ack_wait < Duration::from_secs(1) {
            return invalid("ack_wait must be at least 1 s");
        }
        if self.concurrency == 0 {
            return invalid("concurrency must be at least 1");
        }
        if !self.retry.multiplier.is_finite() || self.retry.multiplier < 1.0 {
            return invalid("retry multiplier must be a finite number of at least 1");
        }
        if self.retry.max_delay < self.retry.initial_delay {
            return invalid("retry max_delay must not be shorter than initial_delay");
        }
        if self.max_deliver == 0 || self.max_deliver < -1 {
            return invalid("max_deliver must be positive, or -1 for no limit");
        }
        Ok(())
    }

    fn to_config(&self) -> consumer::pull::Config {
        let mut config = consumer::pull::Config {
            durable_name: Some(self.durable_name.clone()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver,
            max_ack_pending: (self.concurrency * 4) as i64,
            inactive_threshold: self.inactive_threshold.unwrap_or_default(),
            ..Default::default()
        };
        match self.filter_subjects.as_slice() {
            [] => {}
            [single] => config.filter_subject = single.clone(),
            many => config.filter_subjects = many.to_vec(),
        }
        config
    }
}

/// A message handed to a handler.
#[derive(Debug, Clone)]
pub struct JobMessage {
    pub subject: String,
    pub payload: Bytes,
    pub headers: HeaderMap,
    pub context: RequestContext,
    pub stream_sequence: u64,
    /// 1 on the first delivery.
    pub delivered: u64,
}

impl JobMessage {
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, JobError> {
        M::decode(self.payload.clone())
            .map_err(|error| JobError::Reject(format!("payload cannot be decoded: {error}")))
    }

    pub fn message_id(&self) -> Option<&str> {
        self.headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|value| value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A passing failure: deliver again after a delay.
    #[error("retry: {0}")]
    Retry(String),
    /// The message can never succeed: stop delivering it and dead-letter it.
    #[error("reject: {0}")]
    Reject(String),
}

pub struct ConsumerRunner;

impl ConsumerRunner {
    /// Creates (or updates) the durable consumer and runs `handler` on its messages until
    /// [`RunningConsumer::stop`] (or until the `RunningConsumer` is dropped).
    pub async fn start<Handler, HandlerFuture>(
        jetstream: jetstream::Context,
        namespace: Namespace,
        spec: ConsumerSpec,
        handler: Handler,
    ) -> Result<RunningConsumer, JetStreamError>
    where
        Handler: Fn(JobMessage) -> HandlerFuture + Send + Sync + 'static,
        HandlerFuture: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        spec.validate()?;
        let dead_letters = spec.dead_letters;
        let stream = spec.stream.clone();
        if dead_letters {
            super::dead_letter::ensure_dead_letter_streams(&jetstream, &namespace).await?;
        }
        let mut running =
            Self::start_without_dead_letters(jetstream.clone(), spec, handler).await?;
        if dead_letters {
            let mover =
                super::dead_letter::start_dead_letter_mover(jetstream, namespace, &stream).await;
            match mover {
                Ok(mover) => running.dead_letter_mover = Some(Box::new(mover)),
                Err(error) => {
                    running.stop().await;
                    return Err(error);
                }
            }
        }
        Ok(running)
    }

    /// The runner alone; the dead-letter mover itself runs this way.
    pub(crate) async fn start_without_dead_letters<Handler, HandlerFuture>(
        jetstream: jetstream::Context,
        spec: ConsumerSpec,
        handler: Handler,
    ) -> Result<RunningConsumer, JetStreamError>
    where
        Handler: Fn(JobMessage) -> HandlerFuture + Send + Sync + 'static,
        HandlerFuture: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        spec.validate()?;
        let consumer = create_consumer(&jetstream, &spec).await?;
        let cancellation = CancellationToken::new();
        let task = tokio::spawn(run_consumer(
            jetstream,
            consumer,
            Arc::new(spec),
            Arc::new(handler),
            cancellation.clone(),
        ));
        Ok(RunningConsumer {
            cancellation,
            task: Some(task),
            dead_letter_mover: None,
        })
    }
}

async fn create_consumer(
    jetstream: &jetstream::Context,
    spec: &ConsumerSpec,
) -> Result<consumer::PullConsumer, JetStreamError> {
    jetstream
        .create_consumer_on_stream(spec.to_config(), &spec.stream)
        .await
        .map_err(|error| {
            JetStreamError::new(
                format!("setup of consumer {} on {}", spec.durable_name, spec.stream),
                error,
            )
        })
}

pub struct RunningConsumer {
    cancellation: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    dead_letter_mover: Option<Box<RunningConsumer>>,
}

impl RunningConsumer {
    /// Stops pulling and waits until every message in hand is acked or nak'ed.
    pub async fn stop(mut self) {
        self.cancellation.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(mover) = self.dead_letter_mover.take() {
            Box::pin(mover.stop()).await;
        }
    }
}

impl Drop for RunningConsumer {
    fn drop(&mut self) {
        // the tasks end on their own; messages in their hands are settled first
        self.cancellation.cancel();
    }
}

async fn run_consumer<Handler, HandlerFuture>(
    jetstream: jetstream::Context,
    mut consumer: consumer::PullConsumer,
    spec: Arc<ConsumerSpec>,
    handler: Arc<Handler>,
    cancellation: CancellationToken,
) where
    Handler: Fn(JobMessage) -> HandlerFuture + Send + Sync + 'static,
    HandlerFuture: Future<Output = Result<(), JobError>> + Send + 'static,
{
    let concurrency = spec.concurrency.max(1);
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut consecutive_failures: u32 = 0;
    'pull: while !cancellation.is_cancelled() {
        // wait for one free handler slot, then ask for exactly as many messages as there are
        // free slots: every pulled message starts its handler at once
        let first_permit = tokio::select! {
            _ = cancellation.cancelled() => break 'pull,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break 'pull,
            },
        };
        let mut free_permits = vec![first_permit];
        while let Ok(permit) = permits.clone().try_acquire_owned() {
            free_permits.push(permit);
        }

        let batch = consumer
            .fetch()
            .max_messages(free_permits.len())
            .expires(Duration::from_secs(5))
            .messages()
            .await;
        let mut batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                consecutive_failures += 1;
                tracing::warn!(%error, consumer = %spec.durable_name, "pull failed, retrying");
                let backoff = Duration::from_secs(u64::from(consecutive_failures.min(10)));
                tokio::select! {
                    _ = cancellation.cancelled() => break 'pull,
                    _ = tokio::time::sleep(backoff) => {}
                }
                // the durable may have been deleted under us: create it again (idempotent)
                match create_consumer(&jetstream, &spec).await {
                    Ok(recreated) => consumer = recreated,
                    Err(error) => tracing::warn!(%error, "consumer could not be recreated"),
                }
                continue 'pull;
            }
        };
        loop {
            let next = tokio::select! {
                // messages of this batch not yet received are redelivered after ack_wait
                _ = cancellation.cancelled() => break 'pull,
                next = batch.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    consecutive_failures = 0;
                    let Some(permit) = free_permits.pop() else {
                        // the server sent more than asked for: give it back at once
                        let _ = message.ack_with(AckKind::Nak(None)).await;
                        continue;
                    };
                    let spec = spec.clone();
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        process_message(message, &spec, handler.as_ref()).await;
                        drop(permit);
                    });
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, consumer = %spec.durable_name, "fetch interrupted");
                    break;
                }
                None => break,
            }
        }
        // unused slots go back with the batch
        drop(free_permits);
    }
    // every permit back means every message in hand was settled
    let _ = permits.acquire_many(concurrency as u32).await;
}

async fn process_message<Handler, HandlerFuture>(
    message: jetstream::Message,
    spec: &ConsumerSpec,
    handler: &Handler,
) where
    Handler: Fn(JobMessage) -> HandlerFuture,
    HandlerFuture: Future<Output = Result<(), JobError>>,
{
    let (stream_sequence, delivered) = match message.info() {
        Ok(info) => (info.stream_sequence, info.delivered.max(1) as u64),
        Err(error) => {
            tracing::warn!(%error, "message without jetstream metadata skipped");
            return;
        }
    };
    let span = tracing::info_span!(
        "jetstream.consume",
        otel.name = %message.subject,
        otel.kind = "consumer",
        consumer = %spec.durable_name,
        stream_sequence,
        delivered,
    );
    radiant_telemetry::set_span_parent_from_nats_headers(&span, message.headers.as_ref());

    async {
        let context = match RequestContext::from_headers(message.headers.as_ref()) {
            Ok(context) => context,
            Err(error) => {
                terminate(&message, &error.message).await;
                return;
            }
        };
        let job = JobMessage {
            subject: message.subject.to_string(),
            payload: message.payload.clone(),
            headers: message.headers.clone().unwrap_or_default(),
            context,
            stream_sequence,
            delivered,
        };
        let handler_future = std::panic::AssertUnwindSafe(handler(job)).catch_unwind();
        tokio::pin!(handler_future);
        // progress acks keep a long handler's message from being redelivered to another replica
        let mut keepalive = tokio::time::interval(spec.ack_wait / 2);
        keepalive.tick().await;
        let outcome = loop {
            tokio::select! {
                outcome = &mut handler_future => break outcome,
                _ = keepalive.tick() => {
                    if let Err(error) = message.ack_with(AckKind::Progress).await {
                        tracing::warn!(%error, "progress ack failed");
                    }
                }
            }
        };
        match outcome {
            Ok(Ok(())) => {
                if let Err(error) = message.double_ack().await {
                    // the work is committed; a redelivery must find it done (handlers are idempotent)
                    tracing::warn!(%error, "ack not confirmed, the message may be delivered again");
                }
            }
            Ok(Err(JobError::Retry(reason))) => {
                retry_later(&message, spec, delivered, &reason).await
            }
            Ok(Err(JobError::Reject(reason))) => terminate(&message, &reason).await,
            Err(_panic) => retry_later(&message, spec, delivered, "handler panicked").await,
        }
    }
    .instrument(span)
    .await
}

async fn retry_later(
    message: &jetstream::Message,
    spec: &ConsumerSpec,
    delivered: u64,
    reason: &str,
) {
    let last_delivery = spec.max_deliver > 0 && delivered >= spec.max_deliver as u64;
    // after the last delivery there is nothing to wait for: the server dead-letters it now
    let delay = (!last_delivery).then(|| spec.retry.delay_after(delivered));
    tracing::warn!(%reason, delivered, max_deliver = spec.max_deliver, ?delay, "handler failed");
    if let Err(error) = message.ack_with(AckKind::Nak(delay)).await {
        tracing::warn!(%error, "nak failed, the message is redelivered after ack_wait");
    }
}

/// Terminates with a reason the server puts into the terminated advisory (nats-server ≥ 2.11).
async fn terminate(message: &jetstream::Message, reason: &str) {
    tracing::warn!(%reason, "message rejected, dead-lettering it");
    let Some(reply) = message.reply.clone() else {
        return;
    };
    let single_line_reason: String = reason
        .chars()
        .filter(|character| !character.is_control())
        .collect();
    let payload = Bytes::from(format!("+TERM {single_line_reason}"));
    if let Err(error) = message.context.client().publish(reply, payload).await {
        tracing::warn!(%error, "term failed, the message is redelivered after ack_wait");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_that_would_misbehave_are_refused() {
        let valid = ConsumerSpec::new("S", "d");
        assert!(valid.validate().is_ok());
        let mut zero_ack_wait = valid.clone();
        zero_ack_wait.ack_wait = Duration::ZERO;
        assert!(zero_ack_wait.validate().is_err());
        let mut shrinking = valid.clone();
        shrinking.retry.multiplier = 0.5;
        assert!(shrinking.validate().is_err());
        let mut no_workers = valid.clone();
        no_workers.concurrency = 0;
        assert!(no_workers.validate().is_err());
        let mut huge = valid;
        huge.retry.max_delay = Duration::MAX;
        huge.retry.multiplier = 1e300;
        assert_eq!(huge.retry.delay_after(60), Duration::MAX);
    }

    #[test]
    fn retry_delay_grows_exponentially_up_to_the_cap() {
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            multiplier: 2.0,
        };
        assert_eq!(policy.delay_after(1), Duration::from_millis(100));
        assert_eq!(policy.delay_after(2), Duration::from_millis(200));
        assert_eq!(policy.delay_after(4), Duration::from_millis(800));
        assert_eq!(policy.delay_after(5), Duration::from_secs(1));
        assert_eq!(policy.delay_after(1_000), Duration::from_secs(1));
    }
}
