//! Live state: observations in, current state out.
//!
//! - [`projector`]: the durable consumer of health and thermal observations; batches them,
//!   keeps their history, updates the aggregates and writes the KV bucket.
//! - [`thermal`]: the thermal manager (warm-ups, modes, HOT by demand, scale to zero).
//!
//! KV writes are compare-and-set on how new the entry is (its `observed_at_ms`, for health
//! also its observation count): a replica holding an older state never overwrites a newer one
//! another replica wrote.

pub mod projector;
pub mod thermal;

use radiant_bus::kv::ProtoBucket;

/// Writes `value` under `key` unless the bucket holds a newer observation already. Losing a
/// race to a newer writer is success; failing to write at all is an error (the caller's
/// message is then redelivered).
pub async fn put_if_newer<M: prost::Message + Default, Newness: Ord>(
    bucket: &ProtoBucket,
    key: &str,
    value: &M,
    newness: impl Fn(&M) -> Newness,
) -> Result<(), radiant_bus::jetstream::JetStreamError> {
    let ours = newness(value);
    let mut last_error = None;
    for _ in 0..5 {
        let written = match bucket.get::<M>(key).await? {
            Some((current, _)) if newness(&current) >= ours => return Ok(()),
            Some((_, revision)) => bucket.update(key, value, revision).await.map(|_| ()),
            None => bucket
                .store()
                .create(key, bytes::Bytes::from(value.encode_to_vec()))
                .await
                .map(|_| ())
                .map_err(|error| {
                    radiant_bus::jetstream::JetStreamError::new(format!("create {key}"), error)
                }),
        };
        match written {
            Ok(()) => return Ok(()),
            // another writer got in first: read again and compare
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        radiant_bus::jetstream::JetStreamError::new(format!("put {key}"), "no attempt made")
    }))
}
