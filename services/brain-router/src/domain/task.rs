//! The task type of a prompt: the nearest task prototype by embedding (all-MiniLM-L6-v2 on
//! the inference host), or keywords when embeddings are unavailable.

use super::context::TaskType;

/// Example requests per task; the service embeds them once and classifies a prompt by the
/// nearest centroid.
pub const PROTOTYPES: &[(TaskType, &str)] = &[
    (TaskType::Chat, "Hi, how are you today?"),
    (TaskType::Chat, "What is the capital of France?"),
    (
        TaskType::Chat,
        "Can you recommend a good book to read this weekend?",
    ),
    (
        TaskType::Chat,
        "Thanks, that was helpful. One more question about my trip.",
    ),
    (
        TaskType::Code,
        "Write a Python function that parses a CSV file and returns a list of dicts.",
    ),
    (
        TaskType::Code,
        "Why does this Rust code fail to compile with a borrow checker error?",
    ),
    (
        TaskType::Code,
        "Fix the bug in this JavaScript: the loop never terminates.",
    ),
    (
        TaskType::Code,
        "Write a SQL query that joins orders with customers and sums revenue per month.",
    ),
    (
        TaskType::Analysis,
        "Analyze the quarterly sales figures and explain the main trends.",
    ),
    (
        TaskType::Analysis,
        "Compare the pros and cons of these two business strategies.",
    ),
    (
        TaskType::Analysis,
        "Evaluate the risks in this contract and summarize the key findings.",
    ),
    (
        TaskType::Analysis,
        "What does this data tell us about customer churn, statistically?",
    ),
    (
        TaskType::Creative,
        "Write a short poem about the sea at night.",
    ),
    (
        TaskType::Creative,
        "Tell me a bedtime story about a dragon who is afraid of the dark.",
    ),
    (
        TaskType::Creative,
        "Write song lyrics about leaving home for the first time.",
    ),
    (
        TaskType::Creative,
        "Imagine a fictional city on Mars and describe its people.",
    ),
    (TaskType::Vision, "What is in this picture?"),
    (
        TaskType::Vision,
        "Describe the objects you see in the attached image.",
    ),
    (TaskType::Audio, "Transcribe this audio recording."),
    (TaskType::Audio, "What is being said in this voice message?"),
];

/// Task centroids: the mean of each task's prototype embeddings, unit length.
#[derive(Debug, Clone, Default)]
pub struct Prototypes {
    centroids: Vec<(TaskType, Vec<f32>)>,
}

fn normalized(mut vector: Vec<f32>) -> Option<Vec<f32>> {
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return None;
    }
    for value in &mut vector {
        *value /= norm;
    }
    Some(vector)
}

impl Prototypes {
    /// `embeddings[i]` is the embedding of `PROTOTYPES[i]` (or of any labelled examples).
    pub fn new(labelled: &[(TaskType, Vec<f32>)]) -> Prototypes {
        let mut centroids: Vec<(TaskType, Vec<f32>)> = Vec::new();
        for task in TaskType::ALL {
            let mut sum: Option<Vec<f32>> = None;
            for (_, embedding) in labelled.iter().filter(|(label, _)| *label == task) {
                let sum = sum.get_or_insert_with(|| vec![0.0; embedding.len()]);
                if sum.len() != embedding.len() {
                    continue;
                }
                for (total, value) in sum.iter_mut().zip(embedding) {
                    *total += value;
                }
            }
            if let Some(centroid) = sum.and_then(normalized) {
                centroids.push((task, centroid));
            }
        }
        Prototypes { centroids }
    }

    pub fn is_empty(&self) -> bool {
        self.centroids.is_empty()
    }

    /// The nearest task and its cosine similarity; `None` for a vector of another size or
    /// of zero length.
    pub fn classify(&self, embedding: &[f32]) -> Option<(TaskType, f32)> {
        let query = normalized(embedding.to_vec())?;
        self.centroids
            .iter()
            .filter(|(_, centroid)| centroid.len() == query.len())
            .map(|(task, centroid)| {
                let similarity: f32 = centroid.iter().zip(&query).map(|(a, b)| a * b).sum();
                (*task, similarity)
            })
            .max_by(|left, right| left.1.total_cmp(&right.1))
    }
}

const CODE_WORDS: &[&str] = &[
    "code",
    "function",
    "compile",
    "compiler",
    "bug",
    "debug",
    "stack trace",
    "exception",
    "python",
    "rust",
    "javascript",
    "typescript",
    "java",
    "sql",
    "regex",
    "api",
    "script",
    "refactor",
    "unit test",
    "syntax",
    "variable",
    "class ",
    "def ",
    "fn ",
    "npm",
    "cargo",
];
const ANALYSIS_WORDS: &[&str] = &[
    "analyze",
    "analyse",
    "analysis",
    "compare",
    "evaluate",
    "pros and cons",
    "trend",
    "statistic",
    "data",
    "findings",
    "assess",
    "forecast",
    "summarize",
    "summarise",
    "insight",
    "metrics",
];
const CREATIVE_WORDS: &[&str] = &[
    "poem",
    "story",
    "lyrics",
    "song",
    "haiku",
    "fiction",
    "imagine",
    "novel",
    "creative",
    "screenplay",
    "limerick",
    "fairy tale",
    "character",
];

/// The fallback when no embeddings are available: fenced code or the most keywords wins,
/// chat when none match. Vision and audio come from attachments, not words.
pub fn classify_by_keywords(prompt: &str) -> TaskType {
    if prompt.contains("```") {
        return TaskType::Code;
    }
    // whole words ("api" is not in "capital"); keywords of five letters or more also match
    // as a word's stem ("statistic" in "statistics")
    let lowered = prompt.to_lowercase();
    let words: Vec<&str> = lowered
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    let phrase_text = format!(" {} ", words.join(" "));
    let matches = |keyword: &str| {
        let keyword = keyword.trim();
        if keyword.contains(' ') {
            return phrase_text.contains(&format!(" {keyword} "));
        }
        words
            .iter()
            .any(|word| *word == keyword || (keyword.len() >= 5 && word.starts_with(keyword)))
    };
    let hits = |keywords: &[&str]| keywords.iter().filter(|keyword| matches(keyword)).count();
    let scores = [
        (TaskType::Code, hits(CODE_WORDS)),
        (TaskType::Analysis, hits(ANALYSIS_WORDS)),
        (TaskType::Creative, hits(CREATIVE_WORDS)),
    ];
    scores
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .max_by_key(|(_, count)| *count)
        .map(|(task, _)| task)
        .unwrap_or(TaskType::Chat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_classify_without_embeddings() {
        assert_eq!(
            classify_by_keywords("```rust\nfn main() {}\n```"),
            TaskType::Code
        );
        assert_eq!(
            classify_by_keywords("Why does my Python function raise an exception?"),
            TaskType::Code
        );
        assert_eq!(
            classify_by_keywords("What is the capital of France? Answer in one sentence."),
            TaskType::Chat,
            "keywords are whole words: no api in capital"
        );
        assert_eq!(
            classify_by_keywords("Compare these two quarterly trends"),
            TaskType::Analysis
        );
        assert_eq!(
            classify_by_keywords("Write a haiku about autumn"),
            TaskType::Creative
        );
        assert_eq!(classify_by_keywords("Hello there!"), TaskType::Chat);
    }

    #[test]
    fn the_nearest_centroid_wins() {
        let prototypes = Prototypes::new(&[
            (TaskType::Code, vec![1.0, 0.0, 0.0]),
            (TaskType::Code, vec![0.9, 0.1, 0.0]),
            (TaskType::Creative, vec![0.0, 1.0, 0.0]),
            (TaskType::Chat, vec![0.0, 0.0, 1.0]),
            // another size is ignored, not mixed in
            (TaskType::Chat, vec![1.0, 1.0]),
        ]);
        let (task, similarity) = prototypes.classify(&[0.8, 0.2, 0.1]).unwrap();
        assert_eq!(task, TaskType::Code);
        assert!(similarity > 0.9);
        assert_eq!(
            prototypes.classify(&[0.0, 0.0, 2.0]).unwrap().0,
            TaskType::Chat
        );
        assert_eq!(prototypes.classify(&[0.0, 0.0, 0.0]), None, "no direction");
        assert_eq!(prototypes.classify(&[1.0, 0.0]), None, "another size");
        assert!(Prototypes::new(&[]).is_empty());
    }

    #[test]
    fn every_task_has_prototypes() {
        for task in TaskType::ALL {
            assert!(
                PROTOTYPES
                    .iter()
                    .filter(|(label, _)| *label == task)
                    .count()
                    >= 2,
                "{task:?}"
            );
        }
    }
}
