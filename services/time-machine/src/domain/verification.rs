//! Recomputing a chat's hash chain and running counts from its stored rows.

use std::collections::HashMap;

use uuid::Uuid;

use super::chain::{self, ChangeEntry};
use crate::store::CURRENT;
use crate::store::files::FileVersionRow;
use crate::store::messages::VersionRow;
use crate::store::snapshots::SnapshotRow;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub snapshots_checked: u32,
    pub versions_checked: u32,
    pub mismatch: Option<Mismatch>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub version: u32,
    pub snapshot_id: Option<Uuid>,
    pub expected_checksum: String,
    pub stored_checksum: String,
    pub detail: String,
}

#[derive(Default)]
struct Effects {
    entries: Vec<ChangeEntry>,
    messages: i64,
    tokens: i64,
    files: i64,
    media_bytes: i64,
}

pub struct HeadState {
    pub chat_id: Uuid,
    pub head_version: i32,
    pub head_checksum: String,
    pub message_count: i64,
    pub file_count: i64,
    pub total_tokens: i64,
    pub media_bytes: i64,
}

/// Walks the chain from its genesis; stops at the first snapshot that disagrees.
pub fn verify(
    head: &HeadState,
    snapshots: &[SnapshotRow],
    messages: &[VersionRow],
    files: &[FileVersionRow],
) -> Verdict {
    let mut effects: HashMap<i32, Effects> = HashMap::new();
    let mut first_bad_content: Option<(i32, String)> = None;
    for version in messages {
        let recomputed = version.recomputed_sha256();
        if recomputed != version.content_sha256 && first_bad_content.is_none() {
            first_bad_content = Some((
                version.valid_from,
                format!(
                    "message {} version {} no longer hashes to its stored content hash",
                    version.message_id, version.version
                ),
            ));
        }
        let started = effects.entry(version.valid_from).or_default();
        // the recomputed hash goes into the chain, so changed content breaks the link
        started.entries.push(ChangeEntry::MessageStarted {
            version_id: version.version_id,
            message_id: version.message_id,
            version: version.version.max(0) as u32,
            position: version.position,
            content_sha256: recomputed,
        });
        started.messages += 1;
        started.tokens += version.tokens;
        if version.valid_to != CURRENT {
            let ended = effects.entry(version.valid_to).or_default();
            ended.entries.push(ChangeEntry::MessageEnded {
                version_id: version.version_id,
            });
            ended.messages -= 1;
            ended.tokens -= version.tokens;
        }
    }
    for version in files {
        let started = effects.entry(version.valid_from).or_default();
        started.entries.push(ChangeEntry::FileStarted {
            version_id: version.version_id,
            file_id: version.file_id,
            version: version.version.max(0) as u32,
            name: version.name.clone(),
            mime_type: version.mime_type.clone(),
            sha256: version.sha256.clone(),
            media_file_id: version.media_file_id,
            media_version: version.media_version,
        });
        started.files += 1;
        if version.restored_from.is_none() {
            started.media_bytes += version.size_bytes;
        }
        if version.valid_to != CURRENT {
            let ended = effects.entry(version.valid_to).or_default();
            ended.entries.push(ChangeEntry::FileEnded {
                version_id: version.version_id,
            });
            ended.files -= 1;
        }
    }

    let mut verdict = Verdict {
        snapshots_checked: 0,
        versions_checked: (messages.len() + files.len()) as u32,
        mismatch: None,
    };
    let mut previous_checksum = chain::genesis(head.chat_id);
    let mut previous_id: Option<Uuid> = None;
    let (mut message_count, mut tokens, mut file_count, mut media_bytes) = (0i64, 0i64, 0i64, 0i64);
    for (index, snapshot) in snapshots.iter().enumerate() {
        let expected_version = index as i32 + 1;
        let fail = |expected: String, detail: String| Mismatch {
            version: snapshot.version_number(),
            snapshot_id: Some(snapshot.snapshot_id),
            expected_checksum: expected,
            stored_checksum: snapshot.checksum.clone(),
            detail,
        };
        if snapshot.version != expected_version {
            verdict.mismatch = Some(fail(
                String::new(),
                format!(
                    "snapshot version {} where {expected_version} was expected",
                    snapshot.version
                ),
            ));
            return verdict;
        }
        if snapshot.previous_snapshot_id != previous_id {
            verdict.mismatch = Some(fail(
                String::new(),
                "the snapshot does not link to the one before it".to_string(),
            ));
            return verdict;
        }
        let empty = Effects::default();
        let change = effects.get(&snapshot.version).unwrap_or(&empty);
        let expected = chain::checksum(&previous_checksum, &snapshot.header(), &change.entries);
        verdict.snapshots_checked += 1;
        if expected != snapshot.checksum {
            let detail = match &first_bad_content {
                Some((version, detail)) if *version == snapshot.version => detail.clone(),
                _ => {
                    "the checksum does not match the snapshot and the versions it started and ended"
                        .to_string()
                }
            };
            verdict.mismatch = Some(fail(expected, detail));
            return verdict;
        }
        message_count += change.messages;
        tokens += change.tokens;
        file_count += change.files;
        media_bytes += change.media_bytes;
        let counts_agree = snapshot.message_count == message_count
            && snapshot.total_tokens == tokens
            && snapshot.file_count == file_count
            && snapshot.media_bytes == media_bytes;
        if !counts_agree {
            verdict.mismatch = Some(fail(
                expected,
                format!(
                    "counts disagree with the versions: recorded {} messages, {} tokens, {} files, {} bytes; \
                     the versions give {message_count}, {tokens}, {file_count}, {media_bytes}",
                    snapshot.message_count,
                    snapshot.total_tokens,
                    snapshot.file_count,
                    snapshot.media_bytes
                ),
            ));
            return verdict;
        }
        previous_checksum = snapshot.checksum.clone();
        previous_id = Some(snapshot.snapshot_id);
    }
    let last_version = snapshots.len() as i32;
    let stray = effects
        .keys()
        .copied()
        .filter(|version| *version > last_version)
        .min();
    if let Some(version) = stray {
        verdict.mismatch = Some(Mismatch {
            version: version.max(0) as u32,
            snapshot_id: None,
            expected_checksum: String::new(),
            stored_checksum: String::new(),
            detail: format!("versions refer to chat version {version}, which has no snapshot"),
        });
        return verdict;
    }
    let head_agrees = head.head_version == last_version
        && head.head_checksum == previous_checksum
        && head.message_count == message_count
        && head.total_tokens == tokens
        && head.file_count == file_count
        && head.media_bytes == media_bytes;
    if !head_agrees {
        verdict.mismatch = Some(Mismatch {
            version: head.head_version.max(0) as u32,
            snapshot_id: previous_id,
            expected_checksum: previous_checksum,
            stored_checksum: head.head_checksum.clone(),
            detail: "the chat's head (version, checksum or running counts) disagrees with its last snapshot"
                .to_string(),
        });
    }
    verdict
}
