//! KV buckets with protobuf values: live state other services watch instead of querying a
//! database (e.g. the registry's provider health and model thermal state).

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;

use crate::jetstream::JetStreamError;
use crate::subjects::Namespace;

#[derive(Debug, Clone)]
pub struct BucketSpec {
    /// Bucket name without the namespace prefix.
    pub name: String,
    pub description: String,
    /// Revisions kept per key (1..=64).
    pub history: i64,
    /// Zero keeps entries forever.
    pub max_age: Duration,
}

impl BucketSpec {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            description: String::new(),
            history: 1,
            max_age: Duration::ZERO,
        }
    }
}

/// Creates the bucket, or updates it to the spec when it exists.
pub async fn ensure_bucket(
    jetstream: &jetstream::Context,
    namespace: &Namespace,
    spec: &BucketSpec,
) -> Result<ProtoBucket, JetStreamError> {
    let bucket = namespace.kv_bucket(&spec.name);
    let store = jetstream
        .create_or_update_key_value(kv::Config {
            bucket: bucket.clone(),
            description: spec.description.clone(),
            history: spec.history,
            max_age: spec.max_age,
            ..Default::default()
        })
        .await
        .map_err(|error| JetStreamError::new(format!("setup of kv bucket {bucket}"), error))?;
    Ok(ProtoBucket { store, bucket })
}

/// A KV bucket whose values are protobuf messages.
#[derive(Debug, Clone)]
pub struct ProtoBucket {
    store: kv::Store,
    bucket: String,
}

impl ProtoBucket {
    pub fn store(&self) -> &kv::Store {
        &self.store
    }

    /// Returns the new revision.
    pub async fn put<M: prost::Message>(
        &self,
        key: &str,
        value: &M,
    ) -> Result<u64, JetStreamError> {
        self.store
            .put(key, Bytes::from(value.encode_to_vec()))
            .await
            .map_err(|error| JetStreamError::new(format!("put {}/{key}", self.bucket), error))
    }

    /// Writes only if the key is still at `expected_revision` (optimistic concurrency);
    /// returns the new revision.
    pub async fn update<M: prost::Message>(
        &self,
        key: &str,
        value: &M,
        expected_revision: u64,
    ) -> Result<u64, JetStreamError> {
        self.store
            .update(key, Bytes::from(value.encode_to_vec()), expected_revision)
            .await
            .map_err(|error| JetStreamError::new(format!("update {}/{key}", self.bucket), error))
    }

    /// The current value and its revision.
    pub async fn get<M: prost::Message + Default>(
        &self,
        key: &str,
    ) -> Result<Option<(M, u64)>, JetStreamError> {
        let entry =
            self.store.entry(key).await.map_err(|error| {
                JetStreamError::new(format!("get {}/{key}", self.bucket), error)
            })?;
        let Some(entry) = entry else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let value = M::decode(entry.value)
            .map_err(|error| JetStreamError::new(format!("decode {}/{key}", self.bucket), error))?;
        Ok(Some((value, entry.revision)))
    }
}
