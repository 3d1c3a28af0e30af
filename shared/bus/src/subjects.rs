//! Every subject, stream and bucket name of the platform.
//!
//! Request/reply: `<prefix>.<service token>.v1.<resource>.<verb>`.
//! Events: `<prefix>.events.<domain>.<event>`.
//! Dead letters: `<prefix>.dlq.<stream>.<consumer>`.
//! Streams and KV buckets: `<STREAM_PREFIX>_<NAME>`.
//! The prefixes come from configuration so that tests run in parallel on one server.

use std::borrow::Cow;

/// A service's kebab-case name (used for `$SRV` discovery and configuration) and the short
/// token of its subjects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceName {
    name: Cow<'static, str>,
    subject_token: Cow<'static, str>,
}

impl ServiceName {
    pub const fn new(name: &'static str, subject_token: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            subject_token: Cow::Borrowed(subject_token),
        }
    }

    /// A name built at run time (tests use unique ones).
    pub fn owned(name: impl Into<String>, subject_token: impl Into<String>) -> Self {
        Self {
            name: Cow::Owned(name.into()),
            subject_token: Cow::Owned(subject_token.into()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn subject_token(&self) -> &str {
        &self.subject_token
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.name)
    }
}

pub const GATEWAY: ServiceName = ServiceName::new("gateway", "gateway");
pub const TIME_MACHINE: ServiceName = ServiceName::new("time-machine", "tm");
pub const MEDIA_VAULT: ServiceName = ServiceName::new("media-vault", "media");
pub const REGISTRY: ServiceName = ServiceName::new("registry", "registry");
pub const BRAIN_ROUTER: ServiceName = ServiceName::new("brain-router", "brain");
pub const NEURAL_ENGINE: ServiceName = ServiceName::new("neural-engine", "neural");
pub const FEEDBACK: ServiceName = ServiceName::new("feedback", "feedback");
pub const VISUAL_PIPELINE: ServiceName = ServiceName::new("visual-pipeline", "visual");

/// Every service of the platform.
pub static ALL_SERVICES: [ServiceName; 8] = [
    GATEWAY,
    TIME_MACHINE,
    MEDIA_VAULT,
    REGISTRY,
    BRAIN_ROUTER,
    NEURAL_ENGINE,
    FEEDBACK,
    VISUAL_PIPELINE,
];

pub fn service_by_name(name: &str) -> Option<ServiceName> {
    ALL_SERVICES
        .iter()
        .find(|service| service.name() == name)
        .cloned()
}

/// Endpoints every service built with the kit answers.
pub mod endpoints {
    /// `radiant.system.v1.StatusRequest` → `radiant.system.v1.ServiceStatus`.
    pub const SYSTEM_STATUS: &str = "system.status";
}

/// The media vault's endpoints (`radiant.media.v1`), its events and its job subjects.
pub mod media {
    pub const FILES_STORE: &str = "files.store";
    pub const FILES_GET: &str = "files.get";
    pub const FILES_VERSIONS: &str = "files.versions";
    pub const FILES_DOWNLOAD_URL: &str = "files.download_url";
    pub const FILES_TOMBSTONE: &str = "files.tombstone";
    pub const FILES_RESTORE: &str = "files.restore";
    pub const FILES_LEGAL_HOLD: &str = "files.legal_hold";
    pub const FILES_PURGE: &str = "files.purge";
    pub const UPLOADS_CREATE: &str = "uploads.create";
    pub const UPLOADS_PART_URLS: &str = "uploads.part_urls";
    pub const UPLOADS_GET: &str = "uploads.get";
    pub const UPLOADS_COMPLETE: &str = "uploads.complete";
    pub const UPLOADS_ABORT: &str = "uploads.abort";

    /// Event domain: `<prefix>.events.media.<event>`.
    pub const EVENT_DOMAIN: &str = "media";
    pub const EVENT_FILE_STORED: &str = "file_stored";
    pub const EVENT_VARIANT_READY: &str = "variant_ready";
    pub const EVENT_INTEGRITY_FAILED: &str = "integrity_failed";

    /// Streams (before the namespace's stream prefix).
    pub const EVENTS_STREAM: &str = "MEDIA_EVENTS";
    pub const JOBS_STREAM: &str = "MEDIA_JOBS";
    pub const VARIANT_JOB: &str = "variants";
    pub const VARIANT_CONSUMER: &str = "media-variants";
}

/// The time machine's endpoints (`radiant.tm.v1`), its events and its export jobs.
pub mod tm {
    pub const CHATS_CREATE: &str = "chats.create";
    pub const CHATS_GET: &str = "chats.get";
    pub const CHATS_LIST: &str = "chats.list";
    pub const CHATS_UPDATE: &str = "chats.update";
    pub const CHATS_DELETE: &str = "chats.delete";
    pub const CHATS_RESTORE: &str = "chats.restore";
    pub const MESSAGES_SAVE: &str = "messages.save";
    pub const MESSAGES_EDIT: &str = "messages.edit";
    pub const MESSAGES_DELETE: &str = "messages.delete";
    pub const MESSAGES_VERSIONS: &str = "messages.versions";
    pub const SNAPSHOTS_CREATE: &str = "snapshots.create";
    pub const SNAPSHOTS_TIMELINE: &str = "snapshots.timeline";
    pub const SNAPSHOTS_CALENDAR: &str = "snapshots.calendar";
    pub const SNAPSHOTS_BY_DATE: &str = "snapshots.by_date";
    pub const SNAPSHOTS_VIEW: &str = "snapshots.view";
    pub const SNAPSHOTS_VERIFY: &str = "snapshots.verify";
    pub const HISTORY_RESTORE: &str = "history.restore";
    pub const HISTORY_COMPARE: &str = "history.compare";
    pub const HISTORY_SEARCH: &str = "history.search";
    pub const FILES_UPLOAD: &str = "files.upload";
    pub const FILES_ATTACH: &str = "files.attach";
    pub const FILES_DELETE: &str = "files.delete";
    pub const FILES_LIST: &str = "files.list";
    pub const FILES_VERSIONS: &str = "files.versions";
    pub const FILES_DOWNLOAD: &str = "files.download";
    pub const AI_SUMMARY: &str = "ai.summary";
    pub const AI_FIND: &str = "ai.find";
    pub const AI_RESTORE: &str = "ai.restore";
    pub const AI_COMPARE: &str = "ai.compare";
    pub const EXPORTS_CREATE: &str = "exports.create";
    pub const EXPORTS_GET: &str = "exports.get";

    /// Event domain: `<prefix>.events.chat.<event>`.
    pub const EVENT_DOMAIN: &str = "chat";
    pub const EVENT_MESSAGE_SAVED: &str = "message_saved";
    pub const EVENT_MESSAGE_EDITED: &str = "message_edited";
    pub const EVENT_MESSAGE_DELETED: &str = "message_deleted";
    pub const EVENT_FILE_SAVED: &str = "file_saved";
    pub const EVENT_FILE_DELETED: &str = "file_deleted";
    pub const EVENT_RENAMED: &str = "renamed";
    pub const EVENT_RESTORE_PERFORMED: &str = "restore_performed";
    pub const EVENT_SNAPSHOT_CREATED: &str = "snapshot_created";

    pub const EVENTS_STREAM: &str = "CHAT_EVENTS";
    pub const JOBS_STREAM: &str = "CHAT_JOBS";
    pub const EXPORT_JOB: &str = "exports";
    pub const EXPORT_CONSUMER: &str = "tm-exports";
}

/// The registry's endpoints (`radiant.registry.v1`), its events, stream and KV bucket.
pub mod registry {
    pub const MODELS_GET: &str = "models.get";
    pub const MODELS_LIST: &str = "models.list";
    pub const MODELS_SELECT: &str = "models.select";
    pub const MODELS_CONFIG: &str = "models.config";
    pub const MODELS_CREATE: &str = "models.create";
    pub const MODELS_UPDATE: &str = "models.update";
    pub const MODELS_SET_ENABLED: &str = "models.set_enabled";
    pub const PROVIDERS_LIST: &str = "providers.list";
    pub const PROVIDERS_HEALTH: &str = "providers.health";
    pub const LICENSES_LIST: &str = "licenses.list";
    pub const LICENSES_REVIEW: &str = "licenses.review";
    pub const LICENSES_COMPLIANCE: &str = "licenses.compliance";
    pub const WORKFLOWS_GET: &str = "workflows.get";
    pub const WORKFLOWS_LIST: &str = "workflows.list";
    pub const WORKFLOWS_CREATE: &str = "workflows.create";
    pub const WORKFLOWS_UPDATE: &str = "workflows.update";
    pub const WORKFLOWS_DELETE: &str = "workflows.delete";
    pub const STATS: &str = "stats.get";
    pub const AUDIT_LIST: &str = "audit.list";
    pub const SYNC_LIST: &str = "sync.list";
    pub const SYNC_TRIGGER: &str = "sync.trigger";
    pub const THERMAL_GET: &str = "thermal.get";
    pub const THERMAL_WARM: &str = "thermal.warm";
    pub const THERMAL_SET_MODE: &str = "thermal.set_mode";
    pub const CREDENTIALS_SET: &str = "credentials.set";
    pub const CREDENTIALS_LIST: &str = "credentials.list";
    pub const CREDENTIALS_REVOKE: &str = "credentials.revoke";
    pub const CREDENTIALS_RESOLVE: &str = "credentials.resolve";

    /// Event domain: `<prefix>.events.registry.<event>`.
    pub const EVENT_DOMAIN: &str = "registry";
    pub const EVENT_HEALTH_OBSERVED: &str = "health_observed";
    pub const EVENT_THERMAL_OBSERVED: &str = "thermal_observed";
    pub const EVENT_THERMAL_CHANGED: &str = "thermal_changed";
    pub const EVENT_WARMUP_REQUESTED: &str = "thermal_warmup_requested";
    pub const EVENT_SYNC_COMPLETED: &str = "sync_completed";
    pub const EVENT_CATALOGUE_CHANGED: &str = "catalogue_changed";

    pub const EVENTS_STREAM: &str = "REGISTRY_EVENTS";
    /// The durable that projects observations into the live-state bucket.
    pub const LIVE_STATE_CONSUMER: &str = "registry-live-state";
    /// The durable that serves warm-up requests.
    pub const WARMUP_CONSUMER: &str = "registry-warmups";
    /// KV bucket of live state: `health.<provider>`, `thermal.<model>`, `catalogue`.
    pub const LIVE_BUCKET: &str = "REGISTRY_LIVE";
    pub const HEALTH_KEY_PREFIX: &str = "health.";
    pub const THERMAL_KEY_PREFIX: &str = "thermal.";
    pub const CATALOGUE_KEY: &str = "catalogue";

    /// A KV key for an id that may hold characters KV keys do not allow (`[-/_=.a-zA-Z0-9]`):
    /// every other byte, and `=` itself, becomes `=XX` (hex), so distinct ids stay distinct.
    pub fn kv_key(prefix: &str, id: &str) -> String {
        let mut key = String::with_capacity(prefix.len() + id.len());
        key.push_str(prefix);
        for byte in id.bytes() {
            match byte {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'/' | b'.' => {
                    key.push(byte as char)
                }
                _ => key.push_str(&format!("={byte:02X}")),
            }
        }
        key
    }

    /// The id a [`kv_key`] was made from.
    pub fn id_of_kv_key(prefix: &str, key: &str) -> Option<String> {
        let encoded = key.strip_prefix(prefix)?;
        let mut bytes = Vec::with_capacity(encoded.len());
        let mut input = encoded.bytes();
        while let Some(byte) = input.next() {
            if byte == b'=' {
                let high = (input.next()? as char).to_digit(16)?;
                let low = (input.next()? as char).to_digit(16)?;
                bytes.push((high * 16 + low) as u8);
            } else {
                bytes.push(byte);
            }
        }
        String::from_utf8(bytes).ok()
    }
}

/// The brain router's endpoints (`radiant.brain.v1`), its events and its stream.
pub mod brain {
    pub const ROUTE: &str = "route";
    pub const CHAT_COMPLETE: &str = "chat.complete";
    pub const CHAT_STREAM: &str = "chat.stream";
    pub const RULES_LIST: &str = "rules.list";
    pub const RULES_UPSERT: &str = "rules.upsert";
    pub const RULES_DELETE: &str = "rules.delete";
    pub const HISTORY_LIST: &str = "history.list";

    /// Event domain: `<prefix>.events.brain.<event>`.
    pub const EVENT_DOMAIN: &str = "brain";
    pub const EVENT_EXECUTION_MANIFEST: &str = "execution_manifest";
    /// Core NATS (not stored): every replica reloads its rules.
    pub const EVENT_RULES_CHANGED: &str = "rules_changed";
    pub const EVENTS_STREAM: &str = "BRAIN_EVENTS";
    /// Appended to a stream subject: the caller went away.
    pub const CANCEL_SUFFIX: &str = ".cancel";
}

/// Metadata key of the namespace a micro service belongs to, so discovery can ignore services
/// of other namespaces on the same server.
pub const NAMESPACE_METADATA_KEY: &str = "radiant.namespace";

/// JetStream advisories are per account, not per namespace: one stream captures them all.
pub const ADVISORY_STREAM: &str = "RADIANT_JS_ADVISORIES";
pub const MAX_DELIVERIES_ADVISORY_PREFIX: &str = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES";
pub const TERMINATED_ADVISORY_PREFIX: &str = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    subject_prefix: String,
    stream_prefix: String,
}

impl Namespace {
    pub fn new(subject_prefix: &str, stream_prefix: &str) -> Self {
        Self {
            subject_prefix: subject_prefix.to_string(),
            stream_prefix: stream_prefix.to_string(),
        }
    }

    pub fn subject_prefix(&self) -> &str {
        &self.subject_prefix
    }

    pub fn stream_prefix(&self) -> &str {
        &self.stream_prefix
    }

    /// `<prefix>.<service token>.v1`, the group every endpoint of the service lives under.
    pub fn service_group(&self, service: &ServiceName) -> String {
        format!("{}.{}.v1", self.subject_prefix, service.subject_token())
    }

    pub fn service_subject(&self, service: &ServiceName, endpoint: &str) -> String {
        format!("{}.{endpoint}", self.service_group(service))
    }

    pub fn event_subject(&self, domain: &str, event: &str) -> String {
        format!("{}.events.{domain}.{event}", self.subject_prefix)
    }

    /// Wildcard over every event of a domain, for stream subjects.
    pub fn event_domain_wildcard(&self, domain: &str) -> String {
        format!("{}.events.{domain}.>", self.subject_prefix)
    }

    pub fn stream_name(&self, name: &str) -> String {
        format!("{}_{name}", self.stream_prefix)
    }

    pub fn kv_bucket(&self, name: &str) -> String {
        format!("{}_{name}", self.stream_prefix)
    }

    /// `<prefix>.jobs.<domain>.<job>`: work items on a work-queue stream.
    pub fn job_subject(&self, domain: &str, job: &str) -> String {
        format!("{}.jobs.{domain}.{job}", self.subject_prefix)
    }

    pub fn dead_letter_stream(&self) -> String {
        self.stream_name("DLQ")
    }

    pub fn dead_letter_subject(&self, stream: &str, consumer: &str) -> String {
        format!("{}.dlq.{stream}.{consumer}", self.subject_prefix)
    }

    pub fn dead_letter_wildcard(&self) -> String {
        format!("{}.dlq.>", self.subject_prefix)
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self::new("radiant", "RADIANT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_naming_scheme() {
        let namespace = Namespace::default();
        assert_eq!(
            namespace.service_subject(&TIME_MACHINE, "chats.get"),
            "radiant.tm.v1.chats.get"
        );
        assert_eq!(
            namespace.event_subject("chat", "message_saved"),
            "radiant.events.chat.message_saved"
        );
        assert_eq!(namespace.stream_name("EVENTS"), "RADIANT_EVENTS");
        assert_eq!(
            namespace.dead_letter_subject("RADIANT_JOBS", "worker"),
            "radiant.dlq.RADIANT_JOBS.worker"
        );
    }

    #[test]
    fn registry_kv_keys_round_trip_any_model_id() {
        for id in ["openai/gpt-4o", "a:b@c d", "x=y", "ünïcode", "plain-id_1.2"] {
            let key = registry::kv_key(registry::THERMAL_KEY_PREFIX, id);
            assert!(
                key.bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-/_=.".contains(&byte)),
                "{key}"
            );
            assert_eq!(
                registry::id_of_kv_key(registry::THERMAL_KEY_PREFIX, &key).as_deref(),
                Some(id)
            );
        }
        assert_ne!(registry::kv_key("", "a=3Ab"), registry::kv_key("", "a:b"));
    }

    #[test]
    fn service_names_are_unique_and_discoverable() {
        let mut names: Vec<_> = ALL_SERVICES.iter().map(|service| service.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL_SERVICES.len());
        assert_eq!(service_by_name("media-vault"), Some(MEDIA_VAULT));
        assert_eq!(service_by_name("nope"), None);
    }
}
