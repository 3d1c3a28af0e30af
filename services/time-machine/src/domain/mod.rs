//! Pure logic of the time machine (no I/O): validation, the hash chain, content hashing,
//! titles, comparisons, time expressions, natural-language queries, narration and export
//! rendering.

pub mod chain;
pub mod compare;
pub mod content;
pub mod export;
pub mod find_query;
pub mod narration;
pub mod restore_plan;
pub mod title;
pub mod validation;
pub mod verification;
pub mod vocabulary;
pub mod when;
