//! The learned-score term: what feedback taught about a model, for this user, tenant and task.
//! The neural engine fills it later; until then every model is neutral.

use super::context::TaskType;

/// Who is asked about which model for what.
#[derive(Debug, Clone, Copy)]
pub struct LearnedKey<'a> {
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    pub model_id: &'a str,
    pub task_type: TaskType,
}

/// A score in 0..=1 learned from feedback (the user's, else the tenant's, else the global
/// figure, as the implementation blends them), or `None` when nothing is known.
pub trait LearnedScores: Send + Sync {
    fn score(&self, key: LearnedKey<'_>) -> Option<f64>;
}

/// What a model scores when nothing is known about it.
pub const NEUTRAL: f64 = 0.5;

/// Knows nothing: every model is [`NEUTRAL`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NeutralScores;

impl LearnedScores for NeutralScores {
    fn score(&self, _key: LearnedKey<'_>) -> Option<f64> {
        None
    }
}
