//! Natural-language history queries: "that spreadsheet from last week", "what did you say about
//! the budget yesterday".
//!
//! A query is read in three passes: the time expression is cut out first (see `super::when`),
//! then who wrote it ("you said", "my question"), then what kind of item it is ("spreadsheet",
//! "message"). What is left, minus filler words, are the search terms.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::when::{TimeRange, extract_time_range};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Any,
    File,
    Message,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindQuery {
    /// the words left to search for: lowercase, without stopwords and kind/role words,
    /// de-duplicated, in the order they were written
    pub terms: Vec<String>,
    pub range: Option<TimeRange>,
    pub kind: ItemKind,
    /// MIME type prefixes a file must start with, from words like "spreadsheet"
    pub mime_hints: Vec<String>,
    /// "user" or "assistant" when the query says who wrote it
    pub role: Option<String>,
    /// the word that set the kind or MIME hints, e.g. "spreadsheet"; empty when none did
    pub kind_label: String,
}

pub fn parse_find_query(query: &str, now: DateTime<Utc>, zone: Tz) -> FindQuery {
    let (range, remaining_text) = extract_time_range(query, now, zone);
    let tokens = tokenize_query(&remaining_text);
    let (role, role_only_positions) = find_role(&tokens);
    let mut reading = QueryReading::default();
    let mut position = 0;
    while position < tokens.len() {
        if role_only_positions.contains(&position) {
            position += 1;
            continue;
        }
        if let Some(consumed) = reading.read_kind_phrase(&tokens[position..]) {
            position += consumed;
            continue;
        }
        reading.read_token(&tokens[position]);
        position += 1;
    }
    FindQuery {
        terms: reading.terms,
        range,
        kind: reading.kind,
        mime_hints: reading.mime_hints,
        role: role.map(str::to_string),
        kind_label: reading.kind_label,
    }
}

// --- tokens -------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum QueryToken {
    /// a lowercase word: letters and digits with inner hyphens, underscores or apostrophes
    Word(String),
    /// something that looks like a file name ("budget_2024.xlsx"), kept whole
    FileName(String),
}

impl QueryToken {
    fn text(&self) -> &str {
        match self {
            QueryToken::Word(text) | QueryToken::FileName(text) => text,
        }
    }
}

fn tokenize_query(text: &str) -> Vec<QueryToken> {
    let mut tokens = Vec::new();
    for chunk in text.split_whitespace() {
        let lowered = chunk.to_lowercase().replace('\u{2019}', "'");
        let trimmed = lowered.trim_matches(|character: char| !character.is_alphanumeric());
        if trimmed.is_empty() {
            continue;
        }
        if looks_like_file_name(trimmed) {
            tokens.push(QueryToken::FileName(trimmed.to_string()));
            continue;
        }
        tokens.extend(split_into_words(trimmed).into_iter().map(QueryToken::Word));
    }
    tokens
}

/// Splits on everything except letters, digits and the joiners that live inside words
/// ("follow-up", "q4_report", "don't"); a dot between digits stays ("3.5").
fn split_into_words(chunk: &str) -> Vec<String> {
    let characters: Vec<char> = chunk.chars().collect();
    let mut words = Vec::new();
    let mut current_word = String::new();
    for (index, &character) in characters.iter().enumerate() {
        let is_decimal_point = character == '.'
            && index > 0
            && characters[index - 1].is_ascii_digit()
            && characters.get(index + 1).is_some_and(char::is_ascii_digit);
        let belongs_to_word = character.is_alphanumeric()
            || matches!(character, '-' | '_' | '\'')
            || is_decimal_point;
        if belongs_to_word {
            current_word.push(character);
            continue;
        }
        push_word(&mut words, &current_word);
        current_word.clear();
    }
    push_word(&mut words, &current_word);
    words
}

fn push_word(words: &mut Vec<String>, raw_word: &str) {
    let trimmed = raw_word.trim_matches(|character: char| matches!(character, '-' | '_' | '\''));
    if trimmed.is_empty() {
        return;
    }
    words.push(trimmed.to_string());
}

/// Web addresses end like file names but are not files.
const NOT_FILE_EXTENSIONS: [&str; 6] = ["com", "org", "net", "edu", "gov", "www"];

/// A dot followed by a 1-5 character extension that starts with a letter ("xlsx", "mp3"), after
/// a name of at least two characters so "e.g" and "u.s" stay words.
fn looks_like_file_name(chunk: &str) -> bool {
    let Some((name, extension)) = chunk.rsplit_once('.') else {
        return false;
    };
    let extension_length = extension.chars().count();
    let extension_is_plausible = (1..=5).contains(&extension_length)
        && extension
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic())
        && extension
            .chars()
            .all(|character| character.is_ascii_alphanumeric())
        && !NOT_FILE_EXTENSIONS.contains(&extension);
    let name_is_plausible = name
        .chars()
        .filter(|character| character.is_alphanumeric())
        .count()
        >= 2;
    extension_is_plausible && name_is_plausible
}

// --- who wrote it ------------------------------------------------------------------------------

const ASSISTANT: &str = "assistant";
const USER: &str = "user";

/// Finds the first phrase that says who wrote the item. Returns the role and the positions of
/// words that only named the role ("ai" in "the ai") and so must not become search terms.
fn find_role(tokens: &[QueryToken]) -> (Option<&'static str>, Vec<usize>) {
    for position in 0..tokens.len() {
        let word = tokens[position].text();
        let next_word = tokens.get(position + 1).map(QueryToken::text);
        if word == "assistant" {
            return (Some(ASSISTANT), vec![position]);
        }
        let Some(next_word) = next_word else {
            continue;
        };
        if word == "the" && matches!(next_word, "ai" | "assistant" | "bot" | "chatbot") {
            return (Some(ASSISTANT), vec![position + 1]);
        }
        if is_assistant_phrase(word, next_word) {
            return (Some(ASSISTANT), Vec::new());
        }
        if is_user_phrase(word, next_word) {
            return (Some(USER), Vec::new());
        }
    }
    (None, Vec::new())
}

fn is_assistant_phrase(word: &str, next_word: &str) -> bool {
    match word {
        "you" => matches!(
            next_word,
            "said"
                | "say"
                | "says"
                | "told"
                | "tell"
                | "wrote"
                | "write"
                | "answered"
                | "replied"
                | "mentioned"
                | "suggested"
                | "recommended"
                | "made"
                | "created"
                | "generated"
                | "sent"
                | "gave"
                | "explained"
        ),
        "your" => matches!(
            next_word,
            "answer"
                | "answers"
                | "reply"
                | "replies"
                | "response"
                | "responses"
                | "message"
                | "messages"
                | "suggestion"
                | "suggestions"
        ),
        _ => false,
    }
}

fn is_user_phrase(word: &str, next_word: &str) -> bool {
    match word {
        "i" => matches!(
            next_word,
            "said"
                | "say"
                | "asked"
                | "ask"
                | "wrote"
                | "write"
                | "told"
                | "tell"
                | "mentioned"
                | "sent"
                | "send"
                | "uploaded"
                | "upload"
                | "shared"
                | "attached"
        ),
        "my" => matches!(
            next_word,
            "question" | "questions" | "message" | "messages" | "request" | "requests"
        ),
        _ => false,
    }
}

// --- what kind of item -------------------------------------------------------------------------

const SPREADSHEET_MIME_PREFIXES: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.spreadsheetml",
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.spreadsheet",
    "text/csv",
];
const IMAGE_MIME_PREFIXES: &[&str] = &["image/"];
const PDF_MIME_PREFIXES: &[&str] = &["application/pdf"];
const PRESENTATION_MIME_PREFIXES: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.presentationml",
    "application/vnd.ms-powerpoint",
    "application/vnd.oasis.opendocument.presentation",
];
const VIDEO_MIME_PREFIXES: &[&str] = &["video/"];
const AUDIO_MIME_PREFIXES: &[&str] = &["audio/"];
const WORD_MIME_PREFIXES: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.wordprocessingml",
    "application/msword",
];
const TEXT_MIME_PREFIXES: &[&str] = &["text/"];
const CODE_MIME_PREFIXES: &[&str] = &["text/", "application/json", "application/javascript"];
const NO_MIME_PREFIXES: &[&str] = &[];

/// A word that says the item is a file, with its label and the MIME prefixes it implies.
struct FileKindWord {
    label: &'static str,
    mime_prefixes: &'static [&'static str],
}

fn file_kind_word(word: &str) -> Option<FileKindWord> {
    let (label, mime_prefixes) = match word {
        "file" | "files" => ("file", NO_MIME_PREFIXES),
        "document" | "documents" => ("document", NO_MIME_PREFIXES),
        "doc" | "docs" => ("doc", NO_MIME_PREFIXES),
        "attachment" | "attachments" => ("attachment", NO_MIME_PREFIXES),
        "upload" | "uploads" => ("upload", NO_MIME_PREFIXES),
        "spreadsheet" | "spreadsheets" => ("spreadsheet", SPREADSHEET_MIME_PREFIXES),
        "sheet" | "sheets" => ("sheet", SPREADSHEET_MIME_PREFIXES),
        "excel" => ("excel", SPREADSHEET_MIME_PREFIXES),
        "xlsx" | "xls" => ("xlsx", SPREADSHEET_MIME_PREFIXES),
        "csv" | "csvs" => ("csv", SPREADSHEET_MIME_PREFIXES),
        "image" | "images" => ("image", IMAGE_MIME_PREFIXES),
        "picture" | "pictures" | "pic" | "pics" => ("picture", IMAGE_MIME_PREFIXES),
        "photo" | "photos" => ("photo", IMAGE_MIME_PREFIXES),
        "screenshot" | "screenshots" => ("screenshot", IMAGE_MIME_PREFIXES),
        "png" | "pngs" => ("png", IMAGE_MIME_PREFIXES),
        "jpg" | "jpgs" | "jpeg" | "jpegs" => ("jpeg", IMAGE_MIME_PREFIXES),
        "gif" | "gifs" => ("gif", IMAGE_MIME_PREFIXES),
        "pdf" | "pdfs" => ("pdf", PDF_MIME_PREFIXES),
        "presentation" | "presentations" => ("presentation", PRESENTATION_MIME_PREFIXES),
        "slides" | "slide" => ("slides", PRESENTATION_MIME_PREFIXES),
        "deck" | "decks" => ("deck", PRESENTATION_MIME_PREFIXES),
        "pptx" | "ppt" | "powerpoint" => ("pptx", PRESENTATION_MIME_PREFIXES),
        "video" | "videos" | "mp4" => ("video", VIDEO_MIME_PREFIXES),
        "audio" | "mp3" | "wav" => ("audio", AUDIO_MIME_PREFIXES),
        "recording" | "recordings" => ("recording", AUDIO_MIME_PREFIXES),
        "docx" => ("docx", WORD_MIME_PREFIXES),
        "notes" | "txt" => ("notes", TEXT_MIME_PREFIXES),
        "code" => ("code", CODE_MIME_PREFIXES),
        _ => return None,
    };
    Some(FileKindWord {
        label,
        mime_prefixes,
    })
}

/// Two-word kinds: "word document", "text file".
fn file_kind_phrase(word: &str, next_word: &str) -> Option<FileKindWord> {
    let names_a_file = matches!(
        next_word,
        "document" | "documents" | "doc" | "docs" | "file" | "files"
    );
    if !names_a_file {
        return None;
    }
    match word {
        "word" => Some(FileKindWord {
            label: "word document",
            mime_prefixes: WORD_MIME_PREFIXES,
        }),
        "text" if matches!(next_word, "file" | "files") => Some(FileKindWord {
            label: "text file",
            mime_prefixes: TEXT_MIME_PREFIXES,
        }),
        _ => None,
    }
}

/// Words that say the item is a message; nouns keep their own label, verbs read as "message".
fn message_kind_label(word: &str) -> Option<&'static str> {
    let label = match word {
        "message" | "messages" => "message",
        "answer" | "answers" | "answered" => "answer",
        "reply" | "replies" | "replied" => "reply",
        "response" | "responses" => "response",
        "question" | "questions" => "question",
        "said" | "say" | "says" | "wrote" | "told" | "tell" | "mentioned" | "mention" | "asked"
        | "ask" | "talked" | "discussed" => "message",
        _ => return None,
    };
    Some(label)
}

/// Filler that never helps a search. Kind and role words are handled before this list is read.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "ago",
    "all",
    "also",
    "am",
    "an",
    "and",
    "another",
    "any",
    "anything",
    "are",
    "aren't",
    "around",
    "as",
    "at",
    "attached",
    "back",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "chat",
    "chats",
    "could",
    "couldn't",
    "conversation",
    "conversations",
    "created",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "done",
    "down",
    "during",
    "each",
    "earlier",
    "either",
    "else",
    "etc",
    "even",
    "ever",
    "every",
    "everything",
    "few",
    "find",
    "for",
    "found",
    "from",
    "further",
    "gave",
    "generated",
    "get",
    "give",
    "go",
    "got",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "he's",
    "hello",
    "her",
    "here",
    "hers",
    "herself",
    "hey",
    "hi",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "just",
    "kind",
    "know",
    "last",
    "latest",
    "let",
    "let's",
    "like",
    "look",
    "looking",
    "made",
    "make",
    "many",
    "may",
    "me",
    "might",
    "mine",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "need",
    "newest",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "ones",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "please",
    "previous",
    "put",
    "recall",
    "recent",
    "remember",
    "search",
    "searching",
    "see",
    "send",
    "sent",
    "shall",
    "share",
    "shared",
    "she",
    "she's",
    "should",
    "shouldn't",
    "show",
    "so",
    "some",
    "someone",
    "something",
    "somewhere",
    "sort",
    "still",
    "stuff",
    "such",
    "sure",
    "than",
    "thank",
    "thanks",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they're",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "through",
    "time",
    "to",
    "too",
    "under",
    "until",
    "up",
    "uploaded",
    "us",
    "use",
    "used",
    "very",
    "want",
    "wanted",
    "was",
    "wasn't",
    "we",
    "we're",
    "we've",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "where",
    "where's",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "won't",
    "would",
    "wouldn't",
    "yeah",
    "yes",
    "yet",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "suggested",
    "recommended",
    "explained",
    "shown",
    "showed",
    "gotten",
    "able",
];

fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

/// A possessive "'s" carries no meaning for search: "sarah's" finds what "sarah" finds.
fn without_possessive(word: &str) -> &str {
    match word.strip_suffix("'s") {
        Some(stem) if !stem.is_empty() => stem,
        _ => word,
    }
}

// --- reading the words in order ----------------------------------------------------------------

struct QueryReading {
    terms: Vec<String>,
    kind: ItemKind,
    mime_hints: Vec<String>,
    kind_label: String,
    /// whether `kind_label` came from a plain word like "file" that a later, more specific word
    /// such as "spreadsheet" may replace
    kind_label_is_generic: bool,
}

impl Default for QueryReading {
    fn default() -> Self {
        QueryReading {
            terms: Vec::new(),
            kind: ItemKind::Any,
            mime_hints: Vec::new(),
            kind_label: String::new(),
            kind_label_is_generic: true,
        }
    }
}

impl QueryReading {
    /// Reads "word document" or "text file" at the start of `tokens`; returns the words used.
    fn read_kind_phrase(&mut self, tokens: &[QueryToken]) -> Option<usize> {
        let (QueryToken::Word(word), QueryToken::Word(next_word)) =
            (tokens.first()?, tokens.get(1)?)
        else {
            return None;
        };
        let kind_word = file_kind_phrase(word, next_word)?;
        if self.kind == ItemKind::Message {
            // "what did you say about the word document": the document is the topic
            self.add_term(word);
            self.add_term(next_word);
            return Some(2);
        }
        self.set_file_kind(&kind_word);
        Some(2)
    }

    fn read_token(&mut self, token: &QueryToken) {
        match token {
            QueryToken::FileName(file_name) => self.read_file_name(file_name),
            QueryToken::Word(word) => self.read_word(word),
        }
    }

    fn read_file_name(&mut self, file_name: &str) {
        // a named file is a file; no MIME hint, because stored files are not always typed right
        if self.kind == ItemKind::Any {
            self.kind = ItemKind::File;
        }
        self.add_term(file_name);
    }

    /// The first kind word decides the kind. A file word after a message word is the topic of
    /// the message ("what did you say about the pdf") and is searched for; a message word after
    /// a file word only describes the file ("the spreadsheet you mentioned") and is dropped.
    fn read_word(&mut self, word: &str) {
        if let Some(kind_word) = file_kind_word(word) {
            if self.kind == ItemKind::Message {
                self.add_term(word);
                return;
            }
            self.set_file_kind(&kind_word);
            return;
        }
        if let Some(label) = message_kind_label(word) {
            if self.kind == ItemKind::Any {
                self.kind = ItemKind::Message;
                self.kind_label = label.to_string();
                self.kind_label_is_generic = false;
            }
            return;
        }
        if is_stopword(word) {
            return;
        }
        let stem = without_possessive(word);
        if is_stopword(stem) {
            return;
        }
        self.add_term(stem);
    }

    fn set_file_kind(&mut self, kind_word: &FileKindWord) {
        self.kind = ItemKind::File;
        for prefix in kind_word.mime_prefixes {
            if !self.mime_hints.iter().any(|hint| hint == prefix) {
                self.mime_hints.push((*prefix).to_string());
            }
        }
        let is_specific = !kind_word.mime_prefixes.is_empty();
        let label_is_open =
            self.kind_label.is_empty() || (self.kind_label_is_generic && is_specific);
        if label_is_open {
            self.kind_label = kind_word.label.to_string();
            self.kind_label_is_generic = !is_specific;
        }
    }

    fn add_term(&mut self, term: &str) {
        if self.terms.iter().any(|existing| existing == term) {
            return;
        }
        self.terms.push(term.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday, December 23, 2024, 15:00 UTC
    fn monday_afternoon() -> DateTime<Utc> {
        instant("2024-12-23T15:00:00Z")
    }

    fn instant(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn parse(query: &str) -> FindQuery {
        parse_find_query(query, monday_afternoon(), Tz::UTC)
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_string()).collect()
    }

    fn spreadsheet_hints() -> Vec<String> {
        strings(SPREADSHEET_MIME_PREFIXES)
    }

    #[test]
    fn spreadsheet_from_last_week() {
        let query = parse("that spreadsheet from last week");
        assert_eq!(query.kind, ItemKind::File);
        assert_eq!(
            query.mime_hints,
            strings(&[
                "application/vnd.openxmlformats-officedocument.spreadsheetml",
                "application/vnd.ms-excel",
                "application/vnd.oasis.opendocument.spreadsheet",
                "text/csv",
            ])
        );
        assert_eq!(query.terms, Vec::<String>::new());
        assert_eq!(query.kind_label, "spreadsheet");
        assert_eq!(query.role, None);
        let range = query.range.expect("last week");
        assert_eq!(range.from, Some(instant("2024-12-16T00:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-23T00:00:00Z")));
        assert_eq!(range.label, "last week");
    }

    #[test]
    fn what_you_said_about_the_budget_yesterday() {
        let query = parse("what did you say about the budget yesterday");
        assert_eq!(query.kind, ItemKind::Message);
        assert_eq!(query.role.as_deref(), Some("assistant"));
        assert_eq!(query.terms, strings(&["budget"]));
        assert_eq!(query.mime_hints, Vec::<String>::new());
        assert_eq!(query.kind_label, "message");
        let range = query.range.expect("yesterday");
        assert_eq!(range.from, Some(instant("2024-12-22T00:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-23T00:00:00Z")));
        assert_eq!(range.label, "yesterday");
    }

    #[test]
    fn a_file_name_is_one_term_and_a_file() {
        let query = parse("budget_2024.xlsx");
        assert_eq!(query.kind, ItemKind::File);
        assert_eq!(query.terms, strings(&["budget_2024.xlsx"]));
        assert_eq!(query.mime_hints, Vec::<String>::new());
        assert_eq!(query.range, None);
        let query = parse("where is \"Q4-Report.PDF\"?");
        assert_eq!(query.kind, ItemKind::File);
        assert_eq!(query.terms, strings(&["q4-report.pdf"]));
        // abbreviations and web addresses are not file names
        let abbreviation = parse("e.g. taxes");
        assert_eq!(abbreviation.kind, ItemKind::Any);
        assert_eq!(abbreviation.terms, strings(&["e", "g", "taxes"]));
        assert_eq!(parse("example.com pricing").kind, ItemKind::Any);
    }

    #[test]
    fn empty_and_filler_only_queries() {
        let empty = parse("");
        assert_eq!(empty.kind, ItemKind::Any);
        assert_eq!(empty.terms, Vec::<String>::new());
        assert_eq!(empty.range, None);
        assert_eq!(empty.role, None);
        assert_eq!(empty.kind_label, "");
        let filler = parse("can you please show me that thing, the one from there?");
        assert_eq!(filler.kind, ItemKind::Any);
        assert_eq!(filler.terms, Vec::<String>::new());
    }

    #[test]
    fn kinds_and_their_mime_hints() {
        let cases: [(&str, &str, &[&str]); 12] = [
            ("the screenshots", "screenshot", IMAGE_MIME_PREFIXES),
            ("a photo of the whiteboard", "photo", IMAGE_MIME_PREFIXES),
            ("the contract pdf", "pdf", PDF_MIME_PREFIXES),
            ("pitch deck", "deck", PRESENTATION_MIME_PREFIXES),
            ("the slides", "slides", PRESENTATION_MIME_PREFIXES),
            ("demo video", "video", VIDEO_MIME_PREFIXES),
            (
                "the recording of the call",
                "recording",
                AUDIO_MIME_PREFIXES,
            ),
            ("the word document", "word document", WORD_MIME_PREFIXES),
            ("a docx", "docx", WORD_MIME_PREFIXES),
            ("the text file", "text file", TEXT_MIME_PREFIXES),
            ("meeting notes", "notes", TEXT_MIME_PREFIXES),
            ("the code", "code", CODE_MIME_PREFIXES),
        ];
        for (text, label, hints) in cases {
            let query = parse(text);
            assert_eq!(query.kind, ItemKind::File, "{text}");
            assert_eq!(query.kind_label, label, "{text}");
            assert_eq!(query.mime_hints, strings(hints), "{text}");
        }
        assert_eq!(parse("csv exports").mime_hints, spreadsheet_hints());
        assert_eq!(parse("the excel sheets").mime_hints, spreadsheet_hints());
    }

    #[test]
    fn plain_file_words_set_the_kind_without_hints() {
        for word in ["file", "files", "document", "doc", "attachment", "uploads"] {
            let query = parse(&format!("the tax {word}"));
            assert_eq!(query.kind, ItemKind::File, "{word}");
            assert_eq!(query.mime_hints, Vec::<String>::new(), "{word}");
            assert_eq!(query.terms, strings(&["tax"]), "{word}");
        }
        // a more specific word refines a plain one
        let query = parse("the file, an image i think");
        assert_eq!(query.kind_label, "image");
        assert_eq!(query.mime_hints, strings(&["image/"]));
        let query = parse("pdf or png");
        assert_eq!(query.kind_label, "pdf");
        assert_eq!(query.mime_hints, strings(&["application/pdf", "image/"]));
    }

    #[test]
    fn message_words_and_roles() {
        let query = parse("my question about visas");
        assert_eq!(query.kind, ItemKind::Message);
        assert_eq!(query.role.as_deref(), Some("user"));
        assert_eq!(query.terms, strings(&["visas"]));

        let query = parse("what I asked about rust lifetimes");
        assert_eq!(query.role.as_deref(), Some("user"));
        assert_eq!(query.kind, ItemKind::Message);
        assert_eq!(query.terms, strings(&["rust", "lifetimes"]));

        let query = parse("what did the AI say about pricing");
        assert_eq!(query.role.as_deref(), Some("assistant"));
        assert_eq!(query.terms, strings(&["pricing"]));

        let query = parse("your answer on caching");
        assert_eq!(query.role.as_deref(), Some("assistant"));
        assert_eq!(query.kind, ItemKind::Message);
        assert_eq!(query.kind_label, "answer");
        assert_eq!(query.terms, strings(&["caching"]));

        let query = parse("messages from the assistant about deployment");
        assert_eq!(query.role.as_deref(), Some("assistant"));
        assert_eq!(query.terms, strings(&["deployment"]));

        let query = parse("what did we decide last time about taxes");
        assert_eq!(query.terms, strings(&["decide", "taxes"]));

        // "ai" on its own is a topic, not a role
        let query = parse("messages about ai regulation");
        assert_eq!(query.role, None);
        assert_eq!(query.terms, strings(&["ai", "regulation"]));
    }

    #[test]
    fn the_first_kind_word_decides() {
        let query = parse("the spreadsheet you mentioned");
        assert_eq!(query.kind, ItemKind::File);
        assert_eq!(query.role.as_deref(), Some("assistant"));
        assert_eq!(query.terms, Vec::<String>::new());
        let query = parse("what did you say about the pdf");
        assert_eq!(query.kind, ItemKind::Message);
        assert_eq!(query.mime_hints, Vec::<String>::new());
        assert_eq!(query.terms, strings(&["pdf"]));
    }

    #[test]
    fn terms_are_lowercase_deduplicated_and_in_order() {
        let query = parse("Budget, BUDGET and the follow-up: Q4 2024 budget... Sarah's draft");
        assert_eq!(
            query.terms,
            strings(&["budget", "follow-up", "q4", "2024", "sarah", "draft"])
        );
        let query = parse("version 3.5 notes!!! don't");
        assert_eq!(query.terms, strings(&["version", "3.5"]));
    }

    #[test]
    fn time_zone_reaches_the_range() {
        let los_angeles: Tz = "America/Los_Angeles".parse().expect("zone");
        let query = parse_find_query(
            "photos from yesterday",
            instant("2024-12-23T03:00:00Z"),
            los_angeles,
        );
        let range = query.range.expect("yesterday");
        assert_eq!(range.from, Some(instant("2024-12-21T08:00:00Z")));
        assert_eq!(range.to, Some(instant("2024-12-22T08:00:00Z")));
        assert_eq!(query.kind_label, "photo");
        assert_eq!(query.terms, Vec::<String>::new());
    }

    #[test]
    fn odd_input_never_panics() {
        let inputs = [
            "🙂🙂🙂 📎 spreadsheet 🔥".to_string(),
            "מה אמרת על התקציב אתמול".to_string(),
            "ما قلته عن الميزانية".to_string(),
            "...,,,!!!".to_string(),
            "'''---___".to_string(),
            ".xlsx".to_string(),
            "a.b".to_string(),
            "the last since between from to and".to_string(),
            "budget ".repeat(2_000),
            "x".repeat(10_000),
            "yesterday ".repeat(1_000),
        ];
        for input in &inputs {
            let _ = parse(input);
            let _ = parse_find_query(input, DateTime::<Utc>::MAX_UTC, Tz::Pacific__Kiritimati);
            let _ = parse_find_query(input, DateTime::<Utc>::MIN_UTC, Tz::Pacific__Pago_Pago);
        }
        let emoji = parse("🙂🙂🙂 📎 spreadsheet 🔥");
        assert_eq!(emoji.kind, ItemKind::File);
        assert_eq!(emoji.terms, Vec::<String>::new());
        let hebrew = parse("מה אמרת על התקציב");
        assert_eq!(hebrew.terms, strings(&["מה", "אמרת", "על", "התקציב"]));
        let repeated = parse(&"budget ".repeat(2_000));
        assert_eq!(repeated.terms, strings(&["budget"]));
    }
}
