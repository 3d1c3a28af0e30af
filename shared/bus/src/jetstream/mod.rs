//! JetStream helpers: idempotent setup, deduplicated publishes, the durable consumer runner
//! and the dead-letter mover.

mod consumer;
mod dead_letter;
mod publish;
mod streams;

pub use consumer::{
    ConsumerRunner, ConsumerSpec, JobError, JobMessage, RetryPolicy, RunningConsumer,
};
pub use dead_letter::{
    DeadLetter, dead_letter_headers, ensure_dead_letter_streams, start_dead_letter_mover,
};
pub use publish::{PublishOutcome, publish_message};
pub use streams::{StreamSpec, ensure_stream};

#[derive(Debug, Clone, thiserror::Error)]
#[error("jetstream {operation} failed: {message}")]
pub struct JetStreamError {
    pub operation: String,
    pub message: String,
}

impl JetStreamError {
    pub fn new(operation: impl Into<String>, error: impl std::fmt::Display) -> Self {
        Self {
            operation: operation.into(),
            message: error.to_string(),
        }
    }
}
