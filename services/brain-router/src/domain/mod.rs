//! Pure routing logic: no I/O, unit-tested, measured by `bench/brain-router.sh`.
//!
//! - [`context`]: what a request asks for, validated.
//! - [`task`]: the task type of a prompt (nearest task prototype, or keywords).
//! - [`candidate`]: a registry model with its live standing, flattened for scoring.
//! - [`rules`]: tenant and global routing rules.
//! - [`learned`]: the learned-score interface the neural engine fills (neutral until then).
//! - [`scoring`]: the score terms and their weights.
//! - [`decide`]: eligibility, rules, scores, thermal preference, fallbacks, explanation.

pub mod candidate;
pub mod context;
pub mod decide;
pub mod learned;
pub mod rules;
pub mod scoring;
pub mod task;
