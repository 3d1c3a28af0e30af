//! Which services run: NATS micro discovery (`$SRV.PING`, `$SRV.INFO`), filtered to one
//! namespace.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;

use crate::subjects::{NAMESPACE_METADATA_KEY, Namespace};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiscoveredService {
    pub name: String,
    pub id: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: HashMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<DiscoveredEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiscoveredEndpoint {
    pub name: String,
    pub subject: String,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Ping,
    Info,
}

impl Verb {
    fn token(self) -> &'static str {
        match self {
            Verb::Ping => "PING",
            Verb::Info => "INFO",
        }
    }
}

/// Every instance of the namespace that answers within `wait` (all services, or only `name`),
/// sorted by name then id.
pub async fn discover(
    nats: &async_nats::Client,
    namespace: &Namespace,
    verb: Verb,
    name: Option<&str>,
    wait: Duration,
) -> Result<Vec<DiscoveredService>, async_nats::Error> {
    let subject = match name {
        Some(name) => format!("$SRV.{}.{name}", verb.token()),
        None => format!("$SRV.{}", verb.token()),
    };
    let inbox = nats.new_inbox();
    let mut replies = nats.subscribe(inbox.clone()).await?;
    nats.publish_with_reply(subject, inbox, bytes::Bytes::new())
        .await?;
    nats.flush().await?;

    let mut found = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, replies.next()).await {
        let Ok(service) = serde_json::from_slice::<DiscoveredService>(&reply.payload) else {
            continue;
        };
        if in_namespace(&service, namespace) {
            found.push(service);
        }
    }
    found.sort_by(|left, right| (&left.name, &left.id).cmp(&(&right.name, &right.id)));
    Ok(found)
}

/// True as soon as one instance of `name` in the namespace answers `$SRV.PING.<name>`.
pub async fn is_answering(
    nats: &async_nats::Client,
    namespace: &Namespace,
    name: &str,
    wait: Duration,
) -> bool {
    let inbox = nats.new_inbox();
    let Ok(mut replies) = nats.subscribe(inbox.clone()).await else {
        return false;
    };
    if nats
        .publish_with_reply(format!("$SRV.PING.{name}"), inbox, bytes::Bytes::new())
        .await
        .is_err()
    {
        return false;
    }
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, replies.next()).await {
        let Ok(service) = serde_json::from_slice::<DiscoveredService>(&reply.payload) else {
            continue;
        };
        if in_namespace(&service, namespace) {
            return true;
        }
    }
    false
}

fn in_namespace(service: &DiscoveredService, namespace: &Namespace) -> bool {
    service
        .metadata
        .get(NAMESPACE_METADATA_KEY)
        .is_some_and(|prefix| prefix == namespace.subject_prefix())
}
