//! Titles made from the first user message, as a person would title the chat: its first line,
//! without markdown noise, cut at a word.

const MAX_TITLE_CHARS: usize = 60;

pub fn title_from_first_message(content: &str) -> String {
    let first_line = content
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let cleaned: String = first_line
        .trim_start_matches(['#', '>', '-', '*', ' '])
        .chars()
        .filter(|character| !matches!(character, '*' | '_' | '`'))
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let title = super::content::preview(&cleaned, MAX_TITLE_CHARS);
    if title.is_empty() {
        return "New chat".to_string();
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_from_messages() {
        assert_eq!(
            title_from_first_message("\n\n## What is the **capital** of France?\nthanks"),
            "What is the capital of France?"
        );
        assert_eq!(
            title_from_first_message(
                "Please help me plan a three week trip through Japan, Korea and Taiwan in spring"
            ),
            "Please help me plan a three week trip through Japan, Korea…"
        );
        assert_eq!(title_from_first_message("```"), "New chat");
    }
}
