//! The identity provider's signing keys, fetched from its JWKS URL, refreshed periodically and
//! on an unknown `kid` (at most once per [`MIN_REFETCH_INTERVAL`], so forged `kid`s cannot
//! make the gateway hammer the provider).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::{Mutex, RwLock};

use super::AuthError;

const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Instant>,
}

impl JwksCache {
    /// Fetches the keys once (failing start-up if that fails) and refreshes them every
    /// `refresh_interval` in the background.
    pub async fn start(url: String, refresh_interval: Duration) -> Result<Arc<Self>, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|error| error.to_string())?;
        let keys = fetch(&http, &url).await?;
        let cache = Arc::new(Self {
            url,
            http,
            keys: RwLock::new(keys),
            last_fetch: Mutex::new(Instant::now()),
        });
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(refresh_interval.max(MIN_REFETCH_INTERVAL));
            interval.tick().await;
            loop {
                interval.tick().await;
                let Some(cache) = weak.upgrade() else { break };
                if let Err(error) = cache.refresh().await {
                    tracing::warn!(%error, "jwks refresh failed, keeping the previous keys");
                }
            }
        });
        Ok(cache)
    }

    pub async fn key(&self, key_id: &str) -> Result<DecodingKey, AuthError> {
        if let Some(key) = self.keys.read().await.get(key_id) {
            return Ok(key.clone());
        }
        {
            // one refetch at a time: a burst of unknown kids waits for it instead of each
            // fetching the document again
            let mut last_fetch = self.last_fetch.lock().await;
            let still_unknown = !self.keys.read().await.contains_key(key_id);
            if still_unknown && last_fetch.elapsed() >= MIN_REFETCH_INTERVAL {
                *last_fetch = Instant::now();
                let keys = fetch(&self.http, &self.url)
                    .await
                    .map_err(AuthError::KeysUnavailable)?;
                *self.keys.write().await = keys;
            }
        }
        self.keys
            .read()
            .await
            .get(key_id)
            .cloned()
            .ok_or_else(|| AuthError::UnknownKey(key_id.to_string()))
    }

    async fn refresh(&self) -> Result<(), String> {
        let mut last_fetch = self.last_fetch.lock().await;
        *last_fetch = Instant::now();
        let keys = fetch(&self.http, &self.url).await?;
        *self.keys.write().await = keys;
        Ok(())
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<HashMap<String, DecodingKey>, String> {
    let set: JwkSet = http
        .get(url)
        .send()
        .await
        .and_then(|response| response.error_for_status())
        .map_err(|error| format!("cannot fetch {url}: {error}"))?
        .json()
        .await
        .map_err(|error| format!("{url} is not a JWKS document: {error}"))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(key_id) = jwk.common.key_id.clone() else {
            continue;
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => {
                keys.insert(key_id, key);
            }
            Err(error) => tracing::warn!(%key_id, %error, "jwks key skipped"),
        }
    }
    if keys.is_empty() {
        return Err(format!("{url} has no usable keys with a kid"));
    }
    Ok(keys)
}
