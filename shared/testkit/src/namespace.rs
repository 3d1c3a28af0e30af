use std::time::Duration;

use futures::StreamExt;
use radiant_bus::{BusClient, Namespace, NatsConfig};

use crate::stack::TestStack;

/// A namespace of its own on the shared NATS server: subjects `t<id>.…`, streams and buckets
/// `T<ID>_…`. Dropping it deletes its streams, buckets and dead-letter movers.
pub struct TestNamespace {
    pub namespace: Namespace,
    pub nats: async_nats::Client,
    pub jetstream: async_nats::jetstream::Context,
    nats_url: String,
}

impl TestNamespace {
    pub async fn new() -> Self {
        let stack = TestStack::get().await;
        let id = crate::unique_suffix();
        let namespace = Namespace::new(&format!("t{id}"), &format!("T{}", id.to_uppercase()));
        let nats = stack.nats().await;
        let jetstream = async_nats::jetstream::new(nats.clone());
        Self {
            namespace,
            nats,
            jetstream,
            nats_url: stack.nats_url.clone(),
        }
    }

    pub fn bus_client(&self) -> BusClient {
        BusClient::new(
            self.nats.clone(),
            self.namespace.clone(),
            Duration::from_secs(5),
        )
    }

    /// Configuration for an app under test that must live in this namespace.
    pub fn nats_config(&self) -> NatsConfig {
        let mut config = NatsConfig::local(&self.nats_url);
        config.subject_prefix = self.namespace.subject_prefix().to_string();
        config.stream_prefix = self.namespace.stream_prefix().to_string();
        config
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let url = self.nats_url.clone();
        let stream_prefix = format!("{}_", self.namespace.stream_prefix());
        crate::run_detached(async move {
            let Ok(client) = async_nats::connect(url.as_str()).await else {
                return;
            };
            let jetstream = async_nats::jetstream::new(client);
            let names: Vec<String> = jetstream
                .stream_names()
                .filter_map(|name| async move { name.ok() })
                .collect()
                .await;
            for name in names.iter().filter(|name| name.starts_with(&stream_prefix)) {
                let _ = jetstream.delete_stream(name).await;
            }
            // dead-letter movers of this namespace live on the shared advisory stream
            let mover_prefix = format!("dlq-mover-{stream_prefix}");
            if let Ok(advisories) = jetstream
                .get_stream(radiant_bus::subjects::ADVISORY_STREAM)
                .await
            {
                let consumers: Vec<String> = advisories
                    .consumer_names()
                    .filter_map(|name| async move { name.ok() })
                    .collect()
                    .await;
                for consumer in consumers
                    .iter()
                    .filter(|name| name.starts_with(&mover_prefix))
                {
                    let _ = advisories.delete_consumer(consumer).await;
                }
            }
        });
    }
}
