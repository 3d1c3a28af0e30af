//! The models behind the endpoints, each loaded from the verified files in the models folder.

pub mod chat_llm;
pub mod embedding;

/// The largest char boundary of `text` at or below `index`.
pub fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Why a model could not load or compute.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path} is missing (run deploy/local/models.sh): {source}")]
    MissingFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("model failed to load: {0}")]
    Load(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    ContextExceeded(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("model failed while computing: {0}")]
    Compute(String),
}

impl ModelError {
    pub fn load(error: impl std::fmt::Display) -> Self {
        ModelError::Load(error.to_string())
    }

    pub fn compute(error: impl std::fmt::Display) -> Self {
        ModelError::Compute(error.to_string())
    }
}
