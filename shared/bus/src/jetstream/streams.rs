//! Streams created or brought up to date from a spec, so every replica can run the same
//! setup at start.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use super::JetStreamError;

#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// Full stream name (see [`crate::Namespace::stream_name`]).
    pub name: String,
    pub subjects: Vec<String>,
    pub description: String,
    pub retention: stream::RetentionPolicy,
    pub max_age: Duration,
    pub max_bytes: i64,
    /// How long a `Nats-Msg-Id` is remembered for deduplication.
    pub duplicate_window: Duration,
    pub storage: stream::StorageType,
}

impl StreamSpec {
    /// An event stream: kept for `max_age` whoever has read it.
    pub fn events(name: String, subjects: Vec<String>, max_age: Duration) -> Self {
        Self {
            name,
            subjects,
            description: String::new(),
            retention: stream::RetentionPolicy::Limits,
            max_age,
            max_bytes: -1,
            duplicate_window: Duration::from_secs(120),
            storage: stream::StorageType::File,
        }
    }

    /// A work queue: each message is removed once a consumer acknowledged it.
    pub fn work_queue(name: String, subjects: Vec<String>, max_age: Duration) -> Self {
        Self {
            retention: stream::RetentionPolicy::WorkQueue,
            ..Self::events(name, subjects, max_age)
        }
    }

    fn to_config(&self) -> stream::Config {
        // the server refuses a duplicate window longer than the messages live
        let duplicate_window = if self.max_age.is_zero() {
            self.duplicate_window
        } else {
            self.duplicate_window.min(self.max_age)
        };
        stream::Config {
            name: self.name.clone(),
            subjects: self.subjects.clone(),
            description: (!self.description.is_empty()).then(|| self.description.clone()),
            retention: self.retention,
            max_age: self.max_age,
            max_bytes: self.max_bytes,
            duplicate_window,
            storage: self.storage,
            // stream direct get serves the dead-letter mover's lookups without the leader's API
            allow_direct: true,
            ..Default::default()
        }
    }
}

/// Creates the stream, or updates it to the spec when it exists with other settings.
pub async fn ensure_stream(
    jetstream: &jetstream::Context,
    spec: &StreamSpec,
) -> Result<stream::Stream, JetStreamError> {
    let config = spec.to_config();
    jetstream
        .create_or_update_stream(config)
        .await
        .map_err(|error| JetStreamError::new(format!("setup of stream {}", spec.name), error))?;
    jetstream
        .get_stream(&spec.name)
        .await
        .map_err(|error| JetStreamError::new(format!("lookup of stream {}", spec.name), error))
}
