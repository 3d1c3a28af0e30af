//! Sentences an assistant can relay: history summaries, what a search found, what a restore
//! will do and did, and what changed since a point in time.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::when::{format_day, format_moment};

fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

pub struct HistoryFacts {
    pub total_snapshots: u64,
    pub days_with_activity: u64,
    pub message_count: u64,
    pub file_count: u64,
    pub oldest: Option<DateTime<Utc>>,
    pub restores: u64,
}

pub fn history_summary(facts: &HistoryFacts, zone: Tz) -> String {
    let Some(oldest) = facts.oldest else {
        return "This conversation has no history yet: nothing has been saved in it.".to_string();
    };
    let mut summary = format!(
        "This conversation has {} over {}. It holds {} and {}.",
        plural(facts.total_snapshots, "snapshot", "snapshots"),
        plural(facts.days_with_activity, "day", "days"),
        plural(facts.message_count, "message", "messages"),
        plural(facts.file_count, "file", "files"),
    );
    summary.push_str(&format!(
        " The oldest point you can restore to is {}.",
        format_moment(oldest, zone)
    ));
    if facts.restores > 0 {
        summary.push_str(&format!(
            " It has been restored from history {}.",
            plural(facts.restores, "time", "times")
        ));
    }
    summary
}

/// "December 22: file activity (report_final.xlsx)".
pub fn highlight(instant: DateTime<Utc>, zone: Tz, what: &str) -> String {
    format!("{}: {what}", format_day(instant, zone))
}

pub fn found_description(
    query: &str,
    messages: usize,
    files: usize,
    newest_file: Option<(&str, DateTime<Utc>)>,
    range_label: Option<&str>,
    zone: Tz,
) -> String {
    let when = range_label
        .filter(|label| !label.is_empty())
        .map(|label| format!(" {label}"))
        .unwrap_or_default();
    if messages == 0 && files == 0 {
        return format!(
            "I couldn't find anything matching \"{query}\"{when} in this chat's history."
        );
    }
    let message_part = plural(messages as u64, "message", "messages");
    let file_part = plural(files as u64, "file", "files");
    match (messages, files, newest_file) {
        (0, _, Some((name, at))) => format!(
            "I found {file_part}{when}. The most recent is '{name}' from {}. Would you like to download it, see its versions, or restore it?",
            format_day(at, zone)
        ),
        (_, 0, _) => format!("I found {message_part}{when} matching \"{query}\"."),
        _ => format!("I found {file_part} and {message_part}{when} related to \"{query}\"."),
    }
}

pub fn restore_confirmation(action: &str, target: &str, when: &str) -> String {
    match action {
        "restore_file" => format!(
            "I'll restore {target} to the version from {when}. Your current version is kept and you can get it back at any time. Shall I go ahead?"
        ),
        "restore_message" => format!(
            "I'll restore this message to how it was on {when}. The current text is kept in its history. Shall I go ahead?"
        ),
        _ => format!(
            "I'll restore the whole conversation to how it was on {when}. Everything as it is now is kept and can be restored again. Shall I go ahead?"
        ),
    }
}

pub fn restore_done(
    action: &str,
    target: &str,
    when: &str,
    messages_restored: u32,
    messages_removed: u32,
    files_restored: u32,
) -> String {
    match action {
        "restore_file" => format!(
            "I've restored {target} to the version from {when}. The previous version is saved; say the word and I'll undo this."
        ),
        "restore_message" => format!(
            "I've restored the message to how it was on {when}. Its edit history is preserved and this can be undone."
        ),
        _ => format!(
            "I've restored the conversation to how it was on {when}: {} restored, {} set aside, {} restored. Nothing was lost; I can undo this at any time.",
            plural(u64::from(messages_restored), "message", "messages"),
            plural(
                u64::from(messages_removed),
                "newer message",
                "newer messages"
            ),
            plural(u64::from(files_restored), "file", "files"),
        ),
    }
}

/// "Between December 18 and now: 12 new messages, 2 files updated."
pub fn comparison_summary(
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    zone: Tz,
    changes: &str,
) -> String {
    let end = match to {
        Some(to) => format_moment(to, zone),
        None => "now".to_string(),
    };
    format!(
        "Between {} and {end}: {changes}.",
        format_moment(from, zone)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_read_well() {
        let facts = HistoryFacts {
            total_snapshots: 47,
            days_with_activity: 3,
            message_count: 1,
            file_count: 8,
            oldest: Some("2024-12-20T14:34:00Z".parse().unwrap()),
            restores: 2,
        };
        let summary = history_summary(&facts, chrono_tz::UTC);
        assert!(
            summary.starts_with(
                "This conversation has 47 snapshots over 3 days. It holds 1 message and 8 files."
            ),
            "{summary}"
        );
        assert!(summary.contains("December 20"), "{summary}");
        assert!(
            summary.contains("restored from history 2 times"),
            "{summary}"
        );
        assert!(found_description("x", 0, 0, None, None, chrono_tz::UTC).contains("couldn't find"));
        let found = found_description(
            "spreadsheet",
            0,
            1,
            Some(("budget.xlsx", "2024-12-18T10:00:00Z".parse().unwrap())),
            Some("last week"),
            chrono_tz::UTC,
        );
        assert!(found.contains("'budget.xlsx' from December 18"), "{found}");
        assert!(found.contains("1 file last week"), "{found}");
    }
}
