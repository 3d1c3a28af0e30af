//! The hash chain: each snapshot's checksum is SHA-256 over the previous checksum, the
//! snapshot's own header and the change it made (the versions it started and ended). Writing a
//! snapshot hashes only its change, so it costs the same in a chat of 10 messages as in one of
//! 10,000; verifying a chat recomputes every link from the stored rows and names the first
//! one that disagrees.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What a chat's chain starts from, so equal histories of two chats never share checksums.
pub fn genesis(chat_id: Uuid) -> String {
    hex::encode(Sha256::digest(format!("radiant.tm.v1 chain {chat_id}")))
}

/// Everything a snapshot row says about itself, apart from its id and its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub chat_id: Uuid,
    pub version: u32,
    pub trigger: String,
    pub trigger_message_id: Option<Uuid>,
    pub trigger_file_id: Option<Uuid>,
    pub description: String,
    pub title: String,
    pub message_count: u64,
    pub file_count: u64,
    pub total_tokens: u64,
    pub media_bytes: u64,
    pub restored_from_snapshot_id: Option<Uuid>,
    pub actor: String,
    pub created_at_micros: i64,
}

/// One version that became current, or stopped being current, in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeEntry {
    MessageStarted {
        version_id: Uuid,
        message_id: Uuid,
        version: u32,
        position: i64,
        content_sha256: String,
    },
    MessageEnded {
        version_id: Uuid,
    },
    FileStarted {
        version_id: Uuid,
        file_id: Uuid,
        version: u32,
        name: String,
        mime_type: String,
        sha256: String,
        media_file_id: Uuid,
        media_version: i32,
    },
    FileEnded {
        version_id: Uuid,
    },
}

impl ChangeEntry {
    fn line(&self) -> String {
        match self {
            ChangeEntry::MessageStarted {
                version_id,
                message_id,
                version,
                position,
                content_sha256,
            } => format!("+m {version_id} {message_id} {version} {position} {content_sha256}"),
            ChangeEntry::MessageEnded { version_id } => format!("-m {version_id}"),
            ChangeEntry::FileStarted {
                version_id,
                file_id,
                version,
                name,
                mime_type,
                sha256,
                media_file_id,
                media_version,
            } => format!(
                "+f {version_id} {file_id} {version} {sha256} {media_file_id} {media_version} {}:{name} {}:{mime_type}",
                name.len(),
                mime_type.len()
            ),
            ChangeEntry::FileEnded { version_id } => format!("-f {version_id}"),
        }
    }
}

fn optional(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// The checksum of a snapshot. The entries are hashed in a canonical order (their lines
/// sorted), so the writer and the verifier need not list them the same way.
pub fn checksum(previous: &str, header: &SnapshotHeader, entries: &[ChangeEntry]) -> String {
    let mut lines: Vec<String> = entries.iter().map(ChangeEntry::line).collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    hasher.update(previous.as_bytes());
    hasher.update(b"\n");
    // lengths before free text, so no two different headers encode the same bytes
    let free_text = |text: &str| format!("{}:{text}", text.len());
    hasher.update(
        format!(
            "v={} t={} m={} f={} d={} ti={} mc={} fc={} tok={} mb={} r={} a={} at={}\n",
            header.version,
            header.trigger,
            optional(header.trigger_message_id),
            optional(header.trigger_file_id),
            free_text(&header.description),
            free_text(&header.title),
            header.message_count,
            header.file_count,
            header.total_tokens,
            header.media_bytes,
            optional(header.restored_from_snapshot_id),
            free_text(&header.actor),
            header.created_at_micros,
        )
        .as_bytes(),
    );
    for line in &lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u32) -> SnapshotHeader {
        SnapshotHeader {
            chat_id: Uuid::nil(),
            version,
            trigger: "message_sent".to_string(),
            trigger_message_id: None,
            trigger_file_id: None,
            description: String::new(),
            title: "t".to_string(),
            message_count: 1,
            file_count: 0,
            total_tokens: 3,
            media_bytes: 0,
            restored_from_snapshot_id: None,
            actor: "alice".to_string(),
            created_at_micros: 1_700_000_000_000_000,
        }
    }

    #[test]
    fn the_order_of_entries_does_not_matter_but_every_field_does() {
        let first = ChangeEntry::MessageEnded {
            version_id: Uuid::from_u128(1),
        };
        let second = ChangeEntry::MessageStarted {
            version_id: Uuid::from_u128(2),
            message_id: Uuid::from_u128(3),
            version: 2,
            position: 7,
            content_sha256: "ab".to_string(),
        };
        let genesis = genesis(Uuid::nil());
        let one_way = checksum(&genesis, &header(1), &[first.clone(), second.clone()]);
        let other_way = checksum(&genesis, &header(1), &[second.clone(), first.clone()]);
        assert_eq!(one_way, other_way);
        assert_ne!(
            one_way,
            checksum(&genesis, &header(2), std::slice::from_ref(&first))
        );
        let mut retitled = header(1);
        retitled.title = "u".to_string();
        assert_ne!(
            one_way,
            checksum(&genesis, &retitled, &[first.clone(), second.clone()])
        );
        assert_ne!(one_way, checksum("00", &header(1), &[first, second]));
        assert_ne!(genesis, super::genesis(Uuid::from_u128(9)));
    }
}
