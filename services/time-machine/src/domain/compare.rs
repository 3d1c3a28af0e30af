//! What changed between two chat versions, from only the versions whose range starts or ends
//! between them.

use std::collections::BTreeMap;

use radiant_proto::tm;
use uuid::Uuid;

use super::content::preview;
use crate::store::files::FileVersionRow;
use crate::store::messages::VersionRow;

fn current_at(valid_from: i32, valid_to: i32, version: i32) -> bool {
    valid_from <= version && version < valid_to
}

#[derive(Debug, Default)]
pub struct Differences {
    pub messages_added: Vec<tm::MessageChange>,
    pub messages_edited: Vec<tm::MessageChange>,
    pub messages_removed: Vec<tm::MessageChange>,
    pub files_added: Vec<tm::FileChange>,
    pub files_updated: Vec<tm::FileChange>,
    pub files_removed: Vec<tm::FileChange>,
}

fn message_change(from: Option<&VersionRow>, to: Option<&VersionRow>) -> Option<tm::MessageChange> {
    let shown = to.or(from)?;
    Some(tm::MessageChange {
        message_id: shown.message_id.to_string(),
        position: shown.position.max(0) as u64,
        role: shown.role.clone(),
        from_version: from.map_or(0, |row| row.version.max(0) as u32),
        to_version: to.map_or(0, |row| row.version.max(0) as u32),
        preview: preview(&shown.content, 120),
    })
}

fn file_change(
    from: Option<&FileVersionRow>,
    to: Option<&FileVersionRow>,
) -> Option<tm::FileChange> {
    let shown = to.or(from)?;
    Some(tm::FileChange {
        file_id: shown.file_id.to_string(),
        name: shown.name.clone(),
        from_version: from.map_or(0, |row| row.version.max(0) as u32),
        to_version: to.map_or(0, |row| row.version.max(0) as u32),
    })
}

/// `messages` and `files`: the versions that started or ended between `from` and `to` (in
/// either order). A message whose version differs but whose content is the same at both
/// ends (edited, then restored) did not change.
pub fn differences(
    messages: &[VersionRow],
    files: &[FileVersionRow],
    from: i32,
    to: i32,
) -> Differences {
    let mut result = Differences::default();
    let mut by_message: BTreeMap<(i64, Uuid), Vec<&VersionRow>> = BTreeMap::new();
    for row in messages {
        by_message
            .entry((row.position, row.message_id))
            .or_default()
            .push(row);
    }
    for rows in by_message.values() {
        let at_from = rows
            .iter()
            .copied()
            .find(|row| current_at(row.valid_from, row.valid_to, from));
        let at_to = rows
            .iter()
            .copied()
            .find(|row| current_at(row.valid_from, row.valid_to, to));
        match (at_from, at_to) {
            (None, Some(_)) => result.messages_added.extend(message_change(None, at_to)),
            (Some(_), None) => result
                .messages_removed
                .extend(message_change(at_from, None)),
            (Some(before), Some(after)) if before.content_sha256 != after.content_sha256 => result
                .messages_edited
                .extend(message_change(at_from, at_to)),
            _ => {}
        }
    }
    let mut by_file: BTreeMap<(String, Uuid), Vec<&FileVersionRow>> = BTreeMap::new();
    for row in files {
        by_file
            .entry((row.name.clone(), row.file_id))
            .or_default()
            .push(row);
    }
    for rows in by_file.values() {
        let at_from = rows
            .iter()
            .copied()
            .find(|row| current_at(row.valid_from, row.valid_to, from));
        let at_to = rows
            .iter()
            .copied()
            .find(|row| current_at(row.valid_from, row.valid_to, to));
        match (at_from, at_to) {
            (None, Some(_)) => result.files_added.extend(file_change(None, at_to)),
            (Some(_), None) => result.files_removed.extend(file_change(at_from, None)),
            (Some(before), Some(after)) if before.sha256 != after.sha256 => {
                result.files_updated.extend(file_change(at_from, at_to))
            }
            _ => {}
        }
    }
    result
}

fn counted(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// "12 new messages, 3 edited, 1 removed, 2 files updated, 1 file added" or "no changes".
pub fn change_list(differences: &Differences) -> String {
    let counts = [
        (
            differences.messages_added.len(),
            "new message",
            "new messages",
        ),
        (
            differences.messages_edited.len(),
            "message edited",
            "messages edited",
        ),
        (
            differences.messages_removed.len(),
            "message removed",
            "messages removed",
        ),
        (differences.files_added.len(), "file added", "files added"),
        (
            differences.files_updated.len(),
            "file updated",
            "files updated",
        ),
        (
            differences.files_removed.len(),
            "file removed",
            "files removed",
        ),
    ];
    let parts: Vec<String> = counts
        .into_iter()
        .filter(|(count, _, _)| *count > 0)
        .map(|(count, one, many)| counted(count, one, many))
        .collect();
    if parts.is_empty() {
        return "no changes".to_string();
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CURRENT;

    fn version(message: u128, version: i32, sha: &str, from: i32, to: i32) -> VersionRow {
        VersionRow {
            version_id: Uuid::from_u128(message * 100 + version as u128),
            chat_id: Uuid::nil(),
            message_id: Uuid::from_u128(message),
            version,
            position: message as i64,
            role: "user".to_string(),
            content: format!("message {message} v{version}"),
            parts: "[]".to_string(),
            metadata: "{}".to_string(),
            tokens: 0,
            content_sha256: sha.to_string(),
            edit_reason: None,
            edited_by: None,
            restored_from: None,
            valid_from: from,
            valid_to: to,
            version_created_at: chrono::Utc::now(),
            message_created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn added_edited_removed_and_edited_back_in_both_directions() {
        let rows = vec![
            // message 1: added at 3
            version(1, 1, "a", 3, CURRENT),
            // message 2: edited at 4
            version(2, 1, "b", 1, 4),
            version(2, 2, "b2", 4, CURRENT),
            // message 3: deleted at 5
            version(3, 1, "c", 1, 5),
            // message 4: edited at 3, restored to the original at 5 (same content)
            version(4, 1, "d", 1, 3),
            version(4, 2, "d2", 3, 5),
            version(4, 3, "d", 5, CURRENT),
        ];
        let forward = differences(&rows, &[], 2, 6);
        assert_eq!(forward.messages_added.len(), 1);
        assert_eq!(forward.messages_edited.len(), 1);
        assert_eq!(forward.messages_edited[0].from_version, 1);
        assert_eq!(forward.messages_edited[0].to_version, 2);
        assert_eq!(forward.messages_removed.len(), 1);
        assert_eq!(
            change_list(&forward),
            "1 new message, 1 message edited, 1 message removed"
        );
        let backward = differences(&rows, &[], 6, 2);
        assert_eq!(backward.messages_added.len(), 1, "message 3 comes back");
        assert_eq!(backward.messages_removed.len(), 1, "message 1 goes away");
        let midway = differences(&rows, &[], 2, 4);
        assert_eq!(
            midway.messages_edited.len(),
            2,
            "messages 2 and 4 differ at 4"
        );
        assert_eq!(change_list(&Differences::default()), "no changes");
    }
}
