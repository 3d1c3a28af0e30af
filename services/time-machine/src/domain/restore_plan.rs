//! Which versions a restore ends and which it copies, decided from the versions current now
//! or at the target (all of them have `valid_to` after the target).

use std::collections::HashMap;

use uuid::Uuid;

use crate::store::CURRENT;

/// One version of a message or file, as much as a restore needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangedVersion {
    pub version_id: Uuid,
    pub item_id: Uuid,
    /// What makes two versions the same: the content hash (files: bytes and name).
    pub identity: String,
    /// The version's number within its item.
    pub version: i32,
    pub valid_from: i32,
    pub valid_to: i32,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RestoreSets {
    /// Current versions whose range closes (the item differs from the target, or did not
    /// exist then).
    pub end: Vec<Uuid>,
    /// Versions of the target to write again as new current versions, their items, and the
    /// number each copy takes (one past the item's newest version).
    pub copy: Vec<Uuid>,
    pub copy_items: Vec<Uuid>,
    pub copy_numbers: Vec<i32>,
}

/// An item the same at the target and now is left alone; one that changed since is ended and
/// its target version copied; one that did not exist then is ended; one gone since is copied.
///
/// An item's newest version is among `versions` whenever the item is copied: its version at
/// the target ends after the target, so every later version starts (and ends) after it too.
pub fn plan(versions: &[RangedVersion], target_version: i32) -> RestoreSets {
    let mut current: HashMap<Uuid, &RangedVersion> = HashMap::new();
    let mut at_target: HashMap<Uuid, &RangedVersion> = HashMap::new();
    let mut newest: HashMap<Uuid, i32> = HashMap::new();
    for version in versions {
        let number = newest.entry(version.item_id).or_insert(version.version);
        *number = (*number).max(version.version);
        if version.valid_to == CURRENT {
            current.insert(version.item_id, version);
        }
        if version.valid_from <= target_version && version.valid_to > target_version {
            at_target.insert(version.item_id, version);
        }
    }
    let mut sets = RestoreSets::default();
    for (item_id, now) in &current {
        match at_target.get(item_id) {
            Some(then) if then.version_id == now.version_id || then.identity == now.identity => {}
            _ => sets.end.push(now.version_id),
        }
    }
    for (item_id, then) in &at_target {
        let same_now = current
            .get(item_id)
            .is_some_and(|now| now.version_id == then.version_id || now.identity == then.identity);
        if !same_now {
            sets.copy.push(then.version_id);
            sets.copy_items.push(*item_id);
        }
    }
    // a stable order keeps statements and tests repeatable
    sets.end.sort_unstable();
    let mut copies: Vec<(Uuid, Uuid)> = sets
        .copy
        .iter()
        .copied()
        .zip(sets.copy_items.iter().copied())
        .collect();
    copies.sort_unstable();
    sets.copy = copies.iter().map(|(version, _)| *version).collect();
    sets.copy_items = copies.iter().map(|(_, item)| *item).collect();
    sets.copy_numbers = sets
        .copy_items
        .iter()
        .map(|item| newest.get(item).copied().unwrap_or(0) + 1)
        .collect();
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: u128, item: u128, identity: &str, from: i32, to: i32) -> RangedVersion {
        RangedVersion {
            version_id: Uuid::from_u128(id),
            item_id: Uuid::from_u128(item),
            identity: identity.to_string(),
            // the tests number an item's versions by the last digit of their id
            version: (id % 10) as i32,
            valid_from: from,
            valid_to: to,
        }
    }

    #[test]
    fn every_case_of_a_restore() {
        let target = 5;
        let versions = vec![
            // item 1: current since before the target: untouched
            version(11, 1, "a", 2, CURRENT),
            // item 2: edited after the target: end the edit, copy the old one
            version(21, 2, "b", 3, 7),
            version(22, 2, "b2", 7, CURRENT),
            // item 3: created after the target: ended
            version(31, 3, "c", 6, CURRENT),
            // item 4: deleted after the target: copied back
            version(41, 4, "d", 1, 8),
            // item 5: edited, then edited back to the same text: left alone
            version(51, 5, "e", 4, 6),
            version(52, 5, "e2", 6, 7),
            version(53, 5, "e", 7, CURRENT),
        ];
        let sets = plan(&versions, target);
        assert_eq!(sets.end, vec![Uuid::from_u128(22), Uuid::from_u128(31)]);
        assert_eq!(sets.copy, vec![Uuid::from_u128(21), Uuid::from_u128(41)]);
        assert_eq!(
            sets.copy_items,
            vec![Uuid::from_u128(2), Uuid::from_u128(4)]
        );
        assert_eq!(
            sets.copy_numbers,
            vec![3, 2],
            "one past each item's newest version"
        );
        assert_eq!(
            plan(&versions, 100),
            RestoreSets::default(),
            "restoring to now changes nothing"
        );
    }
}
