//! Live state: observations in, current state out.
//!
//! - [`projector`]: the durable consumer of health and thermal observations; batches them,
//!   keeps their history, updates the aggregates and writes the KV bucket.
//! - [`thermal`]: the thermal manager (warm-ups, modes, HOT by demand, scale to zero).
//!
//! KV writes are compare-and-set on the entry's `observed_at_ms`: a replica holding an older
//! state never overwrites a newer one another replica wrote.

pub mod projector;
pub mod thermal;

use radiant_bus::kv::ProtoBucket;

/// Writes `value` under `key` unless the bucket holds a newer observation already.
pub async fn put_if_newer<M: prost::Message + Default>(
    bucket: &ProtoBucket,
    key: &str,
    value: &M,
    observed_at_ms: impl Fn(&M) -> i64,
) -> Result<(), radiant_bus::jetstream::JetStreamError> {
    let ours = observed_at_ms(value);
    for _ in 0..5 {
        match bucket.get::<M>(key).await? {
            Some((current, _)) if observed_at_ms(&current) > ours => return Ok(()),
            Some((_, revision)) => {
                if bucket.update(key, value, revision).await.is_ok() {
                    return Ok(());
                }
            }
            None => {
                let created = bucket
                    .store()
                    .create(key, bytes::Bytes::from(value.encode_to_vec()))
                    .await;
                if created.is_ok() {
                    return Ok(());
                }
            }
        }
    }
    // five lost races in a row: someone else keeps writing newer state
    Ok(())
}
